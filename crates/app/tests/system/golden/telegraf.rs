//! telegraf `inputs.netflow` goldens (`telegraf/testcases/*/expected.out`,
//! Influx line protocol, one metric per record; the Go test ignores order
//! and time). Each case's `.bin` payloads are fed in lexical order.
//!
//! Each expected line is matched to the record of ours that agrees on the
//! most fields, then every mapped field must agree. [`expect`] maps
//! telegraf's names and units onto ours; names it does not map must be in
//! [`NOT_COMPARED`] with the reason, so nothing is skipped silently.

use std::collections::BTreeMap;
use std::net::IpAddr;

use flowlens_wire::{CounterRecord, Direction, FlowRecord, OptionsRecord};

use crate::common;

/// telegraf fields with no counterpart in our records, and why.
const NOT_COMPARED: &[(&str, &str)] = &[
    (
        "first_switched",
        "raw sysUptime ms; compared as absolute time via flow_start_ms",
    ),
    (
        "last_switched",
        "raw sysUptime ms; compared as absolute time via flow_end_ms",
    ),
    ("sys_uptime", "datagram header field, not per record"),
    ("engine_type", "v5/v9 engine identity: not carried"),
    ("engine_id", "v5/v9 engine identity: not carried"),
    (
        "fwd_reason",
        "telegraf prints 'unknown' for a v9 field it could not name",
    ),
    ("fwd_status", "same"),
    ("dst_tos", "post-ToS: not carried"),
    ("fragment_flags", "IP fragment fields: not carried"),
    ("fragment_offset", "IP fragment fields: not carried"),
    ("ipv4_id", "IP header id: not carried"),
    ("ipv4_inet_header_len", "IP header length: not carried"),
    ("ipv4_total_len", "sampled IP packet length: not carried"),
    ("ipv6_total_len", "sampled IP packet length: not carried"),
    ("ip_total_len", "sampled IP packet length: not carried"),
    ("l2_bytes", "layer-2 octets of the sampled frame: not carried"),
    (
        "l2_protocol",
        "EtherType of the sampled frame: not carried (ip_version is)",
    ),
    ("datalink_frame_type", "sampled frame type: not carried"),
    ("vlan_src_priority", "802.1p priority: not carried"),
    ("vlan_dst_priority", "802.1p priority: not carried"),
    (
        "sampling_drops",
        "sFlow sample-pool drops: a per-sampler counter, not per record",
    ),
    ("out_queue", "sFlow discard event's egress queue: not carried"),
    (
        "port_name",
        "sFlow port-name counter record: skipped (counted in skipped_records)",
    ),
    ("type", "sFlow interface type as a name; interface_type is compared"),
    (
        "ja3c_hash",
        "nProbe (PEN 35632) TLS fields: kept as raw enterprise fields",
    ),
    ("ja3s_hash", "nProbe TLS field"),
    ("ssl_cipher", "nProbe TLS field"),
    ("ssl_server_name", "nProbe TLS field"),
    ("ssl_unsafe_cipher", "nProbe TLS field"),
    ("ssl_version", "nProbe TLS field"),
    ("l7_proto", "nProbe application id"),
    ("app_latency_ms", "nProbe latency field"),
    ("client_nw_latency_ms", "nProbe latency field"),
    ("server_nw_latency_ms", "nProbe latency field"),
    ("retransmitted_in_bytes", "nProbe retransmission counters"),
    ("retransmitted_in_pkts", "nProbe retransmission counters"),
    ("retransmitted_out_bytes", "nProbe retransmission counters"),
    ("retransmitted_out_pkts", "nProbe retransmission counters"),
    (
        "app_desc",
        "IPFIX application options (RFC 6759): not interpreted; record count compared",
    ),
    ("app_id", "same"),
    ("app_name", "same"),
    ("exporter", "exporter statistics options: record count compared"),
    ("exporting_pid", "same"),
    ("event_time", "same"),
    ("observation_domain_id", "same"),
    ("system_init_ms", "same"),
    ("dropped_packets_total", "same"),
    ("ignored_packet_total", "same"),
    ("notsent_packet_total", "same"),
    ("total_flows_exported", "same"),
    ("padding", "same"),
];

/// One parsed line: measurement, the `version` tag and fields.
struct Line {
    measurement: String,
    version: String,
    fields: BTreeMap<String, String>,
}

