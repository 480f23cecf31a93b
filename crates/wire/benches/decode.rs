//! Decoder throughput per protocol, in flows (or samples) per second on one
//! core. Datagrams are built by the crate's encoders; templates are cached
//! before measuring, as in steady state. Results: docs/BENCHMARKS.md.

use std::hint::black_box;
use std::net::SocketAddr;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flowlens_wire::encode::fields::TimeBase;
use flowlens_wire::encode::{standard_template, IpfixEncoder, SflowEncoder, V5Header, V9Encoder};
use flowlens_wire::{Batch, Decoder, FlowRecord, Protocol, Timestamp};

const NOW: Timestamp = Timestamp(1_700_000_000_000_000_000);

fn exporter() -> SocketAddr {
    "192.0.2.10:2055".parse().unwrap()
}

/// Varied but realistic records.
fn records(n: usize, ipv6: bool) -> Vec<FlowRecord> {
    (0..n)
        .map(|i| {
            let mut r = FlowRecord::new(Protocol::Ipfix, exporter(), NOW);
            let i = i as u32;
            r.src_addr = Some(if ipv6 {
                std::net::IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16])
            } else {
                std::net::IpAddr::from([10, 0, (i >> 8) as u8, i as u8])
            });
            r.dst_addr = Some(if ipv6 {
                std::net::IpAddr::from([0x2001, 0xdb8, 1, 0, 0, 0, 0, i as u16])
            } else {
                std::net::IpAddr::from([192, 168, (i >> 8) as u8, i as u8])
            });
            r.next_hop = r.dst_addr;
            r.in_if = Some(i % 48);
            r.out_if = Some(i % 7);
            r.packets = Some(1 + i as u64 * 3);
            r.bytes = Some(64 + i as u64 * 1400);
            r.time_start = Some(Timestamp::from_millis(NOW.as_millis() - 60_000 + i as i64));
            r.time_end = Some(Timestamp::from_millis(NOW.as_millis() - 1000));
            r.proto = Some(if i % 3 == 0 { 17 } else { 6 });
            r.src_port = Some(1024 + i as u16);
            r.dst_port = Some(443);
            r.tcp_flags = Some(0x1b);
            r.tos = Some(0);
            r.src_as = Some(64_500 + i);
            r.dst_as = Some(15_169);
            r.src_mask = Some(24);
            r.dst_mask = Some(22);
            r.src_vlan = Some(100);
            r.sampling_rate = Some(1000);
            r
        })
        .collect()
}

/// Measures decoding `data` (after `setup` datagrams such as templates) as
/// `elements` flows per iteration.
fn bench_one(c: &mut Criterion, name: &str, elements: u64, setup: &[Vec<u8>], data: &[u8]) {
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(elements));
    let mut d = Decoder::new();
    let mut b = Batch::new();
    for s in setup {
        d.decode(s, exporter(), NOW, &mut b).unwrap();
    }
    g.bench_function(name, |bench| {
        bench.iter(|| {
            b.clear();
            d.decode(black_box(data), exporter(), NOW, &mut b).unwrap();
            black_box(b.flows.len())
        })
    });
    g.finish();
}

fn bench_decoders(c: &mut Criterion) {
    let base = TimeBase {
        export_time: NOW,
        sys_uptime_ms: 10_000_000,
    };
    let templated = |v9: bool, ipv6: bool| {
        let recs = records(22, ipv6);
        let (mut tpl, mut data) = (Vec::new(), Vec::new());
        if v9 {
            let mut e = V9Encoder::new(1, 256, standard_template(ipv6, true));
            e.encode(&base, &[], true, None, &mut tpl);
            e.encode(&base, &recs, false, None, &mut data);
        } else {
            let mut e = IpfixEncoder::new(1, 256, standard_template(ipv6, false));
            e.encode(&base, &[], true, None, &mut tpl);
            e.encode(&base, &recs, false, None, &mut data);
        }
        (vec![tpl], data)
    };
    let (tpl, data) = templated(true, false);
    bench_one(c, "netflow9_23_fields_22_records", 22, &tpl, &data);
    let (tpl, data) = templated(false, false);
    bench_one(c, "ipfix_23_fields_22_records", 22, &tpl, &data);
    let (tpl, data) = templated(false, true);
    bench_one(c, "ipfix_ipv6_23_fields_22_records", 22, &tpl, &data);

    let h = V5Header {
        export_time: NOW,
        sys_uptime_ms: 10_000_000,
        sequence: 0,
        engine_type: 0,
        engine_id: 0,
        sampling_interval: 0,
    };
    let mut v5 = Vec::new();
    flowlens_wire::encode::v5::encode(&h, &records(30, false), &mut v5);
    bench_one(c, "netflow5_30_records", 30, &[], &v5);

    let mut sf = Vec::new();
    SflowEncoder::new("192.0.2.1".parse().unwrap(), 0).encode(&records(5, false), &[], &mut sf);
    bench_one(c, "sflow_5_raw_header_samples", 5, &[], &sf);
}

criterion_group!(benches, bench_decoders);
criterion_main!(benches);
