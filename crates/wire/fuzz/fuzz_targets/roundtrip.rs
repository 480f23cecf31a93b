//! Round trip: fuzzer bytes → records → encode (v5, v9, IPFIX, sFlow) →
//! decode must give back the fields each format carries.
#![no_main]
use std::net::IpAddr;

use flowlens_wire::encode::fields::TimeBase;
use flowlens_wire::encode::{standard_template, IpfixEncoder, SflowEncoder, V9Encoder};
use flowlens_wire::{Batch, Decoder, FlowRecord, Protocol, Timestamp};
use libfuzzer_sys::fuzz_target;

const NOW: Timestamp = Timestamp(1_700_000_000_000_000_000);

fn take<const N: usize>(d: &mut &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    let n = N.min(d.len());
    a[..n].copy_from_slice(&d[..n]);
    *d = &d[n..];
    a
}

fn record(d: &mut &[u8]) -> FlowRecord {
    let mut r = FlowRecord::new(Protocol::Ipfix, "192.0.2.1:1".parse().unwrap(), NOW);
    r.src_addr = Some(IpAddr::from(take::<4>(d)));
    r.dst_addr = Some(IpAddr::from(take::<4>(d)));
    r.src_port = Some(u16::from_be_bytes(take::<2>(d)));
    r.dst_port = Some(u16::from_be_bytes(take::<2>(d)));
    r.proto = Some([6u8, 17][take::<1>(d)[0] as usize % 2]);
    r.bytes = Some((u32::from_be_bytes(take::<4>(d)) >> 1) as u64 + 64);
    r.packets = Some(u32::from_be_bytes(take::<4>(d)) as u64);
    r.in_if = Some(u32::from_be_bytes(take::<4>(d)) & 0x00ff_ffff);
    r.src_as = Some(u32::from_be_bytes(take::<4>(d)));
    r.time_start = Some(Timestamp::from_millis(NOW.as_millis() - (u16::from_be_bytes(take::<2>(d)) as i64)));
    r.time_end = Some(NOW);
    r
}

fuzz_target!(|data: &[u8]| {
    let mut d = data;
    let mut recs = Vec::new();
    while !d.is_empty() && recs.len() < 22 {
        recs.push(record(&mut d));
    }
    if recs.is_empty() {
        return;
    }
    let base = TimeBase { export_time: NOW, sys_uptime_ms: 50_000_000 };
    let exporter = "192.0.2.1:2055".parse().unwrap();
    let check = |recs: &[FlowRecord], datagrams: Vec<Vec<u8>>| {
        let mut dec = Decoder::new();
        let mut b = Batch::new();
        for g in &datagrams {
            dec.decode(g, exporter, NOW, &mut b).expect("own encoding decodes");
        }
        assert_eq!(b.flows.len(), recs.len());
        for (x, y) in recs.iter().zip(&b.flows) {
            assert_eq!((x.src_addr, x.dst_addr, x.src_port, x.dst_port, x.proto), (y.src_addr, y.dst_addr, y.src_port, y.dst_port, y.proto));
            assert_eq!(x.bytes, y.bytes);
            assert_eq!(x.in_if, y.in_if);
        }
    };
    let mut v9 = V9Encoder::new(1, 256, standard_template(false, true));
    let mut g = Vec::new();
    v9.encode(&base, &recs, true, None, &mut g);
    check(&recs, vec![g]);
    let mut ipfix = IpfixEncoder::new(1, 256, standard_template(false, false));
    let mut g = Vec::new();
    ipfix.encode(&base, &recs, true, None, &mut g);
    check(&recs, vec![g]);
    // An sFlow sample is one packet: its bytes are an IP length (≤ 65,535).
    for r in &mut recs {
        r.bytes = r.bytes.map(|b| 64 + b % 65_000);
    }
    let mut s = SflowEncoder::new("192.0.2.9".parse().unwrap(), 0);
    let mut g = Vec::new();
    s.encode(&recs, &[], &mut g);
    check(&recs, vec![g]);
});
