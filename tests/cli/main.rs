//! The `flowlens` binary as a user runs it. Here: `decode` (capture
//! formats and link types, several files with one template state, raw
//! payloads, output formats, counters, exit codes) and `query`; the service
//! (`serve`, `simulate`, `import`, `config`) in [`serve`].

mod browser;
mod browser_accounts;
mod cdp;
mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub(crate) fn flowlens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(args)
        .output()
        .expect("run flowlens")
}

pub(crate) fn strict() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
        || std::env::var("FLOWLENS_SYSTEM_TESTS").is_ok_and(|v| v == "1")
}

/// `../shared/flowdata`, or `None` (skip) outside CI.
pub(crate) fn flowdata() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/flowdata");
    if p.join("MANIFEST.tsv").exists() {
        return Some(p);
    }
    assert!(!strict(), "shared flow captures not found at {}", p.display());
    None
}

fn data(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn records(o: &Output) -> Vec<Value> {
    assert!(
        o.status.success(),
        "flowlens failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowlens-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// A classic pcap of one UDP datagram carrying `payload`, framed for
/// `linktype`: 1 Ethernet, 113 Linux cooked (SLL), 101 raw IP.
fn pcap_with(linktype: u32, payload: &[u8]) -> Vec<u8> {
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 7, 192, 0, 2, 99];
    let total = (20 + 8 + payload.len()) as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0x9c, 0x40, 0x08, 0x07]); // 40000 → 2055
    ip.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0]);
    ip.extend_from_slice(payload);
    let mut frame = match linktype {
        1 => vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00],
        // packet type, ARPHRD_ETHER, address length, address (8), protocol
        113 => vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00],
        101 => vec![],
        _ => unreachable!(),
    };
    frame.extend_from_slice(&ip);
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    for w in [0u32, 0, 65_535, linktype] {
        f.extend_from_slice(&w.to_le_bytes());
    }
    for w in [1_700_000_000u32, 0, frame.len() as u32, frame.len() as u32] {
        f.extend_from_slice(&w.to_le_bytes());
    }
    f.extend_from_slice(&frame);
    f
}

#[test]
fn decodes_a_capture_to_json_lines_with_a_summary() {
    let Some(root) = flowdata() else { return };
    let o = flowlens(&[
        "decode",
        "--format",
        "json",
        &data(&root.join("akvorado/sflow/data-1140.pcap")),
    ]);
    let recs = records(&o);
    assert_eq!(recs.len(), 5);
    let r = &recs[1];
    assert_eq!(r["protocol"], "sflow5");
    assert_eq!(r["src_addr"], "104.26.8.24");
    assert_eq!(r["dst_addr"], "45.90.161.46");
    assert_eq!(r["src_port"], 443);
    assert_eq!(r["proto"], 6);
    assert_eq!(r["bytes"], 421);
    assert_eq!(r["packets"], 1);
    assert_eq!(r["sampling_rate"], 1024);
    assert_eq!((r["in_if"].as_u64(), r["out_if"].as_u64()), (Some(49001), Some(25)));
    assert_eq!((r["src_as"].as_u64(), r["dst_as"].as_u64()), (Some(13335), Some(39421)));
    assert!(r["time_start"].as_str().unwrap().ends_with('Z'), "RFC 3339 UTC");
    assert!(r.get("nat_src_addr").is_none(), "absent fields are omitted");
    let summary = stderr(&o);
    assert!(
        summary.contains("1 datagrams, 5 flow records") && summary.contains("no errors"),
        "{summary}"
    );
}

#[test]
fn several_files_share_one_template_state() {
    let Some(root) = flowdata() else { return };
    let dir = root.join("akvorado/netflow");
    let together = records(&flowlens(&[
        "decode",
        "--format",
        "json",
        &data(&dir.join("template.pcap")),
        &data(&dir.join("data.pcap")),
    ]));
    assert_eq!(together.len(), 4);
    assert!(together.iter().all(|r| r["protocol"] == "netflow9"));
    // Alone, the data file's sets wait for a template that never comes.
    let alone = flowlens(&["decode", "--format", "json", &data(&dir.join("data.pcap"))]);
    assert!(records(&alone).is_empty());
    let s = stderr(&alone);
    assert!(
        s.contains("held for their template") && s.contains("template_missing"),
        "{s}"
    );
}

