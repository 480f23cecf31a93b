//! Information elements: which IPFIX IE (and NetFlow v9 field type, which
//! share numbers 1–127 and the NSEL/NAT range) fills which [`FlowRecord`] slot.
//!
//! The mapping is resolved once, when a template is compiled, into a [`Slot`];
//! decoding a record is then one `match` per field with no lookups.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::cursor::be_uint;
use crate::record::{Direction, FlowRecord, MacAddr, Timestamp};

/// IANA private enterprise number of RFC 5103 reverse information elements.
pub const PEN_REVERSE: u32 = 29305;

/// IANA IE numbers used by name elsewhere in the crate.
pub mod id {
    pub const OCTET_DELTA_COUNT: u16 = 1;
    pub const PACKET_DELTA_COUNT: u16 = 2;
    pub const DELTA_FLOW_COUNT: u16 = 3;
    pub const PROTOCOL_IDENTIFIER: u16 = 4;
    pub const IP_CLASS_OF_SERVICE: u16 = 5;
    pub const TCP_CONTROL_BITS: u16 = 6;
    pub const SOURCE_TRANSPORT_PORT: u16 = 7;
    pub const SOURCE_IPV4_ADDRESS: u16 = 8;
    pub const SOURCE_IPV4_PREFIX_LENGTH: u16 = 9;
    pub const INGRESS_INTERFACE: u16 = 10;
    pub const DESTINATION_TRANSPORT_PORT: u16 = 11;
    pub const DESTINATION_IPV4_ADDRESS: u16 = 12;
    pub const DESTINATION_IPV4_PREFIX_LENGTH: u16 = 13;
    pub const EGRESS_INTERFACE: u16 = 14;
    pub const IP_NEXT_HOP_IPV4_ADDRESS: u16 = 15;
    pub const BGP_SOURCE_AS_NUMBER: u16 = 16;
    pub const BGP_DESTINATION_AS_NUMBER: u16 = 17;
    pub const BGP_NEXT_HOP_IPV4_ADDRESS: u16 = 18;
    pub const FLOW_END_SYS_UP_TIME: u16 = 21;
    pub const FLOW_START_SYS_UP_TIME: u16 = 22;
    pub const POST_OCTET_DELTA_COUNT: u16 = 23;
    pub const POST_PACKET_DELTA_COUNT: u16 = 24;
    pub const SOURCE_IPV6_ADDRESS: u16 = 27;
    pub const DESTINATION_IPV6_ADDRESS: u16 = 28;
    pub const SOURCE_IPV6_PREFIX_LENGTH: u16 = 29;
    pub const DESTINATION_IPV6_PREFIX_LENGTH: u16 = 30;
    pub const FLOW_LABEL_IPV6: u16 = 31;
    pub const ICMP_TYPE_CODE_IPV4: u16 = 32;
    pub const SAMPLING_INTERVAL: u16 = 34;
    pub const SAMPLING_ALGORITHM: u16 = 35;
    pub const SAMPLER_ID: u16 = 48;
    pub const SAMPLER_MODE: u16 = 49;
    pub const SAMPLER_RANDOM_INTERVAL: u16 = 50;
    pub const MINIMUM_TTL: u16 = 52;
    pub const SOURCE_MAC_ADDRESS: u16 = 56;
    pub const POST_DESTINATION_MAC_ADDRESS: u16 = 57;
    pub const VLAN_ID: u16 = 58;
    pub const POST_VLAN_ID: u16 = 59;
    pub const IP_VERSION: u16 = 60;
    pub const FLOW_DIRECTION: u16 = 61;
    pub const IP_NEXT_HOP_IPV6_ADDRESS: u16 = 62;
    pub const BGP_NEXT_HOP_IPV6_ADDRESS: u16 = 63;
    pub const MPLS_TOP_LABEL_STACK_SECTION: u16 = 70;
    pub const DESTINATION_MAC_ADDRESS: u16 = 80;
    pub const POST_SOURCE_MAC_ADDRESS: u16 = 81;
    pub const INTERFACE_NAME: u16 = 82;
    pub const INTERFACE_DESCRIPTION: u16 = 83;
    pub const SAMPLER_NAME: u16 = 84;
    pub const OCTET_TOTAL_COUNT: u16 = 85;
    pub const PACKET_TOTAL_COUNT: u16 = 86;
    pub const FORWARDING_STATUS: u16 = 89;
    pub const FLOW_END_REASON: u16 = 136;
    pub const ICMP_TYPE_CODE_IPV6: u16 = 139;
    pub const FLOW_START_SECONDS: u16 = 150;
    pub const FLOW_END_SECONDS: u16 = 151;
    pub const FLOW_START_MILLISECONDS: u16 = 152;
    pub const FLOW_END_MILLISECONDS: u16 = 153;
    pub const FLOW_START_MICROSECONDS: u16 = 154;
    pub const FLOW_END_MICROSECONDS: u16 = 155;
    pub const FLOW_START_NANOSECONDS: u16 = 156;
    pub const FLOW_END_NANOSECONDS: u16 = 157;
    pub const FLOW_START_DELTA_MICROSECONDS: u16 = 158;
    pub const FLOW_END_DELTA_MICROSECONDS: u16 = 159;
    pub const SYSTEM_INIT_TIME_MILLISECONDS: u16 = 160;
    pub const ICMP_TYPE_IPV4: u16 = 176;
    pub const ICMP_CODE_IPV4: u16 = 177;
    pub const ICMP_TYPE_IPV6: u16 = 178;
    pub const ICMP_CODE_IPV6: u16 = 179;
    pub const IP_TTL: u16 = 192;
    pub const PADDING_OCTETS: u16 = 210;
    pub const POST_NAT_SOURCE_IPV4_ADDRESS: u16 = 225;
    pub const POST_NAT_DESTINATION_IPV4_ADDRESS: u16 = 226;
    pub const POST_NAPT_SOURCE_TRANSPORT_PORT: u16 = 227;
    pub const POST_NAPT_DESTINATION_TRANSPORT_PORT: u16 = 228;
    pub const INITIATOR_OCTETS: u16 = 231;
    pub const RESPONDER_OCTETS: u16 = 232;
    pub const DOT1Q_VLAN_ID: u16 = 243;
    pub const DOT1Q_CUSTOMER_VLAN_ID: u16 = 245;
    pub const POST_NAT_SOURCE_IPV6_ADDRESS: u16 = 281;
    pub const POST_NAT_DESTINATION_IPV6_ADDRESS: u16 = 282;
    pub const INITIATOR_PACKETS: u16 = 298;
    pub const RESPONDER_PACKETS: u16 = 299;
    pub const SELECTOR_ID: u16 = 302;
    pub const SAMPLING_PACKET_INTERVAL: u16 = 305;
    pub const SAMPLING_PACKET_SPACE: u16 = 306;
    pub const SAMPLING_SIZE: u16 = 309;
    pub const SAMPLING_POPULATION: u16 = 310;
    pub const SELECTOR_ID_TOTAL_PKTS_OBSERVED: u16 = 318;
    pub const SELECTOR_ID_TOTAL_PKTS_SELECTED: u16 = 319;
    pub const IP_HEADER_PACKET_SECTION: u16 = 313;
    pub const DATA_LINK_FRAME_SECTION: u16 = 315;
    pub const OBSERVATION_TIME_MILLISECONDS: u16 = 323;
    pub const OBSERVATION_TIME_MICROSECONDS: u16 = 324;
    pub const OBSERVATION_TIME_NANOSECONDS: u16 = 325;
    pub const SELECTOR_NAME: u16 = 335;
    pub const UDP_SOURCE_PORT: u16 = 180;
    pub const UDP_DESTINATION_PORT: u16 = 181;
    pub const TCP_SOURCE_PORT: u16 = 182;
    pub const TCP_DESTINATION_PORT: u16 = 183;
    /// Cisco NSEL (ASA) NetFlow v9 field types for translated addresses and
    /// ports, which predate the IPFIX postNAT* elements.
    pub const NSEL_XLATE_SRC_ADDR_IPV4: u16 = 40001;
    pub const NSEL_XLATE_DST_ADDR_IPV4: u16 = 40002;
    pub const NSEL_XLATE_SRC_PORT: u16 = 40003;
    pub const NSEL_XLATE_DST_PORT: u16 = 40004;
    pub const NSEL_XLATE_SRC_ADDR_IPV6: u16 = 40057;
    pub const NSEL_XLATE_DST_ADDR_IPV6: u16 = 40058;
}

