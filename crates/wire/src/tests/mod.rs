//! Crate tests: encode→decode round trips, hostile input, allocation counts.

mod alloc;
mod hostile;
mod pending;
mod roundtrip;
mod sflow;

use std::net::SocketAddr;

use crate::{Batch, Decoder, Timestamp};

pub(crate) fn exporter() -> SocketAddr {
    "192.0.2.10:40000".parse().unwrap()
}

pub(crate) const NOW: Timestamp = Timestamp(1_700_000_000_000_000_000);

/// Decodes a sequence of datagrams with one decoder.
pub(crate) fn decode_all(datagrams: &[Vec<u8>]) -> (Batch, Vec<Result<crate::Datagram, crate::DecodeError>>) {
    let mut d = Decoder::new();
    let mut b = Batch::new();
    let r = datagrams.iter().map(|g| d.decode(g, exporter(), NOW, &mut b)).collect();
    (b, r)
}

/// NetFlow v1 and v7 have no encoder and no shared capture: hand-built
/// datagrams with every field set to a distinct value.
#[test]
fn netflow1_and_netflow7_fixed_formats() {
    fn header(version: u16, count: u16, extra: &[u8]) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&version.to_be_bytes());
        h.extend_from_slice(&count.to_be_bytes());
        h.extend_from_slice(&10_000u32.to_be_bytes()); // sysUptime ms
        h.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        h.extend_from_slice(&500_000_000u32.to_be_bytes());
        h.extend_from_slice(extra);
        h
    }
    let common = |r: &mut Vec<u8>| {
        r.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2, 10, 0, 0, 254]);
        r.extend_from_slice(&[0, 3, 0, 4]); // in, out
        r.extend_from_slice(&7u32.to_be_bytes()); // packets
        r.extend_from_slice(&900u32.to_be_bytes()); // bytes
        r.extend_from_slice(&4_000u32.to_be_bytes()); // first
        r.extend_from_slice(&9_000u32.to_be_bytes()); // last
        r.extend_from_slice(&[0x1f, 0x90, 0x00, 0x50]); // ports 8080 → 80
    };
    // v1: pad(2) proto tos flags pad(1) reserved(6)
    let mut v1 = header(1, 1, &[]);
    common(&mut v1);
    v1.extend_from_slice(&[0, 0, 6, 0x10, 0x1b, 0, 0, 0, 0, 0, 0, 0]);
    // v7: header seq(4) reserved(4); record flags1 tcp_flags proto tos src_as dst_as masks flags2(2) router_sc(4)
    let mut v7 = header(7, 1, &[0, 0, 0, 42, 0, 0, 0, 0]);
    common(&mut v7);
    v7.extend_from_slice(&[0, 0x1b, 6, 0x10, 0xfd, 0xe8, 0xfd, 0xe9, 24, 16, 0, 0, 10, 0, 0, 9]);
    for (g, proto) in [(v1, crate::Protocol::Netflow1), (v7, crate::Protocol::Netflow7)] {
        let (b, r) = decode_all(&[g]);
        let d = r[0].as_ref().unwrap();
        assert_eq!(d.protocol, proto);
        let f = &b.flows[0];
        assert_eq!(f.src_addr, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(f.dst_addr, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(f.next_hop, Some("10.0.0.254".parse().unwrap()));
        assert_eq!((f.in_if, f.out_if), (Some(3), Some(4)));
        assert_eq!((f.packets, f.bytes), (Some(7), Some(900)));
        assert_eq!((f.src_port, f.dst_port, f.proto), (Some(8080), Some(80), Some(6)));
        assert_eq!((f.tos, f.tcp_flags), (Some(0x10), Some(0x1b)));
        // first = 4 s of uptime, export at uptime 10 s = 1_700_000_000.5
        assert_eq!(f.time_start, Some(Timestamp(1_700_000_000_500_000_000 - 6_000_000_000)));
        assert_eq!(f.time_end, Some(Timestamp(1_700_000_000_500_000_000 - 1_000_000_000)));
        if proto == crate::Protocol::Netflow7 {
            assert_eq!(
                (f.src_as, f.dst_as, f.src_mask, f.dst_mask),
                (Some(65000), Some(65001), Some(24), Some(16))
            );
            assert_eq!(f.sequence, Some(42));
        } else {
            assert_eq!(f.src_as, None, "v1 carries no AS");
        }
    }
}
