//! sFlow version 5 (sflow.org/sflow_version_5.txt): datagram header, flow
//! samples and expanded flow samples (raw packet header, sampled IPv4/IPv6,
//! Ethernet frame data, extended switch/router/gateway records), discarded
//! packet events (sflow.org/sflow_drops.txt), counter samples and expanded
//! counter samples (generic interface and Ethernet counters; other formats
//! skipped by their length).
//!
//! Units follow NetFlow/IPFIX so flows from every protocol add up alike:
//! `bytes` is the IP length of the sampled packet (the frame length only
//! when the packet is not IP), and a sample counts one packet.
//!
//! Counts from the wire (samples, records, AS path lengths) are checked
//! against the bytes that remain before any loop or allocation uses them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::batch::Batch;
use crate::cursor::Cursor;
use crate::error::DecodeError;
use crate::limits;
use crate::packet::{self, PacketInfo};
use crate::record::{
    CounterRecord, Direction, EthernetCounters, FlowRecord, IfCounters, MacAddr, Protocol, SamplingSource, Span,
    Timestamp,
};

pub const FLOW_SAMPLE: u32 = 1;
pub const COUNTER_SAMPLE: u32 = 2;
pub const EXPANDED_FLOW_SAMPLE: u32 = 3;
pub const EXPANDED_COUNTER_SAMPLE: u32 = 4;
/// Discarded packet event (sFlow drops extension).
pub const DISCARDED_PACKET: u32 = 5;

pub const RECORD_RAW_HEADER: u32 = 1;
pub const RECORD_ETHERNET: u32 = 2;
pub const RECORD_IPV4: u32 = 3;
pub const RECORD_IPV6: u32 = 4;
pub const RECORD_EXT_SWITCH: u32 = 1001;
pub const RECORD_EXT_ROUTER: u32 = 1002;
pub const RECORD_EXT_GATEWAY: u32 = 1003;

pub const COUNTERS_GENERIC: u32 = 1;
pub const COUNTERS_ETHERNET: u32 = 2;

/// Raw header protocols (sFlow `header_protocol`).
pub const HEADER_ETHERNET: u32 = 1;
pub const HEADER_IPV4: u32 = 11;
pub const HEADER_IPV6: u32 = 12;

/// Smallest possible sample (format + length words).
const MIN_SAMPLE_LEN: usize = 8;

/// What the datagram header said.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub agent: IpAddr,
    pub sub_agent: u32,
    pub sequence: u32,
    /// Agent uptime in ms (kept for callers that correlate samples).
    #[allow(dead_code)]
    pub uptime_ms: u32,
}

fn address(c: &mut Cursor<'_>) -> Result<Option<IpAddr>, DecodeError> {
    match c.u32()? {
        0 => Ok(None),
        1 => {
            let a = c.array::<4>()?;
            Ok(Some(IpAddr::V4(Ipv4Addr::from(a))))
        }
        2 => {
            let a = c.array::<16>()?;
            Ok(Some(IpAddr::V6(Ipv6Addr::from(a))))
        }
        t => Err(DecodeError::BadAddressType(t)),
    }
}

