//! The unified flow record every protocol decodes into, and the other things a
//! datagram can carry (sFlow counters, options data).
//!
//! Fields a record does not carry are `None`, never zero: a NetFlow v5 record
//! has no MAC addresses, and "no MAC" must not read as `00:00:00:00:00:00`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Absolute UTC time as nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_secs(s: i64) -> Self {
        Timestamp(s.saturating_mul(1_000_000_000))
    }
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms.saturating_mul(1_000_000))
    }
    pub const fn from_micros(us: i64) -> Self {
        Timestamp(us.saturating_mul(1_000))
    }
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
    pub const fn as_millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }
    /// Converts an NTP-format 64-bit time (RFC 7011 dateTimeMicro/Nanoseconds:
    /// seconds since 1900 in the high word, binary fraction in the low word).
    pub fn from_ntp(v: u64) -> Self {
        const NTP_UNIX_OFFSET: i64 = 2_208_988_800;
        let secs = (v >> 32) as i64 - NTP_UNIX_OFFSET;
        let frac = v & 0xffff_ffff;
        let nanos = ((frac as u128 * 1_000_000_000) >> 32) as i64;
        Timestamp(secs * 1_000_000_000 + nanos)
    }
}

/// The wire format a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Protocol {
    Netflow1,
    Netflow5,
    Netflow7,
    Netflow9,
    Ipfix,
    Sflow5,
    /// Flow records posted as JSON (`POST /ingest`), not from the wire.
    Json,
}

impl Protocol {
    /// Stable lower-case name, as used in JSON output and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Netflow1 => "netflow1",
            Protocol::Netflow5 => "netflow5",
            Protocol::Netflow7 => "netflow7",
            Protocol::Netflow9 => "netflow9",
            Protocol::Ipfix => "ipfix",
            Protocol::Sflow5 => "sflow5",
            Protocol::Json => "json",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a record's sampling rate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum SamplingSource {
    /// The datagram or sample header (NetFlow v5 sampling interval, sFlow
    /// sample's sampling rate).
    Header,
    /// A field of the data record itself (e.g. IPFIX samplingInterval).
    Record,
    /// Options data the exporter sent earlier (sampler id → interval).
    Options,
    /// Set by the collector's configuration, not by the exporter.
    Config,
}

impl SamplingSource {
    pub fn name(self) -> &'static str {
        match self {
            SamplingSource::Header => "header",
            SamplingSource::Record => "record",
            SamplingSource::Options => "options",
            SamplingSource::Config => "config",
        }
    }
}

/// Flow direction relative to the observation point (IPFIX flowDirection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Direction {
    Ingress,
    Egress,
}