/// Where one template field goes. Chosen at template compile time from the
/// (enterprise, id, length) triple; a length that does not fit the slot's type
/// makes the field `Raw` instead of being misread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Bytes,
    Packets,
    Flows,
    PostBytes,
    PostPackets,
    TotalBytes,
    TotalPackets,
    InitiatorBytes,
    ResponderBytes,
    InitiatorPackets,
    ResponderPackets,
    RevBytes,
    RevPackets,
    Proto,
    Tos,
    TcpFlags,
    SrcPort,
    DstPort,
    /// udp/tcpSource/DestinationPort (IE 180–183): used when the record has
    /// no generic port and the protocol matches.
    UdpSrcPort,
    UdpDstPort,
    TcpSrcPort,
    TcpDstPort,
    SrcAddr4,
    DstAddr4,
    SrcAddr6,
    DstAddr6,
    SrcMask,
    DstMask,
    InIf,
    OutIf,
    NextHop4,
    NextHop6,
    BgpNextHop4,
    BgpNextHop6,
    SrcAs,
    DstAs,
    StartUptime,
    EndUptime,
    StartSecs,
    EndSecs,
    StartMillis,
    EndMillis,
    StartNtp,
    EndNtp,
    StartDeltaMicros,
    EndDeltaMicros,
    SysInitMillis,
    ObservationMillis,
    ObservationNtp,
    FlowLabel,
    IcmpTypeCode,
    IcmpType,
    IcmpCode,
    SamplingInterval,
    SamplerId,
    SamplerRandomInterval,
    SamplingPacketInterval,
    SamplingPacketSpace,
    SamplingSize,
    SamplingPopulation,
    Ttl,
    SrcMac,
    DstMac,
    PostSrcMac,
    PostDstMac,
    SrcVlan,
    DstVlan,
    IpVersion,
    Direction,
    MplsTop,
    ForwardingStatus,
    EndReason,
    NatSrc4,
    NatDst4,
    NatSrc6,
    NatDst6,
    NatSrcPort,
    NatDstPort,
    /// IE 315: the start of the observed frame (Ethernet); parsed for the
    /// fields the record does not carry itself (Juniper, Cisco exporters).
    DataLinkSection,
    /// IE 313: the start of the IP packet; likewise.
    IpHeaderSection,
    /// Known and deliberately ignored (padding).
    Skip,
    /// Kept as raw bytes with its (PEN, id).
    Raw,
}