pub(crate) fn decode(
    data: &[u8],
    exporter: SocketAddr,
    received: Timestamp,
    out: &mut Batch,
) -> Result<Header, DecodeError> {
    let mut c = Cursor::new(data);
    let _version = c.u32()?;
    let agent = address(&mut c)?.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let sub_agent = c.u32()?;
    let sequence = c.u32()?;
    let uptime_ms = c.u32()?;
    let n = c.u32()? as usize;
    let h = Header {
        agent,
        sub_agent,
        sequence,
        uptime_ms,
    };
    if n > limits::MAX_SFLOW_SAMPLES {
        return Err(DecodeError::TooManySamples(n));
    }
    if n * MIN_SAMPLE_LEN > c.remaining() {
        return Err(DecodeError::BadCount {
            claimed: n,
            room: c.remaining() / MIN_SAMPLE_LEN,
        });
    }
    let flows_start = out.flows.len();
    for _ in 0..n {
        let format = c.u32()?;
        let len = c.u32()? as usize;
        let mut s = match c.sub(len) {
            Ok(s) => s,
            Err(e) => {
                out.errors.push(e);
                break;
            }
        };
        let enterprise = format >> 12;
        let format = format & 0xfff;
        if enterprise != 0 {
            continue;
        }
        let r = match format {
            FLOW_SAMPLE | EXPANDED_FLOW_SAMPLE => {
                if out.flows.len() - flows_start >= limits::MAX_RECORDS_PER_DATAGRAM {
                    Err(DecodeError::TooManyRecords)
                } else {
                    flow_sample(&mut s, format == EXPANDED_FLOW_SAMPLE, &h, exporter, received, out)
                }
            }
            DISCARDED_PACKET => discarded_packet(&mut s, &h, exporter, received, out),
            COUNTER_SAMPLE | EXPANDED_COUNTER_SAMPLE => {
                counter_sample(&mut s, format == EXPANDED_COUNTER_SAMPLE, &h, exporter, received, out)
            }
            _ => Ok(()), // future sample types: skipped by their length
        };
        if let Err(e) = r {
            out.errors.push(e);
        }
    }
    Ok(h)
}

/// Interface word of a compact flow sample: top 2 bits format, low 30 value.
/// Format 0 is an ifIndex; 1 means dropped (output only); 2 means several
/// interfaces (value = count); 0x3fffffff is "internal/unknown". Returns the
/// ifIndex and, for a discarded packet, its drop reason.
fn interface(format: u32, value: u32) -> (Option<u32>, Option<u32>) {
    match format {
        0 if value != 0x3fff_ffff => (Some(value), None),
        1 => (None, Some(value)),
        _ => (None, None),
    }
}

fn flow_sample(
    c: &mut Cursor<'_>,
    expanded: bool,
    h: &Header,
    exporter: SocketAddr,
    received: Timestamp,
    out: &mut Batch,
) -> Result<(), DecodeError> {
    let sequence = c.u32()?;
    let (source_type, source_index) = if expanded {
        (c.u32()?, c.u32()?)
    } else {
        let s = c.u32()?;
        (s >> 24, s & 0x00ff_ffff)
    };
    let rate = c.u32()?;
    let _pool = c.u32()?;
    let _drops = c.u32()?;
    let (in_if, out_if, dropped) = if expanded {
        let inf = c.u32()?;
        let inv = c.u32()?;
        let outf = c.u32()?;
        let outv = c.u32()?;
        let (i, _) = interface(inf, inv);
        let (o, d) = interface(outf, outv);
        (i, o, d)
    } else {
        let i = c.u32()?;
        let o = c.u32()?;
        let (i, _) = interface(i >> 30, i & 0x3fff_ffff);
        let (o, d) = interface(o >> 30, o & 0x3fff_ffff);
        (i, o, d)
    };
    let mut rec = FlowRecord::new(Protocol::Sflow5, exporter, received);
    if rate > 0 {
        rec.sampling_rate = Some(rate);
        rec.sampling_source = Some(SamplingSource::Header);
    }
    rec.in_if = in_if;
    rec.out_if = out_if;
    if let Some(reason) = dropped {
        rec.forwarding_status = Some(drop_status(reason));
    }
    rec.direction = sampling_direction(source_type, source_index, &rec);
    flow_records(c, h, sequence, rec, out)
}

/// A discarded packet event: one dropped packet, its reason and the usual
/// flow records describing it. Not a sample, so no sampling rate.
fn discarded_packet(
    c: &mut Cursor<'_>,
    h: &Header,
    exporter: SocketAddr,
    received: Timestamp,
    out: &mut Batch,
) -> Result<(), DecodeError> {
    let sequence = c.u32()?;
    let (source_type, source_index) = (c.u32()?, c.u32()?);
    let _drops = c.u32()?;
    let in_if = c.u32()?;
    let out_if = c.u32()?;
    let reason = c.u32()?;
    let mut rec = FlowRecord::new(Protocol::Sflow5, exporter, received);
    // 0 is "unknown" for discard events; 0x3fffffff "internal".
    rec.in_if = (in_if != 0 && in_if != 0x3fff_ffff).then_some(in_if);
    rec.out_if = (out_if != 0 && out_if != 0x3fff_ffff).then_some(out_if);
    rec.forwarding_status = Some(drop_status(reason));
    rec.direction = sampling_direction(source_type, source_index, &rec);
    flow_records(c, h, sequence, rec, out)
}