/// A 48-bit IEEE MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub fn to_u64(self) -> u64 {
        self.0.iter().fold(0u64, |a, &b| (a << 8) | b as u64)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A range of entries in one of the [`crate::Batch`] side tables (raw
/// fields, AS paths), so that records stay fixed-size and allocation-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// One flow, from any wire format.
///
/// Counters (`bytes`, `packets`, …) are **as exported**: not multiplied by the
/// sampling rate. Scaling is an explicit step ([`FlowRecord::scaled_bytes`]),
/// so the stored rate and the raw counts can both be kept.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    /// Wire format of the datagram.
    pub protocol: Protocol,
    /// When the collector received the datagram (a decode parameter).
    pub time_received: Timestamp,
    /// First packet of the flow, absolute UTC.
    pub time_start: Option<Timestamp>,
    /// Last packet of the flow, absolute UTC.
    pub time_end: Option<Timestamp>,
    /// Transport source of the datagram (the exporter as the collector sees it).
    pub exporter: SocketAddr,
    /// sFlow agent address from the datagram header.
    pub agent: Option<IpAddr>,
    /// NetFlow v9 source id, IPFIX observation domain id, sFlow sub-agent id,
    /// NetFlow v5 `engine_type << 8 | engine_id`.
    pub observation_domain: u32,
    /// Sequence number from the datagram header (v5/v7/v9/IPFIX) or the sFlow
    /// sample.
    pub sequence: Option<u32>,
    /// 1-in-N packet sampling rate; `None` when the exporter did not say.
    pub sampling_rate: Option<u32>,
    /// Where `sampling_rate` came from.
    pub sampling_source: Option<SamplingSource>,
    /// Sampler or selector id the record references (resolved through options data).
    pub sampler_id: Option<u64>,
    /// Input interface index (SNMP ifIndex).
    pub in_if: Option<u32>,
    /// Output interface index (SNMP ifIndex).
    pub out_if: Option<u32>,
    /// 4 or 6.
    pub ip_version: Option<u8>,
    pub src_addr: Option<IpAddr>,
    pub dst_addr: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    /// IP protocol number (6 TCP, 17 UDP, …).
    pub proto: Option<u8>,
    /// TCP flags, OR of all packets of the flow (16 bits in IPFIX).
    pub tcp_flags: Option<u16>,
    /// IP ToS / IPv6 traffic class byte (DSCP is the top 6 bits).
    pub tos: Option<u8>,
    /// IP TTL / hop limit (minimum seen where the exporter gives a range).
    pub ttl: Option<u8>,
    /// IPv6 flow label.
    pub flow_label: Option<u32>,
    /// Octets, as exported (IP-layer for NetFlow/IPFIX; frame length for sFlow).
    pub bytes: Option<u64>,
    /// Packets, as exported.
    pub packets: Option<u64>,
    /// Number of flows this record aggregates (NetFlow v9 FLOWS), usually absent.
    pub flows: Option<u64>,
    /// Reverse direction octets (RFC 5103 biflow, NSEL responder octets).
    pub reverse_bytes: Option<u64>,
    /// Reverse direction packets.
    pub reverse_packets: Option<u64>,
    pub src_as: Option<u32>,
    pub dst_as: Option<u32>,
    /// Source prefix length from the exporter's routing table.
    pub src_mask: Option<u8>,
    pub dst_mask: Option<u8>,
    /// IP next hop.
    pub next_hop: Option<IpAddr>,
    /// BGP next hop.
    pub bgp_next_hop: Option<IpAddr>,
    pub src_vlan: Option<u16>,
    pub dst_vlan: Option<u16>,
    pub src_mac: Option<MacAddr>,
    pub dst_mac: Option<MacAddr>,
    /// Top MPLS label (20-bit label value).
    pub mpls_label: Option<u32>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub direction: Option<Direction>,
    /// IPFIX forwardingStatus (status in the top 2 bits: 1 forwarded,
    /// 2 dropped, 3 consumed; reason code in the low 6).
    pub forwarding_status: Option<u8>,
    /// IPFIX flowEndReason (1 idle timeout, 2 active timeout, 3 end of flow,
    /// 4 forced end, 5 lack of resources).
    pub end_reason: Option<u8>,
    /// Post-NAT addresses and ports (NSEL / IPFIX postNAT*).
    pub nat_src_addr: Option<IpAddr>,
    pub nat_dst_addr: Option<IpAddr>,
    pub nat_src_port: Option<u16>,
    pub nat_dst_port: Option<u16>,
    /// sFlow extended gateway AS path (destination path), in `Batch::as_paths`.
    pub as_path: Span,
    /// Fields with no slot above, in `Batch::raw_fields`.
    pub raw: Span,
}

impl FlowRecord {
    /// An empty record: every optional field absent.
    pub fn new(protocol: Protocol, exporter: SocketAddr, time_received: Timestamp) -> Self {
        FlowRecord {
            protocol,
            time_received,
            time_start: None,
            time_end: None,
            exporter,
            agent: None,
            observation_domain: 0,
            sequence: None,
            sampling_rate: None,
            sampling_source: None,
            sampler_id: None,
            in_if: None,
            out_if: None,
            ip_version: None,
            src_addr: None,
            dst_addr: None,
            src_port: None,
            dst_port: None,
            proto: None,
            tcp_flags: None,
            tos: None,
            ttl: None,
            flow_label: None,
            bytes: None,
            packets: None,
            flows: None,
            reverse_bytes: None,
            reverse_packets: None,
            src_as: None,
            dst_as: None,
            src_mask: None,
            dst_mask: None,
            next_hop: None,
            bgp_next_hop: None,
            src_vlan: None,
            dst_vlan: None,
            src_mac: None,
            dst_mac: None,
            mpls_label: None,
            icmp_type: None,
            icmp_code: None,
            direction: None,
            forwarding_status: None,
            end_reason: None,
            nat_src_addr: None,
            nat_dst_addr: None,
            nat_src_port: None,
            nat_dst_port: None,
            as_path: Span::default(),
            raw: Span::default(),
        }
    }

