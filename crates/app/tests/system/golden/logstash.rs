//! Peer goldens: logstash-codec-netflow's expected events (counts and
//! fields) for the same payload sequences, mapped onto our record fields.

use std::collections::BTreeMap;

use flowlens_wire::FlowRecord;
use serde_json::Value;

use crate::common;

/// logstash field names (v9 names, IANA IPFIX names) → our value.
pub(super) fn ours(r: &FlowRecord, name: &str) -> Option<String> {
    let s = |v: Option<String>| v;
    match name {
        "ipv4_src_addr" | "ipv6_src_addr" | "sourceIPv4Address" | "sourceIPv6Address" => {
            s(r.src_addr.map(|a| a.to_string()))
        }
        "ipv4_dst_addr" | "ipv6_dst_addr" | "destinationIPv4Address" | "destinationIPv6Address" => {
            s(r.dst_addr.map(|a| a.to_string()))
        }
        "l4_src_port" | "sourceTransportPort" => r.src_port.map(|v| v.to_string()),
        "l4_dst_port" | "destinationTransportPort" => r.dst_port.map(|v| v.to_string()),
        "protocol" | "protocolIdentifier" => r.proto.map(|v| v.to_string()),
        "in_bytes" | "octetDeltaCount" => r.bytes.map(|v| v.to_string()),
        "in_pkts" | "packetDeltaCount" => r.packets.map(|v| v.to_string()),
        "input_snmp" | "ingressInterface" => r.in_if.map(|v| v.to_string()),
        "output_snmp" | "egressInterface" => r.out_if.map(|v| v.to_string()),
        "src_as" | "bgpSourceAsNumber" => r.src_as.map(|v| v.to_string()),
        "dst_as" | "bgpDestinationAsNumber" => r.dst_as.map(|v| v.to_string()),
        "tcp_flags" | "tcpControlBits" => r.tcp_flags.map(|v| v.to_string()),
        _ => None,
    }
}

const COMPARED: &[&str] = &[
    "ipv4_src_addr",
    "ipv6_src_addr",
    "sourceIPv4Address",
    "sourceIPv6Address",
    "ipv4_dst_addr",
    "ipv6_dst_addr",
    "destinationIPv4Address",
    "destinationIPv6Address",
    "l4_src_port",
    "sourceTransportPort",
    "l4_dst_port",
    "destinationTransportPort",
    "protocol",
    "protocolIdentifier",
    "in_bytes",
    "octetDeltaCount",
    "in_pkts",
    "packetDeltaCount",
    "input_snmp",
    "ingressInterface",
    "output_snmp",
    "egressInterface",
    "src_as",
    "bgpSourceAsNumber",
    "dst_as",
    "bgpDestinationAsNumber",
    "tcp_flags",
    "tcpControlBits",
];

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[test]
fn logstash_goldens_agree() {
    let Some(root) = common::flowdata() else { return };
    let ls = root.join("logstash-codec-netflow");
    let mut checked = BTreeMap::<&str, u64>::new();
    let mut failures = Vec::new();
    let goldens = common::sorted_entries(&ls.join("golden"), |_| true);
    for g in goldens {
        let name = g.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with('_') {
            continue;
        }
        let j: Value = serde_json::from_slice(&std::fs::read(&g).unwrap()).unwrap();
        // The template-cache spec (3094) lists data before templates because
        // its templates come from a cache file; feed templates first.
        let mut files: Vec<&Value> = j["input_files_in_order"].as_array().unwrap().iter().collect();
        files.sort_by_key(|f| f["let"].as_str() != Some("templates"));
        let inputs: Vec<Vec<u8>> = files
            .iter()
            .map(|f| std::fs::read(ls.join("dat").join(f["file"].as_str().unwrap())).unwrap())
            .collect();
        let decoded = common::decode_payloads(&inputs, "127.0.0.1:2055".parse().unwrap());
        let flows: Vec<&FlowRecord> = decoded.iter().flat_map(|d| d.flows.iter()).collect();
        let options: usize = decoded.iter().map(|d| d.batch.options.len()).sum();
        if let Some(n) = j["expected_event_count"].as_u64() {
            *checked.entry("event_count").or_default() += 1;
            if n as usize != flows.len() + options {
                failures.push(format!(
                    "{name}: {} events expected, we have {} flows + {} options",
                    n,
                    flows.len(),
                    options
                ));
            }
        }
        // Flow events in golden order are our flow records in order.
        let events: Vec<&Value> = j["json_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["json"]["netflow"])
            .filter(|n| {
                COMPARED.iter().any(|k| n.get(*k).is_some())
                    && (n.get("in_bytes").is_some()
                        || n.get("octetDeltaCount").is_some()
                        || n.get("ipv4_src_addr").is_some()
                        || n.get("sourceIPv4Address").is_some()
                        || n.get("sourceIPv6Address").is_some()
                        || n.get("ipv6_src_addr").is_some())
            })
            .collect();
        for (i, ev) in events.iter().enumerate() {
            // Goldens list a sample of the records: match each event to the
            // record agreeing on the most compared fields (all, normally).
            // An unspecified address of the family a record does not use
            // ("::" next to an IPv4 address) is not compared: we keep the
            // specified one.
            let wanted: Vec<(&str, String)> = COMPARED
                .iter()
                .filter_map(|k| ev.get(*k).and_then(scalar).map(|v| (*k, v)))
                .filter(|(_, v)| v != "::" && v != "0.0.0.0")
                .collect();
            let score = |r: &FlowRecord| {
                wanted
                    .iter()
                    .filter(|(k, v)| ours(r, k).as_deref() == Some(v.as_str()))
                    .count()
            };
            let Some(r) = flows.iter().max_by_key(|r| score(r)) else {
                failures.push(format!("{name}: event {i} has no record at all: {ev}"));
                continue;
            };
            for (k, v) in &wanted {
                *checked.entry("fields").or_default() += 1;
                if ours(r, k).as_deref() != Some(v.as_str()) {
                    failures.push(format!("{name}: event {i} {k}: ours {:?}, logstash {v:?}", ours(r, k)));
                }
            }
        }
    }
    println!("logstash goldens: {checked:?}");
    assert!(
        failures.is_empty(),
        "{} disagreements with logstash goldens:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