/// sFlow samples on one interface (data source type 0), ingress or egress:
/// when that interface is the flow's input the sample was taken on ingress,
/// otherwise on egress (the output may be "multiple" for multicast, or the
/// packet may come from the device itself).
fn sampling_direction(source_type: u32, source_index: u32, rec: &FlowRecord) -> Option<Direction> {
    if source_type != 0 || source_index == 0 {
        return None;
    }
    Some(if rec.in_if == Some(source_index) {
        Direction::Ingress
    } else {
        Direction::Egress
    })
}

/// sFlow drop reason (the ICMP unreachable codes 0–15, then 256 and up)
/// as an IPFIX forwardingStatus "dropped" code (IANA registry, RFC 7270).
pub fn drop_status(reason: u32) -> u8 {
    match reason {
        0 | 1 | 6 | 7 => 131, // net/host unreachable or unknown: unroutable
        9 | 10 | 13 => 129,   // administratively prohibited: ACL deny
        4 | 262 => 133,       // fragmentation needed and DF set / too big
        257 => 137,           // TTL exceeded
        258 => 129,           // ACL
        260 => 139,           // RED/WRED
        261 => 138,           // traffic shaping: policer
        _ => 128,             // dropped, reason unknown
    }
}

/// The flow records of a flow sample or discard event, into `rec`.
fn flow_records(
    c: &mut Cursor<'_>,
    h: &Header,
    sequence: u32,
    mut rec: FlowRecord,
    out: &mut Batch,
) -> Result<(), DecodeError> {
    let n = c.u32()? as usize;
    if n > limits::MAX_SFLOW_RECORDS_PER_SAMPLE || n * 8 > c.remaining() {
        return Err(DecodeError::BadCount {
            claimed: n,
            room: c.remaining() / 8,
        });
    }

    rec.agent = Some(h.agent);
    rec.observation_domain = h.sub_agent;
    rec.sequence = Some(sequence);
    rec.time_start = Some(rec.time_received);
    rec.time_end = Some(rec.time_received);
    rec.packets = Some(1);
    let mut switch_vlan = false;
    for _ in 0..n {
        let format = c.u32()?;
        let len = c.u32()? as usize;
        let mut r = c.sub(len)?;
        if format >> 12 != 0 {
            continue;
        }
        match format & 0xfff {
            RECORD_RAW_HEADER => raw_header(&mut r, &mut rec, switch_vlan)?,
            RECORD_ETHERNET => {
                let _len = r.u32()?;
                let src = r.array::<8>()?;
                let dst = r.array::<8>()?;
                rec.src_mac.get_or_insert(mac(&src));
                rec.dst_mac.get_or_insert(mac(&dst));
            }
            RECORD_IPV4 => {
                let len = r.u32()?;
                let proto = r.u32()?;
                let src = r.array::<4>()?;
                let dst = r.array::<4>()?;
                sampled_ip(&mut r, &mut rec, len, proto, IpAddr::from(src), IpAddr::from(dst), 4)?;
            }
            RECORD_IPV6 => {
                let len = r.u32()?;
                let proto = r.u32()?;
                let src = r.array::<16>()?;
                let dst = r.array::<16>()?;
                sampled_ip(&mut r, &mut rec, len, proto, IpAddr::from(src), IpAddr::from(dst), 6)?;
            }
            RECORD_EXT_SWITCH => {
                let src_vlan = r.u32()?;
                let _src_prio = r.u32()?;
                let dst_vlan = r.u32()?;
                let _dst_prio = r.u32()?;
                // The switch's own view wins over tags in the sampled
                // header; 0xffffffff (anything above 4095) is "unknown".
                if src_vlan <= 4095 {
                    rec.src_vlan = Some(src_vlan as u16);
                    switch_vlan = true;
                }
                if dst_vlan <= 4095 {
                    rec.dst_vlan = Some(dst_vlan as u16);
                }
            }
            RECORD_EXT_ROUTER => {
                rec.next_hop = address(&mut r)?;
                rec.src_mask = Some(r.u32()?.min(128) as u8);
                rec.dst_mask = Some(r.u32()?.min(128) as u8);
            }
            RECORD_EXT_GATEWAY => gateway(&mut r, &mut rec, out)?,
            _ => {}
        }
    }
    out.flows.push(rec);
    Ok(())
}

