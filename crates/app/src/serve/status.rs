//! `GET /api/v1/status`: what the service is doing, from the telemetry
//! counters, with rates over the last few seconds.

use std::collections::VecDeque;
use std::net::UdpSocket;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flowlens_store::writer::WriterStats;
use serde_json::{json, Value};

use super::listen::kernel_drops;
use super::telemetry::{lock, DatagramDrop, Telemetry};
use crate::config::Config;

/// Seconds the rates in the status are averaged over.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

/// Counter snapshots, one a second, for rates.
#[derive(Default)]
pub struct Rates {
    samples: Mutex<VecDeque<Sample>>,
}

#[derive(Clone)]
struct Sample {
    at: Instant,
    listener_datagrams: Vec<u64>,
    listener_flows: Vec<u64>,
    flows: u64,
}

impl Rates {
    pub fn tick(&self, t: &Telemetry) {
        let s = Sample {
            at: Instant::now(),
            listener_datagrams: t
                .listeners
                .iter()
                .map(|l| l.datagrams.load(Ordering::Relaxed))
                .collect(),
            listener_flows: t.listeners.iter().map(|l| l.flows.load(Ordering::Relaxed)).collect(),
            flows: t.flows_received.load(Ordering::Relaxed),
        };
        let mut q = lock(&self.samples);
        q.push_back(s);
        while q.len() > RATE_WINDOW.as_secs() as usize + 1 {
            q.pop_front();
        }
    }

    /// (per-listener datagrams/s, per-listener flows/s, flows/s).
    fn get(&self) -> (Vec<f64>, Vec<f64>, f64) {
        let q = lock(&self.samples);
        let (Some(a), Some(b)) = (q.front(), q.back()) else {
            return (Vec::new(), Vec::new(), 0.0);
        };
        let secs = b.at.duration_since(a.at).as_secs_f64();
        if secs <= 0.0 {
            return (
                vec![0.0; b.listener_datagrams.len()],
                vec![0.0; b.listener_flows.len()],
                0.0,
            );
        }
        let rate = |x: &[u64], y: &[u64]| -> Vec<f64> {
            x.iter()
                .zip(y)
                .map(|(x, y)| y.saturating_sub(*x) as f64 / secs)
                .collect()
        };
        (
            rate(&a.listener_datagrams, &b.listener_datagrams),
            rate(&a.listener_flows, &b.listener_flows),
            b.flows.saturating_sub(a.flows) as f64 / secs,
        )
    }
}

/// What the status needs besides the counters.
pub struct StatusSource {
    pub config: Config,
    pub telemetry: Arc<Telemetry>,
    pub writer: Arc<WriterStats>,
    pub rates: Rates,
    /// (listener index, socket) for the kernel's drop counters.
    pub sockets: Vec<(usize, UdpSocket)>,
    /// Receive buffer granted per listener, when the kernel capped it.
    pub capped_buffers: Vec<Option<usize>>,
}

/// Resident memory of this process, bytes.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(4096) as u64)
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub fn status(s: &StatusSource) -> Value {
    let t = &s.telemetry;
    let (dg_rates, flow_rates, flows_per_s) = s.rates.get();
    let listeners: Vec<Value> = s
        .config
        .collector
        .listeners
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let st = &t.listeners[i];
            let drops: u64 = s
                .sockets
                .iter()
                .filter(|(j, _)| *j == i)
                .filter_map(|(_, sock)| kernel_drops(sock))
                .sum();
            json!({
                "address": l.addr().to_string(),
                "protocol": l.protocol.name(),
                "sockets": l.sockets,
                "interface": l.interface,
                "datagrams": st.datagrams.load(Ordering::Relaxed),
                "bytes": st.bytes.load(Ordering::Relaxed),
                "flows": st.flows.load(Ordering::Relaxed),
                "datagrams_per_second": round(dg_rates.get(i).copied().unwrap_or(0.0)),
                "flows_per_second": round(flow_rates.get(i).copied().unwrap_or(0.0)),
                "kernel_drops": drops,
                "receive_buffer_capped_to": s.capped_buffers.get(i).copied().flatten(),
            })
        })
        .collect();
    let mut exporters: Vec<Value> = lock(&t.exporters)
        .iter()
        .map(|(addr, e)| {
            json!({
                "address": addr.to_string(),
                "protocol": e.protocol,
                "datagrams": e.datagrams,
                "flows": e.flows,
                "errors": e.errors,
                "sequence_lost": e.sequence_lost,
                "templates": e.templates,
                "sampling_rate": e.sampling_rate,
                "last_seen": e.last_seen_unix,
                "domains": e.domains,
            })
        })
        .collect();
    exporters.sort_by(|a, b| a["address"].as_str().cmp(&b["address"].as_str()));
    let datagram_drops: serde_json::Map<String, Value> = DatagramDrop::ALL
        .iter()
        .map(|d| (d.name().to_string(), json!(t.datagram_drops(*d))))
        .collect();
    let acc = t.accounting(&s.writer);
    let w = &s.writer;
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": t.started.elapsed().as_secs(),
        "memory": { "rss_bytes": rss_bytes() },
        "listeners": listeners,
        "datagrams": {
            "received": t.datagrams.load(Ordering::Relaxed),
            "dropped": datagram_drops,
            "decode_errors": *lock(&t.decode_errors),
        },
        "flows": {
            "received": acc.received,
            "stored": acc.stored,
            "dropped": acc.dropped,
            "per_second": round(flows_per_s),
        },
        "queues": {
            "decode": t.decode_queues.iter().map(|q| q.load(Ordering::Relaxed)).collect::<Vec<_>>(),
            "decode_capacity": s.config.pipeline.decode_queue,
            "store": w.queued.load(Ordering::Relaxed),
            "store_capacity": flowlens_store::limits::WRITER_QUEUE_BATCHES,
        },
        "store": {
            "data_dir": s.config.storage.data_dir,
            "flushes": w.flushes.load(Ordering::Relaxed),
            "flush_errors": w.flush_errors.load(Ordering::Relaxed),
            "last_flush_ms": w.last_flush_us.load(Ordering::Relaxed) as f64 / 1e3,
            "rollup_keys_folded": w.folded.load(Ordering::Relaxed),
        },
        "exporters": exporters,
    })
}
