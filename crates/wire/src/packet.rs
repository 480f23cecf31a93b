//! A bounded parser for packet headers: Ethernet, 802.1Q/QinQ, MPLS, IPv4,
//! IPv6 (with extension headers), TCP, UDP, ICMP/ICMPv6.
//!
//! Used for sFlow's sampled packet headers and to find flow datagrams in
//! captures. Headers are usually truncated (sFlow keeps the first 128 bytes),
//! so every layer reports what it could read and stops quietly at the end of
//! the bytes; nothing here fails.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::limits::MAX_HEADER_LAYERS;
use crate::record::MacAddr;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
pub const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
pub const ETHERTYPE_MPLS: u16 = 0x8847;
pub const ETHERTYPE_MPLS_MC: u16 = 0x8848;

/// Everything the header told us. Fields are `None` when the header ended
/// before them or the packet does not have them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketInfo {
    pub src_mac: Option<MacAddr>,
    pub dst_mac: Option<MacAddr>,
    /// Outermost 802.1Q VLAN id.
    pub vlan: Option<u16>,
    /// Inner VLAN id of a QinQ frame.
    pub inner_vlan: Option<u16>,
    /// Top MPLS label.
    pub mpls_label: Option<u32>,
    /// Ethertype of the network layer (after VLAN tags).
    pub ethertype: Option<u16>,
    pub ip_version: Option<u8>,
    pub src_addr: Option<IpAddr>,
    pub dst_addr: Option<IpAddr>,
    pub proto: Option<u8>,
    pub tos: Option<u8>,
    pub ttl: Option<u8>,
    pub flow_label: Option<u32>,
    /// IP total length (IPv4) or payload length plus 40 (IPv6).
    pub ip_len: Option<u16>,
    /// IPv4 identification or IPv6 fragment header id.
    pub fragment_id: Option<u32>,
    /// Fragment offset in bytes; non-zero means no L4 header here.
    pub fragment_offset: u16,
    pub more_fragments: bool,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub tcp_flags: Option<u16>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    /// Offset of the L4 payload (after the UDP/TCP header) within the input.
    pub l4_payload: Option<usize>,
    /// Offset of the IP header within the input.
    pub l3_offset: Option<usize>,
    /// Offset of the transport header (or, for a fragment, of the fragment's
    /// payload) within the input.
    pub l4_offset: Option<usize>,
}

#[inline]
fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

fn mac_at(b: &[u8], i: usize) -> Option<MacAddr> {
    let s = b.get(i..i + 6)?;
    let mut a = [0u8; 6];
    a.copy_from_slice(s);
    Some(MacAddr(a))
}

/// Parses from an Ethernet header.
pub fn parse_ethernet(b: &[u8]) -> PacketInfo {
    let mut p = PacketInfo {
        dst_mac: mac_at(b, 0),
        src_mac: mac_at(b, 6),
        ..PacketInfo::default()
    };
    let Some(mut et) = u16_at(b, 12) else { return p };
    let mut off = 14;
    for _ in 0..MAX_HEADER_LAYERS {
        match et {
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let Some(tci) = u16_at(b, off) else { return p };
                if p.vlan.is_none() {
                    p.vlan = Some(tci & 0x0fff);
                } else if p.inner_vlan.is_none() {
                    p.inner_vlan = Some(tci & 0x0fff);
                }
                let Some(next) = u16_at(b, off + 2) else { return p };
                et = next;
                off += 4;
            }
            _ => break,
        }
    }
    p.ethertype = Some(et);
    parse_ethertype(b, off, et, &mut p);
    p
}

/// Parses from an IP header (version from its first nibble).
pub fn parse_ip(b: &[u8]) -> PacketInfo {
    let mut p = PacketInfo::default();
    match b.first().map(|v| v >> 4) {
        Some(4) => parse_ipv4(b, 0, &mut p),
        Some(6) => parse_ipv6(b, 0, &mut p),
        _ => {}
    }
    p
}

