//! The traffic series: counts, the cap under a flood of spoofed sources,
//! bandwidth over windows; the text formats.

use std::net::{IpAddr, SocketAddr};

use flowlens_store::Flow;
use flowlens_wire::{FlowRecord, Protocol, Timestamp};

use super::traffic::{protocol_name, Traffic};
use super::*;
use crate::config::{MetricDim, Metrics};

fn flow(src: IpAddr, proto: u8, bytes: u64, rate: u32) -> Flow {
    let exporter: SocketAddr = "192.0.2.1:2055".parse().unwrap();
    let mut r = FlowRecord::new(Protocol::Netflow9, exporter, Timestamp::from_secs(1_767_225_600));
    r.src_addr = Some(src);
    r.dst_addr = Some("198.51.100.1".parse().unwrap());
    r.proto = Some(proto);
    r.bytes = Some(bytes);
    r.packets = Some(1);
    r.sampling_rate = Some(rate);
    Flow::new(r)
}

#[test]
fn series_count_sampling_corrected_traffic_per_label_set() {
    let t = Traffic::new(&Metrics::default());
    let now = 1_767_225_600;
    let a: IpAddr = "10.0.0.1".parse().unwrap();
    t.record(&[flow(a, 6, 1_000, 1), flow(a, 6, 500, 10), flow(a, 17, 100, 1)], now);
    let snap = t.snapshot();
    assert_eq!(snap.len(), 2);
    let tcp = snap
        .iter()
        .find(|(l, _)| l == &vec!["192.0.2.1".to_string(), "tcp".into()])
        .unwrap();
    assert_eq!((tcp.1.flows, tcp.1.bytes, tcp.1.packets), (2, 6_000, 11));
    assert_eq!(protocol_name(250), "250");
}

#[test]
fn a_flood_of_spoofed_sources_stays_under_the_cap() {
    let m = Metrics {
        dimensions: vec![MetricDim::SrcAddr],
        max_series: 100,
        ..Metrics::default()
    };
    let t = Traffic::new(&m);
    let flows: Vec<Flow> = (0..100_000u32)
        .map(|i| flow(IpAddr::from((0x0a00_0000 + i).to_be_bytes()), 6, 100, 1))
        .collect();
    t.record(&flows, 1_767_225_600);
    assert_eq!(t.series_count(), 101, "100 series and other");
    assert_eq!(t.folded.load(std::sync::atomic::Ordering::Relaxed), 100_000 - 100);
    let other = t.snapshot().into_iter().find(|(l, _)| l[0] == "other").unwrap();
    assert_eq!(
        other.1.bytes,
        (100_000 - 100) * 100,
        "nothing lost: folded, not dropped"
    );
}

#[test]
fn bandwidth_is_over_complete_buckets_before_the_scrape() {
    let t = Traffic::new(&Metrics::default());
    let a: IpAddr = "10.0.0.1".parse().unwrap();
    let t0 = 1_767_225_600; // a multiple of 10 s
                            // 10,000 bytes in each 10-second bucket for 2 minutes, then a burst in
                            // the bucket being filled (not counted yet).
    for k in 0..12 {
        t.record(&[flow(a, 6, 10_000, 1)], t0 + k * 10 + 3);
    }
    t.record(&[flow(a, 6, 999_999, 1)], t0 + 120 + 1);
    let (_, s) = t.snapshot().pop().unwrap();
    let now = t0 + 125;
    assert_eq!(s.bandwidth(now, 60), 6.0 * 10_000.0 * 8.0 / 60.0);
    assert_eq!(
        s.bandwidth(now, 300),
        12.0 * 10_000.0 * 8.0 / 300.0,
        "only 2 minutes had traffic"
    );
    // An hour later without traffic: nothing.
    assert_eq!(s.bandwidth(now + 3_700, 300), 0.0);
}

#[test]
fn the_prometheus_text_names_counters_with_total() {
    let open = "# HELP flow_bytes Bytes.\n# TYPE flow_bytes counter\nflow_bytes_total{exporter=\"a\"} 5\n\
                # HELP flow_bandwidth_bps Bits.\n# TYPE flow_bandwidth_bps gauge\n# UNIT flow_x seconds\n\
                flow_bandwidth_bps 1.0\n# EOF\n";
    let t = to_prometheus_text(open);
    assert_eq!(
        t,
        "# HELP flow_bytes_total Bytes.\n# TYPE flow_bytes_total counter\nflow_bytes_total{exporter=\"a\"} 5\n\
         # HELP flow_bandwidth_bps Bits.\n# TYPE flow_bandwidth_bps gauge\nflow_bandwidth_bps 1.0\n"
    );
}
