//! Reading flow datagrams out of packet captures (pcap and pcapng): link
//! layers, IPv4/IPv6, UDP, and reassembly of fragmented datagrams.
//!
//! Only this module knows about capture files; it yields `(time, source,
//! destination, payload)` tuples and nothing downstream cares where they
//! came from.

mod reassembly;

use std::fs::File;
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;

use flowlens_wire::packet::{self, PacketInfo};
use flowlens_wire::Timestamp;
use pcap_parser::pcapng::Block;
use pcap_parser::{Linktype, PcapBlockOwned, PcapError};

use self::reassembly::Reassembler;

/// Read buffer for the capture reader; also the largest block we accept.
pub const CAPTURE_BUFFER: usize = 1 << 20;

/// One UDP datagram found in a capture.
#[derive(Debug, Clone)]
pub struct Datagram {
    /// 1-based number of the capture frame that completed the datagram (as
    /// tshark's `frame.number`).
    pub frame: u64,
    pub time: Timestamp,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub payload: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a pcap or pcapng capture ({reason})")]
    NotACapture { path: String, reason: String },
    #[error("{path}: capture is corrupt after {packets} packets ({reason})")]
    Corrupt { path: String, packets: u64, reason: String },
}

impl CaptureError {
    pub fn code(&self) -> &'static str {
        match self {
            CaptureError::Io { .. } => "io",
            CaptureError::NotACapture { .. } => "not_a_capture",
            CaptureError::Corrupt { .. } => "corrupt",
        }
    }
}

/// What reading a capture found besides datagrams.
#[derive(Debug, Default, Clone, Copy)]
pub struct CaptureStats {
    pub packets: u64,
    pub udp_datagrams: u64,
    /// Frames that were not IP/UDP or whose link type we do not read.
    pub skipped: u64,
    /// Fragments still waiting for their siblings at the end.
    pub incomplete_fragments: u64,
    /// The capture ended inside a packet (a common way captures get cut).
    pub truncated_tail: bool,
}

/// Reads every UDP datagram of a capture file, calling `f` for each, in
/// capture order.
pub fn read_file(path: &Path, mut f: impl FnMut(Datagram)) -> Result<CaptureStats, CaptureError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| CaptureError::Io {
        path: name.clone(),
        source,
    })?;
    read(file, &name, &mut f)
}

/// Reads a capture from any reader (see [`read_file`]).
pub fn read(
    input: impl Read + Send + 'static,
    name: &str,
    f: &mut dyn FnMut(Datagram),
) -> Result<CaptureStats, CaptureError> {
    let mut reader = pcap_parser::create_reader(CAPTURE_BUFFER, input).map_err(|e| CaptureError::NotACapture {
        path: name.to_string(),
        reason: short(&e),
    })?;
    let mut stats = CaptureStats::default();
    // pcapng may describe several interfaces with different link types and
    // timestamp resolutions; legacy pcap has one.
    let mut ifaces: Vec<(Linktype, u64)> = Vec::new();
    let mut legacy_link = Linktype::ETHERNET;
    let mut legacy_nanos = false;
    let mut reasm = Reassembler::default();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy_link = h.network;
                        legacy_nanos = h.is_nanosecond_precision();
                    }
                    PcapBlockOwned::Legacy(b) => {
                        stats.packets += 1;
                        let sub = if legacy_nanos {
                            b.ts_usec as i64
                        } else {
                            b.ts_usec as i64 * 1000
                        };
                        let t = Timestamp(b.ts_sec as i64 * 1_000_000_000 + sub);
                        frame(legacy_link, b.data, t, &mut reasm, &mut stats, f);
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        let units = ts_units_per_sec(idb.if_tsresol);
                        ifaces.push((idb.linktype, units));
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        stats.packets += 1;
                        let (link, units) = ifaces
                            .get(epb.if_id as usize)
                            .copied()
                            .unwrap_or((Linktype::ETHERNET, 1_000_000));
                        let ts = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                        let t = Timestamp(
                            (ts / units) as i64 * 1_000_000_000 + ((ts % units) * 1_000_000_000 / units) as i64,
                        );
                        let data = &epb.data[..(epb.caplen as usize).min(epb.data.len())];
                        frame(link, data, t, &mut reasm, &mut stats, f);
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        stats.packets += 1;
                        let link = ifaces.first().map(|i| i.0).unwrap_or(Linktype::ETHERNET);
                        frame(link, spb.data, Timestamp(0), &mut reasm, &mut stats, f);
                    }
                    _ => {}
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if let Err(e) = reader.refill() {
                    // A refill that cannot make progress means the file ends
                    // in the middle of a block.
                    if matches!(e, PcapError::Eof | PcapError::Incomplete(_)) || stats.packets > 0 {
                        stats.truncated_tail = true;
                        break;
                    }
                    return Err(CaptureError::Corrupt {
                        path: name.to_string(),
                        packets: stats.packets,
                        reason: short(&e),
                    });
                }
                if reader.reader_exhausted() && reader.data().is_empty() {
                    break;
                }
                if reader.reader_exhausted() {
                    // Partial block left with nothing more to read.
                    stats.truncated_tail = true;
                    break;
                }
            }
            Err(e) => {
                if stats.packets == 0 {
                    return Err(CaptureError::NotACapture {
                        path: name.to_string(),
                        reason: short(&e),
                    });
                }
                return Err(CaptureError::Corrupt {
                    path: name.to_string(),
                    packets: stats.packets,
                    reason: short(&e),
                });
            }
        }
    }
    stats.incomplete_fragments = reasm.pending() as u64;
    Ok(stats)
}