fn parse_ethertype(b: &[u8], off: usize, et: u16, p: &mut PacketInfo) {
    match et {
        ETHERTYPE_IPV4 => parse_ipv4(b, off, p),
        ETHERTYPE_IPV6 => parse_ipv6(b, off, p),
        ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => parse_mpls(b, off, p),
        _ => {}
    }
}

fn parse_mpls(b: &[u8], mut off: usize, p: &mut PacketInfo) {
    for _ in 0..MAX_HEADER_LAYERS {
        let Some(s) = b.get(off..off + 4) else { return };
        let entry = u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
        if p.mpls_label.is_none() {
            p.mpls_label = Some(entry >> 12);
        }
        off += 4;
        if entry & 0x100 != 0 {
            // Bottom of stack: the payload type is not signalled, guess from
            // the first nibble (RFC 4928 practice): 4 or 6 is IP, 0 is the
            // pseudowire control word (RFC 4385) before an Ethernet frame.
            match b.get(off).map(|v| v >> 4) {
                Some(4) => parse_ipv4(b, off, p),
                Some(6) => parse_ipv6(b, off, p),
                Some(0) => parse_pseudowire(b, off + 4, p),
                _ => {}
            }
            return;
        }
    }
}

/// Ethernet over MPLS: the inner frame's network layer describes the flow;
/// the outer MACs and VLAN stay (they are what the router switched on).
fn parse_pseudowire(b: &[u8], off: usize, p: &mut PacketInfo) {
    let Some(mut et) = u16_at(b, off + 12) else { return };
    let mut off = off + 14;
    for _ in 0..MAX_HEADER_LAYERS {
        if !matches!(et, ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD) {
            break;
        }
        let Some(next) = u16_at(b, off + 2) else { return };
        et = next;
        off += 4;
    }
    match et {
        ETHERTYPE_IPV4 => parse_ipv4(b, off, p),
        ETHERTYPE_IPV6 => parse_ipv6(b, off, p),
        _ => {}
    }
}

fn parse_ipv4(b: &[u8], off: usize, p: &mut PacketInfo) {
    let Some(h) = b.get(off..off + 20) else { return };
    let ihl = ((h[0] & 0x0f) as usize) * 4;
    p.l3_offset = Some(off);
    p.ip_version = Some(4);
    p.tos = Some(h[1]);
    p.ip_len = Some(u16::from_be_bytes([h[2], h[3]]));
    p.fragment_id = Some(u16::from_be_bytes([h[4], h[5]]) as u32);
    let frag = u16::from_be_bytes([h[6], h[7]]);
    p.more_fragments = frag & 0x2000 != 0;
    p.fragment_offset = (frag & 0x1fff) * 8;
    p.ttl = Some(h[8]);
    p.proto = Some(h[9]);
    p.src_addr = Some(IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])));
    p.dst_addr = Some(IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])));
    if ihl < 20 {
        return;
    }
    p.l4_offset = Some(off + ihl);
    if p.fragment_offset != 0 {
        return;
    }
    parse_l4(b, off + ihl, h[9], p);
}