/// Parses `measurement,tags fields [timestamp]`; string values unquoted,
/// integer suffixes dropped.
fn parse(line: &str) -> Line {
    let (head, rest) = line.split_once(' ').expect("line protocol: measurement and fields");
    let measurement = head.split(',').next().unwrap().to_string();
    let version = head
        .split(',')
        .find_map(|t| t.strip_prefix("version="))
        .unwrap_or_default()
        .to_string();
    let mut fields = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    // Fields end at the first space outside quotes; a timestamp may follow.
    let mut more = true;
    while more {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
            more = chars.next() == Some(',');
        } else {
            more = false;
            for c in chars.by_ref() {
                if c == ',' {
                    more = true;
                    break;
                }
                if c == ' ' {
                    break;
                }
                value.push(c);
            }
            if value.ends_with('u') || value.ends_with('i') {
                value.pop();
            }
        }
        fields.insert(key, value);
    }
    Line {
        measurement,
        version,
        fields,
    }
}

/// telegraf's TCP flag string: `CEUAPRSF`, '.' where unset.
fn tcp_flags(s: &str) -> Option<String> {
    (s.len() == 8).then(|| s.chars().fold(0u16, |a, c| (a << 1) | u16::from(c != '.')).to_string())
}

fn proto(name: &str) -> String {
    match name {
        "icmp" => "1".into(),
        "tcp" => "6".into(),
        "udp" => "17".into(),
        "ipv6-icmp" => "58".into(),
        "sctp" => "132".into(),
        other => other.into(),
    }
}

fn end_reason(name: &str) -> String {
    match name {
        "idle timeout" => "1",
        "active timeout" => "2",
        "end of flow" => "3",
        "forced end" => "4",
        "lack of resources" => "5",
        other => other,
    }
    .into()
}

/// Fields whose meaning in telegraf depends on the protocol, and why they
/// are not compared there: (version tag, field, reason).
const NOT_COMPARED_FOR: &[(&str, &str, &str)] = &[
    (
        "NetFlowV5",
        "flows",
        "telegraf puts the datagram header's record count here; v5 records carry no flow count",
    ),
    (
        "sFlowV5",
        "in_total_packets",
        "telegraf reports the sampler's sample pool (packets seen by the sampler so far), not this sample",
    ),
    (
        "sFlowV5",
        "ip_version",
        "telegraf reports the agent address family here, not the sampled packet's",
    ),
];

/// Single values where telegraf and we differ on purpose:
/// (case, line, field, reason). Each must still differ.
const KNOWN_DIFFERENCES: &[(&str, usize, &str, &str)] = &[(
    "sflow_issue_15918",
    4,
    "protocol",
    "IPv6 with a hop-by-hop options header: telegraf reports the first next-header (0, hopopt); we \
         follow the extension headers to the transport protocol (58, ICMPv6 MLD), as tshark does",
)];

/// telegraf sets `in_snmp` of an sFlow egress sample to the sampling
/// interface (the data source); we report the sample's input interface, as
/// the datagram says and tshark (sflow.flow_sample.input_interface) agrees.
fn sflow_egress_in_snmp(line: &Line, key: &str) -> bool {
    line.version == "sFlowV5" && key == "in_snmp" && line.fields.get("direction").is_some_and(|d| d == "egress")
}

