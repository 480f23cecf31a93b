//! Writing information elements from a [`FlowRecord`]: the inverse of
//! [`crate::ie::slot_for`] + `apply`, for the elements the encoders use.

use std::net::IpAddr;

use crate::ie::id;
use crate::record::{Direction, FlowRecord, Timestamp};
use crate::template::FieldSpec;

/// Time references an encoder needs to express absolute times.
#[derive(Debug, Clone, Copy)]
pub struct TimeBase {
    pub export_time: Timestamp,
    /// NetFlow v9 header sysUptime (ms).
    pub sys_uptime_ms: u32,
}

fn f(id: u16, len: u16) -> FieldSpec {
    FieldSpec { pen: 0, id, len }
}

/// A typical 23-field router template (addresses, interfaces, counters,
/// times, ports, flags, AS, masks, direction, VLAN, ICMP, status). NetFlow
/// v9 gets uptime-relative times, IPFIX absolute milliseconds.
pub fn standard_template(ipv6: bool, v9: bool) -> Vec<FieldSpec> {
    let (src, dst, nh, alen, smask, dmask) = if ipv6 {
        (
            id::SOURCE_IPV6_ADDRESS,
            id::DESTINATION_IPV6_ADDRESS,
            id::IP_NEXT_HOP_IPV6_ADDRESS,
            16,
            id::SOURCE_IPV6_PREFIX_LENGTH,
            id::DESTINATION_IPV6_PREFIX_LENGTH,
        )
    } else {
        (
            id::SOURCE_IPV4_ADDRESS,
            id::DESTINATION_IPV4_ADDRESS,
            id::IP_NEXT_HOP_IPV4_ADDRESS,
            4,
            id::SOURCE_IPV4_PREFIX_LENGTH,
            id::DESTINATION_IPV4_PREFIX_LENGTH,
        )
    };
    let (start, end, tlen) = if v9 {
        (id::FLOW_START_SYS_UP_TIME, id::FLOW_END_SYS_UP_TIME, 4)
    } else {
        (id::FLOW_START_MILLISECONDS, id::FLOW_END_MILLISECONDS, 8)
    };
    vec![
        f(src, alen),
        f(dst, alen),
        f(nh, alen),
        f(id::INGRESS_INTERFACE, 4),
        f(id::EGRESS_INTERFACE, 4),
        f(id::PACKET_DELTA_COUNT, 8),
        f(id::OCTET_DELTA_COUNT, 8),
        f(start, tlen),
        f(end, tlen),
        f(id::SOURCE_TRANSPORT_PORT, 2),
        f(id::DESTINATION_TRANSPORT_PORT, 2),
        f(id::TCP_CONTROL_BITS, 1),
        f(id::PROTOCOL_IDENTIFIER, 1),
        f(id::IP_CLASS_OF_SERVICE, 1),
        f(id::BGP_SOURCE_AS_NUMBER, 4),
        f(id::BGP_DESTINATION_AS_NUMBER, 4),
        f(smask, 1),
        f(dmask, 1),
        f(id::FLOW_DIRECTION, 1),
        f(id::VLAN_ID, 2),
        f(
            if ipv6 {
                id::ICMP_TYPE_CODE_IPV6
            } else {
                id::ICMP_TYPE_CODE_IPV4
            },
            2,
        ),
        f(id::FORWARDING_STATUS, 1),
        f(id::FLOW_END_REASON, 1),
    ]
}

fn put_uint(out: &mut Vec<u8>, v: u64, len: u16) {
    let b = v.to_be_bytes();
    let len = len as usize;
    if len >= 8 {
        out.extend(std::iter::repeat_n(0, len - 8));
        out.extend_from_slice(&b);
    } else {
        out.extend_from_slice(&b[8 - len..]);
    }
}

fn put_addr(out: &mut Vec<u8>, a: Option<IpAddr>, len: u16) {
    match (a, len) {
        (Some(IpAddr::V4(a)), 4) => out.extend_from_slice(&a.octets()),
        (Some(IpAddr::V6(a)), 16) => out.extend_from_slice(&a.octets()),
        _ => out.extend(std::iter::repeat_n(0, len as usize)),
    }
}

fn ntp(t: Timestamp) -> u64 {
    const NTP_UNIX_OFFSET: i64 = 2_208_988_800;
    let secs = t.0.div_euclid(1_000_000_000) + NTP_UNIX_OFFSET;
    let nanos = t.0.rem_euclid(1_000_000_000) as u128;
    ((secs as u64) << 32) | ((nanos << 32) / 1_000_000_000) as u64
}