fn short<E: std::fmt::Debug>(e: &E) -> String {
    let s = format!("{e:?}");
    s.chars().take(120).collect()
}

/// pcapng if_tsresol: high bit clear → 10^-n, set → 2^-n; default 10^-6.
fn ts_units_per_sec(tsresol: u8) -> u64 {
    let n = (tsresol & 0x7f) as u32;
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(n).unwrap_or(1_000_000)
    } else {
        1u64.checked_shl(n).unwrap_or(1_000_000)
    }
}

fn frame(
    link: Linktype,
    data: &[u8],
    time: Timestamp,
    reasm: &mut Reassembler,
    stats: &mut CaptureStats,
    f: &mut dyn FnMut(Datagram),
) {
    let p = match link {
        Linktype::ETHERNET => packet::parse_ethernet(data),
        Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 => packet::parse_ip(data),
        // Linux cooked capture v1: 16-byte header, protocol at 14.
        Linktype::LINUX_SLL => offset_ip(data, 16),
        // Linux cooked capture v2: 20-byte header.
        Linktype::LINUX_SLL2 => offset_ip(data, 20),
        // BSD loopback: 4-byte address family.
        Linktype::NULL | Linktype::LOOP => offset_ip(data, 4),
        _ => {
            stats.skipped += 1;
            return;
        }
    };
    let base = match link {
        Linktype::LINUX_SLL => 16,
        Linktype::LINUX_SLL2 => 20,
        Linktype::NULL | Linktype::LOOP => 4,
        _ => 0,
    };
    udp(data, base, &p, time, reasm, stats, f);
}

fn offset_ip(data: &[u8], off: usize) -> PacketInfo {
    data.get(off..).map(packet::parse_ip).unwrap_or_default()
}

fn udp(
    data: &[u8],
    base: usize,
    p: &PacketInfo,
    time: Timestamp,
    reasm: &mut Reassembler,
    stats: &mut CaptureStats,
    f: &mut dyn FnMut(Datagram),
) {
    let (Some(src), Some(dst), Some(17), Some(l3), Some(l4)) =
        (p.src_addr, p.dst_addr, p.proto, p.l3_offset, p.l4_offset)
    else {
        stats.skipped += 1;
        return;
    };
    let (l3, l4) = (l3 + base, l4 + base);
    // Trim link-layer padding: the IP length says where the packet ends.
    let ip_end = p.ip_len.map_or(data.len(), |len| (l3 + len as usize).min(data.len()));
    let Some(l4_bytes) = data.get(l4..ip_end) else {
        stats.skipped += 1;
        return;
    };
    let is_fragment = p.more_fragments || p.fragment_offset != 0;
    let whole;
    let udp_bytes: &[u8] = if is_fragment {
        let key = (src, dst, p.fragment_id.unwrap_or(0));
        match reasm.add(key, p.fragment_offset as usize, p.more_fragments, l4_bytes) {
            Some(w) => {
                whole = w;
                &whole
            }
            None => return,
        }
    } else {
        l4_bytes
    };
    if udp_bytes.len() < 8 {
        stats.skipped += 1;
        return;
    }
    let sport = u16::from_be_bytes([udp_bytes[0], udp_bytes[1]]);
    let dport = u16::from_be_bytes([udp_bytes[2], udp_bytes[3]]);
    let ulen = u16::from_be_bytes([udp_bytes[4], udp_bytes[5]]) as usize;
    // A UDP length of 0 (jumbograms) or one past the data: use what we have.
    let end = if ulen >= 8 && ulen <= udp_bytes.len() {
        ulen
    } else {
        udp_bytes.len()
    };
    stats.udp_datagrams += 1;
    f(Datagram {
        frame: stats.packets,
        time,
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        payload: udp_bytes[8..end].to_vec(),
    });
}
