//! sFlow cases the encoder does not produce: discarded-packet events, drop
//! reasons, the router's own AS, and which VLAN wins.

use std::net::IpAddr;

use super::decode_all;
use crate::encode::sflow::packet_header;
use crate::{FlowRecord, Protocol};

fn words(out: &mut Vec<u8>, ws: &[u32]) {
    for w in ws {
        out.extend_from_slice(&w.to_be_bytes());
    }
}

/// An XDR record: format, length, body.
fn record(format: u32, body: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    words(&mut r, &[format, body.len() as u32]);
    r.extend_from_slice(body);
    r
}

fn datagram(samples: &[Vec<u8>]) -> Vec<u8> {
    let mut d = Vec::new();
    words(&mut d, &[5, 1]);
    d.extend_from_slice(&[192, 0, 2, 1]);
    words(&mut d, &[7, 99, 123_456, samples.len() as u32]);
    for s in samples {
        d.extend_from_slice(s);
    }
    d
}

/// A raw-header flow record for a TCP packet of `ip_len` bytes in VLAN 30.
fn raw_header_record() -> Vec<u8> {
    let mut r = FlowRecord::new(Protocol::Sflow5, super::exporter(), super::NOW);
    r.src_addr = Some("10.0.0.1".parse().unwrap());
    r.dst_addr = Some("10.0.0.2".parse().unwrap());
    r.proto = Some(6);
    r.src_port = Some(1234);
    r.dst_port = Some(443);
    r.bytes = Some(1000);
    r.src_vlan = Some(30);
    let hdr = packet_header(&r);
    let mut body = Vec::new();
    // ethernet, frame length (IP 1000 + 14 Ethernet + 4 VLAN + 4 FCS), 4 stripped
    words(&mut body, &[1, 1022, 4, hdr.len() as u32]);
    body.extend_from_slice(&hdr);
    body.resize(body.len().next_multiple_of(4), 0);
    record(1, &body)
}

fn switch_record(src_vlan: u32, dst_vlan: u32) -> Vec<u8> {
    let mut b = Vec::new();
    words(&mut b, &[src_vlan, 0, dst_vlan, 0]);
    record(1001, &b)
}

/// Extended gateway: next hop 192.0.2.254, own AS 64500, src AS, no path.
fn gateway_record(src_as: u32, path: &[u32]) -> Vec<u8> {
    let mut b = Vec::new();
    words(&mut b, &[1]);
    b.extend_from_slice(&[192, 0, 2, 254]);
    words(&mut b, &[64_500, src_as, 0]);
    if path.is_empty() {
        words(&mut b, &[0]);
    } else {
        words(&mut b, &[1, 2, path.len() as u32]);
        words(&mut b, path);
    }
    words(&mut b, &[0, 0]); // communities, local pref
    record(1003, &b)
}

#[test]
fn discarded_packet_event_is_a_dropped_flow_with_its_reason() {
    let mut body = Vec::new();
    // sequence, source id (type, index), drops, input, output, reason 258 (ACL)
    words(&mut body, &[11, 0, 5, 3, 5, 0, 258, 2]);
    body.extend_from_slice(&raw_header_record());
    body.extend_from_slice(&gateway_record(0, &[]));
    let (b, r) = decode_all(&[datagram(&[record(5, &body)])]);
    r[0].as_ref().unwrap();
    assert_eq!(b.flows.len(), 1);
    let f = &b.flows[0];
    assert_eq!(
        f.forwarding_status,
        Some(129),
        "ACL drop → IPFIX 129 (dropped: ACL deny)"
    );
    assert_eq!((f.in_if, f.out_if), (Some(5), None), "output 0 means unknown");
    assert_eq!(f.sampling_rate, None, "a discard event is not a sample");
    assert_eq!(f.sequence, Some(11));
    assert_eq!(f.bytes, Some(1000), "IP length, not the 1022-byte frame");
    assert_eq!(f.packets, Some(1));
    assert_eq!(f.src_addr, Some("10.0.0.1".parse::<IpAddr>().unwrap()));
    assert_eq!(
        (f.src_as, f.dst_as),
        (Some(64_500), Some(64_500)),
        "AS 0 and no path: the router's own AS"
    );
}

#[test]
fn dropped_output_interface_maps_the_reason_and_vlans_follow_the_switch() {
    // Compact flow sample: seq, source id, rate, pool, drops, input 7,
    // output "discarded, TTL exceeded" (format 1, reason 257).
    let mut body = Vec::new();
    words(&mut body, &[12, 7, 512, 10_000, 0, 7, (1 << 30) | 257, 3]);
    // Switch record after the header: its VLANs win over the header's tag.
    body.extend_from_slice(&raw_header_record());
    body.extend_from_slice(&switch_record(100, 200));
    body.extend_from_slice(&gateway_record(65_001, &[65_002, 65_003]));
    let mut body2 = Vec::new();
    words(&mut body2, &[13, 7, 512, 10_000, 0, 7, 9, 2]);
    // Switch record before the header, with unknown VLANs: header tag fills in.
    body2.extend_from_slice(&switch_record(u32::MAX, u32::MAX));
    body2.extend_from_slice(&raw_header_record());
    let (b, r) = decode_all(&[datagram(&[record(1, &body), record(1, &body2)])]);
    r[0].as_ref().unwrap();
    let (f, g) = (&b.flows[0], &b.flows[1]);
    assert_eq!(
        f.forwarding_status,
        Some(137),
        "TTL exceeded → IPFIX 137 (dropped: bad TTL)"
    );
    assert_eq!(f.out_if, None);
    assert_eq!(f.sampling_rate, Some(512));
    assert_eq!((f.src_vlan, f.dst_vlan), (Some(100), Some(200)));
    assert_eq!((f.src_as, f.dst_as), (Some(65_001), Some(65_003)));
    assert_eq!(g.forwarding_status, None);
    assert_eq!(g.out_if, Some(9));
    assert_eq!((g.src_vlan, g.dst_vlan), (Some(30), None));
}

#[test]
fn drop_reasons_map_onto_ipfix_dropped_codes() {
    use crate::sflow::drop_status;
    for (reason, status) in [
        (0, 131),
        (1, 131),
        (4, 133),
        (13, 129),
        (257, 137),
        (258, 129),
        (300, 128),
    ] {
        assert_eq!(drop_status(reason), status, "reason {reason}");
    }
    assert!(
        (0..1000).all(|r| drop_status(r) & 0xc0 == 0x80),
        "always a 'dropped' status"
    );
}
