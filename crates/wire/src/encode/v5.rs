//! NetFlow v5 datagrams.

use std::net::IpAddr;

use crate::netflow::legacy::{V5_HEADER_LEN, V5_RECORD_LEN};
use crate::record::{FlowRecord, Timestamp};

/// Most records a v5 datagram carries (Cisco's limit).
pub const V5_MAX_RECORDS: usize = 30;

/// Header values chosen by the exporter.
#[derive(Debug, Clone, Copy)]
pub struct V5Header {
    /// Wall-clock time of export.
    pub export_time: Timestamp,
    /// Exporter uptime at export, ms.
    pub sys_uptime_ms: u32,
    /// Flows sent before this datagram.
    pub sequence: u32,
    pub engine_type: u8,
    pub engine_id: u8,
    /// 1-in-N; 0 or 1 for unsampled. Only 14 bits fit.
    pub sampling_interval: u16,
}

fn v4(a: Option<IpAddr>) -> [u8; 4] {
    match a {
        Some(IpAddr::V4(a)) => a.octets(),
        _ => [0; 4],
    }
}

/// Converts an absolute time to the exporter's uptime in ms.
pub(crate) fn to_uptime(t: Option<Timestamp>, export: Timestamp, sys_uptime_ms: u32) -> u32 {
    match t {
        Some(t) => {
            let age_ms = (export.0 - t.0).div_euclid(1_000_000);
            sys_uptime_ms.wrapping_sub(age_ms as i32 as u32)
        }
        None => sys_uptime_ms,
    }
}

/// Appends one v5 datagram with up to [`V5_MAX_RECORDS`] IPv4 records (others
/// are skipped) to `out`. Returns how many records were written.
pub fn encode(h: &V5Header, records: &[FlowRecord], out: &mut Vec<u8>) -> usize {
    let recs: Vec<&FlowRecord> = records
        .iter()
        .filter(|r| !matches!(r.src_addr, Some(IpAddr::V6(_))))
        .take(V5_MAX_RECORDS)
        .collect();
    out.reserve(V5_HEADER_LEN + recs.len() * V5_RECORD_LEN);
    out.extend_from_slice(&5u16.to_be_bytes());
    out.extend_from_slice(&(recs.len() as u16).to_be_bytes());
    out.extend_from_slice(&h.sys_uptime_ms.to_be_bytes());
    let secs = h.export_time.0.div_euclid(1_000_000_000);
    let nsecs = h.export_time.0.rem_euclid(1_000_000_000);
    out.extend_from_slice(&(secs as u32).to_be_bytes());
    out.extend_from_slice(&(nsecs as u32).to_be_bytes());
    out.extend_from_slice(&h.sequence.to_be_bytes());
    out.push(h.engine_type);
    out.push(h.engine_id);
    let sampling = if h.sampling_interval > 1 {
        (1u16 << 14) | (h.sampling_interval & 0x3fff)
    } else {
        0
    };
    out.extend_from_slice(&sampling.to_be_bytes());
    for r in &recs {
        out.extend_from_slice(&v4(r.src_addr));
        out.extend_from_slice(&v4(r.dst_addr));
        out.extend_from_slice(&v4(r.next_hop));
        out.extend_from_slice(&(r.in_if.unwrap_or(0) as u16).to_be_bytes());
        out.extend_from_slice(&(r.out_if.unwrap_or(0) as u16).to_be_bytes());
        out.extend_from_slice(&(r.packets.unwrap_or(0) as u32).to_be_bytes());
        out.extend_from_slice(&(r.bytes.unwrap_or(0) as u32).to_be_bytes());
        out.extend_from_slice(&to_uptime(r.time_start, h.export_time, h.sys_uptime_ms).to_be_bytes());
        out.extend_from_slice(&to_uptime(r.time_end, h.export_time, h.sys_uptime_ms).to_be_bytes());
        out.extend_from_slice(&r.src_port.unwrap_or(0).to_be_bytes());
        let dport = match (r.proto, r.icmp_type, r.icmp_code) {
            (Some(1), Some(t), c) => (t as u16) << 8 | c.unwrap_or(0) as u16,
            _ => r.dst_port.unwrap_or(0),
        };
        out.extend_from_slice(&dport.to_be_bytes());
        out.push(0); // pad1
        out.push(r.tcp_flags.unwrap_or(0) as u8);
        out.push(r.proto.unwrap_or(0));
        out.push(r.tos.unwrap_or(0));
        out.extend_from_slice(&(r.src_as.unwrap_or(0) as u16).to_be_bytes());
        out.extend_from_slice(&(r.dst_as.unwrap_or(0) as u16).to_be_bytes());
        out.push(r.src_mask.unwrap_or(0));
        out.push(r.dst_mask.unwrap_or(0));
        out.extend_from_slice(&[0, 0]); // pad2
    }
    recs.len()
}
