//! Accounts in a real browser: `flowlens demo --auth` with users made by
//! `flowlens user`, driven by Chromium. Signing in (a wrong password, then
//! the right one, back to the page asked for), a change made through the
//! console (it carries the CSRF token), a forged form from another origin
//! refused, a session ended on the server sending the page back to the
//! sign-in form, signing out, and the admin's pages in light and dark mode.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::cdp::{chromium, start_chromium, start_demo_with, Cdp};

fn user(data: &Path, args: &[&str], password: &str) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .arg("user")
        .args(args)
        .args(["--password-stdin", "--data-dir"])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "flowlens user {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A page on another origin (same host, another port) that posts a rule
/// to FlowLens as soon as it loads: the classic cross-site JSON form.
fn forger(target: &str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    let page = format!(
        "<!doctype html><html><body><form id=f method=post enctype=text/plain action=\"{target}/api/v1/alert-rules\">\
         <input name='{{\"name\":\"forged\",\"metric\":\"flows_per_second\",\"op\":\">\",\"threshold\":1,\"severity\":\"info\",\"x\":\"' value='\"}}'>\
         </form><script>document.getElementById('f').submit()</script></body></html>"
    );
    std::thread::spawn(move || {
        for s in l.incoming().flatten().take(8) {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    url
}

async fn sign_in(b: &mut Cdp, name: &str, password: &str) {
    b.wait_for(
        "location.pathname === '/login' && document.readyState === 'complete' && !!document.querySelector('#sign-in')",
        "the sign-in form",
    )
    .await;
    b.eval(&format!(
        "(() => {{ document.querySelector('#user').value = {}; document.querySelector('#password').value = {}; \
         document.querySelector('#sign-in').click(); }})()",
        json!(name),
        json!(password)
    ))
    .await;
}

#[test]
fn sign_in_csrf_expiry_and_sign_out_in_a_real_browser() {
    let Some(bin) = chromium() else { return };
    let work = crate::temp("browser-accounts");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let data = work.join("data");
    user(&data, &["add", "alice", "--role", "analyst"], "alice's password");
    user(&data, &["add", "root", "--role", "admin"], "root's password!");
    let (_demo, base, _) = start_demo_with(&data, &["--auth", "--history", "10m"]);
    let (_chrome, ws_url) = start_chromium(&bin, &work.join("profile"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut b = Cdp::connect(&ws_url).await;
        // Not signed in: a page sends the browser to the sign-in form,
        // remembering where it was going.
        b.call("Page.navigate", json!({ "url": format!("{base}/flows?since=15m") })).await;
        b.wait_for("location.pathname === '/login'", "the sign-in page").await;
        assert_eq!(b.eval("location.search").await, json!("?next=%2Fflows%3Fsince%3D15m"));
        for dark in [false, true] {
            b.dark(dark).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            b.screenshot(&shots.join(format!("login-{}.png", if dark { "dark" } else { "light" })))
                .await;
        }
        b.dark(false).await;
        let p = b.problems().await;
        assert!(p.0.is_empty(), "sign-in page: {:?}", p.0);

        // A wrong password: one message that says nothing about the account.
        sign_in(&mut b, "alice", "not her password").await;
        b.wait_for(
            "!!document.querySelector('#login-error') && document.querySelector('#login-error').textContent.includes('Wrong user name or password')",
            "the refusal",
        )
        .await;
        b.problems().await; // its 401
        // The right one: the page asked for, signed in as alice.
        sign_in(&mut b, "alice", "alice's password").await;
        b.wait_for(
            "location.pathname === '/flows' && !!document.body.dataset.loaded",
            "the flows page after signing in",
        )
        .await;
        assert_eq!(b.eval("document.querySelector('.account .who').textContent").await, json!("alice"));
        let p = b.problems().await;
        assert!(p.0.is_empty(), "signed in: {:?}", p.0);

        // The console's own change carries the CSRF token: a rule added.
        b.open(&format!("{base}/alerts")).await;
        b.eval(
            "(() => { const f = document.querySelector('#rule-form'); f.elements.name.value = 'Signed-in rule'; \
             f.elements.threshold.value = '5'; f.requestSubmit(); })()",
        )
        .await;
        b.wait_for(
            "[...document.querySelectorAll('#rule-list td')].some((td) => td.textContent === 'Signed-in rule')",
            "the rule added through the form",
        )
        .await;

        // A forged form on another origin posts with alice's cookie (same
        // site, so the browser sends it): refused for the missing token.
        let evil = forger(&base);
        b.call("Page.navigate", json!({ "url": evil })).await;
        b.wait_for(
            "location.pathname === '/api/v1/alert-rules' && document.body && document.body.innerText.includes('CSRF')",
            "the forged request's refusal",
        )
        .await;
        b.problems().await; // its 403
        let rules = b
            .eval("fetch('/api/v1/alert-rules').then(r => r.json()).then(v => v.rules.map(r => r.name))")
            .await;
        assert_eq!(rules, json!(["Signed-in rule"]), "nothing forged was stored");

        // The session ends on the server (a password reset from the shell):
        // the page's next request sends the browser to sign in again.
        b.open(&format!("{base}/flows?since=15m")).await;
        user(&data, &["passwd", "alice"], "alice's new password");
        b.eval("FL.api('/api/v1/flows', { since: '15m' }).catch(() => 0)").await;
        b.wait_for("location.pathname === '/login'", "the sign-in form after the session ended")
            .await;
        assert_eq!(b.eval("location.search").await, json!("?next=%2Fflows%3Fsince%3D15m"));
        b.problems().await; // the 401 that ended it
        sign_in(&mut b, "alice", "alice's new password").await;
        b.wait_for(
            "location.pathname === '/flows' && !!document.body.dataset.loaded",
            "back on flows",
        )
        .await;

        // Signing out ends the session on the server, not only the cookie.
        let cookie = b
            .call("Network.getCookies", json!({ "urls": [base.clone()] }))
            .await["cookies"][0]["value"]
            .clone();
        b.eval("document.querySelector('#logout').click()").await;
        b.wait_for("location.pathname === '/login'", "the sign-in form after signing out")
            .await;
        let host = base.trim_start_matches("http://");
        let (code, _) = crate::serve::http_as(
            host.parse().unwrap(),
            "GET",
            "/api/v1/me",
            None,
            &format!("Cookie: flowlens_session={}\r\n", cookie.as_str().unwrap()),
        );
        assert_eq!(code, 401, "the old session cookie is worth nothing");
        // An analyst may not manage users.
        sign_in(&mut b, "alice", "alice's new password").await;
        b.wait_for("location.pathname === '/' && !!document.body.dataset.loaded", "the dashboard")
            .await;
        let code = b.eval("fetch('/users').then(r => r.status)").await;
        assert_eq!(code, json!(403));
        b.eval("document.querySelector('#logout').click()").await;
        b.wait_for("location.pathname === '/login'", "signed out").await;
        b.problems().await;

        // The admin's pages, light and dark, without a console error.
        sign_in(&mut b, "root", "root's password!").await;
        b.wait_for("location.pathname === '/' && !!document.body.dataset.loaded", "the dashboard")
            .await;
        for (path, ready) in [
            ("/users", "document.querySelectorAll('#user-list tbody tr').length >= 2"),
            ("/audit", "document.querySelectorAll('#audit-list tbody tr').length > 0"),
            ("/account", "!!document.querySelector('#me-name')"),
        ] {
            for dark in [false, true] {
                b.dark(dark).await;
                b.open(&format!("{base}{path}")).await;
                b.wait_for(ready, path).await;
                let name = format!("{}-{}.png", path.trim_start_matches('/'), if dark { "dark" } else { "light" });
                b.screenshot(&shots.join(name)).await;
                let p = b.problems().await;
                assert!(p.0.is_empty(), "{path}: {:?}", p.0);
            }
        }
        b.dark(false).await;
        b.open(&format!("{base}/audit")).await;
        let audit = b.eval("document.querySelector('#audit-list').textContent").await;
        let audit = audit.as_str().unwrap();
        for want in ["csrf.rejected", "login", "alert_rule.add", "logout", "user.change"] {
            assert!(audit.contains(want), "{want} not on the audit page");
        }
        // An API token made on /account, shown once.
        b.open(&format!("{base}/account")).await;
        b.eval(
            "(() => { const f = document.querySelector('#token-form'); f.elements.name.value = 'browser'; \
             f.requestSubmit(); })()",
        )
        .await;
        b.wait_for(
            "!!document.querySelector('#new-token') && document.querySelector('#new-token').textContent.startsWith('flt_')",
            "the new token",
        )
        .await;
        let p = b.problems().await;
        assert!(p.0.is_empty(), "account: {:?}", p.0);
    });
    let _ = std::fs::remove_dir_all(&work);
}