/// A telegraf field (name, value) as (our field, our rendering).
fn expect(counters: bool, key: &str, v: &str) -> Option<(&'static str, String)> {
    let hex = |v: &str| {
        u64::from_str_radix(v.trim_start_matches("0x"), 16)
            .map(|n| n.to_string())
            .ok()
    };
    let addr = |v: &str| v.parse::<IpAddr>().map(|a| a.to_string()).ok();
    let same = |f: &'static str| Some((f, v.to_string()));
    if counters {
        return match key {
            "agent_ip" => Some(("agent", addr(v)?)),
            "agent_subid" => same("sub_agent"),
            "seq_number" => same("sequence"),
            "interface" | "in_snmp" => same("if_index"),
            "interface_type" => same("if_type"),
            "speed" => same("if_speed"),
            "status" => Some(("oper_up", (v == "up").to_string())),
            "promiscuous" => same("promiscuous_mode"),
            "in_bytes" => same("in_octets"),
            "in_unicast_packets_total" => same("in_ucast_pkts"),
            "in_mcast_packets_total" => same("in_multicast_pkts"),
            "in_broadcast_packets_total" => same("in_broadcast_pkts"),
            "in_dropped_packets" => same("in_discards"),
            "in_errors" => same("in_errors"),
            "in_unknown_protocol" => same("in_unknown_protos"),
            "out_bytes" => same("out_octets"),
            "out_unicast_packets_total" => same("out_ucast_pkts"),
            "out_mcast_packets_total" => same("out_multicast_pkts"),
            "out_broadcast_packets_total" => same("out_broadcast_pkts"),
            "out_dropped_packets" => same("out_discards"),
            "out_errors" => same("out_errors"),
            "errors_alignment" => same("alignment_errors"),
            "errors_fcs" => same("fcs_errors"),
            "collision_frames_single" => same("single_collision_frames"),
            "collision_frames_multi" => same("multiple_collision_frames"),
            "errors_sqetest" => same("sqe_test_errors"),
            "deferred" => same("deferred_transmissions"),
            "collisions_late" => same("late_collisions"),
            "collisions_excessive" => same("excessive_collisions"),
            "errors_internal_mac_tx" => same("internal_mac_transmit_errors"),
            "errors_carrier_sense" => same("carrier_sense_errors"),
            "errors_frame_too_long" => same("frame_too_longs"),
            "errors_internal_mac_rx" => same("internal_mac_receive_errors"),
            "errors_symbols" => same("symbol_errors"),
            "ip_version" => None,
            _ => None,
        };
    }
    match key {
        "src" => Some(("src_addr", addr(v)?)),
        "dst" => Some(("dst_addr", addr(v)?)),
        "next_hop" => Some(("next_hop", addr(v)?)),
        "agent_ip" => Some(("agent", addr(v)?)),
        "agent_subid" => same("observation_domain"),
        "src_port" => same("src_port"),
        "dst_port" => same("dst_port"),
        "protocol" => Some(("proto", proto(v))),
        "in_bytes" | "in_total_bytes" => same("bytes"),
        "in_packets" | "in_total_packets" => same("packets"),
        "flows" => same("flows"),
        "flow_start_ms" => same("time_start_ms"),
        "flow_end_ms" => same("time_end_ms"),
        "flow_start" => same("time_start_s"),
        "flow_end" => same("time_end_s"),
        "in_snmp" => same("in_if"),
        "out_snmp" => same("out_if"),
        "bgp_src_as" => same("src_as"),
        "bgp_dst_as" => same("dst_as"),
        "src_mask" => same("src_mask"),
        "dst_mask" => same("dst_mask"),
        "tcp_flags" => Some(("tcp_flags", tcp_flags(v)?)),
        "src_tos" => Some(("tos", hex(v)?)),
        "ttl" => same("ttl"),
        "direction" => same("direction"),
        "icmp_type" => same("icmp_type"),
        "icmp_code" => same("icmp_code"),
        "in_src_mac" => same("src_mac"),
        "out_dst_mac" => same("dst_mac"),
        "vlan_src" => same("src_vlan"),
        "vlan_dst" => same("dst_vlan"),
        "sampling_interval" => same("sampling_rate"),
        "seq_number" => same("sequence"),
        "ip_version" => Some(("ip_version", v.trim_start_matches("IPv").to_string())),
        "flow_end_reason" => Some(("end_reason", end_reason(v))),
        // sFlow discard reason → IPFIX "dropped" forwarding status.
        "reason" => Some((
            "forwarding_status",
            flowlens_wire::sflow::drop_status(v.parse().ok()?).to_string(),
        )),
        _ => None,
    }
}

/// Our flow record's value for one of the field names `expect` produces.
/// Absent fields compare as telegraf's zero value.
fn flow_value(r: &FlowRecord, f: &str) -> String {
    fn n<T: ToString>(v: Option<T>) -> String {
        v.map_or("0".into(), |v| v.to_string())
    }
    let a = |v: Option<IpAddr>| v.map_or("0.0.0.0".into(), |a| a.to_string());
    match f {
        "src_addr" => a(r.src_addr),
        "dst_addr" => a(r.dst_addr),
        "next_hop" => a(r.next_hop),
        "agent" => a(r.agent),
        "observation_domain" => r.observation_domain.to_string(),
        "src_port" => n(r.src_port),
        "dst_port" => n(r.dst_port),
        "proto" => n(r.proto),
        "bytes" => n(r.bytes),
        "packets" => n(r.packets),
        "flows" => n(r.flows),
        "time_start_ms" => n(r.time_start.map(|t| t.as_millis())),
        "time_end_ms" => n(r.time_end.map(|t| t.as_millis())),
        "time_start_s" => n(r.time_start.map(|t| t.as_secs())),
        "time_end_s" => n(r.time_end.map(|t| t.as_secs())),
        "in_if" => n(r.in_if),
        "out_if" => n(r.out_if),
        "src_as" => n(r.src_as),
        "dst_as" => n(r.dst_as),
        "src_mask" => n(r.src_mask),
        "dst_mask" => n(r.dst_mask),
        "tcp_flags" => n(r.tcp_flags),
        "tos" => n(r.tos),
        "ttl" => n(r.ttl),
        "direction" => match r.direction {
            Some(Direction::Ingress) => "ingress".into(),
            Some(Direction::Egress) => "egress".into(),
            None => "".into(),
        },
        "icmp_type" => n(r.icmp_type),
        "icmp_code" => n(r.icmp_code),
        "src_mac" => r.src_mac.unwrap_or_default().to_string(),
        "dst_mac" => r.dst_mac.unwrap_or_default().to_string(),
        "src_vlan" => n(r.src_vlan),
        "dst_vlan" => n(r.dst_vlan),
        "sampling_rate" => n(r.sampling_rate),
        "sequence" => n(r.sequence),
        "ip_version" => n(r.ip_version),
        "end_reason" => n(r.end_reason),
        "forwarding_status" => n(r.forwarding_status),
        other => panic!("no flow value for {other}"),
    }
}