/// Maps a template field to its slot. `len` is the template's field length
/// (65535 for variable length, which only `Raw` and `Skip` accept).
pub(crate) fn slot_for(pen: u32, ie: u16, len: u16) -> Slot {
    use id::*;
    use Slot::*;
    let uint = (1..=8).contains(&len);
    let v4 = len == 4;
    let v6 = len == 16;
    let mac = len == 6;
    if pen == PEN_REVERSE {
        return match ie {
            OCTET_DELTA_COUNT | OCTET_TOTAL_COUNT if uint => RevBytes,
            PACKET_DELTA_COUNT | PACKET_TOTAL_COUNT if uint => RevPackets,
            _ => Raw,
        };
    }
    if pen != 0 {
        return Raw;
    }
    match ie {
        OCTET_DELTA_COUNT if uint => Bytes,
        PACKET_DELTA_COUNT if uint => Packets,
        DELTA_FLOW_COUNT if uint => Flows,
        POST_OCTET_DELTA_COUNT if uint => PostBytes,
        POST_PACKET_DELTA_COUNT if uint => PostPackets,
        OCTET_TOTAL_COUNT if uint => TotalBytes,
        PACKET_TOTAL_COUNT if uint => TotalPackets,
        INITIATOR_OCTETS if uint => InitiatorBytes,
        RESPONDER_OCTETS if uint => ResponderBytes,
        INITIATOR_PACKETS if uint => InitiatorPackets,
        RESPONDER_PACKETS if uint => ResponderPackets,
        PROTOCOL_IDENTIFIER if uint => Proto,
        IP_CLASS_OF_SERVICE if uint => Tos,
        TCP_CONTROL_BITS if uint => TcpFlags,
        SOURCE_TRANSPORT_PORT if uint => SrcPort,
        DESTINATION_TRANSPORT_PORT if uint => DstPort,
        UDP_SOURCE_PORT if uint => UdpSrcPort,
        UDP_DESTINATION_PORT if uint => UdpDstPort,
        TCP_SOURCE_PORT if uint => TcpSrcPort,
        TCP_DESTINATION_PORT if uint => TcpDstPort,
        SOURCE_IPV4_ADDRESS if v4 => SrcAddr4,
        DESTINATION_IPV4_ADDRESS if v4 => DstAddr4,
        SOURCE_IPV6_ADDRESS if v6 => SrcAddr6,
        DESTINATION_IPV6_ADDRESS if v6 => DstAddr6,
        SOURCE_IPV4_PREFIX_LENGTH | SOURCE_IPV6_PREFIX_LENGTH if uint => SrcMask,
        DESTINATION_IPV4_PREFIX_LENGTH | DESTINATION_IPV6_PREFIX_LENGTH if uint => DstMask,
        INGRESS_INTERFACE if uint => InIf,
        EGRESS_INTERFACE if uint => OutIf,
        IP_NEXT_HOP_IPV4_ADDRESS if v4 => NextHop4,
        IP_NEXT_HOP_IPV6_ADDRESS if v6 => NextHop6,
        BGP_NEXT_HOP_IPV4_ADDRESS if v4 => BgpNextHop4,
        BGP_NEXT_HOP_IPV6_ADDRESS if v6 => BgpNextHop6,
        BGP_SOURCE_AS_NUMBER if uint => SrcAs,
        BGP_DESTINATION_AS_NUMBER if uint => DstAs,
        FLOW_START_SYS_UP_TIME if uint => StartUptime,
        FLOW_END_SYS_UP_TIME if uint => EndUptime,
        FLOW_START_SECONDS if uint => StartSecs,
        FLOW_END_SECONDS if uint => EndSecs,
        FLOW_START_MILLISECONDS if uint => StartMillis,
        FLOW_END_MILLISECONDS if uint => EndMillis,
        FLOW_START_MICROSECONDS | FLOW_START_NANOSECONDS if len == 8 => StartNtp,
        FLOW_END_MICROSECONDS | FLOW_END_NANOSECONDS if len == 8 => EndNtp,
        FLOW_START_DELTA_MICROSECONDS if uint => StartDeltaMicros,
        FLOW_END_DELTA_MICROSECONDS if uint => EndDeltaMicros,
        SYSTEM_INIT_TIME_MILLISECONDS if uint => SysInitMillis,
        OBSERVATION_TIME_MILLISECONDS if uint => ObservationMillis,
        OBSERVATION_TIME_MICROSECONDS | OBSERVATION_TIME_NANOSECONDS if len == 8 => ObservationNtp,
        FLOW_LABEL_IPV6 if uint => FlowLabel,
        ICMP_TYPE_CODE_IPV4 | ICMP_TYPE_CODE_IPV6 if uint => IcmpTypeCode,
        ICMP_TYPE_IPV4 | ICMP_TYPE_IPV6 if uint => IcmpType,
        ICMP_CODE_IPV4 | ICMP_CODE_IPV6 if uint => IcmpCode,
        SAMPLING_INTERVAL if uint => SamplingInterval,
        SAMPLER_ID | SELECTOR_ID if uint => SamplerId,
        SAMPLER_RANDOM_INTERVAL if uint => SamplerRandomInterval,
        SAMPLING_PACKET_INTERVAL if uint => SamplingPacketInterval,
        SAMPLING_PACKET_SPACE if uint => SamplingPacketSpace,
        SAMPLING_SIZE if uint => SamplingSize,
        SAMPLING_POPULATION if uint => SamplingPopulation,
        MINIMUM_TTL | IP_TTL if uint => Ttl,
        SOURCE_MAC_ADDRESS if mac => SrcMac,
        DESTINATION_MAC_ADDRESS if mac => DstMac,
        POST_SOURCE_MAC_ADDRESS if mac => PostSrcMac,
        POST_DESTINATION_MAC_ADDRESS if mac => PostDstMac,
        VLAN_ID | DOT1Q_VLAN_ID if uint => SrcVlan,
        POST_VLAN_ID if uint => DstVlan,
        IP_VERSION if uint => IpVersion,
        FLOW_DIRECTION if uint => Direction,
        MPLS_TOP_LABEL_STACK_SECTION if len == 3 || len == 4 => MplsTop,
        FORWARDING_STATUS if uint => ForwardingStatus,
        FLOW_END_REASON if uint => EndReason,
        POST_NAT_SOURCE_IPV4_ADDRESS | NSEL_XLATE_SRC_ADDR_IPV4 if v4 => NatSrc4,
        POST_NAT_DESTINATION_IPV4_ADDRESS | NSEL_XLATE_DST_ADDR_IPV4 if v4 => NatDst4,
        POST_NAT_SOURCE_IPV6_ADDRESS | NSEL_XLATE_SRC_ADDR_IPV6 if v6 => NatSrc6,
        POST_NAT_DESTINATION_IPV6_ADDRESS | NSEL_XLATE_DST_ADDR_IPV6 if v6 => NatDst6,
        POST_NAPT_SOURCE_TRANSPORT_PORT | NSEL_XLATE_SRC_PORT if uint => NatSrcPort,
        POST_NAPT_DESTINATION_TRANSPORT_PORT | NSEL_XLATE_DST_PORT if uint => NatDstPort,
        DATA_LINK_FRAME_SECTION => DataLinkSection,
        IP_HEADER_PACKET_SECTION => IpHeaderSection,
        PADDING_OCTETS => Skip,
        _ => Raw,
    }
}

