//! akvorado's decoder expectations (`root_test.go`, extracted to JSON in
//! `akvorado/{netflow,sflow}/expected_from_root_test.json`).
//!
//! akvorado compares whole structs, so a field missing from an expected flow
//! means zero or unset; we compare the same way: every mapped field, with
//! absent and zero treated alike. Mapping notes:
//! - addresses are IPv6 there (`::ffff:a.b.c.d`); unspecified means unset.
//! - `EType` 2048/34525 is our `ip_version` 4/6; `MPLSLabels[0]` is our
//!   `mpls_label` (we keep the top label only).
//! - akvorado splits an RFC 5103 biflow into a forward and a reverse flow;
//!   we keep one record with `reverse_bytes`/`reverse_packets`, expanded
//!   here into the same two flows.
//! - for sFlow, `ExporterAddress` is the agent address; for NetFlow/IPFIX it
//!   is the UDP source of the Go test (127.0.0.1), not the capture's, so it
//!   is not compared there.
//!
//! Not compared (no `FlowRecord` field): `IPFragmentID`, `Ingress/EgressVRFID`,
//! `DstASPath`, `DstCommunities`, `TimeReceived` (zeroed by the Go test).
//! Not run: akvorado's decapsulation mode (VXLAN/SRv6 inner headers; the
//! `TestDecodeNonEncap`, `TestDecodeSRv6` and sFlow `encap VXLAN` cases) and
//! its decoder metrics (`kind: metrics`, counters with its own names).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use flowlens_wire::{Direction, FlowRecord, Protocol};
use serde_json::Value;

use crate::common;

/// akvorado field names we compare.
const COMPARED: &[&str] = &[
    "SamplingRate",
    "ExporterAddress",
    "SrcAddr",
    "DstAddr",
    "NextHop",
    "InIf",
    "OutIf",
    "SrcVlan",
    "DstVlan",
    "SrcAS",
    "DstAS",
    "SrcNetMask",
    "DstNetMask",
    "Bytes",
    "Packets",
    "EType",
    "Proto",
    "SrcPort",
    "DstPort",
    "SrcMAC",
    "DstMAC",
    "IPTTL",
    "IPTos",
    "IPv6FlowLabel",
    "TCPFlags",
    "ICMPv4Type",
    "ICMPv4Code",
    "ICMPv6Type",
    "ICMPv6Code",
    "ForwardingStatus",
    "FlowDirection",
    "MPLSLabels",
    "SrcAddrNAT",
    "DstAddrNAT",
    "SrcPortNAT",
    "DstPortNAT",
];

/// Fields akvorado has and `FlowRecord` does not.
const NOT_CARRIED: &[&str] = &[
    "IPFragmentID",
    "IngressVRFID",
    "EgressVRFID",
    "DstASPath",
    "DstCommunities",
    "TimeReceived",
];

/// Fields where akvorado and we differ on purpose:
/// (test, subtest, flow index, field, why). Each must still differ; a fixed
/// one fails the test so the list stays true.
const KNOWN_DIFFERENCES: &[(&str, &str, usize, &str, &str)] = &[
    (
        "TestDecodeDataLink",
        "",
        0,
        "DstVlan",
        "a VLAN tag in a sampled frame is the VLAN where the packet was observed: we report it as src_vlan \
         only; akvorado copies it to DstVlan as well",
    ),
    (
        "TestDecode",
        "expanded flow sample",
        0,
        "DstVlan",
        "same: the sampled header's tag is our src_vlan; akvorado files it under DstVlan",
    ),
    (
        "TestDecode",
        "flow sample with QinQ",
        0,
        "SrcVlan",
        "QinQ: we report the outer (service) tag, the one the observing port switches on; akvorado the inner \
         (customer) tag",
    ),
    (
        "TestDecode",
        "flow sample with QinQ",
        0,
        "DstVlan",
        "same as TestDecodeDataLink: akvorado copies the header's tag to DstVlan",
    ),
    (
        "TestDecode",
        "flow sample with sampled ethernet",
        0,
        "IPTTL",
        "the Go test decodes the same datagram as the subtest before with IPTTL 64 (tshark agrees: ip.ttl 64) \
         and expects it unset here",
    ),
    (
        "TestDecodeRFC5103",
        "",
        4,
        "TCPFlags",
        "reverseTcpControlBits (PEN 29305, IE 6): FlowRecord keeps reverse bytes and packets only",
    ),
    (
        "TestJuniperCPIDDrop",
        "",
        0,
        "ForwardingStatus",
        "Juniper's commonPropertiesId (IE 137) forwarding-exception encoding is not interpreted; the record \
         carries no forwardingStatus",
    ),
];

/// A canonical value: addresses without the v4-mapped prefix, numbers as
/// decimal; zero and unspecified become `None` (akvorado's "unset").
fn canon(v: &Value) -> Option<String> {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => match s.parse::<IpAddr>() {
            Ok(a) => return addr(Some(a)),
            Err(_) => s.clone(),
        },
        Value::Array(a) => return a.first().and_then(canon),
        _ => return None,
    };
    (s != "0").then_some(s)
}