fn mac(b: &[u8; 8]) -> MacAddr {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[..6]);
    MacAddr(m)
}

#[allow(clippy::too_many_arguments)]
fn sampled_ip(
    r: &mut Cursor<'_>,
    rec: &mut FlowRecord,
    len: u32,
    proto: u32,
    src: IpAddr,
    dst: IpAddr,
    version: u8,
) -> Result<(), DecodeError> {
    let sport = r.u32()?;
    let dport = r.u32()?;
    let flags = r.u32()?;
    let tos = r.u32()?;
    // A raw header record, when present too, is the better source.
    if rec.src_addr.is_none() {
        rec.ip_version = Some(version);
        rec.src_addr = Some(src);
        rec.dst_addr = Some(dst);
        rec.proto = Some(proto as u8);
        rec.src_port = Some(sport as u16);
        rec.dst_port = Some(dport as u16);
        rec.tcp_flags = Some(flags as u16);
        rec.tos = Some(tos as u8);
        rec.bytes = Some(len as u64);
    }
    Ok(())
}

fn raw_header(r: &mut Cursor<'_>, rec: &mut FlowRecord, switch_vlan: bool) -> Result<(), DecodeError> {
    let proto = r.u32()?;
    let frame_len = r.u32()?;
    let _stripped = r.u32()?;
    let hlen = r.u32()? as usize;
    let hdr = r.take(hlen.min(r.remaining()))?;
    let p = match proto {
        HEADER_ETHERNET => packet::parse_ethernet(hdr),
        HEADER_IPV4 | HEADER_IPV6 => packet::parse_ip(hdr),
        _ => PacketInfo::default(),
    };
    // IP length, as NetFlow and IPFIX count bytes; the frame length (L2
    // headers and FCS included) only when the packet is not IP.
    rec.bytes = Some(p.ip_len.map_or(frame_len as u64, u64::from));
    let vlan = rec.src_vlan;
    apply_packet(&p, rec);
    if switch_vlan {
        rec.src_vlan = vlan;
    }
    Ok(())
}

/// Copies what a parsed header told us into a record.
pub fn apply_packet(p: &PacketInfo, rec: &mut FlowRecord) {
    rec.src_mac = p.src_mac.or(rec.src_mac);
    rec.dst_mac = p.dst_mac.or(rec.dst_mac);
    if p.vlan.is_some() {
        rec.src_vlan = p.vlan;
    }
    rec.mpls_label = p.mpls_label.or(rec.mpls_label);
    rec.ip_version = p.ip_version;
    rec.src_addr = p.src_addr;
    rec.dst_addr = p.dst_addr;
    rec.proto = p.proto;
    rec.tos = p.tos;
    rec.ttl = p.ttl;
    if p.ip_version == Some(6) {
        rec.flow_label = p.flow_label;
    }
    rec.src_port = p.src_port;
    rec.dst_port = p.dst_port;
    rec.tcp_flags = p.tcp_flags;
    rec.icmp_type = p.icmp_type;
    rec.icmp_code = p.icmp_code;
}