/// Values of a record that need the whole record (or exporter state) before
/// they mean anything: times relative to uptime or export time, sampling
/// parameters, counters with fallbacks. Filled while walking the fields and
/// resolved by [`Scratch::finish`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Scratch {
    pub start_uptime: Option<u32>,
    pub end_uptime: Option<u32>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub start_delta_us: Option<u64>,
    pub end_delta_us: Option<u64>,
    pub sys_init: Option<Timestamp>,
    pub observation: Option<Timestamp>,
    pub sampling_interval: Option<u64>,
    pub random_interval: Option<u64>,
    pub packet_interval: Option<u64>,
    pub packet_space: Option<u64>,
    pub sampling_size: Option<u64>,
    pub sampling_population: Option<u64>,
    pub post_bytes: Option<u64>,
    pub post_packets: Option<u64>,
    pub total_bytes: Option<u64>,
    pub total_packets: Option<u64>,
    pub initiator_bytes: Option<u64>,
    pub initiator_packets: Option<u64>,
    pub post_src_mac: Option<MacAddr>,
    pub post_dst_mac: Option<MacAddr>,
    /// Resolution of `start`/`end` (0 s, 1 ms, 2 NTP): a record carrying
    /// the same instant at several resolutions keeps the finest.
    pub start_rank: u8,
    pub end_rank: u8,
    /// (UDP, TCP) protocol-specific ports, IE 180–183.
    pub udp_ports: (Option<u16>, Option<u16>),
    pub tcp_ports: (Option<u16>, Option<u16>),
}

