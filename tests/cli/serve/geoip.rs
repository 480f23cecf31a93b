//! GeoIP and ASN enrichment in a running service, and a database replaced
//! under it.

use super::*;

/// `../shared/geoip` (MaxMind's test databases), or `None` (skip) outside CI.
fn geoip() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/geoip");
    if p.join("GeoLite2-ASN-Test.mmdb").exists() {
        return Some(p);
    }
    assert!(!crate::strict(), "MaxMind test databases not found at {}", p.display());
    None
}

#[test]
fn geoip_enriches_flows_and_a_replaced_database_is_used_without_a_restart() {
    let Some(geo) = geoip() else { return };
    let dir = temp("geoip-live");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let country = dir.join("Country.mmdb");
    std::fs::copy(geo.join("GeoLite2-Country-Test.mmdb"), &country).unwrap();
    let udp = free_udp();
    let s = Running::start(
        "geoip",
        &netflow_only(udp),
        &[
            ("FLOWLENS_ENRICHMENT__GEOIP__COUNTRY", country.to_str().unwrap()),
            (
                "FLOWLENS_ENRICHMENT__GEOIP__ASN",
                geo.join("GeoLite2-ASN-Test.mmdb").to_str().unwrap(),
            ),
            (
                "FLOWLENS_ENRICHMENT__GEOIP__CITY",
                geo.join("GeoIP2-City-Test.mmdb").to_str().unwrap(),
            ),
            ("FLOWLENS_ENRICHMENT__GEOIP__RELOAD_CHECK", "1s"),
        ],
    );
    let st = s.status();
    assert_eq!(st["enrichment"]["databases"].as_array().unwrap().len(), 3, "{st}");
    // 149.101.100.0/28 is in GeoIP2-Country-Test only; 1.128.0.0/11 is
    // AS1221 (Telstra) in the ASN database.
    let ingest = |src: &str| {
        let body = format!(
            r#"[{{"router":"r1","src_ip":"{src}","dst_ip":"1.128.0.1","protocol":"tcp","dst_port":443,"bytes":1000,"packets":2}}]"#
        );
        let (code, text) = http(s.http, "POST", "/ingest", Some(body.as_bytes()));
        assert_eq!(code, 200, "{text}");
    };
    // Real traffic through the whole swap: nothing may be dropped.
    let target = format!("127.0.0.1:{udp}");
    let sim = std::thread::spawn(move || simulate(&target, "v9", "3000", "6s", "4"));
    ingest("149.101.100.1");
    std::thread::sleep(Duration::from_secs(1));
    let tmp = dir.join("Country.mmdb.new");
    std::fs::copy(geo.join("GeoIP2-Country-Test.mmdb"), &tmp).unwrap();
    std::fs::rename(&tmp, &country).unwrap();
    let t = Instant::now();
    while s.status()["enrichment"]["reloads"] != 1 {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "no reload: {}",
            s.status()["enrichment"]
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    ingest("149.101.100.2");
    let sent = sim.join().unwrap();
    std::thread::sleep(Duration::from_secs(2));

    let (code, body) = http_get(
        s.http,
        "/api/v1/flows?filter=net%20149.101.100.0/28&order=%2Btime&since=10m",
    );
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let flows = v["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 2, "{body}");
    assert_eq!(flows[0]["src_country"], Value::Null, "before the reload: unknown");
    assert_eq!(flows[1]["src_country"], "US", "after the reload, no restart");
    for f in flows {
        assert_eq!(f["dst_as"], 1221);
        assert_eq!(f["dst_as_name"], "Telstra Pty Ltd");
    }
    // A city for an address the City database knows (London, README #4).
    ingest("81.2.69.160");
    std::thread::sleep(Duration::from_millis(1_500));
    let (_, body) = http_get(s.http, "/api/v1/flows?filter=src%20host%2081.2.69.160&since=10m");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["flows"][0]["src_city"], "London", "{v}");
    assert_eq!(v["flows"][0]["src_country"], "GB");
    let (_, body) = http_get(s.http, "/api/v1/top?by=dst_as&since=10m&filter=net%20149.101.100.0/28");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["rows"][0]["names"]["dst_as"], "Telstra Pty Ltd", "{v}");
    let (_, body) = http_get(s.http, "/api/v1/ips/149.101.100.2?since=10m");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["location"]["country"], "US", "{v}");

    let st = s.status();
    // Nothing lost over the swap (the generator's own cross-router
    // duplicates are removed by design, and counted).
    let dropped = st["flows"]["dropped"].as_object().unwrap();
    assert!(dropped.keys().all(|k| k == "duplicate"), "{}", st["flows"]);
    assert_eq!(st["flows"]["received"], sent["flows"].as_u64().unwrap() + 3);
    assert!(st["enrichment"]["cache"]["misses"].as_u64().unwrap() > 0);
    let (ok, _, log) = s.stop();
    assert!(ok, "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