fn gateway(r: &mut Cursor<'_>, rec: &mut FlowRecord, out: &mut Batch) -> Result<(), DecodeError> {
    rec.bgp_next_hop = address(r)?;
    // An AS of 0 (or an empty destination path) means the address is in
    // the router's own AS.
    let own_as = r.u32()?;
    let src_as = r.u32()?;
    let _src_peer_as = r.u32()?;
    rec.src_as = Some(if src_as == 0 { own_as } else { src_as });
    let segments = r.u32()? as usize;
    if segments > limits::MAX_AS_PATH_SEGMENTS || segments * 8 > r.remaining() {
        return Err(DecodeError::BadCount {
            claimed: segments,
            room: r.remaining() / 8,
        });
    }
    let start = out.as_paths.len();
    let mut last = None;
    for _ in 0..segments {
        let _seg_type = r.u32()?;
        let n = r.u32()? as usize;
        if n * 4 > r.remaining() {
            return Err(DecodeError::BadCount {
                claimed: n,
                room: r.remaining() / 4,
            });
        }
        for _ in 0..n {
            let asn = r.u32()?;
            if out.as_paths.len() - start < limits::MAX_AS_PATH_LEN {
                out.as_paths.push(asn);
            }
            last = Some(asn);
        }
    }
    rec.dst_as = Some(last.filter(|&a| a != 0).unwrap_or(own_as));
    rec.as_path = Span {
        start: start as u32,
        len: (out.as_paths.len() - start) as u32,
    };
    // Communities and local preference follow; not kept.
    Ok(())
}

fn counter_sample(
    c: &mut Cursor<'_>,
    expanded: bool,
    h: &Header,
    exporter: SocketAddr,
    received: Timestamp,
    out: &mut Batch,
) -> Result<(), DecodeError> {
    let sequence = c.u32()?;
    let (source_type, source_index) = if expanded {
        (c.u32()?, c.u32()?)
    } else {
        let s = c.u32()?;
        (s >> 24, s & 0x00ff_ffff)
    };
    let n = c.u32()? as usize;
    if n > limits::MAX_SFLOW_RECORDS_PER_SAMPLE || n * 8 > c.remaining() {
        return Err(DecodeError::BadCount {
            claimed: n,
            room: c.remaining() / 8,
        });
    }
    let mut cr = CounterRecord {
        time_received: received,
        exporter,
        agent: Some(h.agent),
        sub_agent: h.sub_agent,
        sequence,
        source_type,
        source_index,
        interface: None,
        ethernet: None,
        skipped_records: 0,
    };
    for _ in 0..n {
        let format = c.u32()?;
        let len = c.u32()? as usize;
        let mut r = c.sub(len)?;
        match (format >> 12, format & 0xfff) {
            (0, COUNTERS_GENERIC) => {
                cr.interface = Some(IfCounters {
                    if_index: r.u32()?,
                    if_type: r.u32()?,
                    if_speed: r.u64()?,
                    if_direction: r.u32()?,
                    if_status: r.u32()?,
                    in_octets: r.u64()?,
                    in_ucast_pkts: r.u32()?,
                    in_multicast_pkts: r.u32()?,
                    in_broadcast_pkts: r.u32()?,
                    in_discards: r.u32()?,
                    in_errors: r.u32()?,
                    in_unknown_protos: r.u32()?,
                    out_octets: r.u64()?,
                    out_ucast_pkts: r.u32()?,
                    out_multicast_pkts: r.u32()?,
                    out_broadcast_pkts: r.u32()?,
                    out_discards: r.u32()?,
                    out_errors: r.u32()?,
                    promiscuous_mode: r.u32()?,
                })
            }
            (0, COUNTERS_ETHERNET) => {
                cr.ethernet = Some(EthernetCounters {
                    alignment_errors: r.u32()?,
                    fcs_errors: r.u32()?,
                    single_collision_frames: r.u32()?,
                    multiple_collision_frames: r.u32()?,
                    sqe_test_errors: r.u32()?,
                    deferred_transmissions: r.u32()?,
                    late_collisions: r.u32()?,
                    excessive_collisions: r.u32()?,
                    internal_mac_transmit_errors: r.u32()?,
                    carrier_sense_errors: r.u32()?,
                    frame_too_longs: r.u32()?,
                    internal_mac_receive_errors: r.u32()?,
                    symbol_errors: r.u32()?,
                })
            }
            _ => cr.skipped_records += 1,
        }
    }
    out.counters.push(cr);
    Ok(())
}