fn counter_value(c: &CounterRecord, f: &str) -> String {
    let i = c.interface.unwrap_or_default();
    let e = c.ethernet.unwrap_or_default();
    match f {
        "agent" => c.agent.map_or("0.0.0.0".into(), |a| a.to_string()),
        "sub_agent" => c.sub_agent.to_string(),
        "sequence" => c.sequence.to_string(),
        "if_index" => i.if_index.to_string(),
        "if_type" => i.if_type.to_string(),
        "if_speed" => i.if_speed.to_string(),
        // ifStatus bit 1 is ifOperStatus up.
        "oper_up" => (i.if_status & 2 != 0).to_string(),
        "promiscuous_mode" => i.promiscuous_mode.to_string(),
        "in_octets" => i.in_octets.to_string(),
        "in_ucast_pkts" => i.in_ucast_pkts.to_string(),
        "in_multicast_pkts" => i.in_multicast_pkts.to_string(),
        "in_broadcast_pkts" => i.in_broadcast_pkts.to_string(),
        "in_discards" => i.in_discards.to_string(),
        "in_errors" => i.in_errors.to_string(),
        "in_unknown_protos" => i.in_unknown_protos.to_string(),
        "out_octets" => i.out_octets.to_string(),
        "out_ucast_pkts" => i.out_ucast_pkts.to_string(),
        "out_multicast_pkts" => i.out_multicast_pkts.to_string(),
        "out_broadcast_pkts" => i.out_broadcast_pkts.to_string(),
        "out_discards" => i.out_discards.to_string(),
        "out_errors" => i.out_errors.to_string(),
        "alignment_errors" => e.alignment_errors.to_string(),
        "fcs_errors" => e.fcs_errors.to_string(),
        "single_collision_frames" => e.single_collision_frames.to_string(),
        "multiple_collision_frames" => e.multiple_collision_frames.to_string(),
        "sqe_test_errors" => e.sqe_test_errors.to_string(),
        "deferred_transmissions" => e.deferred_transmissions.to_string(),
        "late_collisions" => e.late_collisions.to_string(),
        "excessive_collisions" => e.excessive_collisions.to_string(),
        "internal_mac_transmit_errors" => e.internal_mac_transmit_errors.to_string(),
        "carrier_sense_errors" => e.carrier_sense_errors.to_string(),
        "frame_too_longs" => e.frame_too_longs.to_string(),
        "internal_mac_receive_errors" => e.internal_mac_receive_errors.to_string(),
        "symbol_errors" => e.symbol_errors.to_string(),
        other => panic!("no counter value for {other}"),
    }
}

/// Options records: interface names (v9 options) are compared.
fn options_expect(key: &str, v: &str) -> Option<(&'static str, String)> {
    match key {
        "in_snmp" => Some(("if_index", v.into())),
        "interface" => Some(("if_name", v.into())),
        "interface_desc" => Some(("if_description", v.into())),
        _ => None,
    }
}

fn options_value(o: &OptionsRecord, f: &str) -> String {
    match f {
        "if_index" => o.if_index.map_or("0".into(), |v| v.to_string()),
        "if_name" => o.if_name.clone().unwrap_or_default(),
        "if_description" => o.if_description.clone().unwrap_or_default(),
        other => panic!("no options value for {other}"),
    }
}

/// Fields telegraf has on options records but we compare elsewhere or not.
const OPTIONS_ALSO: &[&str] = &["in_bytes", "out_snmp", "in_total_packets"];

/// One record of ours, as a field-name → value lookup.
type Getter<'a> = Box<dyn Fn(&str) -> String + 'a>;

