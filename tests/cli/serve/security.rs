//! The service as it ships, over real sockets: the first start's admin,
//! accounts from the shell while it runs, sign-in and its cookie, tokens
//! for ingest and metrics, HTTPS (curl as the client) with a certificate
//! replaced while serving, the redirect listener, and the config refusing
//! auth off on a public address.

use super::*;

fn have(p: &str) -> bool {
    Command::new(p)
        .arg(if p == "openssl" { "version" } else { "--version" })
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A self-signed certificate for 127.0.0.1 with its key, by openssl.
fn certificate(dir: &Path, name: &str, cn: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
        ])
        .args(["-subj", &format!("/CN={cn}"), "-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "openssl: {}", String::from_utf8_lossy(&o.stderr));
    (cert, key)
}

/// curl over HTTPS trusting `ca`; (status, headers and body, issuer CN).
fn curl(ca: &Path, url: &str, extra: &[&str]) -> (u16, String) {
    let o = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10", "--cacert"])
        .arg(ca)
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text + &String::from_utf8_lossy(&o.stderr))
}

/// `flowlens serve` on `http` (flow listeners on kernel-chosen ports),
/// its log in `log`, with `env`.
fn serve(data: &Path, http: &str, log: &Path, env: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowlens"));
    cmd.args([
        "serve",
        "--netflow",
        "127.0.0.1:0",
        "--ipfix",
        "127.0.0.1:0",
        "--sflow",
        "127.0.0.1:0",
    ])
    .arg("--data-dir")
    .arg(data)
    .args(["--http", http])
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Waits until `ready`; a service that exits first fails with its log.
fn wait(child: &mut std::process::Child, log: &Path, ready: impl Fn() -> bool) {
    let t = Instant::now();
    while !ready() {
        if let Ok(Some(s)) = child.try_wait() {
            panic!("serve exited {s}: {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        assert!(t.elapsed() < Duration::from_secs(60), "not ready in 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The password the first start printed for `admin`.
fn first_password(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap();
    text.split("user `admin`, password `")
        .nth(1)
        .and_then(|r| r.split('`').next())
        .unwrap_or_else(|| panic!("no first-start password in: {text}"))
        .to_string()
}

#[test]
fn first_start_accounts_sign_in_and_tokens() {
    if !have("curl") {
        assert!(!crate::strict(), "curl not installed: run scripts/install-test-deps");
        return;
    }
    let data = temp("serve-security");
    let _ = std::fs::remove_dir_all(&data);
    let http: SocketAddr = format!("127.0.0.1:{}", free_tcp()).parse().unwrap();
    let log = temp("serve-security.log");
    let mut child = serve(&data, &http.to_string(), &log, &[]);
    wait(&mut child, &log, || {
        TcpStream::connect(http).is_ok() && http_as(http, "GET", "/readyz", None, "").0 == 200
    });
    // The first start made `admin` and printed its password once.
    let password = first_password(&log);
    assert_eq!(password.len(), 20);
    // Nothing without an account: API 401, pages to the sign-in form.
    assert_eq!(http_as(http, "GET", "/api/v1/flows", None, "").0, 401);
    let o = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"])
        .arg(format!("http://{http}/flows?since=1h"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("303 ") && out.contains("/login?next=%2Fflows%3Fsince%3D1h"),
        "{out}"
    );
    // Sign in with the printed password: a session cookie, HttpOnly, Lax.
    let jar = data.join("cookies");
    let o = Command::new("curl")
        .args(["-s", "-i", "-c"])
        .arg(&jar)
        .args([
            "-H",
            &format!("Origin: http://{http}"),
            "--data-urlencode",
            "user=admin",
        ])
        .args([
            "--data-urlencode",
            &format!("password={password}"),
            "--data-urlencode",
            "next=/",
        ])
        .arg(format!("http://{http}/login"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&o.stdout).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 303"), "{head}");
    assert!(
        head.contains("set-cookie: flowlens_session=") && head.contains("httponly") && head.contains("samesite=lax"),
        "{head}"
    );
    let o = Command::new("curl")
        .args(["-s", "-b"])
        .arg(&jar)
        .arg(format!("http://{http}/api/v1/me"))
        .output()
        .unwrap();
    let me: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(me["name"], "admin");
    assert_eq!(me["role"], "admin");
    // Accounts from the shell while the service runs: used at once.
    let d = data.to_str().unwrap();
    let mut add = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args([
            "user",
            "add",
            "feeder",
            "--role",
            "analyst",
            "--password-stdin",
            "--data-dir",
            d,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(b"feeder password 1\n").unwrap();
    assert!(add.wait_with_output().unwrap().status.success());
    let o = flowlens(&["user", "token", "feeder", "--name", "ingest", "--data-dir", d]);
    let plain = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let o = flowlens(&[
        "user",
        "token",
        "feeder",
        "--name",
        "ingest",
        "--permission",
        "ingest",
        "--data-dir",
        d,
    ]);
    let ingest = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let body = br#"[{"router":"r1","src_ip":"10.0.0.1","dst_ip":"10.0.0.2","bytes":100,"packets":1}]"#;
    assert_eq!(http_as(http, "POST", "/ingest", Some(body), "").0, 401);
    let bearer = |t: &str| format!("Authorization: Bearer {t}\r\n");
    let (code, text) = http_as(http, "POST", "/ingest", Some(body), &bearer(&plain));
    assert_eq!(code, 403, "a token without the ingest permission: {text}");
    assert!(text.contains("ingest permission"), "{text}");
    assert_eq!(http_as(http, "POST", "/ingest", Some(body), &bearer(&ingest)).0, 200);
    assert_eq!(http_as(http, "GET", "/metrics", None, &bearer(&ingest)).0, 403);
    // The list shows roles; a viewer with a scope; delete ends its tokens.
    let o = flowlens(&["user", "add", "office", "--network", "10.1.0.0/16", "--data-dir", d]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("added office (viewer)") && out.contains("password: "),
        "{out}"
    );
    let o = flowlens(&["user", "list", "--data-dir", d]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("feeder") && out.contains("analyst") && out.contains("networks [10.1.0.0/16]"),
        "{out}"
    );
    let o = flowlens(&["user", "delete", "admin", "--data-dir", d]);
    assert!(!o.status.success(), "the last admin stays");
    assert!(String::from_utf8_lossy(&o.stderr).contains("last admin"));
    assert!(flowlens(&["user", "delete", "feeder", "--data-dir", d])
        .status
        .success());
    assert_eq!(http_as(http, "POST", "/ingest", Some(body), &bearer(&ingest)).0, 401);
    // `user passwd` ends the admin's session.
    let mut pw = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(["user", "passwd", "admin", "--password-stdin", "--data-dir", d])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    pw.stdin.take().unwrap().write_all(b"another long password\n").unwrap();
    assert!(pw.wait_with_output().unwrap().status.success());
    let o = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-b"])
        .arg(&jar)
        .arg(format!("http://{http}/api/v1/me"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "401");
    // The audit log kept all of it, with where it came from.
    let o = flowlens(&["user", "token", "admin", "--name", "audit", "--data-dir", d]);
    let admin = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let (code, text) = http_as(http, "GET", "/api/v1/audit?limit=1000", None, &bearer(&admin));
    assert_eq!(code, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let entries: Vec<String> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}|{}|{}|{}",
                e["action"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
                e["source"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect();
    let log = entries.join("\n");
    for want in [
        "user.add|flowlens|first start|ok",
        "config.start|flowlens|start|ok",
        "login|admin|127.0.0.1|ok",
        "token.add|shell:",
        "user.delete|shell:",
        "user.change|shell:",
    ] {
        assert!(log.contains(want), "{want} not in\n{log}");
    }
    // A scripted brute force from loopback: 200 guesses at one account.
    // Five reach a password hash; the rest are refused before one, and
    // so is the right password while the account is held.
    let o = flowlens(&["user", "add", "victim", "--role", "viewer", "--data-dir", d]);
    let right = String::from_utf8_lossy(&o.stdout)
        .split("password: ")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    let t = Instant::now();
    let mut codes = std::collections::BTreeMap::<u16, usize>::new();
    for i in 0..200 {
        let body = format!("user=victim&password=guess{i:04}");
        *codes
            .entry(http_as(http, "POST", "/login", Some(body.as_bytes()), "").0)
            .or_default() += 1;
    }
    let took = t.elapsed();
    eprintln!("brute force from loopback: 200 guesses in {took:?}: {codes:?}");
    assert_eq!(codes.get(&401), Some(&5), "{codes:?}");
    assert_eq!(codes.get(&429), Some(&195), "{codes:?}");
    let body = format!("user=victim&password={right}");
    assert_eq!(http_as(http, "POST", "/login", Some(body.as_bytes()), "").0, 429);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

#[test]
fn https_with_a_certificate_replaced_while_serving() {
    if !(have("openssl") && have("curl")) {
        assert!(
            !crate::strict(),
            "openssl/curl not installed: run scripts/install-test-deps"
        );
        return;
    }
    let dir = temp("tls");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = certificate(&dir, "one", "flowlens-one");
    let (live_cert, live_key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::copy(&cert, &live_cert).unwrap();
    std::fs::copy(&key, &live_key).unwrap();
    let redirect = free_tcp();
    let tls = format!(
        "{{cert: {}, key: {}, reload_check: 1s}}",
        live_cert.display(),
        live_key.display()
    );
    let env = [
        ("FLOWLENS_WEB__TLS", tls.as_str()),
        ("FLOWLENS_WEB__REDIRECT_HTTP", &format!("[\"127.0.0.1:{redirect}\"]")),
        ("FLOWLENS_METRICS__ALLOW", "[\"127.0.0.1/32\"]"),
    ];
    let data = temp("serve-tls");
    let _ = std::fs::remove_dir_all(&data);
    let port = free_tcp();
    let log = temp("serve-tls.log");
    let mut child = serve(&data, &format!("127.0.0.1:{port}"), &log, &env);
    let url = format!("https://127.0.0.1:{port}");
    wait(&mut child, &log, || curl(&cert, &format!("{url}/readyz"), &[]).0 == 200);
    // Signing in over HTTPS sets the __Host- cookie, Secure.
    let password = first_password(&log);
    let (code, head) = curl(
        &cert,
        &format!("{url}/login"),
        &[
            "-H",
            &format!("Origin: {url}"),
            "--data-urlencode",
            "user=admin",
            "--data-urlencode",
            &format!("password={password}"),
        ],
    );
    assert_eq!(code, 303, "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("set-cookie: __host-flowlens_session=") && lower.contains("; secure"),
        "{head}"
    );
    // Security headers on every answer.
    let (_, head) = curl(&cert, &format!("{url}/login"), &[]);
    let lower = head.to_ascii_lowercase();
    for h in [
        "content-security-policy: default-src 'self'; script-src 'self'",
        "frame-ancestors 'none'",
        "x-content-type-options: nosniff",
        "referrer-policy: same-origin",
    ] {
        assert!(lower.contains(h), "{h} missing:\n{head}");
    }
    // The scraper's address is in metrics.allow: no token needed.
    let (code, body) = curl(&cert, &format!("{url}/metrics"), &[]);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("# TYPE "), "{body}");
    // Plain HTTP on the redirect listener: to the same path over HTTPS.
    let o = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"])
        .arg(format!("http://127.0.0.1:{redirect}/flows?since=1h"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("308 https://127.0.0.1:{port}/flows?since=1h")
    );
    // Replace the certificate: served within a few seconds, no restart.
    let (cert2, key2) = certificate(&dir, "two", "flowlens-two");
    std::fs::copy(&key2, dir.join("key.tmp")).unwrap();
    std::fs::copy(&cert2, dir.join("cert.tmp")).unwrap();
    std::fs::rename(dir.join("key.tmp"), &live_key).unwrap();
    std::fs::rename(dir.join("cert.tmp"), &live_cert).unwrap();
    let t = Instant::now();
    loop {
        if curl(&cert2, &format!("{url}/healthz"), &[]).0 == 200 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "the new certificate was not served"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_ne!(
        curl(&cert, &format!("{url}/healthz"), &[]).0,
        200,
        "the old one is gone"
    );
    // A broken replacement keeps the working certificate.
    std::fs::write(&live_cert, "not a certificate").unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(curl(&cert2, &format!("{url}/healthz"), &[]).0, 200);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("TLS certificate reloaded"), "{log}");
    assert!(log.contains("still serving the previous certificate"), "{log}");
}

#[test]
fn auth_off_is_refused_on_a_public_address() {
    let o = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(["config", "check", "/dev/null"])
        .env("FLOWLENS_AUTH__ENABLED", "false")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("auth.enabled") && err.contains("0.0.0.0:8080") && err.contains("loopback"),
        "{err}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(["config", "check", "/dev/null"])
        .env("FLOWLENS_AUTH__ENABLED", "false")
        .env("FLOWLENS_WEB__LISTEN", "[\"127.0.0.1:8080\"]")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
