//! sFlow v5 datagrams: flow samples with a synthesized raw packet header
//! (Ethernet, optional 802.1Q, IPv4/IPv6, TCP/UDP/ICMP) plus extended switch,
//! router and gateway records; counter samples with generic interface and
//! Ethernet counters.

use std::net::IpAddr;

use crate::record::{CounterRecord, FlowRecord};
use crate::sflow::{
    COUNTERS_ETHERNET, COUNTERS_GENERIC, COUNTER_SAMPLE, FLOW_SAMPLE, HEADER_ETHERNET, RECORD_EXT_GATEWAY,
    RECORD_EXT_ROUTER, RECORD_EXT_SWITCH, RECORD_RAW_HEADER,
};

/// sFlow agent state: addresses and sequence numbers.
#[derive(Debug, Clone)]
pub struct SflowEncoder {
    pub agent: IpAddr,
    pub sub_agent: u32,
    /// Datagrams sent.
    pub sequence: u32,
    /// Flow samples sent (per-source sequence, kept agent-wide here).
    pub sample_sequence: u32,
    pub uptime_ms: u32,
}

fn u32b(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn address(out: &mut Vec<u8>, a: Option<IpAddr>) {
    match a {
        Some(IpAddr::V4(a)) => {
            u32b(out, 1);
            out.extend_from_slice(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            u32b(out, 2);
            out.extend_from_slice(&a.octets());
        }
        None => u32b(out, 0),
    }
}

/// Writes a (format, length) framed structure.
fn framed(out: &mut Vec<u8>, format: u32, body: impl FnOnce(&mut Vec<u8>)) {
    u32b(out, format);
    let len_at = out.len();
    u32b(out, 0);
    body(out);
    while (out.len() - len_at - 4) % 4 != 0 {
        out.push(0);
    }
    let len = (out.len() - len_at - 4) as u32;
    out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
}

/// The first bytes of the packet a record describes.
pub fn packet_header(r: &FlowRecord) -> Vec<u8> {
    let mut h = Vec::with_capacity(80);
    h.extend_from_slice(&r.dst_mac.unwrap_or_default().0);
    h.extend_from_slice(&r.src_mac.unwrap_or_default().0);
    if let Some(v) = r.src_vlan {
        h.extend_from_slice(&[0x81, 0x00]);
        h.extend_from_slice(&(v & 0x0fff).to_be_bytes());
    }
    let proto = r.proto.unwrap_or(0);
    let l4_len = match proto {
        6 => 20,
        17 => 8,
        1 | 58 => 8,
        _ => 0,
    };
    let ip_len = r.bytes.unwrap_or(0).min(u16::MAX as u64) as u16;
    match (r.src_addr, r.dst_addr) {
        (Some(IpAddr::V6(s)), d) => {
            h.extend_from_slice(&[0x86, 0xdd]);
            let tc = r.tos.unwrap_or(0) as u32;
            let vtf = 6u32 << 28 | tc << 20 | (r.flow_label.unwrap_or(0) & 0xf_ffff);
            h.extend_from_slice(&vtf.to_be_bytes());
            h.extend_from_slice(&ip_len.saturating_sub(40).to_be_bytes());
            h.push(proto);
            h.push(r.ttl.unwrap_or(64));
            h.extend_from_slice(&s.octets());
            let d = match d {
                Some(IpAddr::V6(d)) => d.octets(),
                _ => [0; 16],
            };
            h.extend_from_slice(&d);
        }
        (s, d) => {
            h.extend_from_slice(&[0x08, 0x00]);
            let s = match s {
                Some(IpAddr::V4(s)) => s.octets(),
                _ => [0; 4],
            };
            let d = match d {
                Some(IpAddr::V4(d)) => d.octets(),
                _ => [0; 4],
            };
            let mut ip = vec![0x45, r.tos.unwrap_or(0)];
            ip.extend_from_slice(&ip_len.max(20 + l4_len as u16).to_be_bytes());
            ip.extend_from_slice(&[0, 0, 0x40, 0, r.ttl.unwrap_or(64), proto, 0, 0]);
            ip.extend_from_slice(&s);
            ip.extend_from_slice(&d);
            let sum = super::ipv4_checksum(&ip);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            h.extend_from_slice(&ip);
        }
    }
    match proto {
        6 => {
            h.extend_from_slice(&r.src_port.unwrap_or(0).to_be_bytes());
            h.extend_from_slice(&r.dst_port.unwrap_or(0).to_be_bytes());
            h.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
            let flags = 5u16 << 12 | (r.tcp_flags.unwrap_or(0) & 0x01ff);
            h.extend_from_slice(&flags.to_be_bytes());
            h.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        }
        17 => {
            h.extend_from_slice(&r.src_port.unwrap_or(0).to_be_bytes());
            h.extend_from_slice(&r.dst_port.unwrap_or(0).to_be_bytes());
            let ulen = ip_len.saturating_sub(if r.src_addr.is_some_and(|a| a.is_ipv6()) {
                40
            } else {
                20
            });
            h.extend_from_slice(&ulen.max(8).to_be_bytes());
            h.extend_from_slice(&[0, 0]);
        }
        1 | 58 => {
            h.push(r.icmp_type.unwrap_or(0));
            h.push(r.icmp_code.unwrap_or(0));
            h.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        }
        _ => {}
    }
    h
}

impl SflowEncoder {
    pub fn new(agent: IpAddr, sub_agent: u32) -> Self {
        SflowEncoder {
            agent,
            sub_agent,
            sequence: 0,
            sample_sequence: 0,
            uptime_ms: 0,
        }
    }

    /// Appends one datagram holding a flow sample per record and a counter
    /// sample per counter record. The record's `sampling_rate` (default 1)
    /// is the sample's rate; `bytes` is the sampled frame's length.
    pub fn encode(&mut self, records: &[FlowRecord], counters: &[CounterRecord], out: &mut Vec<u8>) {
        u32b(out, 5);
        address(out, Some(self.agent));
        u32b(out, self.sub_agent);
        u32b(out, self.sequence);
        u32b(out, self.uptime_ms);
        u32b(out, (records.len() + counters.len()) as u32);
        for r in records {
            self.sample_sequence = self.sample_sequence.wrapping_add(1);
            let seq = self.sample_sequence;
            framed(out, FLOW_SAMPLE, |out| {
                u32b(out, seq);
                u32b(out, r.in_if.unwrap_or(0) & 0x00ff_ffff);
                u32b(out, r.sampling_rate.unwrap_or(1));
                u32b(out, seq.wrapping_mul(r.sampling_rate.unwrap_or(1)));
                u32b(out, 0); // drops
                u32b(out, r.in_if.unwrap_or(0) & 0x3fff_ffff);
                u32b(out, r.out_if.unwrap_or(0) & 0x3fff_ffff);
                let has_switch = r.dst_vlan.is_some();
                let has_router = r.next_hop.is_some() || r.src_mask.is_some() || r.dst_mask.is_some();
                let has_gateway = r.src_as.is_some() || r.dst_as.is_some();
                u32b(out, 1 + has_switch as u32 + has_router as u32 + has_gateway as u32);
                let hdr = packet_header(r);
                framed(out, RECORD_RAW_HEADER, |out| {
                    u32b(out, HEADER_ETHERNET);
                    u32b(out, r.bytes.unwrap_or(hdr.len() as u64).min(u32::MAX as u64) as u32);
                    u32b(out, 4); // stripped FCS
                    u32b(out, hdr.len() as u32);
                    out.extend_from_slice(&hdr);
                });
                if has_switch {
                    framed(out, RECORD_EXT_SWITCH, |out| {
                        u32b(out, r.src_vlan.unwrap_or(0) as u32);
                        u32b(out, 0);
                        u32b(out, r.dst_vlan.unwrap_or(0) as u32);
                        u32b(out, 0);
                    });
                }
                if has_router {
                    framed(out, RECORD_EXT_ROUTER, |out| {
                        address(out, Some(r.next_hop.unwrap_or(IpAddr::from([0, 0, 0, 0]))));
                        u32b(out, r.src_mask.unwrap_or(0) as u32);
                        u32b(out, r.dst_mask.unwrap_or(0) as u32);
                    });
                }
                if has_gateway {
                    framed(out, RECORD_EXT_GATEWAY, |out| {
                        address(out, Some(r.bgp_next_hop.unwrap_or(IpAddr::from([0, 0, 0, 0]))));
                        u32b(out, 0); // router's own AS
                        u32b(out, r.src_as.unwrap_or(0));
                        u32b(out, 0); // source peer AS
                        u32b(out, 1); // one segment
                        u32b(out, 2); // AS_SEQUENCE
                        u32b(out, 1);
                        u32b(out, r.dst_as.unwrap_or(0));
                        u32b(out, 0); // communities
                        u32b(out, 0); // local pref
                    });
                }
            });
        }
        for c in counters {
            framed(out, COUNTER_SAMPLE, |out| {
                u32b(out, c.sequence);
                u32b(out, (c.source_type << 24) | (c.source_index & 0x00ff_ffff));
                u32b(out, c.interface.is_some() as u32 + c.ethernet.is_some() as u32);
                if let Some(i) = &c.interface {
                    framed(out, COUNTERS_GENERIC, |out| {
                        u32b(out, i.if_index);
                        u32b(out, i.if_type);
                        out.extend_from_slice(&i.if_speed.to_be_bytes());
                        u32b(out, i.if_direction);
                        u32b(out, i.if_status);
                        out.extend_from_slice(&i.in_octets.to_be_bytes());
                        for v in [
                            i.in_ucast_pkts,
                            i.in_multicast_pkts,
                            i.in_broadcast_pkts,
                            i.in_discards,
                            i.in_errors,
                            i.in_unknown_protos,
                        ] {
                            u32b(out, v);
                        }
                        out.extend_from_slice(&i.out_octets.to_be_bytes());
                        for v in [
                            i.out_ucast_pkts,
                            i.out_multicast_pkts,
                            i.out_broadcast_pkts,
                            i.out_discards,
                            i.out_errors,
                            i.promiscuous_mode,
                        ] {
                            u32b(out, v);
                        }
                    });
                }
                if let Some(e) = &c.ethernet {
                    framed(out, COUNTERS_ETHERNET, |out| {
                        for v in [
                            e.alignment_errors,
                            e.fcs_errors,
                            e.single_collision_frames,
                            e.multiple_collision_frames,
                            e.sqe_test_errors,
                            e.deferred_transmissions,
                            e.late_collisions,
                            e.excessive_collisions,
                            e.internal_mac_transmit_errors,
                            e.carrier_sense_errors,
                            e.frame_too_longs,
                            e.internal_mac_receive_errors,
                            e.symbol_errors,
                        ] {
                            u32b(out, v);
                        }
                    });
                }
            });
        }
        self.sequence = self.sequence.wrapping_add(1);
    }
}
