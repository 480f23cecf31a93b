//! NetFlow v1, v5 and v7: fixed-format headers and records.
//!
//! Times in the records are milliseconds of the exporter's uptime; they are
//! made absolute with the header's `unix_secs`/`unix_nsecs`, which give the
//! wall-clock time at `sys_uptime`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::batch::Batch;
use crate::cursor::Cursor;
use crate::error::DecodeError;
use crate::record::{FlowRecord, Protocol, SamplingSource, Timestamp};

pub const V1_HEADER_LEN: usize = 16;
pub const V1_RECORD_LEN: usize = 48;
pub const V5_HEADER_LEN: usize = 24;
pub const V5_RECORD_LEN: usize = 48;
pub const V7_HEADER_LEN: usize = 24;
pub const V7_RECORD_LEN: usize = 52;

/// What the fixed formats' headers tell the record decoder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub count: usize,
    pub sys_uptime_ms: u32,
    /// Wall-clock time at `sys_uptime_ms`.
    pub export_time: Timestamp,
    pub sequence: Option<u32>,
    pub domain: u32,
    pub sampling_rate: Option<u32>,
}

/// Converts an uptime in ms to absolute time, given the uptime and wall clock
/// at export. The difference is taken as a signed 32-bit value so a wrap of the
/// 49.7-day uptime counter between flow and export is handled.
#[inline]
pub(crate) fn uptime_to_time(export_time: Timestamp, sys_uptime_ms: u32, at_ms: u32) -> Timestamp {
    let age_ms = sys_uptime_ms.wrapping_sub(at_ms) as i32 as i64;
    Timestamp(export_time.0 - age_ms * 1_000_000)
}

fn header(c: &mut Cursor<'_>, version: u16, record_len: usize, header_len: usize) -> Result<Header, DecodeError> {
    let _version = c.u16()?;
    let count = c.u16()? as usize;
    let sys_uptime_ms = c.u32()?;
    let secs = c.u32()? as i64;
    let nsecs = c.u32()? as i64;
    // Some exporters put garbage above 1e9 in unix_nsecs; clamp it.
    let export_time = Timestamp(secs * 1_000_000_000 + nsecs.min(999_999_999));
    let mut h = Header {
        count,
        sys_uptime_ms,
        export_time,
        sequence: None,
        domain: 0,
        sampling_rate: None,
    };
    match version {
        5 => {
            h.sequence = Some(c.u32()?);
            let engine_type = c.u8()? as u32;
            let engine_id = c.u8()? as u32;
            h.domain = engine_type << 8 | engine_id;
            let sampling = c.u16()?;
            // Top two bits are the mode, low 14 bits the interval; 0 means
            // unsampled or unknown.
            let interval = (sampling & 0x3fff) as u32;
            if interval > 0 {
                h.sampling_rate = Some(interval);
            }
        }
        7 => {
            h.sequence = Some(c.u32()?);
            c.skip(4)?; // reserved
        }
        _ => {}
    }
    debug_assert_eq!(c.offset(), header_len);
    let room = c.remaining() / record_len;
    if count > room {
        return Err(DecodeError::BadCount { claimed: count, room });
    }
    Ok(h)
}

#[inline]
fn v4(b: &[u8]) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
}

#[inline]
fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

#[inline]
fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Fills the fields common to v1, v5 and v7 (bytes 0..36 have the same layout).
#[inline]
fn common(rec: &mut FlowRecord, r: &[u8], h: &Header) {
    rec.ip_version = Some(4);
    rec.src_addr = v4(&r[0..4]);
    rec.dst_addr = v4(&r[4..8]);
    rec.next_hop = v4(&r[8..12]);
    rec.in_if = Some(u16_at(r, 12) as u32);
    rec.out_if = Some(u16_at(r, 14) as u32);
    rec.packets = Some(u32_at(r, 16) as u64);
    rec.bytes = Some(u32_at(r, 20) as u64);
    rec.time_start = Some(uptime_to_time(h.export_time, h.sys_uptime_ms, u32_at(r, 24)));
    rec.time_end = Some(uptime_to_time(h.export_time, h.sys_uptime_ms, u32_at(r, 28)));
    rec.src_port = Some(u16_at(r, 32));
    rec.dst_port = Some(u16_at(r, 34));
    rec.sequence = h.sequence;
    rec.observation_domain = h.domain;
    if let Some(rate) = h.sampling_rate {
        rec.sampling_rate = Some(rate);
        rec.sampling_source = Some(SamplingSource::Header);
    }
}

pub(crate) fn decode(
    version: u16,
    data: &[u8],
    exporter: SocketAddr,
    received: Timestamp,
    out: &mut Batch,
) -> Result<Header, DecodeError> {
    let (proto, hlen, rlen) = match version {
        1 => (Protocol::Netflow1, V1_HEADER_LEN, V1_RECORD_LEN),
        5 => (Protocol::Netflow5, V5_HEADER_LEN, V5_RECORD_LEN),
        7 => (Protocol::Netflow7, V7_HEADER_LEN, V7_RECORD_LEN),
        v => return Err(DecodeError::UnsupportedVersion(v as u32)),
    };
    let mut c = Cursor::new(data);
    let h = header(&mut c, version, rlen, hlen)?;
    let body = &data[hlen..hlen + h.count * rlen];
    out.flows.reserve(h.count);
    for r in body.chunks_exact(rlen) {
        let mut rec = FlowRecord::new(proto, exporter, received);
        common(&mut rec, r, &h);
        match version {
            1 => {
                rec.proto = Some(r[38]);
                rec.tos = Some(r[39]);
                rec.tcp_flags = Some(r[40] as u16);
            }
            5 => {
                rec.tcp_flags = Some(r[37] as u16);
                rec.proto = Some(r[38]);
                rec.tos = Some(r[39]);
                rec.src_as = Some(u16_at(r, 40) as u32);
                rec.dst_as = Some(u16_at(r, 42) as u32);
                rec.src_mask = Some(r[44]);
                rec.dst_mask = Some(r[45]);
            }
            _ => {
                rec.tcp_flags = Some(r[37] as u16);
                rec.proto = Some(r[38]);
                rec.tos = Some(r[39]);
                rec.src_as = Some(u16_at(r, 40) as u32);
                rec.dst_as = Some(u16_at(r, 42) as u32);
                rec.src_mask = Some(r[44]);
                rec.dst_mask = Some(r[45]);
            }
        }
        rec.icmp_from_port(true);
        out.flows.push(rec);
    }
    Ok(h)
}
