//! Real exporters into the running service: pmacctd (nfprobe NetFlow v5,
//! v9, IPFIX; sfprobe sFlow) and softflowd (v5, v9, IPFIX) read a packet
//! capture and export to `serve` on loopback while tshark captures the
//! exported datagrams. What the store holds afterwards must equal what
//! tshark decodes from those datagrams: flows, bytes and packets.

use std::net::{IpAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flowlens_app::config::{Config, ListenProtocol, Listener};
use flowlens_app::serve::Service;
use flowlens_wire::encode::generate::TrafficGen;
use flowlens_wire::encode::sflow::packet_header;
use flowlens_wire::{Protocol, Timestamp};

use crate::common::{strict, tmp};

fn have(prog: &str, version_arg: &str) -> bool {
    let ok = Command::new(prog)
        .arg(version_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        ok || !strict(),
        "{prog} is required (scripts/install-test-deps installs it)"
    );
    ok
}

/// A capture of realistic traffic for the exporters to meter: packets of
/// generated flows (Ethernet/IP/TCP-UDP-ICMP headers; IP lengths as the
/// flows say), over 20 seconds.
fn traffic_pcap(path: &Path) {
    let mut g = TrafficGen::new(99, "192.0.2.1:2055".parse().unwrap(), Protocol::Ipfix, None);
    let mut f = Vec::new();
    for x in [
        0xa1b2c3d4u32.to_le_bytes().as_slice(),
        &2u16.to_le_bytes(),
        &4u16.to_le_bytes(),
    ] {
        f.extend_from_slice(x);
    }
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65_535u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    let start = 1_767_225_600i64;
    for i in 0..600 {
        let mut r = g.flow(Timestamp::from_secs(start));
        let packets = r.packets.unwrap_or(1).clamp(1, 8);
        let size = (r.bytes.unwrap_or(64) / r.packets.unwrap_or(1).max(1)).clamp(60, 1_500);
        r.bytes = Some(size);
        let hdr = packet_header(&r);
        for k in 0..packets {
            let us = i64::from(i) * 33_000 + k as i64 * 1_000;
            f.extend_from_slice(&((start + us / 1_000_000) as u32).to_le_bytes());
            f.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
            f.extend_from_slice(&(hdr.len() as u32).to_le_bytes());
            f.extend_from_slice(&((size + 14) as u32).to_le_bytes());
            f.extend_from_slice(&hdr);
        }
    }
    std::fs::write(path, f).unwrap();
}

struct Capture {
    child: Child,
    file: PathBuf,
}

fn capture(port: u16, file: PathBuf) -> Capture {
    let _ = std::fs::remove_file(&file);
    let child = Command::new("tshark")
        .args(["-i", "lo", "-f", &format!("udp dst port {port}"), "-w"])
        .arg(&file)
        .arg("-q")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tshark");
    // tshark writes the file header once capturing has started.
    let t = Instant::now();
    while std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) == 0 && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    Capture { child, file }
}

impl Capture {
    fn stop(mut self) -> PathBuf {
        std::thread::sleep(Duration::from_millis(1_500));
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        self.file
    }
}

/// (records, bytes, packets) tshark decodes from the captured datagrams.
fn tshark_totals(file: &Path, port: u16, sflow: bool) -> (u64, u64, u64) {
    let fields: &[&str] = if sflow {
        &["sflow.flow_sample.sampling_rate", "ip.len", "ipv6.plen"]
    } else {
        &["cflow.octets", "cflow.packets"]
    };
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args([
        "-d",
        &format!("udp.port=={port},{}", if sflow { "sflow" } else { "cflow" }),
    ]);
    cmd.args(["-T", "fields", "-E", "occurrence=a", "-E", "separator=/t"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark -r");
    let text = String::from_utf8_lossy(&out.stdout);
    let nums = |s: &str| -> Vec<u64> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().unwrap())
            .collect()
    };
    let (mut records, mut bytes, mut packets) = (0, 0, 0);
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if sflow {
            let rates = nums(cols[0]);
            // The first ip.len is the datagram's own header on loopback.
            let v4 = nums(cols.get(1).copied().unwrap_or(""));
            let v6 = nums(cols.get(2).copied().unwrap_or(""));
            assert!(rates.windows(2).all(|w| w[0] == w[1]), "one rate per datagram: {line}");
            let rate = rates.first().copied().unwrap_or(1);
            let inner: u64 = v4.iter().skip(1).sum::<u64>() + v6.iter().map(|p| p + 40).sum::<u64>();
            records += rates.len() as u64;
            packets += rate * rates.len() as u64;
            bytes += rate * inner;
        } else {
            let o = nums(cols[0]);
            let p = nums(cols.get(1).copied().unwrap_or(""));
            assert_eq!(o.len(), p.len(), "{line}");
            records += o.len() as u64;
            bytes += o.iter().sum::<u64>();
            packets += p.iter().sum::<u64>();
        }
    }
    (records, bytes, packets)
}

