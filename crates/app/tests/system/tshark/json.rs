//! Running tshark and reading its JSON: leaves in document order, the
//! flow records of cflow and sFlow layers, per frame.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Flattened leaves of a JSON object, in document order (template order for
/// cflow records, so duplicated fields can be resolved like the decoder does).
#[derive(Clone, Default)]
pub(super) struct Leaves(pub(super) Vec<(String, String)>);

impl Leaves {
    pub(super) fn push(&mut self, k: &str, v: &str) {
        self.0.push((k.to_string(), v.to_string()));
    }
    pub(super) fn contains_key(&self, k: &str) -> bool {
        self.0.iter().any(|(x, _)| x == k)
    }
    pub(super) fn first(&self, keys: &[&str]) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| keys.contains(&k.as_str()))
            .map(|(_, v)| v.as_str())
    }
    /// The last value among `keys`: a template that repeats an element
    /// (outer and inner header of a tunnel) is read with the last one winning,
    /// as nfacctd does.
    pub(super) fn last(&self, keys: &[&str]) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| keys.contains(&k.as_str()))
            .map(|(_, v)| v.as_str())
    }
}

pub(super) fn flatten_into(v: &Value, out: &mut Leaves) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match v {
                    Value::String(s) => out.push(k, s),
                    Value::Array(a) => {
                        for x in a {
                            match x {
                                Value::String(s) => out.push(k, s),
                                other => flatten_into(other, out),
                            }
                        }
                    }
                    other => flatten_into(other, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| flatten_into(x, out)),
        _ => {}
    }
}

pub(super) fn flatten(v: &Value) -> Leaves {
    let mut l = Leaves::default();
    flatten_into(v, &mut l);
    l
}

/// Direct leaves of an object, not descending into sub-records.
pub(super) fn header_leaves(v: &Value) -> Leaves {
    let mut l = Leaves::default();
    if let Value::Object(m) = v {
        for (k, v) in m {
            match v {
                Value::String(s) => l.push(k, s),
                Value::Object(_) if k.ends_with("_tree") => flatten_into(v, &mut l),
                _ => {}
            }
        }
    }
    l
}

/// One record as tshark shows it, with its packet header's fields.
pub(super) struct TsRecord {
    pub(super) header: Leaves,
    pub(super) fields: Leaves,
}

pub(super) fn items(v: &Value) -> Vec<(&String, &Value)> {
    match v {
        Value::Object(m) => m
            .iter()
            .flat_map(|(k, v)| match v {
                Value::Array(a) => a.iter().map(|x| (k, x)).collect::<Vec<_>>(),
                _ => vec![(k, v)],
            })
            .collect(),
        _ => vec![],
    }
}

pub(super) fn is_flow_key(k: &str) -> bool {
    k.starts_with("Flow ") || k.starts_with("pdu ")
}

/// Flow records of a cflow layer: data records that carry at least one
/// flow key (options records hold only scope/sampling/name fields).
pub(super) fn cflow_records(layer: &Value, out: &mut Vec<TsRecord>, sys_init: &mut Option<String>) {
    let mut header = header_leaves(layer);
    // IPFIX uptime-relative times need the exporter's system init time,
    // which comes in options data earlier in the stream; carry tshark's own
    // reading of it along.
    for (k, v) in items(layer) {
        if k.starts_with("FlowSet ") || k.starts_with("Set ") {
            for (k2, v2) in items(v) {
                if is_flow_key(k2) {
                    if let Some(t) = flatten(v2).first(&["cflow.sys_init_time"]) {
                        *sys_init = Some(t.to_string());
                    }
                }
            }
        }
    }
    if let Some(t) = sys_init {
        header.push("flowlens.sys_init", t);
    }
    let mut push = |rec: &Value| {
        let fields = flatten(rec);
        const FLOW_KEYS: &[&str] = &[
            "cflow.srcaddr",
            "cflow.dstaddr",
            "cflow.srcaddrv6",
            "cflow.dstaddrv6",
            "cflow.octets",
            "cflow.packets",
            "cflow.protocol",
            "cflow.data_link_frame_section",
        ];
        if FLOW_KEYS.iter().any(|k| fields.contains_key(k)) {
            out.push(TsRecord {
                header: header.clone(),
                fields,
            });
        }
    };
    for (k, v) in items(layer) {
        if is_flow_key(k) {
            push(v);
        } else if k.starts_with("FlowSet ") || k.starts_with("Set ") {
            for (k2, v2) in items(v) {
                if is_flow_key(k2) {
                    push(v2);
                }
            }
        }
    }
}

pub(super) fn sflow_records(layer: &Value, out: &mut Vec<TsRecord>) {
    let header = header_leaves(layer);
    for (k, v) in items(layer) {
        if k.starts_with("Flow sample") || k.starts_with("Expanded flow sample") {
            out.push(TsRecord {
                header: header.clone(),
                fields: flatten(v),
            });
        }
    }
}

/// Runs tshark over a capture, decoding the given UDP ports as cflow or
/// sflow. Returns frame number → records.
pub(super) fn tshark(tshark: &Path, pcap: &Path, ports: &BTreeMap<u16, &'static str>) -> BTreeMap<u64, Vec<TsRecord>> {
    let mut cmd = Command::new(tshark);
    cmd.arg("-r")
        .arg(pcap)
        .args(["-T", "json", "--no-duplicate-keys", "-n"]);
    for (port, proto) in ports {
        cmd.arg("-d").arg(format!("udp.port=={port},{proto}"));
    }
    let out = cmd.output().expect("run tshark");
    // tshark exits non-zero on a capture cut short in the middle of a packet
    // but still prints every whole packet.
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "tshark output for {} is not JSON ({e}): {}",
            pcap.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut frames = BTreeMap::new();
    let mut sys_init = None;
    for pkt in v.as_array().into_iter().flatten() {
        let layers = &pkt["_source"]["layers"];
        let num: u64 = layers["frame"]["frame.number"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut recs = Vec::new();
        for (k, v) in items(layers) {
            match k.as_str() {
                "cflow" => cflow_records(v, &mut recs, &mut sys_init),
                "sflow" => sflow_records(v, &mut recs),
                _ => {}
            }
        }
        frames.insert(num, recs);
    }
    frames
}
