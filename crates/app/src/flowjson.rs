//! The stable JSON shape of a flow record, used by `flowlens decode` (and
//! later by the API). Field names are part of the interface: add, never rename.
//! Absent fields are omitted, never written as zero.

use std::net::IpAddr;

use flowlens_wire::{Batch, CounterRecord, FlowRecord, OptionsRecord, Timestamp};
use serde::Serialize;

/// RFC 3339 UTC with as many fractional digits as needed.
pub fn rfc3339(t: Timestamp) -> String {
    match jiff::Timestamp::from_nanosecond(t.0 as i128) {
        Ok(ts) => ts.to_string(),
        Err(_) => t.0.to_string(),
    }
}

#[derive(Serialize)]
pub struct RawFieldJson {
    #[serde(skip_serializing_if = "is_zero")]
    pub pen: u32,
    pub id: u16,
    /// Hex of the value.
    pub value: String,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

#[derive(Serialize)]
pub struct FlowJson {
    pub kind: &'static str,
    pub exporter: IpAddr,
    pub exporter_port: u16,
    pub protocol: &'static str,
    pub time_received: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<IpAddr>,
    pub observation_domain: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling_rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling_source: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampler_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_if: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_if: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_version: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_addr: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_addr: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_label: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse_packets: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_as: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_as: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_mask: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_mask: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bgp_next_hop: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_vlan: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_vlan: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mpls_label: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarding_status: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_src_addr: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_dst_addr: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_src_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_dst_port: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub as_path: Vec<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub raw: Vec<RawFieldJson>,
}

impl FlowJson {
    pub fn new(r: &FlowRecord, batch: &Batch) -> Self {
        FlowJson {
            kind: "flow",
            exporter: r.exporter.ip(),
            exporter_port: r.exporter.port(),
            protocol: r.protocol.name(),
            time_received: rfc3339(r.time_received),
            time_start: r.time_start.map(rfc3339),
            time_end: r.time_end.map(rfc3339),
            agent: r.agent,
            observation_domain: r.observation_domain,
            sequence: r.sequence,
            sampling_rate: r.sampling_rate,
            sampling_source: r.sampling_source.map(|s| s.name()),
            sampler_id: r.sampler_id,
            in_if: r.in_if,
            out_if: r.out_if,
            ip_version: r.ip_version,
            src_addr: r.src_addr,
            dst_addr: r.dst_addr,
            src_port: r.src_port,
            dst_port: r.dst_port,
            proto: r.proto,
            tcp_flags: r.tcp_flags,
            tos: r.tos,
            ttl: r.ttl,
            flow_label: r.flow_label,
            bytes: r.bytes,
            packets: r.packets,
            flows: r.flows,
            reverse_bytes: r.reverse_bytes,
            reverse_packets: r.reverse_packets,
            src_as: r.src_as,
            dst_as: r.dst_as,
            src_mask: r.src_mask,
            dst_mask: r.dst_mask,
            next_hop: r.next_hop,
            bgp_next_hop: r.bgp_next_hop,
            src_vlan: r.src_vlan,
            dst_vlan: r.dst_vlan,
            src_mac: r.src_mac.map(|m| m.to_string()),
            dst_mac: r.dst_mac.map(|m| m.to_string()),
            mpls_label: r.mpls_label,
            icmp_type: r.icmp_type,
            icmp_code: r.icmp_code,
            direction: r.direction.map(|d| match d {
                flowlens_wire::Direction::Ingress => "ingress",
                flowlens_wire::Direction::Egress => "egress",
            }),
            forwarding_status: r.forwarding_status,
            end_reason: r.end_reason,
            nat_src_addr: r.nat_src_addr,
            nat_dst_addr: r.nat_dst_addr,
            nat_src_port: r.nat_src_port,
            nat_dst_port: r.nat_dst_port,
            as_path: batch.as_path_of(r).to_vec(),
            raw: batch
                .raw_fields_of(r)
                .iter()
                .map(|f| RawFieldJson {
                    pen: f.pen,
                    id: f.id,
                    value: hex(batch.raw_value(f)),
                })
                .collect(),
        }
    }
}

/// sFlow counter sample, printed with `--counters`.
pub fn counters_json(c: &CounterRecord) -> serde_json::Value {
    let mut v = serde_json::json!({
        "kind": "counters",
        "exporter": c.exporter.ip(),
        "exporter_port": c.exporter.port(),
        "protocol": "sflow5",
        "time_received": rfc3339(c.time_received),
        "agent": c.agent,
        "sub_agent": c.sub_agent,
        "sequence": c.sequence,
        "source_type": c.source_type,
        "source_index": c.source_index,
    });
    if let Some(i) = &c.interface {
        v["interface"] = serde_json::json!({
            "if_index": i.if_index, "if_type": i.if_type, "if_speed": i.if_speed,
            "if_direction": i.if_direction, "if_status": i.if_status,
            "in_octets": i.in_octets, "in_ucast_pkts": i.in_ucast_pkts,
            "in_multicast_pkts": i.in_multicast_pkts, "in_broadcast_pkts": i.in_broadcast_pkts,
            "in_discards": i.in_discards, "in_errors": i.in_errors, "in_unknown_protos": i.in_unknown_protos,
            "out_octets": i.out_octets, "out_ucast_pkts": i.out_ucast_pkts,
            "out_multicast_pkts": i.out_multicast_pkts, "out_broadcast_pkts": i.out_broadcast_pkts,
            "out_discards": i.out_discards, "out_errors": i.out_errors, "promiscuous_mode": i.promiscuous_mode,
        });
    }
    if let Some(e) = &c.ethernet {
        v["ethernet"] = serde_json::json!({
            "alignment_errors": e.alignment_errors, "fcs_errors": e.fcs_errors,
            "single_collision_frames": e.single_collision_frames,
            "multiple_collision_frames": e.multiple_collision_frames,
            "sqe_test_errors": e.sqe_test_errors, "deferred_transmissions": e.deferred_transmissions,
            "late_collisions": e.late_collisions, "excessive_collisions": e.excessive_collisions,
            "internal_mac_transmit_errors": e.internal_mac_transmit_errors,
            "carrier_sense_errors": e.carrier_sense_errors, "frame_too_longs": e.frame_too_longs,
            "internal_mac_receive_errors": e.internal_mac_receive_errors, "symbol_errors": e.symbol_errors,
        });
    }
    if c.skipped_records > 0 {
        v["skipped_records"] = c.skipped_records.into();
    }
    v
}

/// Options data record, printed with `--options`.
pub fn options_json(exporter: std::net::SocketAddr, protocol: &str, o: &OptionsRecord) -> serde_json::Value {
    let mut v = serde_json::json!({
        "kind": "options",
        "exporter": exporter.ip(),
        "exporter_port": exporter.port(),
        "protocol": protocol,
        "observation_domain": o.observation_domain,
        "template_id": o.template_id,
    });
    let m = v.as_object_mut().expect("object literal");
    if let Some(x) = o.if_index {
        m.insert("if_index".into(), x.into());
    }
    if let Some(x) = o.sampler_id {
        m.insert("sampler_id".into(), x.into());
    }
    if let Some(x) = o.sampling_rate {
        m.insert("sampling_rate".into(), x.into());
    }
    if let Some(x) = &o.sampler_name {
        m.insert("sampler_name".into(), x.clone().into());
    }
    if let Some(x) = &o.if_name {
        m.insert("if_name".into(), x.clone().into());
    }
    if let Some(x) = &o.if_description {
        m.insert("if_description".into(), x.clone().into());
    }
    if let Some(x) = o.system_init {
        m.insert("system_init".into(), rfc3339(x).into());
    }
    v
}
