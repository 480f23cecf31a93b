//! Hostile input: one regression test per case named in the wire-format
//! issue. Each must return (an error or nothing) without panicking, quickly,
//! and allocating at most 1 MiB.

use std::time::{Duration, Instant};

use super::alloc::measure;
use super::{exporter, NOW};
use crate::encode::fields::TimeBase;
use crate::encode::{standard_template, IpfixEncoder, SflowEncoder, V5Header, V9Encoder};
use crate::record::{FlowRecord, Protocol, Timestamp};
use crate::{Batch, DecodeError, Decoder};

const MAX_BYTES: u64 = 1 << 20;
/// 1 ms in an optimised build; an unoptimised test build on a shared
/// machine gets 50 ms. Release timings are in docs/BENCHMARKS.md.
const MAX_TIME: Duration = if cfg!(debug_assertions) {
    Duration::from_millis(50)
} else {
    Duration::from_millis(1)
};

/// Decodes `datagrams` in order with a fresh decoder; checks time and
/// allocation of the last one (the earlier ones set up state).
fn hostile(datagrams: &[Vec<u8>]) -> (Result<crate::Datagram, DecodeError>, Batch) {
    let mut d = Decoder::new();
    let mut b = Batch::new();
    // Warm the decoder's own structures so the measurement sees only what
    // the hostile datagram causes.
    let _ = d.decode(
        &[0, 10, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        exporter(),
        NOW,
        &mut b,
    );
    b.clear();
    let (last, setup) = datagrams.split_last().expect("at least one datagram");
    for g in setup {
        let _ = d.decode(g, exporter(), NOW, &mut b);
    }
    b.clear();
    let mut best = Duration::MAX;
    let mut result = None;
    for _ in 0..3 {
        let mut bb = Batch::new();
        let start = Instant::now();
        let (r, bytes, _) = measure(|| d.decode(last, exporter(), NOW, &mut bb));
        best = best.min(start.elapsed());
        assert!(bytes <= MAX_BYTES, "allocated {bytes} bytes");
        result = Some((r, bb));
    }
    assert!(best < MAX_TIME, "took {best:?}");
    result.unwrap()
}

fn ipfix(sets: &[u8]) -> Vec<u8> {
    let mut m = vec![0, 10, 0, 0, 0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    m.extend_from_slice(sets);
    let len = m.len() as u16;
    m[2..4].copy_from_slice(&len.to_be_bytes());
    m
}

fn v9(flowsets: &[u8]) -> Vec<u8> {
    let mut m = vec![0, 9, 0, 1, 0, 0, 0x10, 0, 0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    m.extend_from_slice(flowsets);
    m
}

#[test]
fn ipfix_template_with_zero_fields_is_a_withdrawal_and_does_not_loop() {
    // Set 2 holding template 256 with field count 0, repeated.
    let (r, b) = hostile(&[ipfix(&[0, 2, 0, 12, 1, 0, 0, 0, 1, 1, 0, 0])]);
    assert!(r.is_ok());
    assert!(b.flows.is_empty());
}

#[test]
fn v9_template_with_zero_fields_is_an_error() {
    let (r, b) = hostile(&[v9(&[0, 0, 0, 8, 1, 0, 0, 0])]);
    assert!(r.is_ok());
    assert_eq!(b.errors, vec![DecodeError::EmptyTemplate { template_id: 256 }]);
}

#[test]
fn template_field_of_length_zero_is_accepted_and_skipped() {
    // Template 256: field 8 (len 0), field 12 (len 4); then one record.
    let t = [0, 2, 0, 16, 1, 0, 0, 2, 0, 8, 0, 0, 0, 12, 0, 4];
    let d = [1, 0, 0, 8, 10, 0, 0, 1];
    let (r, b) = hostile(&[ipfix(&t), ipfix(&d)]);
    assert!(r.is_ok());
    assert_eq!(b.flows.len(), 1);
    assert_eq!(b.flows[0].dst_addr, Some("10.0.0.1".parse().unwrap()));
}

#[test]
fn template_with_zero_record_length_followed_by_data_does_not_loop() {
    // Every field has length zero: the record length is zero.
    let t = [0, 2, 0, 16, 1, 0, 0, 2, 0, 8, 0, 0, 0, 12, 0, 0];
    let len: u16 = 0xffff - 16;
    let mut data = vec![1, 0];
    data.extend_from_slice(&len.to_be_bytes());
    data.resize(len as usize, 0);
    let (r, b) = hostile(&[ipfix(&t), ipfix(&data)]);
    assert!(r.is_ok());
    assert!(b.flows.is_empty());
    assert_eq!(b.errors[0].code(), "template_pending");
}

#[test]
fn zero_record_length_template_is_refused_with_its_code() {
    let t = [0, 2, 0, 16, 1, 0, 0, 2, 0, 8, 0, 0, 0, 12, 0, 0];
    let (_, b) = hostile(&[ipfix(&t)]);
    assert_eq!(b.errors, vec![DecodeError::ZeroLengthRecord { template_id: 256 }]);
}

#[test]
fn sflow_header_claiming_0x7fffffff_samples_in_a_tiny_datagram() {
    let g = [
        0, 0, 0, 5, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff,
    ];
    let (r, _) = hostile(&[g.to_vec()]);
    assert_eq!(r.unwrap_err().code(), "too_many_samples");
}

#[test]
fn sflow_sample_claiming_huge_record_count() {
    let mut g = vec![
        0, 0, 0, 5, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
    ];
    // one flow sample of 32 bytes whose record count is 0xffffffff
    g.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 32]);
    g.extend_from_slice(&[0; 28]);
    g.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    let (r, b) = hostile(&[g]);
    assert!(r.is_ok());
    assert_eq!(b.errors[0].code(), "bad_count");
}

#[test]
fn set_length_shorter_than_its_header() {
    let (r, b) = hostile(&[ipfix(&[1, 0, 0, 2, 0, 0, 0, 0])]);
    assert!(r.is_ok());
    assert_eq!(b.errors[0].code(), "bad_set_length");
}

#[test]
fn set_length_longer_than_the_datagram() {
    let (r, b) = hostile(&[ipfix(&[1, 0, 0xff, 0xff, 0, 0, 0, 0])]);
    assert!(r.is_ok());
    assert_eq!(b.errors.last().unwrap().code(), "bad_set_length");
    let (r, b) = hostile(&[v9(&[1, 0, 0xff, 0xff, 0, 0, 0, 0])]);
    assert!(r.is_ok());
    assert_eq!(b.errors[0].code(), "bad_set_length");
}

#[test]
fn template_with_65535_fields() {
    // The set claims 65,535 fields but can only hold what fits in a datagram.
    let len: u16 = 0xffff - 16;
    let mut t = vec![0, 2];
    t.extend_from_slice(&len.to_be_bytes());
    t.extend_from_slice(&[1, 0, 0xff, 0xff]);
    t.resize(len as usize, 1);
    let (r, b) = hostile(&[ipfix(&t)]);
    assert!(r.is_ok());
    assert_eq!(b.errors[0].code(), "too_many_fields");
}

#[test]
fn v9_options_template_with_scope_length_not_multiple_of_four() {
    let (r, b) = hostile(&[v9(&[0, 1, 0, 16, 1, 0, 0, 3, 0, 4, 0, 1, 0, 4, 0, 0])]);
    assert!(r.is_ok());
    assert_eq!(b.errors[0].code(), "bad_scope");
}

#[test]
fn variable_length_field_overrunning_its_set() {
    // Template 256: one variable-length field (IE 82 interfaceName).
    let t = [0, 2, 0, 12, 1, 0, 0, 1, 0, 82, 0xff, 0xff];
    // Record claims 255 → 3-byte length 0xffff, set has 4 bytes.
    let d = [1, 0, 0, 8, 255, 0xff, 0xff, 0];
    let (r, b) = hostile(&[ipfix(&t), ipfix(&d)]);
    assert!(r.is_ok());
    assert_eq!(b.errors[0].code(), "bad_varlen");
}

#[test]
fn v5_count_larger_than_the_datagram() {
    let mut g = vec![0, 5, 0xff, 0xff];
    g.resize(24 + 48, 0);
    let (r, _) = hostile(&[g]);
    assert_eq!(r.unwrap_err().code(), "bad_count");
}

#[test]
fn oversized_datagram_is_refused() {
    let (r, _) = hostile(&[vec![0; crate::limits::MAX_DATAGRAM_LEN + 1]]);
    assert_eq!(r.unwrap_err().code(), "too_large");
}

/// Valid datagrams of every encoder, with their template datagrams first.
fn valid_sequences() -> Vec<Vec<Vec<u8>>> {
    let mut r = FlowRecord::new(Protocol::Ipfix, exporter(), NOW);
    r.src_addr = Some("10.1.2.3".parse().unwrap());
    r.dst_addr = Some("10.3.2.1".parse().unwrap());
    r.proto = Some(6);
    r.src_port = Some(443);
    r.dst_port = Some(50000);
    r.bytes = Some(1500);
    r.packets = Some(3);
    r.time_start = Some(Timestamp::from_millis(NOW.as_millis() - 5000));
    r.time_end = Some(NOW);
    r.src_as = Some(64500);
    r.dst_vlan = Some(20);
    r.src_vlan = Some(10);
    r.sampling_rate = Some(100);
    let recs = vec![r.clone(), r.clone(), r];
    let base = TimeBase {
        export_time: NOW,
        sys_uptime_ms: 100_000,
    };
    let mut out = Vec::new();
    let mut v5 = Vec::new();
    let h = V5Header {
        export_time: NOW,
        sys_uptime_ms: 100_000,
        sequence: 1,
        engine_type: 0,
        engine_id: 0,
        sampling_interval: 10,
    };
    crate::encode::v5::encode(&h, &recs, &mut v5);
    out.push(vec![v5]);
    for v6 in [false, true] {
        let mut e = V9Encoder::new(1, 256, standard_template(v6, true));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        e.encode(&base, &[], true, Some((1, 100)), &mut a);
        e.encode(&base, &recs, false, None, &mut b);
        out.push(vec![a, b]);
        let mut e = IpfixEncoder::new(1, 256, standard_template(v6, false));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        e.encode(&base, &[], true, Some((1, 100)), &mut a);
        e.encode(&base, &recs, false, None, &mut b);
        out.push(vec![a, b]);
    }
    let mut s = SflowEncoder::new("192.0.2.1".parse().unwrap(), 0);
    let mut g = Vec::new();
    s.encode(&recs, &[], &mut g);
    out.push(vec![g]);
    out
}

#[test]
fn truncated_datagrams_at_every_byte_offset() {
    for seq in valid_sequences() {
        let (setup, last) = seq.split_at(seq.len() - 1);
        let last = &last[0];
        let mut d = Decoder::new();
        let mut b = Batch::new();
        for g in setup {
            d.decode(g, exporter(), NOW, &mut b).unwrap();
        }
        for cut in 0..last.len() {
            b.clear();
            let (_, bytes, _) = measure(|| d.decode(&last[..cut], exporter(), NOW, &mut b));
            assert!(bytes <= MAX_BYTES);
        }
        b.clear();
        d.decode(last, exporter(), NOW, &mut b).unwrap();
        assert_eq!(b.flows.len(), 3, "the whole datagram still decodes");
    }
}

#[test]
fn flipping_every_byte_never_panics() {
    for seq in valid_sequences() {
        for (i, g) in seq.iter().enumerate() {
            for pos in 0..g.len() {
                for v in [0u8, 0xff, g[pos] ^ 0x80] {
                    let mut d = Decoder::new();
                    let mut b = Batch::new();
                    for earlier in &seq[..i] {
                        let _ = d.decode(earlier, exporter(), NOW, &mut b);
                    }
                    let mut m = g.clone();
                    m[pos] = v;
                    let _ = d.decode(&m, exporter(), NOW, &mut b);
                }
            }
        }
    }
}

#[test]
fn spoofed_exporters_are_bounded_by_the_lru() {
    let mut d = Decoder::with_limits(crate::DecoderLimits {
        max_exporters: std::num::NonZeroUsize::new(100).unwrap(),
        max_templates_per_exporter: std::num::NonZeroUsize::new(4).unwrap(),
    });
    let mut b = Batch::new();
    for i in 0..1000u32 {
        let t = [0, 2, 0, 12, 1, (i % 8) as u8, 0, 1, 0, 8, 0, 4];
        let addr = std::net::SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 2055));
        d.decode(&ipfix(&t), addr, NOW, &mut b).unwrap();
        for j in 0..8u8 {
            let t = [0, 2, 0, 12, 1, j, 0, 1, 0, 8, 0, 4];
            d.decode(&ipfix(&t), addr, NOW, &mut b).unwrap();
        }
        assert!(d.template_count(&addr) <= 4);
    }
    assert_eq!(d.exporter_count(), 100);
}

