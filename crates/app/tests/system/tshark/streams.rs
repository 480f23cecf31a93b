//! The inputs: every shared capture (template captures merged ahead of
//! their data) and the raw payload sequences of the peer suites.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common;

/// One input: captures (in order) or bare payloads (wrapped for tshark).
pub(super) struct Stream {
    pub name: String,
    pub pcaps: Vec<PathBuf>,
    pub payloads: Vec<Vec<u8>>,
}

/// All captures, and the raw payload sequences of the peer suites.
pub(super) fn streams(root: &Path) -> Vec<Stream> {
    let mut streams = Vec::new();
    let mut seen = BTreeSet::new();
    // akvorado: template capture then data capture.
    let akv = root.join("akvorado/netflow");
    let akv_files = common::sorted_entries(&akv, |_| true);
    for f in &akv_files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if let Some(base) = name.strip_suffix("-data.pcap") {
            let mut pcaps = vec![];
            for t in [
                format!("{base}-template.pcap"),
                format!("{base}-templates.pcap"),
                format!("{base}-options-template.pcap"),
                format!("{base}-options-data.pcap"),
            ] {
                if akv.join(&t).exists() {
                    pcaps.push(akv.join(&t));
                    seen.insert(akv.join(&t));
                }
            }
            pcaps.push(f.clone());
            seen.insert(f.clone());
            streams.push(Stream {
                name: format!("akvorado/{base}"),
                pcaps,
                payloads: vec![],
            });
        }
    }
    for f in &akv_files {
        if f.extension().is_some_and(|e| e == "pcap") && !seen.contains(f) {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            streams.push(Stream {
                name: format!("akvorado/{name}"),
                pcaps: vec![f.clone()],
                payloads: vec![],
            });
        }
    }
    // Every other capture on its own.
    let mut all = Vec::new();
    collect_pcaps(root, &mut all);
    all.sort();
    for p in all {
        if p.starts_with(&akv) {
            continue;
        }
        let name = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
        streams.push(Stream {
            name,
            pcaps: vec![p],
            payloads: vec![],
        });
    }
    raw_streams(root, &mut streams);
    streams
}

pub(super) fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Bare-payload sequences: each logstash spec context (inputs in the order
/// the spec feeds them), each telegraf case (files in lexical order), the
/// Graylog and logstash-sflow payloads, and logstash payloads no spec uses.
pub(super) fn raw_streams(root: &Path, streams: &mut Vec<Stream>) {
    let ls = root.join("logstash-codec-netflow");
    let index: Value = serde_json::from_slice(&read(&ls.join("golden/_index.json"))).unwrap();
    let mut used = BTreeSet::new();
    for e in index.as_array().unwrap() {
        let inputs: Vec<String> = e["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        used.extend(inputs.iter().cloned());
        streams.push(Stream {
            name: format!("logstash/{}", e["golden"].as_str().unwrap().trim_end_matches(".json")),
            pcaps: vec![],
            payloads: inputs.iter().map(|f| read(&ls.join("dat").join(f))).collect(),
        });
    }
    let dats = common::sorted_entries(&ls.join("dat"), |_| true);
    for d in dats {
        let name = d.file_name().unwrap().to_string_lossy().to_string();
        if !used.contains(&name) {
            streams.push(Stream {
                name: format!("logstash/{name}"),
                pcaps: vec![],
                payloads: vec![read(&d)],
            });
        }
    }
    let tg = root.join("telegraf/testcases");
    let cases = common::sorted_entries(&tg, |p| p.is_dir());
    for c in cases {
        let bins = common::sorted_entries(&c, |p| p.extension().is_some_and(|x| x == "bin"));
        streams.push(Stream {
            name: format!("telegraf/{}", c.file_name().unwrap().to_string_lossy()),
            pcaps: vec![],
            payloads: bins.iter().map(|b| read(b)).collect(),
        });
    }
    for dir in ["graylog-plugin-netflow", "logstash-codec-sflow"] {
        let dats = common::sorted_entries(&root.join(dir), |p| p.extension().is_some_and(|x| x == "dat"));
        for d in dats {
            let name = format!("{dir}/{}", d.file_name().unwrap().to_string_lossy());
            streams.push(Stream {
                name,
                pcaps: vec![],
                payloads: vec![read(&d)],
            });
        }
    }
}

pub(super) fn collect_pcaps(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_pcaps(&p, out);
        } else if p.extension().is_some_and(|x| x == "pcap") {
            out.push(p);
        }
    }
}