#[test]
fn pcapng_decodes_like_pcap() {
    let Some(root) = flowdata() else { return };
    let pcap = root.join("tcpdump/sflow_multiple_counter_30_pdus.pcap");
    let ng = temp("counters.pcapng");
    let editcap = Command::new("editcap")
        .args(["-F", "pcapng"])
        .arg(&pcap)
        .arg(&ng)
        .status();
    match editcap {
        Ok(s) => assert!(s.success()),
        Err(_) if !strict() => return,
        Err(e) => panic!("editcap is required (scripts/install-test-deps installs wireshark-common): {e}"),
    }
    let a = flowlens(&["decode", "--format", "json", "--counters", &data(&pcap)]);
    let b = flowlens(&["decode", "--format", "json", "--counters", &data(&ng)]);
    assert_eq!(records(&a), records(&b));
    assert!(records(&a).iter().any(|r| r["kind"] == "counters"));
}

#[test]
fn linux_cooked_raw_ip_and_ethernet_link_types() {
    let Some(root) = flowdata() else { return };
    let payload = std::fs::read(root.join("telegraf/testcases/netflow_v5_example/netflow_v5.bin")).unwrap();
    let mut outputs = Vec::new();
    for lt in [1, 113, 101] {
        let p = temp(&format!("lt{lt}.pcap"));
        std::fs::write(&p, pcap_with(lt, &payload)).unwrap();
        let recs = records(&flowlens(&["decode", "--format", "json", &data(&p)]));
        assert_eq!(recs.len(), 8, "link type {lt}");
        assert_eq!(recs[0]["exporter"], "192.0.2.7");
        outputs.push(recs);
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
    // And a real Linux cooked capture (pmacct's IPFIX test traffic).
    let sll = root.join("pmacct/112-IPFIXv10-CISCO-options-map-reassignment/traffic-00.pcap");
    let o = flowlens(&["decode", "--format", "json", "--options", &data(&sll)]);
    assert!(stderr(&o).contains("21 datagrams"), "{}", stderr(&o));
    assert!(records(&o).iter().any(|r| r["kind"] == "options"));
}

#[test]
fn raw_payloads_with_an_exporter_address() {
    let Some(root) = flowdata() else { return };
    let bin = root.join("telegraf/testcases/netflow_v5_example/netflow_v5.bin");
    let recs = records(&flowlens(&[
        "decode",
        "--format",
        "json",
        "--raw",
        "--exporter",
        "198.51.100.9",
        &data(&bin),
    ]));
    assert_eq!(recs.len(), 8);
    assert_eq!(recs[0]["exporter"], "198.51.100.9");
    assert_eq!(recs[0]["protocol"], "netflow5");
    let bad = flowlens(&["decode", "--raw", "--exporter", "not-an-address", &data(&bin)]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--exporter"), "{}", stderr(&bad));
}

#[test]
fn counters_only_with_the_flag() {
    let Some(root) = flowdata() else { return };
    let bin = root.join("telegraf/testcases/sflow_v5_example/sflow_v5.bin");
    let without = records(&flowlens(&["decode", "--format", "json", "--raw", &data(&bin)]));
    assert!(without.iter().all(|r| r["kind"] != "counters"));
    let with = records(&flowlens(&[
        "decode",
        "--format",
        "json",
        "--raw",
        "--counters",
        &data(&bin),
    ]));
    let c = with.iter().find(|r| r["kind"] == "counters").expect("a counter record");
    assert_eq!(c["interface"]["if_index"], 3);
    assert_eq!(c["interface"]["in_octets"], 3910);
}

#[test]
fn table_output_is_aligned() {
    let Some(root) = flowdata() else { return };
    let o = flowlens(&[
        "decode",
        "--format",
        "table",
        &data(&root.join("akvorado/sflow/data-1140.pcap")),
    ]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "a header and five records:\n{text}");
    assert!(
        lines[0].contains("src_addr") || lines[0].to_lowercase().contains("src"),
        "{}",
        lines[0]
    );
    // Columns line up: every row has its second column where the header does.
    let col = |l: &str| l.find("  ").map(|i| i + l[i..].find(|c: char| c != ' ').unwrap());
    let header_col = col(lines[0]);
    assert!(lines.iter().all(|l| col(l) == header_col), "{text}");
}

#[test]
fn unreadable_or_non_capture_files_exit_2_with_one_line() {
    for args in [
        vec!["decode", "/nonexistent/flows.pcap"],
        vec!["decode", env!("CARGO_MANIFEST_DIR")],
        vec!["decode", concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")],
    ] {
        let o = flowlens(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("flowlens: "), "{err}");
    }
}

// ---- flowlens query ----

/// A data directory holding 2,000 generated flows received in the last
/// ten minutes; returns it with the flows.
fn data_dir_with_flows(name: &str) -> (PathBuf, Vec<flowlens_store::Flow>) {
    use flowlens_wire::encode::generate::TrafficGen;
    use flowlens_wire::{Protocol, Timestamp};
    let dir = temp(name);
    let _ = std::fs::remove_dir_all(&dir);
    let store = flowlens_store::Store::open(flowlens_store::StoreConfig {
        data_dir: dir.clone(),
        flush_interval: std::time::Duration::from_millis(50),
    })
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut g = TrafficGen::new(5, "192.0.2.1:2055".parse().unwrap(), Protocol::Ipfix, Some(100));
    let flows: Vec<flowlens_store::Flow> = (0..2_000)
        .map(|i| {
            let t = Timestamp::from_secs(now - 600 + i * 600 / 2_000);
            let mut r = g.flow(t);
            r.time_received = t;
            flowlens_store::Flow::new(r)
        })
        .collect();
    let w = flowlens_store::Writer::start(&store).unwrap();
    w.send(flows.clone()).unwrap();
    w.close();
    (dir, flows)
}

#[test]
fn query_top_talkers_as_a_table_and_as_json() {
    let (dir, flows) = data_dir_with_flows("query-top");
    let d = data(&dir);
    let o = flowlens(&[
        "query",
        "proto tcp",
        "--data-dir",
        &d,
        "--since",
        "1h",
        "--by",
        "src_addr",
        "--top",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 5 + 2, "header, 5 rows, other, total:\n{text}");
    assert!(lines[0].starts_with("src_addr") && lines[0].contains("bytes") && lines[0].ends_with("share"));
    assert!(
        lines[7].starts_with("(total)") && lines[7].ends_with("100.0%"),
        "{text}"
    );

    let o = flowlens(&[
        "query",
        "proto tcp",
        "--data-dir",
        &d,
        "--since",
        "1h",
        "--by",
        "src_addr,dst_port",
        "--top",
        "3",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    let tcp: Vec<_> = flows.iter().filter(|f| f.record.proto == Some(6)).collect();
    assert_eq!(v["total"]["flows"], tcp.len() as u64);
    assert_eq!(
        v["total"]["bytes"],
        tcp.iter().map(|f| f.record.scaled_bytes().unwrap()).sum::<u64>(),
        "sampling-corrected"
    );
    assert_eq!(v["rows"].as_array().unwrap().len(), 3);
    assert_eq!(v["by"], serde_json::json!(["src_addr", "dst_port"]));
}

#[test]
fn query_lists_flows_as_csv_and_refuses_bad_input_clearly() {
    let (dir, _) = data_dir_with_flows("query-list");
    let d = data(&dir);
    let o = flowlens(&[
        "query",
        "dst port 443",
        "--data-dir",
        &d,
        "--limit",
        "3",
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.lines().skip(1).all(|l| l.split(',').nth(6) == Some("443")),
        "{text}"
    );

    let bad = flowlens(&["query", "proto tcp and port htps", "--data-dir", &d]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("at column 20: expected a port number"),
        "{}",
        stderr(&bad)
    );
    let bad = flowlens(&["query", "", "--data-dir", &d, "--by", "colour"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("unknown dimension \"colour\""),
        "{}",
        stderr(&bad)
    );
    let bad = flowlens(&["query", "", "--data-dir", &d, "--since", "yesterday"]);
    assert!(stderr(&bad).contains("is not a time"), "{}", stderr(&bad));
    let none = flowlens(&["query", "", "--data-dir", "/nonexistent/flowlens-data"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("no flow database"), "{}", stderr(&none));
}