/// Found by the stateful fuzz target: interval + space overflowed u64.
#[test]
fn sampling_packet_interval_plus_space_overflowing_u64_does_not_panic() {
    // Template 256: samplingPacketInterval (305) and samplingPacketSpace
    // (306), 8 bytes each, then sourceIPv4Address.
    let t = [0, 2, 0, 20, 1, 0, 0, 3, 1, 49, 0, 8, 1, 50, 0, 8, 0, 8, 0, 4];
    let mut data = vec![1, 0, 0, 24];
    data.extend_from_slice(&[0xff; 16]);
    data.extend_from_slice(&[10, 0, 0, 1]);
    let (r, b) = hostile(&[ipfix(&t), ipfix(&data)]);
    assert!(r.is_ok());
    assert_eq!(b.flows.len(), 1);
    assert_eq!(b.flows[0].sampling_rate, Some(1), "(MAX + MAX) / MAX, saturating");
}

/// Found by the IPFIX fuzz target (2026-11-23): a data record whose own
/// systemInitTimeMilliseconds is near the end of the range, with an
/// uptime-relative start time, overflowed the time arithmetic.
#[test]
fn record_level_system_init_at_the_end_of_time_does_not_overflow() {
    let hex: String = [
        "000a01e45553337e0000000600000000000200480400001000080004000c00040001000400020004000a0004000e0004",
        "00070002000b00020004000100060001003c00010015000400a000080130000201310002013200040100001800000a77",
        "004d004c0100e3c200010001000000000400010ec0a80201c0a8fd80000001040000000031b6c0a8fd02c0a8fd840000",
        "025900000002007d0000000000008f0005009367ffb900837aa643a27aa643a20078006c00000003000400904f06a6a1",
        "4f06ace10e9e12360000060000010e000000000000002c7503647a821d6300008f047800a291000003000088c14f06a3",
        "e14fbb529ef4030039000040001100000000000000000118000000000046671e67f0268f0000046600000a003d010005",
        "001d3d03400000000000ffffffffffffffffffffffffffffffffffffffffffffffffff0618040000000000000036b500",
        "0031b6c0a8fd01e00000fb000000e800000001000000000000000014e914e91100040000000000000031c5000031c5",
    ]
    .concat();
    let mut d: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    d[1] = 10;
    let mut b = Batch::new();
    let _ = Decoder::new().decode(&d, "192.0.2.1:2055".parse().unwrap(), Timestamp(0), &mut b);
    // The record that overflowed before is decoded (it reached the time
    // arithmetic, which panicked in checked builds); its end saturates.
    let max = Some(Timestamp(i64::MAX));
    assert!(
        b.flows.iter().any(|f| f.time_start == max || f.time_end == max),
        "{:?}",
        b.flows.iter().map(|f| (f.time_start, f.time_end)).collect::<Vec<_>>()
    );
}
