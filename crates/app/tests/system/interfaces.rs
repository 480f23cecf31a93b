//! Interface names from a real exporter: a Cisco IPFIX capture (pmacct's
//! test 500) whose options data names its interfaces is replayed over UDP
//! into the service; the API shows the names, classified by the rules, and
//! the store keeps them for the next start.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use flowlens_app::capture;
use flowlens_app::config::{
    Boundary, Config, ExporterConfig, InterfaceConfig, InterfaceRule, ListenProtocol, Listener,
};
use flowlens_app::serve::Service;
use serde_json::Value;

use crate::common::{flowdata, tmp};

fn get(addr: SocketAddr, path: &str) -> Value {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
}

#[test]
fn interface_names_from_options_data_reach_the_api_and_the_store() {
    let Some(data) = flowdata() else { return };
    let pcap = data.join("pmacct/500-IPFIXv10-BGP-CISCO-SRv6/traffic-00.pcap");
    let mut payloads = Vec::new();
    capture::read_file(&pcap, |d| payloads.push(d.payload.to_vec())).unwrap();
    assert!(!payloads.is_empty());

    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tmp("interfaces");
    let _ = std::fs::remove_dir_all(&dir);
    let lo = IpAddr::from([127, 0, 0, 1]);
    let mut config = Config::default();
    config.storage.data_dir = dir.clone();
    config.web.listen = vec![SocketAddr::new(lo, 0)];
    // Loopback only: the interfaces, not accounts, are under test here.
    config.auth.enabled = false;
    config.collector.listeners = vec![Listener {
        address: lo,
        port,
        protocol: ListenProtocol::Auto,
        ..Listener::default()
    }];
    // The configuration names the router and one interface; a rule
    // classifies the TenGigE ports the router names itself.
    config.exporters = vec![ExporterConfig {
        address: lo,
        name: Some("lab-asr".into()),
        interfaces: [(
            0,
            InterfaceConfig {
                name: Some("null0".into()),
                boundary: Some(Boundary::Internal),
                ..InterfaceConfig::default()
            },
        )]
        .into(),
    }];
    config.interface_rules = vec![InterfaceRule {
        exporter: Some("lab-*".into()),
        interface: Some("tengige*".into()),
        boundary: Some(Boundary::External),
        connectivity: Some("transit".into()),
        provider: Some("lab-isp".into()),
        ..InterfaceRule::default()
    }];
    let service = Service::start(config.clone()).expect("serve");
    let http = service.http_addrs()[0];
    let sock = UdpSocket::bind(SocketAddr::new(lo, 0)).unwrap();
    for p in &payloads {
        sock.send_to(p, SocketAddr::new(lo, port)).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let t = Instant::now();
    let v = loop {
        let v = get(http, "/api/v1/exporters/127.0.0.1?since=10m");
        let named = v["interfaces"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["index"] == 42 && i["name"].is_string()));
        if named {
            break v;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "no named interface: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(v["name"], "lab-asr", "{v}");
    let ifs = v["interfaces"].as_array().unwrap();
    let i42 = ifs.iter().find(|i| i["index"] == 42).unwrap();
    assert_eq!(i42["name"], "TenGigE0_0_0_0");
    assert_eq!(i42["description"], "TenGigE0/0/0/0");
    assert_eq!(
        (&i42["boundary"], &i42["connectivity"], &i42["provider"]),
        (
            &Value::from("external"),
            &Value::from("transit"),
            &Value::from("lab-isp")
        ),
        "{i42}"
    );
    if let Some(i0) = ifs.iter().find(|i| i["index"] == 0) {
        assert_eq!(
            (&i0["name"], &i0["boundary"]),
            (&Value::from("null0"), &Value::from("internal"))
        );
    }
    let flows = get(http, "/api/v1/flows?since=10m&filter=in%20if%2042&limit=1");
    assert_eq!(flows["flows"][0]["in_if_name"], "TenGigE0_0_0_0", "{flows}");
    let acc = service.shutdown();
    assert!(acc.balanced(), "{acc}");

    // Kept: the next start knows the names before the router speaks.
    let store = flowlens_store::Store::open(flowlens_store::StoreConfig {
        data_dir: dir.clone(),
        flush_interval: Duration::from_secs(1),
    })
    .unwrap();
    let names = store.interface_names().unwrap();
    assert!(
        names
            .iter()
            .any(|(a, i, n, _)| *a == lo && *i == 42 && n.as_deref() == Some("TenGigE0_0_0_0")),
        "{names:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
