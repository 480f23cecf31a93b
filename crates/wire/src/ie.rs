//! Information elements: which IPFIX IE (and NetFlow v9 field type, which
//! share numbers 1–127 and the NSEL/NAT range) fills which
//! [`FlowRecord`](crate::FlowRecord) slot.
//!
//! The mapping is resolved once, when a template is compiled, into a [`Slot`];
//! decoding a record is then one `match` per field with no lookups;
//! storing the value is `crate::fill`.

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
    pub const INGRESS_PHYSICAL_INTERFACE: u16 = 252;
    pub const EGRESS_PHYSICAL_INTERFACE: u16 = 253;
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
    /// IE 252/253: used when the record has no IE 10/14.
    InPhysIf,
    OutPhysIf,
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
        INGRESS_PHYSICAL_INTERFACE if uint => InPhysIf,
        EGRESS_PHYSICAL_INTERFACE if uint => OutPhysIf,
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