fn parse_ipv6(b: &[u8], off: usize, p: &mut PacketInfo) {
    let Some(h) = b.get(off..off + 40) else { return };
    p.l3_offset = Some(off);
    p.ip_version = Some(6);
    let vtf = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    p.tos = Some((vtf >> 20) as u8);
    p.flow_label = Some(vtf & 0xf_ffff);
    p.ip_len = Some(u16::from_be_bytes([h[4], h[5]]).saturating_add(40));
    p.ttl = Some(h[7]);
    let mut a = [0u8; 16];
    a.copy_from_slice(&h[8..24]);
    p.src_addr = Some(IpAddr::V6(Ipv6Addr::from(a)));
    a.copy_from_slice(&h[24..40]);
    p.dst_addr = Some(IpAddr::V6(Ipv6Addr::from(a)));
    let mut next = h[6];
    let mut off = off + 40;
    for _ in 0..MAX_HEADER_LAYERS {
        match next {
            // Hop-by-hop, routing, destination options, mobility: length in
            // 8-octet units, not counting the first 8.
            0 | 43 | 60 | 135 => {
                let Some(e) = b.get(off..off + 2) else {
                    p.proto = Some(next);
                    return;
                };
                next = e[0];
                off += (e[1] as usize + 1) * 8;
            }
            44 => {
                let Some(e) = b.get(off..off + 8) else {
                    p.proto = Some(next);
                    return;
                };
                next = e[0];
                let fo = u16::from_be_bytes([e[2], e[3]]);
                p.fragment_offset = fo & 0xfff8;
                p.more_fragments = fo & 1 != 0;
                p.fragment_id = Some(u32::from_be_bytes([e[4], e[5], e[6], e[7]]));
                off += 8;
                if p.fragment_offset != 0 {
                    p.proto = Some(next);
                    p.l4_offset = Some(off);
                    return;
                }
            }
            // Authentication header: length in 4-octet units, plus 2.
            51 => {
                let Some(e) = b.get(off..off + 2) else {
                    p.proto = Some(next);
                    return;
                };
                next = e[0];
                off += (e[1] as usize + 2) * 4;
            }
            _ => break,
        }
    }
    p.proto = Some(next);
    p.l4_offset = Some(off);
    parse_l4(b, off, next, p);
}

fn parse_l4(b: &[u8], off: usize, proto: u8, p: &mut PacketInfo) {
    match proto {
        6 => {
            let (Some(sp), Some(dp)) = (u16_at(b, off), u16_at(b, off + 2)) else {
                return;
            };
            p.src_port = Some(sp);
            p.dst_port = Some(dp);
            if let Some(f) = u16_at(b, off + 12) {
                p.tcp_flags = Some(f & 0x01ff);
                let hl = ((f >> 12) as usize) * 4;
                if hl >= 20 && b.len() >= off + hl {
                    p.l4_payload = Some(off + hl);
                }
            }
        }
        17 | 136 => {
            let (Some(sp), Some(dp)) = (u16_at(b, off), u16_at(b, off + 2)) else {
                return;
            };
            p.src_port = Some(sp);
            p.dst_port = Some(dp);
            if b.len() >= off + 8 {
                p.l4_payload = Some(off + 8);
            }
        }
        1 | 58 => {
            if let (Some(&t), Some(&c)) = (b.get(off), b.get(off + 1)) {
                p.icmp_type = Some(t);
                p.icmp_code = Some(c);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth_ipv4_udp() -> Vec<u8> {
        let mut b = vec![
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00,
        ];
        b.extend_from_slice(&[0x45, 0x10, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        b.extend_from_slice(&[0x13, 0x88, 0x08, 0x07, 0, 8, 0, 0]);
        b
    }

    #[test]
    fn qinq_ipv4_udp() {
        let p = parse_ethernet(&eth_ipv4_udp());
        assert_eq!(p.vlan, Some(100));
        assert_eq!(p.inner_vlan, Some(200));
        assert_eq!(p.src_addr, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(p.dst_port, Some(2055));
        assert_eq!(p.tos, Some(0x10));
        assert_eq!(p.l4_payload, Some(50));
    }

    #[test]
    fn truncated_at_every_offset_never_panics() {
        let b = eth_ipv4_udp();
        for i in 0..b.len() {
            let _ = parse_ethernet(&b[..i]);
            let _ = parse_ip(&b[i..]);
        }
    }

    #[test]
    fn endless_vlan_tags_stop_at_layer_limit() {
        let mut b = vec![0u8; 12];
        for _ in 0..1000 {
            b.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]);
        }
        let p = parse_ethernet(&b);
        assert_eq!(p.vlan, Some(1));
        assert_eq!(p.src_addr, None);
    }
}