    /// Effective 1-in-N rate: the exporter's, or 1 when none is known.
    /// ICMP type and code from the destination port (type × 256 + code),
    /// where NetFlow v1/v5/v7 always put them and many v9/IPFIX exporters
    /// do when the template has no ICMP element. Only for ICMP/ICMPv6
    /// records without type and code of their own; a port of 0 counts only
    /// when `zero_is_echo_reply` (the fixed formats, where it is type 0).
    pub fn icmp_from_port(&mut self, zero_is_echo_reply: bool) {
        if !matches!(self.proto, Some(1 | 58)) || self.icmp_type.is_some() {
            return;
        }
        if let Some(p) = self.dst_port.filter(|&p| p != 0 || zero_is_echo_reply) {
            self.icmp_type = Some((p >> 8) as u8);
            self.icmp_code = Some(p as u8);
        }
    }

    pub fn effective_sampling_rate(&self) -> u64 {
        self.sampling_rate.filter(|&r| r > 0).unwrap_or(1) as u64
    }

    /// Bytes scaled by the sampling rate (saturating).
    pub fn scaled_bytes(&self) -> Option<u64> {
        self.bytes.map(|b| b.saturating_mul(self.effective_sampling_rate()))
    }

    /// Packets scaled by the sampling rate (saturating).
    pub fn scaled_packets(&self) -> Option<u64> {
        self.packets.map(|p| p.saturating_mul(self.effective_sampling_rate()))
    }
}

/// A field kept as raw bytes because no slot of [`FlowRecord`] holds it:
/// enterprise-specific IEs (with their PEN) and IEs we do not interpret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawField {
    /// Private enterprise number; 0 for IANA IEs, 29305 for RFC 5103 reverse IEs.
    pub pen: u32,
    /// Information element id (without the enterprise bit).
    pub id: u16,
    /// Bytes in `Batch::raw_bytes`.
    pub data: Span,
}

/// sFlow generic interface counters (counter record 0:1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IfCounters {
    pub if_index: u32,
    pub if_type: u32,
    pub if_speed: u64,
    /// 0 unknown, 1 full duplex, 2 half duplex, 3 in, 4 out.
    pub if_direction: u32,
    /// bit 0 admin up, bit 1 oper up.
    pub if_status: u32,
    pub in_octets: u64,
    pub in_ucast_pkts: u32,
    pub in_multicast_pkts: u32,
    pub in_broadcast_pkts: u32,
    pub in_discards: u32,
    pub in_errors: u32,
    pub in_unknown_protos: u32,
    pub out_octets: u64,
    pub out_ucast_pkts: u32,
    pub out_multicast_pkts: u32,
    pub out_broadcast_pkts: u32,
    pub out_discards: u32,
    pub out_errors: u32,
    pub promiscuous_mode: u32,
}

/// sFlow Ethernet interface counters (counter record 0:2, dot3 MIB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EthernetCounters {
    pub alignment_errors: u32,
    pub fcs_errors: u32,
    pub single_collision_frames: u32,
    pub multiple_collision_frames: u32,
    pub sqe_test_errors: u32,
    pub deferred_transmissions: u32,
    pub late_collisions: u32,
    pub excessive_collisions: u32,
    pub internal_mac_transmit_errors: u32,
    pub carrier_sense_errors: u32,
    pub frame_too_longs: u32,
    pub internal_mac_receive_errors: u32,
    pub symbol_errors: u32,
}

/// One sFlow counter sample (plain or expanded).
#[derive(Debug, Clone, PartialEq)]
pub struct CounterRecord {
    pub time_received: Timestamp,
    pub exporter: SocketAddr,
    pub agent: Option<IpAddr>,
    pub sub_agent: u32,
    pub sequence: u32,
    /// sFlow data source type (0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry).
    pub source_type: u32,
    pub source_index: u32,
    pub interface: Option<IfCounters>,
    pub ethernet: Option<EthernetCounters>,
    /// Counter records of other formats, skipped by their length.
    pub skipped_records: u32,
}

/// An options data record (NetFlow v9 / IPFIX) reduced to what a collector
/// uses: sampler definitions, interface names, exporter facts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OptionsRecord {
    pub observation_domain: u32,
    pub template_id: u16,
    /// Interface the options apply to (v9 scope 2, IPFIX ingressInterface scope).
    pub if_index: Option<u32>,
    /// Sampler or selector id (v9 FLOW_SAMPLER_ID, IPFIX samplerId/selectorId).
    pub sampler_id: Option<u64>,
    /// Derived 1-in-N sampling rate, if the record defines one.
    pub sampling_rate: Option<u32>,
    pub sampler_name: Option<String>,
    pub if_name: Option<String>,
    pub if_description: Option<String>,
    /// IPFIX systemInitTimeMilliseconds (base of flowStart/EndSysUpTime).
    pub system_init: Option<Timestamp>,
}