/// Appends the value of one field. Unknown elements are written as zeros of
/// their length (variable-length ones as an empty value).
pub fn put_field(out: &mut Vec<u8>, spec: FieldSpec, r: &FlowRecord, base: &TimeBase) {
    use id::*;
    let len = spec.len;
    if spec.len == crate::template::VARLEN {
        out.push(0);
        return;
    }
    if spec.pen == crate::ie::PEN_REVERSE {
        match spec.id {
            OCTET_DELTA_COUNT => put_uint(out, r.reverse_bytes.unwrap_or(0), len),
            PACKET_DELTA_COUNT => put_uint(out, r.reverse_packets.unwrap_or(0), len),
            _ => put_uint(out, 0, len),
        }
        return;
    }
    let uptime = |t: Option<Timestamp>| crate::encode::v5::to_uptime(t, base.export_time, base.sys_uptime_ms) as u64;
    let v: Option<u64> = match spec.id {
        SOURCE_IPV4_ADDRESS | SOURCE_IPV6_ADDRESS => return put_addr(out, r.src_addr, len),
        DESTINATION_IPV4_ADDRESS | DESTINATION_IPV6_ADDRESS => return put_addr(out, r.dst_addr, len),
        IP_NEXT_HOP_IPV4_ADDRESS | IP_NEXT_HOP_IPV6_ADDRESS => return put_addr(out, r.next_hop, len),
        BGP_NEXT_HOP_IPV4_ADDRESS | BGP_NEXT_HOP_IPV6_ADDRESS => return put_addr(out, r.bgp_next_hop, len),
        POST_NAT_SOURCE_IPV4_ADDRESS | POST_NAT_SOURCE_IPV6_ADDRESS => return put_addr(out, r.nat_src_addr, len),
        POST_NAT_DESTINATION_IPV4_ADDRESS | POST_NAT_DESTINATION_IPV6_ADDRESS => {
            return put_addr(out, r.nat_dst_addr, len)
        }
        SOURCE_MAC_ADDRESS => return out.extend_from_slice(&r.src_mac.unwrap_or_default().0),
        DESTINATION_MAC_ADDRESS => return out.extend_from_slice(&r.dst_mac.unwrap_or_default().0),
        OCTET_DELTA_COUNT => r.bytes,
        PACKET_DELTA_COUNT => r.packets,
        DELTA_FLOW_COUNT => r.flows,
        RESPONDER_OCTETS => r.reverse_bytes,
        RESPONDER_PACKETS => r.reverse_packets,
        PROTOCOL_IDENTIFIER => r.proto.map(u64::from),
        IP_CLASS_OF_SERVICE => r.tos.map(u64::from),
        TCP_CONTROL_BITS => r.tcp_flags.map(u64::from),
        SOURCE_TRANSPORT_PORT => r.src_port.map(u64::from),
        DESTINATION_TRANSPORT_PORT => r.dst_port.map(u64::from),
        SOURCE_IPV4_PREFIX_LENGTH | SOURCE_IPV6_PREFIX_LENGTH => r.src_mask.map(u64::from),
        DESTINATION_IPV4_PREFIX_LENGTH | DESTINATION_IPV6_PREFIX_LENGTH => r.dst_mask.map(u64::from),
        INGRESS_INTERFACE => r.in_if.map(u64::from),
        EGRESS_INTERFACE => r.out_if.map(u64::from),
        BGP_SOURCE_AS_NUMBER => r.src_as.map(u64::from),
        BGP_DESTINATION_AS_NUMBER => r.dst_as.map(u64::from),
        FLOW_START_SYS_UP_TIME => Some(uptime(r.time_start)),
        FLOW_END_SYS_UP_TIME => Some(uptime(r.time_end)),
        FLOW_START_SECONDS => r.time_start.map(|t| t.as_secs() as u64),
        FLOW_END_SECONDS => r.time_end.map(|t| t.as_secs() as u64),
        FLOW_START_MILLISECONDS => r.time_start.map(|t| t.as_millis() as u64),
        FLOW_END_MILLISECONDS => r.time_end.map(|t| t.as_millis() as u64),
        FLOW_START_MICROSECONDS | FLOW_START_NANOSECONDS => r.time_start.map(ntp),
        FLOW_END_MICROSECONDS | FLOW_END_NANOSECONDS => r.time_end.map(ntp),
        FLOW_LABEL_IPV6 => r.flow_label.map(u64::from),
        ICMP_TYPE_CODE_IPV4 | ICMP_TYPE_CODE_IPV6 => {
            Some((r.icmp_type.unwrap_or(0) as u64) << 8 | r.icmp_code.unwrap_or(0) as u64)
        }
        SAMPLING_INTERVAL => r.sampling_rate.map(u64::from),
        SAMPLER_ID | SELECTOR_ID => r.sampler_id,
        MINIMUM_TTL | IP_TTL => r.ttl.map(u64::from),
        VLAN_ID | DOT1Q_VLAN_ID => r.src_vlan.map(u64::from),
        POST_VLAN_ID => r.dst_vlan.map(u64::from),
        IP_VERSION => r.ip_version.map(u64::from),
        FLOW_DIRECTION => r.direction.map(|d| match d {
            Direction::Ingress => 0,
            Direction::Egress => 1,
        }),
        MPLS_TOP_LABEL_STACK_SECTION => r.mpls_label.map(|l| ((l as u64) << 4 | 1) << ((len as u64 - 3) * 8)),
        FORWARDING_STATUS => r.forwarding_status.map(|s| (s as u64) << ((len as u64 - 1) * 8)),
        FLOW_END_REASON => r.end_reason.map(u64::from),
        POST_NAPT_SOURCE_TRANSPORT_PORT => r.nat_src_port.map(u64::from),
        POST_NAPT_DESTINATION_TRANSPORT_PORT => r.nat_dst_port.map(u64::from),
        _ => None,
    };
    put_uint(out, v.unwrap_or(0), len);
}