fn store_totals(data: &Path) -> (u64, u64, u64) {
    let store = flowlens_store::Store::open(flowlens_store::StoreConfig {
        data_dir: data.to_path_buf(),
        flush_interval: Duration::from_secs(1),
    })
    .unwrap();
    let c = store.connection().unwrap();
    c.query_row(
        "SELECT count(*)::UBIGINT, coalesce(sum(bytes), 0)::UBIGINT, coalesce(sum(packets), 0)::UBIGINT FROM flows",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

/// One exporter run: service up, capture on, exporter to completion,
/// capture off, service stopped; then the comparison.
fn case(name: &str, sflow: bool, export: impl FnOnce(u16) -> std::process::Output) {
    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let data = tmp(&format!("data-{name}"));
    let _ = std::fs::remove_dir_all(&data);
    let mut config = Config::default();
    config.storage.data_dir = data.clone();
    config.web.listen.clear();
    config.collector.listeners = vec![Listener {
        address: IpAddr::from([127, 0, 0, 1]),
        port,
        protocol: ListenProtocol::Auto,
        ..Listener::default()
    }];
    let service = Service::start(config).expect("serve");
    let cap = capture(port, tmp(&format!("{name}.pcap")));
    let out = export(port);
    // pmacctd now and then exits non-zero while its plugin shuts down after
    // exporting everything; what it sent is judged below, by tshark.
    if !out.status.success() {
        eprintln!("{name}: exporter exited with {}", out.status);
    }
    let file = cap.stop();
    let acc = service.shutdown();
    let want = tshark_totals(&file, port, sflow);
    let got = store_totals(&data);
    eprintln!("{name}: tshark {want:?}, stored {got:?}, {acc}");
    assert!(want.0 > 50, "{name}: the exporter sent too little to judge: {want:?}");
    assert!(acc.balanced(), "{name}: {acc}");
    assert_eq!(acc.received, want.0, "{name}: every exported record received");
    assert_eq!(got, want, "{name}: stored = tshark (records, bytes, packets)");
}

fn pmacctd(kind: &str, version: &str, pcap: &Path, port: u16, work: &Path) -> std::process::Output {
    let conf = work.join(format!("pmacctd-{kind}-{version}.conf"));
    let plugin = if kind == "sfprobe" {
        format!("plugins: sfprobe\nsfprobe_receiver: 127.0.0.1:{port}\nsampling_rate: 1\n")
    } else {
        format!("plugins: nfprobe\nnfprobe_receiver: 127.0.0.1:{port}\nnfprobe_version: {version}\n")
    };
    std::fs::write(
        &conf,
        format!(
            "daemonize: false\npcap_savefile: {}\npcap_savefile_wait: false\n{plugin}\
             aggregate: src_host, dst_host, src_port, dst_port, proto, tos\n",
            pcap.display()
        ),
    )
    .unwrap();
    Command::new("pmacctd").arg("-f").arg(&conf).output().expect("pmacctd")
}

#[test]
fn real_exporters_into_serve_agree_with_tshark() {
    if !(have("tshark", "--version") && have("pmacctd", "-V") && have("softflowd", "-h")) {
        return;
    }
    let work = tmp("work");
    std::fs::create_dir_all(&work).unwrap();
    let pcap = work.join("traffic.pcap");
    traffic_pcap(&pcap);
    for (name, version) in [("v5", "5"), ("v9", "9"), ("ipfix", "10")] {
        case(&format!("pmacctd-nfprobe-{name}"), false, |port| {
            pmacctd("nfprobe", version, &pcap, port, &work)
        });
        case(&format!("softflowd-{name}"), false, |port| {
            Command::new("softflowd")
                .arg("-r")
                .arg(&pcap)
                .args(["-n", &format!("127.0.0.1:{port}"), "-v", version, "-d"])
                .output()
                .expect("softflowd")
        });
    }
    case("pmacctd-sfprobe", true, |port| {
        pmacctd("sfprobe", "5", &pcap, port, &work)
    });
}
