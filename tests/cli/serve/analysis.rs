//! The analysis engine in a running service: `flowlens simulate --scenario`
//! over UDP raises the advisory, an alert rule made through the API fires,
//! and both reach a local webhook receiver that fails its first delivery:
//! retried, delivered, never twice.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::*;

/// A webhook receiver on loopback: answers 500 to the first POST, 200 to
/// the rest; keeps (idempotency key, body) of every POST.
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<(String, u16, Value)>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let got: Arc<Mutex<Vec<(String, u16, Value)>>> = Arc::default();
        let g = got.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let mut r = BufReader::new(s.try_clone().unwrap());
                let (mut key, mut len) = (String::new(), 0usize);
                let mut line = String::new();
                while r.read_line(&mut line).unwrap_or(0) > 0 {
                    let l = line.trim_end().to_string();
                    line.clear();
                    if l.is_empty() {
                        break;
                    }
                    let lower = l.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("idempotency-key:") {
                        key = v.trim().to_string();
                    }
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                let mut g = g.lock().unwrap();
                let status = if g.is_empty() { 500 } else { 200 };
                g.push((key, status, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                drop(g);
                let _ = s.write_all(
                    format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
                );
            }
        });
        Receiver { addr, got }
    }
}

#[test]
fn a_simulated_port_scan_raises_an_advisory_and_an_alert_delivered_once_to_a_webhook() {
    let hook = Receiver::start();
    let udp = free_udp();
    let dir = temp("analysis-e2e");
    let _ = std::fs::create_dir_all(&dir);
    let config = dir.join("flowlens.yaml");
    std::fs::write(
        &config,
        format!(
            "analysis:\n  interval: 10s\nnotifications:\n  allow_hosts: [127.0.0.1]\n  webhooks:\n    - name: noc\n      url: http://{}/hook\n      advisories: critical\n",
            hook.addr
        ),
    )
    .unwrap();
    let mut args = netflow_only(udp);
    args.extend(["--config".to_string(), config.display().to_string()]);
    let svc = Running::start("analysis", &args, &[]);
    // A rule: more than 100 destination ports from one source in 10 s.
    let rule = r#"{"name": "Many ports from one host", "metric": "unique_ports", "by": "src_addr", "op": ">",
                   "threshold": 100, "window": "10s", "severity": "critical", "webhooks": ["noc"]}"#;
    let (code, body) = http(svc.http, "POST", "/api/v1/alert-rules", Some(rule.as_bytes()));
    assert_eq!(code, 200, "{body}");
    let (code, body) = http(
        svc.http,
        "POST",
        "/api/v1/alert-rules",
        Some(br#"{"name": "x", "metric": "flows", "op": ">", "threshold": 1, "severity": "warning"}"#),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("metric"), "{body}");

    let sim = flowlens(&[
        "simulate",
        "--target",
        &format!("127.0.0.1:{udp}"),
        "--protocol",
        "v9",
        "--rate",
        "300",
        "--duration",
        "25s",
        "--exporters",
        "2",
        "--scenario",
        "port-scan",
        "--scenario-at",
        "3s",
        "--report",
        "json",
    ]);
    assert!(sim.status.success(), "{}", stderr(&sim));

    // The advisory: within two intervals of the scan (it ran 22 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    let advisory = loop {
        let (code, body) = http_get(svc.http, "/api/v1/advisories?severity=critical");
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        if let Some(a) = v["advisories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["analyzer"] == "scan" && a["subject"]["id"] == "172.16.0.55")
        {
            break a.clone();
        }
        assert!(Instant::now() < deadline, "no scan advisory: {body}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        advisory["description"]
            .as_str()
            .unwrap()
            .contains("unique ports in 60s"),
        "{advisory}"
    );
    assert!(advisory["numbers"]["ports"].as_f64().unwrap() >= 500.0, "{advisory}");
    assert!(advisory["evidence"]
        .as_str()
        .unwrap()
        .starts_with("/flows?filter=src+host+172.16.0.55"));

    // The alert fired for the scanner.
    let (_, body) = http_get(svc.http, "/api/v1/alerts");
    let alerts: Value = serde_json::from_str(&body).unwrap();
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["subject"] == "172.16.0.55" && a["rule"] == "Many ports from one host"),
        "{body}"
    );

    // The webhook: the first attempt failed (500) and was retried with the
    // same key; every event was delivered exactly once.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = hook.got.lock().unwrap().clone();
        let types: Vec<&str> = got.iter().filter_map(|(_, _, b)| b["type"].as_str()).collect();
        if types.contains(&"advisory.opened") && types.contains(&"alert.firing") {
            assert_eq!(got[0].1, 500);
            assert!(
                got[1..].iter().any(|(k, _, _)| *k == got[0].0),
                "the failed delivery was retried with its key: {got:?}"
            );
            let mut delivered: BTreeMap<&str, usize> = BTreeMap::new();
            for (k, status, _) in &got {
                if *status == 200 {
                    *delivered.entry(k).or_default() += 1;
                }
            }
            assert!(delivered.values().all(|n| *n == 1), "a delivery arrived twice: {got:?}");
            // Only critical advisories go to this webhook.
            assert!(got
                .iter()
                .filter(|(_, _, b)| b["type"] == "advisory.opened")
                .all(|(_, _, b)| b["advisory"]["severity"] == "critical"));
            break;
        }
        assert!(Instant::now() < deadline, "webhook got {got:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ok, _, log) = svc.stop();
    assert!(ok, "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