fn addr(a: Option<IpAddr>) -> Option<String> {
    let a = a?.to_canonical();
    (!a.is_unspecified()).then(|| a.to_string())
}

fn num<T: Into<u64>>(v: Option<T>) -> Option<String> {
    v.map(Into::into).filter(|&n| n != 0).map(|n| n.to_string())
}

/// Our record in akvorado's names; for biflows, also the reverse flow.
fn as_akvorado(r: &FlowRecord) -> Vec<BTreeMap<&'static str, String>> {
    let mut m = BTreeMap::new();
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            m.insert(k, v);
        }
    };
    put("SamplingRate", num(r.sampling_rate));
    if r.protocol == Protocol::Sflow5 {
        put("ExporterAddress", addr(r.agent));
    }
    put("SrcAddr", addr(r.src_addr));
    put("DstAddr", addr(r.dst_addr));
    put("NextHop", addr(r.next_hop.or(r.bgp_next_hop)));
    put("InIf", num(r.in_if));
    put("OutIf", num(r.out_if));
    put("SrcVlan", num(r.src_vlan));
    put("DstVlan", num(r.dst_vlan));
    put("SrcAS", num(r.src_as));
    put("DstAS", num(r.dst_as));
    put("SrcNetMask", num(r.src_mask));
    put("DstNetMask", num(r.dst_mask));
    put("Bytes", num(r.bytes));
    put("Packets", num(r.packets));
    put(
        "EType",
        match r.ip_version {
            Some(4) => Some("2048".into()),
            Some(6) => Some("34525".into()),
            _ => None,
        },
    );
    put("Proto", num(r.proto));
    put("SrcPort", num(r.src_port));
    put("DstPort", num(r.dst_port));
    put("SrcMAC", num(r.src_mac.map(|m| m.to_u64())));
    put("DstMAC", num(r.dst_mac.map(|m| m.to_u64())));
    put("IPTTL", num(r.ttl));
    put("IPTos", num(r.tos));
    put("IPv6FlowLabel", num(r.flow_label));
    put("TCPFlags", num(r.tcp_flags));
    let (ty, code) = match r.proto {
        Some(1) => ("ICMPv4Type", "ICMPv4Code"),
        _ => ("ICMPv6Type", "ICMPv6Code"),
    };
    if matches!(r.proto, Some(1 | 58)) {
        put(ty, num(r.icmp_type));
        put(code, num(r.icmp_code));
    }
    put("ForwardingStatus", num(r.forwarding_status));
    put(
        "FlowDirection",
        r.direction.map(|d| match d {
            Direction::Ingress => "1".into(),
            Direction::Egress => "2".into(),
        }),
    );
    put("MPLSLabels", num(r.mpls_label));
    put("SrcAddrNAT", addr(r.nat_src_addr));
    put("DstAddrNAT", addr(r.nat_dst_addr));
    put("SrcPortNAT", num(r.nat_src_port));
    put("DstPortNAT", num(r.nat_dst_port));

    let mut out = vec![m.clone()];
    if r.reverse_packets.unwrap_or(0) > 0 {
        // The reverse direction: endpoints, interfaces and MACs swap;
        // the counters are the reverse ones; TCP flags are not carried.
        let mut rev = m;
        for (a, b) in [
            ("SrcAddr", "DstAddr"),
            ("SrcPort", "DstPort"),
            ("InIf", "OutIf"),
            ("SrcMAC", "DstMAC"),
        ] {
            let (va, vb) = (rev.remove(a), rev.remove(b));
            if let Some(v) = vb {
                rev.insert(a, v);
            }
            if let Some(v) = va {
                rev.insert(b, v);
            }
        }
        rev.remove("TCPFlags");
        rev.remove("Bytes");
        rev.remove("Packets");
        if let Some(v) = num(r.reverse_bytes) {
            rev.insert("Bytes", v);
        }
        if let Some(v) = num(r.reverse_packets) {
            rev.insert("Packets", v);
        }
        out.push(rev);
    }
    out
}

fn expected(flow: &Value, sflow: bool) -> BTreeMap<&'static str, String> {
    let obj = flow.as_object().expect("expected flow is an object");
    for k in obj.keys() {
        assert!(
            COMPARED.contains(&k.as_str()) || NOT_CARRIED.contains(&k.as_str()),
            "akvorado field {k} is neither compared nor listed as not carried"
        );
    }
    COMPARED
        .iter()
        .filter(|k| sflow || **k != "ExporterAddress")
        // akvorado leaves sFlow's direction unset; we derive it from the
        // sampling interface (ingress when it is the input).
        .filter(|k| !sflow || **k != "FlowDirection")
        .filter_map(|k| obj.get(*k).and_then(canon).map(|v| (*k, v)))
        .filter(|(k, v)| !unsampled(k, v))
        .collect()
}

