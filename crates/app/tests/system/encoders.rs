//! The encoders' output is clean to an independent decoder: tshark finds
//! every record and raises no malformed-packet or expert warning.

use std::net::SocketAddr;
use std::process::Command;

use flowlens_wire::encode::fields::TimeBase;
use flowlens_wire::encode::{standard_template, IpfixEncoder, SflowEncoder, V5Header, V9Encoder};
use flowlens_wire::{CounterRecord, EthernetCounters, FlowRecord, IfCounters, Protocol, Timestamp};

use crate::common;

const NOW: Timestamp = Timestamp(1_700_000_000_000_000_000);

fn records(ipv6: bool) -> Vec<FlowRecord> {
    (0..10u8)
        .map(|i| {
            let mut r = FlowRecord::new(Protocol::Ipfix, "192.0.2.1:1".parse().unwrap(), NOW);
            r.src_addr = Some(if ipv6 {
                [0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16].into()
            } else {
                [10, 0, 0, i].into()
            });
            r.dst_addr = Some(if ipv6 {
                [0x2001, 0xdb8, 1, 0, 0, 0, 0, i as u16].into()
            } else {
                [10, 0, 1, i].into()
            });
            r.next_hop = r.dst_addr;
            r.proto = Some([6, 17, if ipv6 { 58 } else { 1 }][i as usize % 3]);
            r.src_port = Some(1000 + i as u16);
            r.dst_port = Some(443);
            r.bytes = Some(1500 + i as u64);
            r.packets = Some(2);
            r.tcp_flags = Some(0x12);
            r.time_start = Some(Timestamp::from_millis(NOW.as_millis() - 10_000));
            r.time_end = Some(NOW);
            r.in_if = Some(3);
            r.out_if = Some(4);
            r.src_as = Some(64_500);
            r.dst_as = Some(15_169);
            r.src_vlan = Some(10);
            r.dst_vlan = Some(20);
            r.src_mask = Some(24);
            r.sampling_rate = Some(512);
            r
        })
        .collect()
}

/// (payloads in order, expected flow records)
fn datagrams() -> Vec<(&'static str, Vec<Vec<u8>>, usize)> {
    let base = TimeBase {
        export_time: NOW,
        sys_uptime_ms: 5_000_000,
    };
    let mut out = Vec::new();
    let mut v5 = Vec::new();
    let h = V5Header {
        export_time: NOW,
        sys_uptime_ms: 5_000_000,
        sequence: 0,
        engine_type: 0,
        engine_id: 0,
        sampling_interval: 100,
    };
    flowlens_wire::encode::v5::encode(&h, &records(false), &mut v5);
    out.push(("netflow5", vec![v5], 10));
    for ipv6 in [false, true] {
        let mut e = V9Encoder::new(1, 256, standard_template(ipv6, true));
        let mut g = Vec::new();
        e.encode(&base, &records(ipv6), true, Some((1, 100)), &mut g);
        out.push(("netflow9", vec![g], 10));
        let mut e = IpfixEncoder::new(1, 256, standard_template(ipv6, false));
        let mut g = Vec::new();
        e.encode(&base, &records(ipv6), true, Some((1, 100)), &mut g);
        out.push(("ipfix", vec![g], 10));
        let mut s = SflowEncoder::new("192.0.2.9".parse().unwrap(), 0);
        let mut g = Vec::new();
        let c = CounterRecord {
            time_received: NOW,
            exporter: "192.0.2.9:1".parse().unwrap(),
            agent: None,
            sub_agent: 0,
            sequence: 1,
            source_type: 0,
            source_index: 3,
            interface: Some(IfCounters {
                if_index: 3,
                if_speed: 10_000_000_000,
                in_octets: 1 << 40,
                ..IfCounters::default()
            }),
            ethernet: Some(EthernetCounters::default()),
            skipped_records: 0,
        };
        s.encode(&records(ipv6)[..5], &[c], &mut g);
        out.push(("sflow", vec![g], 5));
    }
    out
}

#[test]
fn encoder_output_decodes_cleanly_in_tshark() {
    let Some(tshark) = common::tool("tshark") else { return };
    let tmp = std::env::temp_dir().join(format!("flowlens-enc-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for (i, (name, grams, expected)) in datagrams().into_iter().enumerate() {
        let src: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let dst: SocketAddr = if name == "sflow" {
            "127.0.0.1:6343"
        } else {
            "127.0.0.1:2055"
        }
        .parse()
        .unwrap();
        let pcap = tmp.join(format!("{i}-{name}.pcap"));
        common::write_pcap(&pcap, &grams.iter().map(|g| (g.clone(), src, dst)).collect::<Vec<_>>());
        let out = Command::new(&tshark)
            .arg("-r")
            .arg(&pcap)
            .args(["-T", "json", "-d", "udp.port==2055,cflow", "-d", "udp.port==6343,sflow"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("_ws.malformed"),
            "{name}: tshark reports a malformed packet"
        );
        // Expert infos of severity warning (0x00600000) or error (0x00800000).
        assert!(
            !text.contains("\"_ws.expert.severity\": \"6291456\"")
                && !text.contains("\"_ws.expert.severity\": \"8388608\""),
            "{name}: tshark raises an expert warning:\n{}",
            text.lines()
                .filter(|l| l.contains("_ws.expert.message"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        // cflow records are "Flow N" / "pdu N/M", sFlow ones "Flow sample, seq N".
        let flows = text.matches("\"Flow ").count() + text.matches("\"pdu ").count();
        // v9/IPFIX also show the sampler options record as a "Flow".
        let options = if name == "netflow9" || name == "ipfix" { 1 } else { 0 };
        assert_eq!(
            flows,
            expected + options,
            "{name}: tshark sees a different record count"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