impl Scratch {
    /// Clears what a record assigns conditionally (time resolution ranks);
    /// all other slots are overwritten by every record of a template.
    #[inline]
    pub fn reset_record(&mut self) {
        self.start = None;
        self.end = None;
        self.start_rank = 0;
        self.end_rank = 0;
    }

    #[inline]
    fn set_start(&mut self, t: Timestamp, rank: u8) {
        if self.start.is_none() || rank >= self.start_rank {
            self.start = Some(t);
            self.start_rank = rank;
        }
    }
    #[inline]
    fn set_end(&mut self, t: Timestamp, rank: u8) {
        if self.end.is_none() || rank >= self.end_rank {
            self.end = Some(t);
            self.end_rank = rank;
        }
    }
}

#[inline]
fn addr4(v: &[u8]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))
}

#[inline]
fn addr6(v: &[u8]) -> IpAddr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&v[..16]);
    IpAddr::V6(Ipv6Addr::from(a))
}

#[inline]
fn mac(v: &[u8]) -> MacAddr {
    let mut a = [0u8; 6];
    a.copy_from_slice(&v[..6]);
    MacAddr(a)
}

#[inline]
fn sat_u32(v: u64) -> u32 {
    v.min(u32::MAX as u64) as u32
}

#[inline]
fn sat_u16(v: u64) -> u16 {
    v.min(u16::MAX as u64) as u16
}

#[inline]
fn sat_u8(v: u64) -> u8 {
    v.min(u8::MAX as u64) as u8
}

/// Stores an address. A field repeated in a template (outer and inner header
/// of a tunnel) is read last-wins, as nfacctd does; but an unspecified address
/// (0.0.0.0, ::) never replaces a specified one, since templates with both
/// IPv4 and IPv6 fields zero the family a record does not use.
#[inline(always)]
fn set_addr(slot: &mut Option<IpAddr>, raw: &[u8], a: impl FnOnce(&[u8]) -> IpAddr) {
    // Test the wire bytes for zero rather than the built address: cheaper,
    // and the common case (a specified address) then stores unconditionally.
    if raw.iter().any(|&b| b != 0) || slot.is_none_or(|old| old.is_unspecified()) {
        *slot = Some(a(raw));
    }
}