/// A rate of 1 is "not sampled": absent on either side means the same.
fn unsampled(k: &str, v: &str) -> bool {
    k == "SamplingRate" && v == "1"
}

fn check_suite(dir: &Path, failures: &mut Vec<String>, checked: &mut BTreeMap<&'static str, u64>) {
    let sflow = dir.ends_with("sflow");
    let cases: Vec<Value> = serde_json::from_slice(&std::fs::read(dir.join("expected_from_root_test.json")).unwrap())
        .expect("akvorado expectations parse");
    for case in &cases {
        let kind = case["kind"].as_str().unwrap_or("");
        let options = case["decoder_options"].as_str().unwrap_or("");
        let subtest = case["subtest"].as_str().unwrap_or("");
        if !matches!(kind, "flows" | "single_flow")
            || options.contains("Decapsulation")
            || subtest.contains("encap VXLAN")
        {
            continue;
        }
        let name = format!("{} {} (line {})", case["test"].as_str().unwrap(), subtest, case["line"]);
        let since: Vec<&str> = case["pcaps_since_previous_expectation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let history: Vec<_> = case["pcaps_read_in_test_so_far"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| dir.join(v.as_str().unwrap()))
            .collect();
        let wanted: Vec<BTreeMap<&str, String>> = case["expected_flows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| expected(f, sflow))
            .collect();
        // One decoder over the test's history; the flows under test come
        // from the files read since the previous expectation.
        let decoded = decode_history(&history);
        let got: Vec<BTreeMap<&str, String>> = decoded[decoded.len() - since.len()..]
            .iter()
            .flatten()
            .flat_map(as_akvorado)
            .map(|m| {
                m.into_iter()
                    .filter(|(k, v)| !(unsampled(k, v) || (sflow && *k == "FlowDirection")))
                    .collect()
            })
            .collect();
        let compared_with = case["compared_with"].as_str().unwrap();
        let selected: Vec<&BTreeMap<&str, String>> = if compared_with == "flow4" {
            got.get(3).into_iter().collect()
        } else if let Some(n) = compared_with.strip_prefix("(*got)[:").and_then(|s| s.strip_suffix(']')) {
            got.iter().take(n.parse().unwrap()).collect()
        } else {
            got.iter().collect()
        };
        *checked.entry("cases").or_default() += 1;
        if selected.len() != wanted.len() {
            failures.push(format!(
                "{name}: {} flows expected, we have {}",
                wanted.len(),
                selected.len()
            ));
            continue;
        }
        for (i, (ours, theirs)) in selected.iter().zip(&wanted).enumerate() {
            *checked.entry("flows").or_default() += 1;
            for k in COMPARED {
                *checked.entry("fields").or_default() += 1;
                let test = case["test"].as_str().unwrap();
                let known = KNOWN_DIFFERENCES
                    .iter()
                    .find(|(t, st, n, f, _)| *t == test && *st == subtest && *n == i && f == k);
                if let Some((.., why)) = known {
                    *checked.entry("known differences").or_default() += 1;
                    if ours.get(k) == theirs.get(k) {
                        failures.push(format!(
                            "{name}: flow {i} {k} now agrees; drop it from KNOWN_DIFFERENCES"
                        ));
                    } else {
                        println!("known difference {name} flow {i} {k}: {why}");
                    }
                } else if ours.get(k) != theirs.get(k) {
                    failures.push(format!(
                        "{name}: flow {i} {k}: ours {:?}, akvorado {:?}",
                        ours.get(k),
                        theirs.get(k)
                    ));
                }
            }
        }
    }
}

/// Decodes files as one stream; returns the flows of each file.
fn decode_history(files: &[std::path::PathBuf]) -> Vec<Vec<FlowRecord>> {
    let decoded = common::decode_captures(files);
    // decode_captures numbers frames across files; split by file using the
    // per-file frame counts.
    let mut out = Vec::new();
    let mut it = decoded.into_iter().peekable();
    let mut frames_before = 0;
    for f in files {
        let n = flowlens_app::capture::read_file(f, |_| {}).unwrap().packets;
        let mut flows = Vec::new();
        while let Some(d) = it.next_if(|d| d.frame <= frames_before + n) {
            flows.extend(d.flows);
        }
        frames_before += n;
        out.push(flows);
    }
    out
}

#[test]
fn akvorado_goldens_agree() {
    let Some(root) = common::flowdata() else { return };
    let mut failures = Vec::new();
    let mut checked = BTreeMap::new();
    check_suite(&root.join("akvorado/netflow"), &mut failures, &mut checked);
    check_suite(&root.join("akvorado/sflow"), &mut failures, &mut checked);
    println!("akvorado goldens: {checked:?}");
    assert!(checked["flows"] > 0);
    assert!(
        failures.is_empty(),
        "{} disagreements with akvorado:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
