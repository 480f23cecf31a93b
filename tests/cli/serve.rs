//! `flowlens serve` end to end: the real binary, real UDP on loopback, the
//! simulator as exporter, HTTP ingest, orderly stop, and the store read
//! back afterwards. Also `config`, `import` and `simulate` as commands.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{flowdata, flowlens, stderr, temp};

fn free_udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn free_tcp() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The API token of each running service (its admin's, with the ingest
/// and metrics permissions), sent by [`http`].
fn tokens() -> &'static std::sync::Mutex<std::collections::HashMap<SocketAddr, String>> {
    static T: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<SocketAddr, String>>> =
        std::sync::OnceLock::new();
    T.get_or_init(Default::default)
}

/// The token [`http`] sends to the service at `addr`.
pub(crate) fn token_of(addr: SocketAddr) -> String {
    tokens().lock().unwrap()[&addr].clone()
}

/// An admin (password from stdin) and a token for it with `permissions`,
/// made with `flowlens user` in `data`; the token.
pub(crate) fn admin_token(data: &Path, permissions: &[&str]) -> String {
    let d = data.to_str().unwrap();
    let mut add = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args([
            "user",
            "add",
            "ops",
            "--role",
            "admin",
            "--password-stdin",
            "--data-dir",
            d,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let o = add.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut args = vec!["user", "token", "ops", "--name", "tests", "--data-dir", d];
    for p in permissions {
        args.extend(["--permission", p]);
    }
    let o = flowlens(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert!(t.starts_with("flt_"), "{t}");
    t
}

/// One HTTP/1.1 request (with the service's token); (status, body).
pub(crate) fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&[u8]>) -> (u16, String) {
    let auth = tokens()
        .lock()
        .unwrap()
        .get(&addr)
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    http_as(addr, method, path, body, &auth)
}

/// One HTTP/1.1 request with `extra` header lines; (status, body).
pub(crate) fn http_as(addr: SocketAddr, method: &str, path: &str, body: Option<&[u8]>, extra: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to flowlens");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        unchunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

fn unchunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

pub(crate) struct Running {
    child: Child,
    pub http: SocketAddr,
    pub data: PathBuf,
    log: PathBuf,
}

impl Running {
    /// `flowlens serve` on loopback with `args` added, ready to take flows.
    pub fn start(name: &str, args: &[String], env: &[(&str, &str)]) -> Running {
        let data = temp(&format!("serve-{name}"));
        let _ = std::fs::remove_dir_all(&data);
        let http: SocketAddr = format!("127.0.0.1:{}", free_tcp()).parse().unwrap();
        let log = temp(&format!("serve-{name}.log"));
        // Accounts on, as shipped: the tests call the API with a token.
        let token = admin_token(&data, &["ingest", "metrics"]);
        tokens().lock().unwrap().insert(http, token);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowlens"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&data)
            .arg("--http")
            .arg(http.to_string())
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start flowlens serve");
        let t = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "flowlens serve exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if TcpStream::connect(http).is_ok() && http_get(http, "/readyz").0 == 200 {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "flowlens serve not ready in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Running { child, http, data, log }
    }

    pub fn status(&self) -> Value {
        let (code, body) = http_get(self.http, "/api/v1/status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// SIGTERM; (exit success, seconds to exit, log).
    pub fn stop(self) -> (bool, f64, String) {
        let mut s = self;
        s.stop_inner()
    }

    fn stop_inner(&mut self) -> (bool, f64, String) {
        let t = Instant::now();
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return (status.success(), t.elapsed().as_secs_f64(), log);
            }
            if t.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("flowlens serve did not stop within 30 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    /// A failed test must not leave a service behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http(addr, "GET", path, None)
}

fn simulate(target: &str, protocol: &str, rate: &str, duration: &str, exporters: &str) -> Value {
    let o = flowlens(&[
        "simulate",
        "--target",
        target,
        "--protocol",
        protocol,
        "--rate",
        rate,
        "--duration",
        duration,
        "--exporters",
        exporters,
        "--report",
        "json",
    ]);
    assert!(o.status.success(), "simulate: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("one JSON report")
}

/// (protocol code → (flows, bytes, packets)) read back from the store.
fn stored_by_protocol(data: &Path) -> std::collections::BTreeMap<String, (u64, u64, u64)> {
    let store = flowlens_store::Store::open(flowlens_store::StoreConfig {
        data_dir: data.to_path_buf(),
        flush_interval: Duration::from_secs(1),
    })
    .unwrap();
    let c = store.connection().unwrap();
    let mut st = c
        .prepare("SELECT protocol, count(*), sum(bytes)::UBIGINT, sum(packets)::UBIGINT FROM flows GROUP BY protocol")
        .unwrap();
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, u8>(0)?,
                (r.get::<_, u64>(1)?, r.get::<_, u64>(2)?, r.get::<_, u64>(3)?),
            ))
        })
        .unwrap();
    rows.map(|r| {
        let (code, v) = r.unwrap();
        let name = flowlens_store::schema::protocol_from_code(code).map_or("?", |p| p.name());
        (name.to_string(), v)
    })
    .collect()
}

#[test]
fn every_simulated_flow_is_stored_and_accounted_for() {
    let ports: Vec<u16> = (0..4).map(|_| free_udp()).collect();
    let args: Vec<String> = [
        ("--netflow", ports[0]),
        ("--netflow", ports[1]),
        ("--ipfix", ports[2]),
        ("--sflow", ports[3]),
    ]
    .iter()
    .flat_map(|(flag, port)| [flag.to_string(), format!("127.0.0.1:{port}")])
    .collect();
    // Exact totals need every flow: no cross-router de-duplication here
    // (it is on by default and tested below).
    let s = Running::start("exact", &args, &[("FLOWLENS_PIPELINE__DEDUP__ENABLED", "false")]);
    let mut sent = std::collections::BTreeMap::new();
    for (protocol, port, name) in [
        ("v5", ports[0], "netflow5"),
        ("v9", ports[1], "netflow9"),
        ("ipfix", ports[2], "ipfix"),
        ("sflow", ports[3], "sflow5"),
    ] {
        let r = simulate(&format!("127.0.0.1:{port}"), protocol, "4000", "2s", "4");
        assert_eq!(r["send_errors"], 0);
        assert!(r["flows"].as_u64().unwrap() >= 4_000, "{r}");
        sent.insert(
            name.to_string(),
            (
                r["flows"].as_u64().unwrap(),
                r["bytes"].as_u64().unwrap(),
                r["packets"].as_u64().unwrap(),
            ),
        );
    }
    let total: u64 = sent.values().map(|v| v.0).sum();
    // Everything decoded and handed to the store, as the status shows it.
    let t = Instant::now();
    let status = loop {
        let st = s.status();
        if st["flows"]["received"].as_u64() == Some(total) || t.elapsed() > Duration::from_secs(20) {
            break st;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status["flows"]["received"].as_u64(), Some(total), "{status:#}");
    assert_eq!(
        status["datagrams"]["decode_errors"],
        serde_json::json!({}),
        "{status:#}"
    );
    assert_eq!(status["listeners"].as_array().unwrap().len(), 4);
    let exporters = status["exporters"].as_array().unwrap();
    assert_eq!(
        exporters.len(),
        16,
        "4 simulated exporters per protocol, each its own address"
    );
    assert!(exporters.iter().all(|e| e["sequence_lost"] == 0), "{exporters:#?}");
    assert!(status["memory"]["rss_bytes"].as_u64().unwrap() > 0);

    // The API's answers add up to what the simulator sent, once the writer
    // has flushed (within its interval).
    let (flows, bytes, packets) = sent.values().fold((0, 0, 0), |a, v| (a.0 + v.0, a.1 + v.1, a.2 + v.2));
    let t = Instant::now();
    let top = loop {
        let (code, body) = http_get(s.http, "/api/v1/top?by=exporter&metric=flows&limit=100&since=-1h");
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        if v["total"]["flows"].as_u64() == Some(flows) || t.elapsed() > Duration::from_secs(10) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        (&top["total"]["flows"], &top["total"]["bytes"], &top["total"]["packets"]),
        (
            &serde_json::json!(flows),
            &serde_json::json!(bytes),
            &serde_json::json!(packets)
        ),
        "API totals = simulator totals: {top:#}"
    );
    // The simulators of the 4 protocols share the 4 loopback addresses: the
    // store keys exporters by address, the status by address and port.
    assert_eq!(top["rows"].as_array().unwrap().len(), 4, "one row per exporter address");
    let (code, body) = http_get(s.http, "/api/v1/exporters?since=-1h");
    assert_eq!(code, 200, "{body}");
    let ex: Value = serde_json::from_str(&body).unwrap();
    let ex = ex["exporters"].as_array().unwrap();
    assert_eq!(ex.len(), 4);
    assert!(ex.iter().all(|e| e["ports"].as_array().unwrap().len() == 4), "{ex:#?}");
    let by_exporter: u64 = ex.iter().map(|e| e["traffic"]["flows"].as_u64().unwrap()).sum();
    let received: u64 = ex.iter().map(|e| e["flows_received"].as_u64().unwrap()).sum();
    assert_eq!((by_exporter, received), (flows, flows));

    let data = s.data.clone();
    let (ok, secs, log) = s.stop();
    assert!(ok, "exit 0 on SIGTERM: {log}");
    assert!(secs < 10.0, "stopped in {secs:.1} s");
    assert!(
        log.contains(&format!("stopped: {total} flows received, {total} stored")),
        "{log}"
    );
    assert_eq!(stored_by_protocol(&data), sent, "stored = sent, per protocol");
}

#[test]
fn ingest_takes_json_records_and_refuses_bad_bodies_clearly() {
    let s = Running::start(
        "ingest",
        &[
            "--netflow".into(),
            "127.0.0.1:0".into(),
            "--ipfix".into(),
            "127.0.0.1:0".into(),
            "--sflow".into(),
            "127.0.0.1:0".into(),
        ],
        &[("FLOWLENS_LIMITS__MAX_INGEST_BODY", "4KiB")],
    );
    let body = br#"[
      { "router":"r1", "src_ip":"10.0.0.1", "dst_ip":"8.8.8.8", "src_port": 5000, "dst_port": 53, "protocol":"udp", "bytes":1200, "packets":3 },
      { "router":"r2", "src_ip":"10.0.0.1", "dst_ip":"8.8.8.8", "src_port": 5000, "dst_port": 53, "protocol":"UDP", "bytes":1200, "packets":3 },
      { "router":"192.0.2.9", "src_ip":"10.0.0.2", "dst_ip":"8.8.4.4", "protocol":"tcp", "bytes":800, "packets":2 },
      { "router":"r1", "src_ip":"10.0.0.1" }
    ]"#;
    let (code, text) = http(s.http, "POST", "/ingest", Some(body));
    assert_eq!(code, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["accepted"], 2, "{v}");
    assert_eq!(v["duplicates"], 1, "r2 reported r1's flow: counted once");
    assert_eq!(v["rejected"][0]["index"], 3);
    assert_eq!(v["rejected"][0]["error"], "\"dst_ip\" is required");

    let (code, text) = http(s.http, "POST", "/ingest", Some(b"{not json"));
    assert_eq!(code, 400);
    assert!(
        text.contains("\"code\":\"bad_records\"") && text.contains("not JSON"),
        "{text}"
    );
    let big = format!(
        "[{}]",
        vec![r#"{"router":"r1","src_ip":"10.0.0.1","dst_ip":"10.0.0.2"}"#; 100].join(",")
    );
    let (code, text) = http(s.http, "POST", "/ingest", Some(big.as_bytes()));
    assert_eq!(code, 413, "{text}");
    assert!(text.contains("limits.max_ingest_body"), "{text}");
    let (code, text) = http(s.http, "POST", "/ingest", Some(br#"{"src_ip":"10.0.0.1"}"#));
    assert_eq!(code, 422, "{text}");
    let (code, _) = http(s.http, "GET", "/nowhere", None);
    assert_eq!(code, 404);
    assert_eq!(http(s.http, "GET", "/healthz", None).0, 200);

    let data = s.data.clone();
    let (ok, _, log) = s.stop();
    assert!(ok, "{log}");
    assert!(
        log.contains("stopped: 3 flows received, 2 stored, 1 duplicate"),
        "{log}"
    );
    let stored = stored_by_protocol(&data);
    assert_eq!(stored["json"], (2, 2_000, 5));
}

#[test]
fn config_init_check_print() {
    let f = temp("flowlens.yaml");
    let _ = std::fs::remove_file(&f);
    let fs = f.to_str().unwrap();
    let o = flowlens(&["config", "init", fs]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = flowlens(&["config", "init", fs]);
    assert_eq!(o.status.code(), Some(2), "no overwrite without --force");
    let o = flowlens(&["config", "check", fs]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = flowlens(&["config", "print", "--config", fs, "--data-dir", "/srv/x"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("storage.data_dir = /srv/x"), "{out}");
    assert!(out.contains("# flag --data-dir"), "{out}");
    assert!(out.contains("storage.flush_interval = 1s"), "{out}");

    std::fs::write(&f, "storage:\n  data_dri: /x\npipeline:\n  decode_workers: 0\n").unwrap();
    let o = flowlens(&["config", "check", fs]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("did you mean storage.data_dir?"), "{}", stderr(&o));
    std::fs::write(&f, "pipeline:\n  decode_workers: 0\n").unwrap();
    let o = flowlens(&["config", "check", fs]);
    assert!(
        stderr(&o).contains("bad value for pipeline.decode_workers"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn import_stores_what_decode_finds() {
    let Some(dir) = flowdata() else { return };
    let file = dir.join("graylog-plugin-netflow/nprobe-netflow9.pcap");
    if !file.exists() {
        assert!(!super::strict(), "{} missing", file.display());
        return;
    }
    let f = file.to_str().unwrap();
    let data = temp("import");
    let _ = std::fs::remove_dir_all(&data);
    let o = flowlens(&["decode", "--format", "count", f]);
    let decoded: u64 = stderr(&o)
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[1].starts_with("flow"))
        .and_then(|w| w[0].parse().ok())
        .expect("decode summary names the flows");
    let o = flowlens(&["import", "--no-dedup", "--data-dir", data.to_str().unwrap(), f]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{decoded} flows, {decoded} stored")),
        "{}",
        stderr(&o)
    );
    let stored: u64 = stored_by_protocol(&data).values().map(|v| v.0).sum();
    assert_eq!(stored, decoded);
}

/// Listener flags: NetFlow on `udp` of loopback, the other protocols off.
fn netflow_only(udp: u16) -> Vec<String> {
    [
        "--netflow",
        &format!("127.0.0.1:{udp}"),
        "--ipfix",
        "127.0.0.1:0",
        "--sflow",
        "127.0.0.1:0",
    ]
    .map(String::from)
    .to_vec()
}

mod analysis;
mod geoip;
mod prometheus;
mod security;
