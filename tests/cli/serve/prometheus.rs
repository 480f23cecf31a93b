//! A real Prometheus scraping the service while the simulator sends.

use super::*;

#[test]
fn prometheus_scrapes_traffic_that_matches_the_simulator() {
    let have = |p: &str| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(have("prometheus") && have("promtool")) {
        assert!(
            !crate::strict(),
            "prometheus/promtool not installed: run scripts/install-test-deps (Debian package prometheus)"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The shipped rules and scrape config are valid (promtool wants the
    // config's token file to exist: a copy points at one that does).
    let shipped = temp("prometheus-shipped");
    let _ = std::fs::remove_dir_all(&shipped);
    std::fs::create_dir_all(&shipped).unwrap();
    std::fs::write(shipped.join("flowlens.token"), "flt_example").unwrap();
    let conf = std::fs::read_to_string(root.join("deploy/prometheus/prometheus.yml"))
        .unwrap()
        .replace(
            "/etc/prometheus/flowlens.token",
            shipped.join("flowlens.token").to_str().unwrap(),
        )
        .replace(
            "flowlens-rules.yml",
            root.join("deploy/prometheus/flowlens-rules.yml").to_str().unwrap(),
        );
    std::fs::write(shipped.join("prometheus.yml"), conf).unwrap();
    let shipped_conf = shipped.join("prometheus.yml");
    for args in [
        vec!["check", "rules", "deploy/prometheus/flowlens-rules.yml"],
        vec!["check", "config", shipped_conf.to_str().unwrap()],
    ] {
        let o = Command::new("promtool").args(&args).current_dir(root).output().unwrap();
        assert!(
            o.status.success(),
            "promtool {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let udp = free_udp();
    let s = Running::start(
        "prometheus",
        &netflow_only(udp),
        &[("FLOWLENS_METRICS__LABELS", "{collector_id: test}")],
    );
    // Steady traffic for 75 s: a 1-minute window full of it.
    let target = format!("127.0.0.1:{udp}");
    let started = Instant::now();
    let sim = std::thread::spawn(move || simulate(&target, "v9", "2000", "75s", "4"));

    let dir = temp("prometheus");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("prometheus.yml");
    // Prometheus signs in as the shipped config says: a token with the
    // metrics permission, from a file.
    let token = dir.join("flowlens.token");
    std::fs::write(&token, super::token_of(s.http)).unwrap();
    std::fs::write(
        &conf,
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\n\
             scrape_configs:\n  - job_name: flowlens\n    authorization:\n      credentials_file: {}\n    \
             static_configs:\n      - targets: [\"{}\"]\n",
            token.display(),
            s.http
        ),
    )
    .unwrap();
    let prom_port = free_tcp();
    let prom: SocketAddr = format!("127.0.0.1:{prom_port}").parse().unwrap();
    let mut child = Command::new("prometheus")
        .arg(format!("--config.file={}", conf.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg(format!("--web.listen-address={prom}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("start prometheus");
    struct Stop(Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Stop(std::mem::replace(&mut child, Command::new("true").spawn().unwrap()));
    let query = |q: &str| -> Option<f64> {
        let path = format!(
            "/api/v1/query?query={}",
            q.bytes()
                .map(|b| if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                })
                .collect::<String>()
        );
        let (code, body) = http_get(prom, &path);
        if code != 200 {
            return None;
        }
        let v: Value = serde_json::from_str(&body).ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };

    // While the simulator runs steadily: the counters' rate as Prometheus
    // computes it, against the simulator's report.
    let mut rate = None;
    while started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_secs(2));
        rate = query("sum(rate(flow_bytes_total[15s]))").filter(|r| *r > 0.0);
    }
    // A real scrape passes promtool, with the static label on it.
    let (code, text) = http_get(s.http, "/metrics");
    assert_eq!(code, 200);
    assert!(
        text.contains("flow_bytes_total{") && text.contains("collector_id=\"test\""),
        "{text:.400}"
    );
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let o = check.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );

    let bandwidth_query = "sum(flow_bandwidth_bps{window=\"1m\"})";
    // The 1-minute window is full 70 s after the first flow.
    while started.elapsed() < Duration::from_secs(72) {
        std::thread::sleep(Duration::from_secs(1));
    }
    let bandwidth = query(bandwidth_query);
    let sent = sim.join().unwrap();
    let bytes_per_s = sent["bytes"].as_f64().unwrap() / sent["seconds"].as_f64().unwrap();
    let rate = rate.expect("Prometheus computed a rate");
    let bandwidth = bandwidth.expect("Prometheus has the bandwidth gauge");
    eprintln!(
        "simulator {:.0} B/s; Prometheus rate(flow_bytes_total) {rate:.0} B/s; flow_bandwidth_bps 1m {:.0} B/s",
        bytes_per_s,
        bandwidth / 8.0
    );
    // Measured: 0.6 % and 0.01 % apart; the margins are for a busy CI host
    // (15 s of rate sees the scrape jitter more than a full minute does).
    assert!((rate / bytes_per_s - 1.0).abs() < 0.15, "rate {rate} vs {bytes_per_s}");
    assert!(
        (bandwidth / 8.0 / bytes_per_s - 1.0).abs() < 0.15,
        "bandwidth {bandwidth} vs {bytes_per_s}"
    );
    let series = query("count(flow_bytes_total)").unwrap_or(0.0);
    assert!(
        (4.0..=12.0).contains(&series),
        "4 exporters × up to 3 protocols: {series}"
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