/// Fills the fields a record lacks from a sampled frame or IP header (IE 315
/// or 313). Fields the record carries itself always win, whichever order
/// they come in: this runs fill-if-absent, and the typed IEs overwrite.
#[cold]
fn fill_from_packet(p: &crate::packet::PacketInfo, r: &mut FlowRecord) {
    fn fill<T: Copy>(slot: &mut Option<T>, v: Option<T>) {
        if slot.is_none() {
            *slot = v;
        }
    }
    fill(&mut r.src_mac, p.src_mac);
    fill(&mut r.dst_mac, p.dst_mac);
    fill(&mut r.src_vlan, p.vlan);
    fill(&mut r.mpls_label, p.mpls_label);
    fill(&mut r.ip_version, p.ip_version);
    fill(&mut r.src_addr, p.src_addr);
    fill(&mut r.dst_addr, p.dst_addr);
    fill(&mut r.proto, p.proto);
    fill(&mut r.tos, p.tos);
    fill(&mut r.ttl, p.ttl);
    if p.ip_version == Some(6) {
        fill(&mut r.flow_label, p.flow_label);
    }
    fill(&mut r.src_port, p.src_port);
    fill(&mut r.dst_port, p.dst_port);
    fill(&mut r.tcp_flags, p.tcp_flags);
    fill(&mut r.icmp_type, p.icmp_type);
    fill(&mut r.icmp_code, p.icmp_code);
    // One sampled packet: its IP length and a count of one, unless the
    // record has counters of its own.
    fill(&mut r.bytes, p.ip_len.map(u64::from));
    if p.ip_len.is_some() {
        fill(&mut r.packets, Some(1));
    }
}