#[test]
fn telegraf_goldens_agree() {
    let Some(root) = common::flowdata() else { return };
    let cases_dir = root.join("telegraf/testcases");
    let cases = common::sorted_entries(&cases_dir, |p| p.is_dir());
    let mut failures = Vec::new();
    let mut checked = BTreeMap::<&str, u64>::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let bins = common::sorted_entries(case, |p| p.extension().is_some_and(|x| x == "bin"));
        let payloads: Vec<Vec<u8>> = bins.iter().map(|p| std::fs::read(p).unwrap()).collect();
        let decoded = common::decode_payloads(&payloads, "127.0.0.1:2055".parse().unwrap());
        let flows: Vec<&FlowRecord> = decoded.iter().flat_map(|d| d.flows.iter()).collect();
        let counters: Vec<&CounterRecord> = decoded.iter().flat_map(|d| d.batch.counters.iter()).collect();
        let options: Vec<&OptionsRecord> = decoded.iter().flat_map(|d| d.batch.options.iter()).collect();
        let text = std::fs::read_to_string(case.join("expected.out")).unwrap();
        let lines: Vec<Line> = text.lines().filter(|l| !l.trim().is_empty()).map(parse).collect();

        let (mut want_flows, mut want_counters, mut want_options) = (0, 0, 0);
        for (li, line) in lines.iter().enumerate() {
            let is_counter = line.fields.contains_key("interface_type");
            let is_options = line.measurement == "netflow_options";
            let mut wanted = Vec::new();
            for (k, v) in &line.fields {
                if NOT_COMPARED_FOR
                    .iter()
                    .any(|(ver, f, _)| *ver == line.version && f == k)
                    || sflow_egress_in_snmp(line, k)
                {
                    *checked.entry("not compared").or_default() += 1;
                    continue;
                }
                let mapped = if is_options {
                    options_expect(k, v)
                } else {
                    expect(is_counter, k, v)
                };
                match mapped {
                    Some(m) => wanted.push((k.as_str(), m)),
                    None => assert!(
                        NOT_COMPARED.iter().any(|(n, _)| n == k)
                            || k.starts_with("type_")
                            || (is_options && OPTIONS_ALSO.contains(&k.as_str()))
                            || (is_counter && k == "ip_version"),
                        "telegraf field {k} is neither compared nor listed in NOT_COMPARED"
                    ),
                }
            }
            // The record agreeing on the most fields is this line's record.
            let values: Vec<Getter> = if is_options {
                want_options += 1;
                options
                    .iter()
                    .map(|o| Box::new(move |f: &str| options_value(o, f)) as _)
                    .collect()
            } else if is_counter {
                want_counters += 1;
                counters
                    .iter()
                    .map(|c| Box::new(move |f: &str| counter_value(c, f)) as _)
                    .collect()
            } else {
                want_flows += 1;
                flows
                    .iter()
                    .map(|r| Box::new(move |f: &str| flow_value(r, f)) as _)
                    .collect()
            };
            let best = values
                .iter()
                .max_by_key(|get| wanted.iter().filter(|(_, (f, v))| get(f) == *v).count());
            let Some(get) = best else {
                failures.push(format!("{name} line {}: no record of ours at all", li + 1));
                continue;
            };
            for (k, (f, v)) in &wanted {
                *checked.entry("fields").or_default() += 1;
                let ours = get(f);
                let known = KNOWN_DIFFERENCES
                    .iter()
                    .find(|(c, l, field, _)| *c == name && *l == li + 1 && field == k);
                match known {
                    Some(_) if ours == *v => failures.push(format!(
                        "{name} line {}: {k} now agrees; drop it from KNOWN_DIFFERENCES",
                        li + 1
                    )),
                    Some(_) => *checked.entry("known differences").or_default() += 1,
                    None if ours != *v => {
                        failures.push(format!("{name} line {}: {k}: ours {ours:?}, telegraf {v:?}", li + 1))
                    }
                    None => {}
                }
            }
        }
        *checked.entry("records").or_default() += lines.len() as u64;
        for (what, want, have) in [
            ("flows", want_flows, flows.len()),
            ("counter records", want_counters, counters.len()),
            ("options records", want_options, options.len()),
        ] {
            if want != have {
                failures.push(format!("{name}: {want} {what} expected, we have {have}"));
            }
        }
    }
    println!("telegraf goldens: {} cases, {checked:?}", cases.len());
    assert!(checked.get("fields").copied().unwrap_or(0) > 0);
    assert!(
        failures.is_empty(),
        "{} disagreements with telegraf:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
