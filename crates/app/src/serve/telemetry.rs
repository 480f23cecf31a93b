//! The service's counters, in one place: every datagram and flow is counted
//! where it ends (stored, or dropped with a reason), so received = stored +
//! dropped holds and `/api/v1/status` can show it.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use flowlens_store::writer::WriterStats;
use serde::Serialize;

/// Why a datagram was dropped before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramDrop {
    /// The sender is not in `collector.allow_exporters`.
    NotAllowed,
    /// The decode worker's queue was full.
    DecodeQueueFull,
    /// A protocol the listener does not take (e.g. sFlow on a NetFlow port).
    WrongProtocol,
}

impl DatagramDrop {
    pub const ALL: [DatagramDrop; 3] = [
        DatagramDrop::NotAllowed,
        DatagramDrop::DecodeQueueFull,
        DatagramDrop::WrongProtocol,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DatagramDrop::NotAllowed => "not_allowed",
            DatagramDrop::DecodeQueueFull => "decode_queue_full",
            DatagramDrop::WrongProtocol => "wrong_protocol",
        }
    }
}

/// Why a decoded flow was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowDrop {
    /// Another router already reported it (de-duplication).
    Duplicate,
    /// The store writer's queue was full.
    StoreQueueFull,
    /// The store failed to write the batch (counted by the writer).
    StoreWriteFailed,
}

impl FlowDrop {
    pub const ALL: [FlowDrop; 3] = [
        FlowDrop::Duplicate,
        FlowDrop::StoreQueueFull,
        FlowDrop::StoreWriteFailed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FlowDrop::Duplicate => "duplicate",
            FlowDrop::StoreQueueFull => "store_queue_full",
            FlowDrop::StoreWriteFailed => "store_write_failed",
        }
    }
}

/// Exporters tracked one by one in the status; the rest are summed.
pub const MAX_TRACKED_EXPORTERS: usize = 10_000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct ExporterStats {
    pub protocol: &'static str,
    pub datagrams: u64,
    pub flows: u64,
    /// Decode errors by code.
    pub errors: BTreeMap<&'static str, u64>,
    /// Records the exporter's sequence numbers say were lost on the way.
    pub sequence_lost: u64,
    pub templates: usize,
    /// The sampling rate (1 in N) of the latest flow that carried one.
    pub sampling_rate: Option<u32>,
    pub last_seen_unix: i64,
    /// Per observation domain (v9 source id, IPFIX domain, sFlow
    /// sub-agent, v5 engine): datagrams, flows, records lost.
    pub domains: BTreeMap<u32, DomainStats>,
}

/// Observation domains tracked per exporter; more are summed into the
/// exporter's totals only.
pub const MAX_DOMAINS_PER_EXPORTER: usize = 64;

#[derive(Debug, Clone, Default, Serialize)]
pub struct DomainStats {
    pub datagrams: u64,
    pub flows: u64,
    pub sequence_lost: u64,
}

#[derive(Debug, Default)]
pub struct ListenerStats {
    pub datagrams: AtomicU64,
    pub bytes: AtomicU64,
    pub flows: AtomicU64,
}

#[derive(Debug)]
pub struct Telemetry {
    pub started: Instant,
    /// One per listener socket group, in `collector.listeners` order.
    pub listeners: Vec<ListenerStats>,
    pub datagrams: AtomicU64,
    datagram_drops: [AtomicU64; DatagramDrop::ALL.len()],
    /// Flows that came out of the decoders (and POST /ingest, import).
    pub flows_received: AtomicU64,
    flow_drops: [AtomicU64; FlowDrop::ALL.len()],
    pub decode_errors: Mutex<BTreeMap<&'static str, u64>>,
    pub exporters: Mutex<HashMap<SocketAddr, ExporterStats>>,
    /// Batches waiting per decode worker.
    pub decode_queues: Vec<AtomicUsize>,
    /// Seconds a decode worker spends on one received batch of datagrams
    /// (decode, accounting, enrichment of what it completes).
    pub processing: prometheus_client::metrics::histogram::Histogram,
}

/// Buckets of [`Telemetry::processing`]: 10 µs to about 80 ms.
pub fn processing_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(1e-5, 2.0, 14)
}

impl Telemetry {
    pub fn new(listeners: usize, workers: usize) -> Telemetry {
        Telemetry {
            started: Instant::now(),
            listeners: (0..listeners).map(|_| ListenerStats::default()).collect(),
            datagrams: AtomicU64::new(0),
            datagram_drops: Default::default(),
            flows_received: AtomicU64::new(0),
            flow_drops: Default::default(),
            decode_errors: Mutex::new(BTreeMap::new()),
            exporters: Mutex::new(HashMap::new()),
            decode_queues: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
            processing: prometheus_client::metrics::histogram::Histogram::new(processing_buckets()),
        }
    }

    pub fn drop_datagrams(&self, why: DatagramDrop, n: u64) {
        self.datagram_drops[why as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub fn datagram_drops(&self, why: DatagramDrop) -> u64 {
        self.datagram_drops[why as usize].load(Ordering::Relaxed)
    }

    pub fn drop_flows(&self, why: FlowDrop, n: u64) {
        self.flow_drops[why as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub fn flow_drops(&self, why: FlowDrop) -> u64 {
        self.flow_drops[why as usize].load(Ordering::Relaxed)
    }

    pub fn decode_error(&self, code: &'static str) {
        *lock(&self.decode_errors).entry(code).or_default() += 1;
    }

    /// The flow accounting as it stands (`store`: the writer's counters).
    pub fn accounting(&self, store: &WriterStats) -> Accounting {
        let mut dropped: BTreeMap<&'static str, u64> =
            FlowDrop::ALL.iter().map(|d| (d.name(), self.flow_drops(*d))).collect();
        *dropped.entry(FlowDrop::StoreWriteFailed.name()).or_default() += store.failed_rows.load(Ordering::Relaxed);
        dropped.retain(|_, n| *n > 0);
        Accounting {
            received: self.flows_received.load(Ordering::Relaxed),
            stored: store.rows.load(Ordering::Relaxed),
            dropped,
        }
    }
}

/// received = stored + Σ dropped, once every queue has drained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accounting {
    pub received: u64,
    pub stored: u64,
    pub dropped: BTreeMap<&'static str, u64>,
}

impl Accounting {
    pub fn balanced(&self) -> bool {
        self.stored + self.dropped.values().sum::<u64>() == self.received
    }
}

impl std::fmt::Display for Accounting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} flows received, {} stored", self.received, self.stored)?;
        for (why, n) in &self.dropped {
            write!(f, ", {n} {why}")?;
        }
        let unaccounted =
            self.received as i128 - self.stored as i128 - self.dropped.values().map(|n| *n as i128).sum::<i128>();
        if unaccounted != 0 {
            write!(f, ", {unaccounted} unaccounted")?;
        }
        Ok(())
    }
}

/// A poisoned lock still holds valid counters.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