/// Stores one field value. `v` has the length the slot was compiled for.
#[inline(always)]
pub(crate) fn apply(slot: Slot, v: &[u8], r: &mut FlowRecord, s: &mut Scratch) {
    use Slot::*;
    match slot {
        Bytes => r.bytes = Some(be_uint(v)),
        Packets => r.packets = Some(be_uint(v)),
        Flows => r.flows = Some(be_uint(v)),
        PostBytes => s.post_bytes = Some(be_uint(v)),
        PostPackets => s.post_packets = Some(be_uint(v)),
        TotalBytes => s.total_bytes = Some(be_uint(v)),
        TotalPackets => s.total_packets = Some(be_uint(v)),
        InitiatorBytes => s.initiator_bytes = Some(be_uint(v)),
        InitiatorPackets => s.initiator_packets = Some(be_uint(v)),
        ResponderBytes | RevBytes => r.reverse_bytes = Some(be_uint(v)),
        ResponderPackets | RevPackets => r.reverse_packets = Some(be_uint(v)),
        Proto => r.proto = Some(sat_u8(be_uint(v))),
        Tos => r.tos = Some(sat_u8(be_uint(v))),
        TcpFlags => r.tcp_flags = Some(sat_u16(be_uint(v))),
        SrcPort => r.src_port = Some(sat_u16(be_uint(v))),
        DstPort => r.dst_port = Some(sat_u16(be_uint(v))),
        UdpSrcPort => s.udp_ports.0 = Some(sat_u16(be_uint(v))),
        UdpDstPort => s.udp_ports.1 = Some(sat_u16(be_uint(v))),
        TcpSrcPort => s.tcp_ports.0 = Some(sat_u16(be_uint(v))),
        TcpDstPort => s.tcp_ports.1 = Some(sat_u16(be_uint(v))),
        SrcAddr4 => set_addr(&mut r.src_addr, v, addr4),
        DstAddr4 => set_addr(&mut r.dst_addr, v, addr4),
        SrcAddr6 => set_addr(&mut r.src_addr, v, addr6),
        DstAddr6 => set_addr(&mut r.dst_addr, v, addr6),
        SrcMask => r.src_mask = Some(sat_u8(be_uint(v))),
        DstMask => r.dst_mask = Some(sat_u8(be_uint(v))),
        InIf => r.in_if = Some(sat_u32(be_uint(v))),
        OutIf => r.out_if = Some(sat_u32(be_uint(v))),
        NextHop4 => set_addr(&mut r.next_hop, v, addr4),
        NextHop6 => set_addr(&mut r.next_hop, v, addr6),
        BgpNextHop4 => set_addr(&mut r.bgp_next_hop, v, addr4),
        BgpNextHop6 => set_addr(&mut r.bgp_next_hop, v, addr6),
        SrcAs => r.src_as = Some(sat_u32(be_uint(v))),
        DstAs => r.dst_as = Some(sat_u32(be_uint(v))),
        StartUptime => s.start_uptime = Some(sat_u32(be_uint(v))),
        EndUptime => s.end_uptime = Some(sat_u32(be_uint(v))),
        StartSecs => s.set_start(Timestamp::from_secs(be_uint(v) as i64), 0),
        EndSecs => s.set_end(Timestamp::from_secs(be_uint(v) as i64), 0),
        StartMillis => s.set_start(Timestamp::from_millis(be_uint(v) as i64), 1),
        EndMillis => s.set_end(Timestamp::from_millis(be_uint(v) as i64), 1),
        StartNtp => s.set_start(Timestamp::from_ntp(be_uint(v)), 2),
        EndNtp => s.set_end(Timestamp::from_ntp(be_uint(v)), 2),
        StartDeltaMicros => s.start_delta_us = Some(be_uint(v)),
        EndDeltaMicros => s.end_delta_us = Some(be_uint(v)),
        SysInitMillis => s.sys_init = Some(Timestamp::from_millis(be_uint(v) as i64)),
        ObservationMillis => s.observation = Some(Timestamp::from_millis(be_uint(v) as i64)),
        ObservationNtp => s.observation = Some(Timestamp::from_ntp(be_uint(v))),
        FlowLabel => r.flow_label = Some(sat_u32(be_uint(v)) & 0xf_ffff),
        IcmpTypeCode => {
            let tc = be_uint(v);
            r.icmp_type = Some((tc >> 8) as u8);
            r.icmp_code = Some(tc as u8);
        }
        IcmpType => r.icmp_type = Some(sat_u8(be_uint(v))),
        IcmpCode => r.icmp_code = Some(sat_u8(be_uint(v))),
        SamplingInterval => s.sampling_interval = Some(be_uint(v)),
        SamplerId => r.sampler_id = Some(be_uint(v)),
        SamplerRandomInterval => s.random_interval = Some(be_uint(v)),
        SamplingPacketInterval => s.packet_interval = Some(be_uint(v)),
        SamplingPacketSpace => s.packet_space = Some(be_uint(v)),
        SamplingSize => s.sampling_size = Some(be_uint(v)),
        SamplingPopulation => s.sampling_population = Some(be_uint(v)),
        Ttl => r.ttl = Some(sat_u8(be_uint(v))),
        SrcMac => r.src_mac = Some(mac(v)),
        DstMac => r.dst_mac = Some(mac(v)),
        PostSrcMac => s.post_src_mac = Some(mac(v)),
        PostDstMac => s.post_dst_mac = Some(mac(v)),
        SrcVlan => r.src_vlan = Some(sat_u16(be_uint(v)) & 0x0fff),
        DstVlan => r.dst_vlan = Some(sat_u16(be_uint(v)) & 0x0fff),
        IpVersion => r.ip_version = Some(sat_u8(be_uint(v))),
        Direction => {
            r.direction = match be_uint(v) {
                0 => Some(crate::record::Direction::Ingress),
                1 => Some(crate::record::Direction::Egress),
                _ => None,
            }
        }
        MplsTop => r.mpls_label = Some((be_uint(&v[..3]) >> 4) as u32),
        ForwardingStatus => {
            // RFC 7270 reduced-size forms put the status byte first.
            r.forwarding_status = Some(v[0]);
        }
        EndReason => r.end_reason = Some(sat_u8(be_uint(v))),
        NatSrc4 => r.nat_src_addr = Some(addr4(v)),
        NatDst4 => r.nat_dst_addr = Some(addr4(v)),
        NatSrc6 => r.nat_src_addr = Some(addr6(v)),
        NatDst6 => r.nat_dst_addr = Some(addr6(v)),
        NatSrcPort => r.nat_src_port = Some(sat_u16(be_uint(v))),
        NatDstPort => r.nat_dst_port = Some(sat_u16(be_uint(v))),
        DataLinkSection => fill_from_packet(&crate::packet::parse_ethernet(v), r),
        IpHeaderSection => fill_from_packet(&crate::packet::parse_ip(v), r),
        Skip | Raw => {}
    }
}

/// What the datagram header and exporter state contribute to resolving a
/// record's times and sampling.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordContext {
    /// Export time from the message header.
    pub export_time: Timestamp,
    /// NetFlow v9 header sysUptime (ms) — uptime fields are relative to it.
    pub sys_uptime_ms: Option<u32>,
    /// IPFIX systemInitTimeMilliseconds learnt from options data.
    pub sys_init: Option<Timestamp>,
    /// Exporter-wide sampling rate learnt from options data without a sampler id.
    pub default_rate: Option<u32>,
}

