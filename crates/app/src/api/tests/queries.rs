//! Flow search, top-N, series, Sankey, IPs and exporters through the
//! router.

use super::*;

#[test]
fn flow_search_pages_and_filters() {
    let f = fixture("flows");
    rt().block_on(async {
        let v = ok(&f, &format!("/api/v1/flows?{RANGE}&filter=dst%20port%2053&limit=20")).await;
        let flows = v["flows"].as_array().unwrap();
        assert_eq!(flows.len(), 20);
        assert!(flows.iter().all(|x| x["dst_port"] == 53 && x["proto"] == 17));
        assert_eq!(v["table"], "flows");
        let next = v["next"].as_str().expect("a second page");
        let v2 = ok(
            &f,
            &format!("/api/v1/flows?{RANGE}&filter=dst%20port%2053&limit=20&cursor={next}"),
        )
        .await;
        assert_eq!(v2["flows"].as_array().unwrap().len(), 10, "30 in all");
        assert!(v2["next"].is_null());
        // Counters are sampling-corrected; the country from enrichment is there.
        let v = ok(
            &f,
            &format!("/api/v1/flows?{RANGE}&filter=host%2010.0.0.1&order=bytes&limit=1"),
        )
        .await;
        assert_eq!(v["flows"][0]["bytes"], 10_000);
        assert_eq!(v["flows"][0]["sampling_rate"], 10);
        assert_eq!(v["flows"][0]["dst_country"], "DE");
    });
}

#[test]
fn top_series_and_sankey_add_up() {
    let f = fixture("top");
    rt().block_on(async {
        let v = ok(&f, &format!("/api/v1/top?{RANGE}&by=proto&limit=10")).await;
        assert_eq!(v["total"]["bytes"], TOTAL_BYTES);
        assert_eq!(v["rows"][0]["key"]["proto"], 6);
        assert_eq!(v["rows"][0]["bytes"], 825_000 + 6_600);
        assert_eq!(v["rows"][0]["flows"], 170);
        let v = ok(&f, &format!("/api/v1/top?{RANGE}&by=src_ip&metric=flows&limit=1")).await;
        assert_eq!(v["rows"][0]["key"]["src_addr"], "10.0.0.1");
        assert_eq!(v["other"]["flows"], 50);

        let v = ok(&f, &format!("/api/v1/series?{RANGE}&step=60&by=proto")).await;
        let sum: u64 = v["series"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["values"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()))
            .sum();
        assert_eq!(sum, TOTAL_BYTES);
        assert_eq!(v["times"].as_array().unwrap().len(), 20, "20 minutes at 60 s");
        let v = ok(&f, &format!("/api/v1/series?{RANGE}&step=1200&rate=true")).await;
        let per_s = v["series"][0]["values"][0].as_f64().unwrap();
        assert!((per_s - TOTAL_BYTES as f64 / 1_200.0).abs() < 1e-6, "{per_s}");

        let v = ok(&f, &format!("/api/v1/sankey?{RANGE}&by=proto,dst_port")).await;
        let links = v["links"].as_array().unwrap();
        let sum: u64 = links.iter().map(|l| l["value"].as_u64().unwrap()).sum();
        assert_eq!(sum, TOTAL_BYTES);
        assert_eq!(v["nodes"].as_array().unwrap().len(), 5, "tcp, udp, 443, 53, 23");
    });
}

#[test]
fn ips_peers_and_bad_ips() {
    let f = fixture("ips");
    rt().block_on(async {
        let v = ok(&f, &format!("/api/v1/ips?{RANGE}&sort=bytes&limit=2")).await;
        assert_eq!(v["total"], 25, "3 sources, 22 destinations");
        assert_eq!(v["ips"][0]["ip"], "10.0.0.1");
        assert_eq!(v["ips"][0]["bytes_out"], 825_000);
        let v = ok(
            &f,
            &format!("/api/v1/ips?{RANGE}&sort=addr&direction=asc&limit=1&offset=1"),
        )
        .await;
        assert_eq!(v["ips"].as_array().unwrap().len(), 1);

        let v = ok(&f, &format!("/api/v1/ips/10.0.0.1?{RANGE}&step=60")).await;
        assert_eq!(v["bytes_out"], 825_000);
        assert_eq!(v["bytes_in"], 0);
        assert_eq!(v["peers"][0]["ip"], "192.0.2.10");
        let v = ok(&f, &format!("/api/v1/ips/198.51.100.7/peers?{RANGE}&limit=100")).await;
        assert_eq!(v["peers"].as_array().unwrap().len(), 20);
        let v = ok(&f, &format!("/api/v1/ips/2001:db8::53/protocols?{RANGE}")).await;
        assert_eq!(v["rows"][0]["key"]["proto"], 17);
        let v = ok(&f, &format!("/api/v1/ips/10.0.0.1/ports?{RANGE}")).await;
        assert_eq!(v["rows"][0]["key"]["dst_port"], 443);

        let v = ok(&f, &format!("/api/v1/bad-ips?{RANGE}&min_attempts=5")).await;
        let s = v["sources"].as_array().unwrap();
        assert_eq!(s.len(), 1, "{v}");
        assert_eq!(s[0]["ip"], "198.51.100.7");
        assert_eq!(s[0]["attempts"], 20);
        assert_eq!(s[0]["targets"], 20);
    });
}

#[test]
fn exporters_show_traffic_and_interfaces() {
    let f = fixture("exporters");
    rt().block_on(async {
        let v = ok(&f, &format!("/api/v1/exporters?{RANGE}")).await;
        let e = &v["exporters"][0];
        assert_eq!(e["address"], "192.0.2.1");
        assert_eq!(e["traffic"]["bytes"], TOTAL_BYTES);
        let v = ok(&f, &format!("/api/v1/exporters/192.0.2.1?{RANGE}")).await;
        let ifs = v["interfaces"].as_array().unwrap();
        assert_eq!(ifs.len(), 4, "in 1, 2, 3 and out 10: {v}");
        let out10 = ifs.iter().find(|i| i["index"] == 10).unwrap();
        assert_eq!(out10["out"]["bytes"], TOTAL_BYTES);
        bad(
            &f,
            &format!("/api/v1/exporters/192.0.2.99?{RANGE}"),
            "not_found",
            "no exporter 192.0.2.99",
        )
        .await;
    });
}
