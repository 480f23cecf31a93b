//! Shared helpers: where the shared test data lives, whether an outside
//! program may be skipped, and a tiny pcap writer for wrapping bare payloads.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use flowlens_app::capture;
use flowlens_wire::{Batch, Decoder, FlowRecord, Timestamp};

/// True when missing tools or data must fail the run instead of skipping.
/// A path in this run's temporary directory.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowlens-system-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

pub fn strict() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
        || std::env::var("FLOWLENS_SYSTEM_TESTS").is_ok_and(|v| v == "1")
}

/// `../shared/flowdata` (or `$FLOWLENS_FLOWDATA`).
pub fn flowdata() -> Option<PathBuf> {
    let p = std::env::var_os("FLOWLENS_FLOWDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/flowdata"));
    if p.join("MANIFEST.tsv").exists() {
        return Some(p);
    }
    assert!(!strict(), "shared flow captures not found at {}", p.display());
    eprintln!("skipping: shared flow captures not found at {}", p.display());
    None
}

/// An outside program, or `None` (skip) when it is missing outside CI.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(PathBuf::from(name));
    }
    assert!(
        !strict(),
        "{name} is required for this test (install it with scripts/install-test-deps)"
    );
    eprintln!("skipping: {name} not installed (scripts/install-test-deps installs it)");
    None
}

/// Writes a classic pcap with each payload as an Ethernet/IPv4/UDP frame
/// from `src` to `dst`, one second apart.
pub fn write_pcap(path: &Path, payloads: &[(Vec<u8>, SocketAddr, SocketAddr)]) {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&262_144u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    for (i, (p, src, dst)) in payloads.iter().enumerate() {
        let (SocketAddr::V4(s), SocketAddr::V4(d)) = (src, dst) else {
            panic!("IPv4 only")
        };
        let mut frame = vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = 20 + 8 + p.len();
        let mut ip = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0, 0, 64, 17, 0, 0];
        ip.extend_from_slice(&s.ip().octets());
        ip.extend_from_slice(&d.ip().octets());
        let sum = flowlens_wire::encode::ipv4_checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        frame.extend_from_slice(&ip);
        let ulen = 8 + p.len();
        frame.extend_from_slice(&s.port().to_be_bytes());
        frame.extend_from_slice(&d.port().to_be_bytes());
        frame.extend_from_slice(&(ulen as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(p);
        f.extend_from_slice(&(1_600_000_000u32 + i as u32).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        f.extend_from_slice(&frame);
    }
    std::fs::write(path, f).expect("write pcap");
}

/// One datagram's decode result, in capture order.
pub struct Decoded {
    pub frame: u64,
    pub dst_port: u16,
    pub flows: Vec<FlowRecord>,
    /// The last `replayed` of `flows` came from data held for a template.
    pub replayed: usize,
    pub batch: Batch,
    pub error: Option<String>,
}

/// Decodes the UDP datagrams of captures in order with one decoder.
pub fn decode_captures(paths: &[PathBuf]) -> Vec<Decoded> {
    let mut dec = Decoder::new();
    let mut out = Vec::new();
    // Frame numbers continue across files, as in a merged capture.
    let mut frames_before = 0;
    for p in paths {
        let stats = capture::read_file(p, |d| {
            let mut batch = Batch::new();
            let r = dec.decode(&d.payload, d.src, d.time, &mut batch);
            out.push(Decoded {
                frame: frames_before + d.frame,
                dst_port: d.dst.port(),
                flows: batch.flows.clone(),
                replayed: r.as_ref().map_or(0, |g| g.replayed),
                batch,
                error: r.err().map(|e| e.code().to_string()),
            });
        })
        .unwrap_or_else(|e| panic!("{e}"));
        frames_before += stats.packets;
    }
    out
}

/// Decodes bare payloads in order with one decoder, as if from `exporter`.
#[allow(dead_code)] // used by the golden tests
pub fn decode_payloads(payloads: &[Vec<u8>], exporter: SocketAddr) -> Vec<Decoded> {
    let mut dec = Decoder::new();
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut batch = Batch::new();
            let r = dec.decode(p, exporter, Timestamp::from_secs(1_600_000_000 + i as i64), &mut batch);
            Decoded {
                frame: i as u64 + 1,
                dst_port: 0,
                flows: batch.flows.clone(),
                replayed: r.as_ref().map_or(0, |g| g.replayed),
                batch,
                error: r.err().map(|e| e.code().to_string()),
            }
        })
        .collect()
}

/// The entries of `dir` that pass `keep`, sorted by path.
pub fn sorted_entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| keep(p))
        .collect();
    v.sort();
    v
}