impl Scratch {
    /// Resolves times, fallback counters and the record-level sampling rate.
    /// `sampler_rate` looks a sampler id up in the exporter's options state.
    #[inline]
    pub fn finish(&self, r: &mut FlowRecord, ctx: &RecordContext, sampler_rate: impl Fn(u64) -> Option<u32>) {
        use crate::record::SamplingSource;
        // Times: absolute forms win; then deltas from export time; then
        // uptime-relative forms.
        let uptime = |ms: u32| -> Option<Timestamp> {
            if let Some(up) = ctx.sys_uptime_ms {
                Some(crate::netflow::legacy::uptime_to_time(ctx.export_time, up, ms))
            } else {
                let init = self.sys_init.or(ctx.sys_init)?;
                Some(Timestamp(init.0 + ms as i64 * 1_000_000))
            }
        };
        let delta = |us: u64| Timestamp(ctx.export_time.0 - (us.min(i64::MAX as u64 / 1000) as i64) * 1000);
        r.time_start = self
            .start
            .or_else(|| self.start_delta_us.map(delta))
            .or_else(|| self.start_uptime.and_then(uptime))
            .or(self.observation);
        r.time_end = self
            .end
            .or_else(|| self.end_delta_us.map(delta))
            .or_else(|| self.end_uptime.and_then(uptime))
            .or(self.observation);

        let (sp, dp) = match r.proto {
            Some(6) => self.tcp_ports,
            Some(17) => self.udp_ports,
            _ => (None, None),
        };
        if r.src_port.is_none() {
            r.src_port = sp;
        }
        if r.dst_port.is_none() {
            r.dst_port = dp;
        }
        if r.ip_version.is_none() {
            r.ip_version = r.src_addr.or(r.dst_addr).map(|a| if a.is_ipv4() { 4 } else { 6 });
        }

        // Counters: prefer the delta counts; NSEL and some firewalls only send
        // initiator/responder or total counts, v9 egress-only exporters send
        // OUT_BYTES/OUT_PKTS.
        if r.bytes.is_none() {
            r.bytes = self.initiator_bytes.or(self.post_bytes).or(self.total_bytes);
        }
        if r.packets.is_none() {
            r.packets = self.initiator_packets.or(self.post_packets).or(self.total_packets);
        }
        if r.src_mac.is_none() {
            r.src_mac = self.post_src_mac;
        }
        if r.dst_mac.is_none() {
            r.dst_mac = self.post_dst_mac;
        }
        if r.direction == Some(Direction::Egress) {
            // Egress records commonly carry only the post-* MACs.
            if self.post_src_mac.is_some() {
                r.src_mac = self.post_src_mac;
            }
            if self.post_dst_mac.is_some() {
                r.dst_mac = self.post_dst_mac;
            }
        }

        // Sampling: a rate in the record itself, then the sampler it names,
        // then the exporter-wide rate from options.
        if let Some(rate) = self.record_rate() {
            r.sampling_rate = Some(rate);
            r.sampling_source = Some(SamplingSource::Record);
        } else if let Some(rate) = r.sampler_id.and_then(&sampler_rate) {
            r.sampling_rate = Some(rate);
            r.sampling_source = Some(SamplingSource::Options);
        } else if let Some(rate) = ctx.default_rate {
            r.sampling_rate = Some(rate);
            r.sampling_source = Some(SamplingSource::Options);
        }
    }

    /// A 1-in-N rate from sampling fields in the record itself (or in an
    /// options record), following RFC 7012/7014 semantics.
    pub fn record_rate(&self) -> Option<u32> {
        let rate = if let Some(i) = self.sampling_interval.filter(|&i| i > 0) {
            Some(i)
        } else if let Some(i) = self.random_interval.filter(|&i| i > 0) {
            Some(i)
        } else if let (Some(i), Some(sp)) = (self.packet_interval, self.packet_space) {
            // Select `i` packets, then skip `sp`: one in (i+sp)/i.
            (i > 0).then(|| (i + sp) / i)
        } else if let (Some(size), Some(pop)) = (self.sampling_size, self.sampling_population) {
            (size > 0).then(|| pop / size)
        } else {
            None
        };
        rate.filter(|&r| r > 0).map(sat_u32)
    }
}
