//! Data sets that arrive before their template are held, then decoded
//! when it comes; bounds drop them with `template_missing`.

use std::net::SocketAddr;

use super::{exporter, NOW};
use crate::limits::{MAX_PENDING_BYTES, MAX_PENDING_SETS_PER_EXPORTER, PENDING_MAX_AGE};
use crate::{Batch, Decoder, Timestamp};

/// An IPFIX message with sequence `seq` holding `sets`.
fn ipfix(seq: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let mut m = vec![0, 10, 0, 0];
    m.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&7u32.to_be_bytes());
    for s in sets {
        m.extend_from_slice(s);
    }
    let len = m.len() as u16;
    m[2..4].copy_from_slice(&len.to_be_bytes());
    m
}

/// Template 256: sourceIPv4Address, octetDeltaCount (12-byte records).
fn template() -> Vec<u8> {
    vec![0, 2, 0, 16, 1, 0, 0, 2, 0, 8, 0, 4, 0, 1, 0, 8]
}

/// A data set of `n` records from 10.0.0.i with i × 100 bytes, padded out
/// to `pad` extra bytes.
fn data(n: u8, pad: usize) -> Vec<u8> {
    let mut s = vec![1, 0, 0, 0];
    for i in 1..=n {
        s.extend_from_slice(&[10, 0, 0, i]);
        s.extend_from_slice(&(u64::from(i) * 100).to_be_bytes());
    }
    s.resize(s.len() + pad, 0);
    let len = s.len() as u16;
    s[2..4].copy_from_slice(&len.to_be_bytes());
    s
}

fn codes(b: &Batch) -> Vec<&'static str> {
    b.errors.iter().map(|e| e.code()).collect()
}

#[test]
fn data_before_template_is_decoded_when_the_template_arrives() {
    let mut d = Decoder::new();
    let mut b = Batch::new();
    let first = d.decode(&ipfix(0, &[data(3, 0)]), exporter(), NOW, &mut b).unwrap();
    assert_eq!(first.flows, 0);
    assert_eq!(codes(&b), ["template_pending"]);
    assert!(d.pending_bytes() > 0);
    b.clear();
    let later = Timestamp(NOW.0 + 1_000_000_000);
    let second = d
        .decode(&ipfix(3, &[template(), data(1, 0)]), exporter(), later, &mut b)
        .unwrap();
    // This message's own record, then the three held ones.
    assert_eq!(second.flows, 4);
    assert_eq!(second.lost, 0, "held records are not lost");
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    let bytes: Vec<u64> = b.flows.iter().map(|f| f.bytes.unwrap()).collect();
    assert_eq!(bytes, [100, 100, 200, 300]);
    assert_eq!(
        b.flows[1].time_received, NOW,
        "a held record keeps its own receive time"
    );
    assert_eq!(b.flows[1].sequence, Some(0));
    assert_eq!(d.pending_bytes(), 0);
}

#[test]
fn held_sets_are_bounded_per_exporter_and_by_age() {
    let mut d = Decoder::new();
    let mut b = Batch::new();
    for seq in 0..=MAX_PENDING_SETS_PER_EXPORTER as u32 {
        d.decode(&ipfix(seq, &[data(1, 0)]), exporter(), NOW, &mut b).unwrap();
    }
    let c = codes(&b);
    assert_eq!(
        c.iter().filter(|&&c| c == "template_pending").count(),
        MAX_PENDING_SETS_PER_EXPORTER
    );
    assert_eq!(c.last(), Some(&"template_missing"), "one past the bound is dropped");
    b.clear();
    // Past the age bound every held set is dropped, and counted.
    let late = Timestamp(NOW.0 + PENDING_MAX_AGE.as_nanos() as i64 + 1);
    d.decode(&ipfix(99, &[template()]), exporter(), late, &mut b).unwrap();
    assert!(b.flows.is_empty());
    assert_eq!(codes(&b), vec!["template_missing"; MAX_PENDING_SETS_PER_EXPORTER]);
    assert_eq!(d.pending_bytes(), 0);
}

#[test]
fn held_bytes_are_bounded_across_exporters_and_released_on_eviction() {
    let mut d = Decoder::new();
    let mut b = Batch::new();
    let big = ipfix(0, &[data(1, 60_000)]);
    let exporters = MAX_PENDING_BYTES / 60_000 / MAX_PENDING_SETS_PER_EXPORTER + 2;
    for e in 0..exporters {
        let from: SocketAddr = format!("192.0.2.{}:4739", e + 1).parse().unwrap();
        for _ in 0..MAX_PENDING_SETS_PER_EXPORTER {
            d.decode(&big, from, NOW, &mut b).unwrap();
        }
    }
    assert!(d.pending_bytes() <= MAX_PENDING_BYTES);
    assert!(
        codes(&b).contains(&"template_missing"),
        "the global byte bound drops sets"
    );
    for e in 0..exporters {
        d.forget(&format!("192.0.2.{}:4739", e + 1).parse().unwrap());
    }
    assert_eq!(d.pending_bytes(), 0, "forgetting exporters releases what they held");
}

#[test]
fn drop_pending_counts_every_held_set_as_missing() {
    let mut d = Decoder::new();
    let mut b = Batch::new();
    d.decode(&ipfix(0, &[data(2, 0), data(1, 0)]), exporter(), NOW, &mut b)
        .unwrap();
    b.clear();
    d.drop_pending(&mut b);
    assert_eq!(codes(&b), ["template_missing", "template_missing"]);
    assert_eq!(d.pending_bytes(), 0);
    // A template now finds nothing to replay.
    b.clear();
    let r = d.decode(&ipfix(3, &[template()]), exporter(), NOW, &mut b).unwrap();
    assert_eq!((r.flows, r.replayed), (0, 0));
}
