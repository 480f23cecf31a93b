//! The Prometheus endpoint (`metrics.path`, default `/metrics`): traffic
//! series over the configured dimensions ([`traffic`]), bandwidth over the
//! configured windows, and the service's health — all from counters the
//! service keeps anyway, encoded with `prometheus-client` at scrape time.
//! Every metric name is written here.

pub mod traffic;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

pub use traffic::Traffic;

use crate::serve::http::AppState;
use crate::serve::telemetry::{lock, DatagramDrop, FlowDrop};

/// Largest `metrics.max_series` (each series keeps an hour of 10-second
/// buckets: about 3 KB).
pub const MAX_SERIES_LIMIT: usize = 20_000;

/// The traffic series at scrape time.
#[derive(Debug)]
struct TrafficCollector {
    dims: Vec<&'static str>,
    series: Vec<(Vec<String>, traffic::Series)>,
    windows: Vec<(String, u64)>,
    now_secs: i64,
    folded: u64,
}

fn labels(names: &[&'static str], values: &[String]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| n.to_string())
        .zip(values.iter().cloned())
        .collect()
}

impl Collector for TrafficCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        type Get = fn(&traffic::Series) -> u64;
        let counters: [(&str, &str, Get); 3] = [
            ("flows", "Flows seen, per series.", |s| s.flows),
            ("bytes", "Bytes, sampling-corrected, per series.", |s| s.bytes),
            ("packets", "Packets, sampling-corrected, per series.", |s| s.packets),
        ];
        for (name, help, get) in counters {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (values, s) in &self.series {
                let l = labels(&self.dims, values);
                ConstCounter::new(get(s)).encode(m.encode_family(&l)?)?;
            }
        }
        let mut m = enc.encode_descriptor(
            "bandwidth_bps",
            "Bits per second over the window (complete 10-second buckets before the scrape), per series.",
            None,
            MetricType::Gauge,
        )?;
        for (values, s) in &self.series {
            for (w, secs) in &self.windows {
                let mut l = labels(&self.dims, values);
                l.push(("window".into(), w.clone()));
                ConstGauge::new(s.bandwidth(self.now_secs, *secs)).encode(m.encode_family(&l)?)?;
            }
        }
        let m = enc.encode_descriptor(
            "series_folded",
            "Flows counted in the \"other\" series because metrics.max_series was reached.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(self.folded).encode(m)?;
        let m = enc.encode_descriptor("traffic_series", "Traffic series now.", None, MetricType::Gauge)?;
        ConstGauge::new(self.series.len() as i64).encode(m)?;
        Ok(())
    }
}

/// A counter by its label value.
type Count = (&'static str, u64);

/// The service's own numbers at scrape time.
#[derive(Debug, Default)]
struct Health {
    datagrams: u64,
    records: u64,
    stored: u64,
    flow_drops: Vec<(&'static str, u64)>,
    datagram_drops: Vec<(&'static str, u64)>,
    decode_errors: Vec<(&'static str, u64)>,
    queues: Vec<u64>,
    exporters: Vec<(String, u64, u64, u64)>,
    kernel_drops: Vec<(String, u64)>,
    store_flushes: u64,
    store_flush_errors: u64,
    store_last_flush_seconds: f64,
    cache_hits: u64,
    cache_misses: u64,
    geoip_reloads: u64,
    uptime_seconds: u64,
    processing: Option<prometheus_client::metrics::histogram::Histogram>,
}

impl Collector for Health {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counter = |enc: &mut DescriptorEncoder, name: &str, help: &str, v: u64| -> std::fmt::Result {
            ConstCounter::new(v).encode(enc.encode_descriptor(name, help, None, MetricType::Counter)?)
        };
        counter(&mut enc, "received_packets", "UDP datagrams received.", self.datagrams)?;
        counter(
            &mut enc,
            "parsed_records",
            "Flow records decoded (and taken by POST /ingest).",
            self.records,
        )?;
        counter(
            &mut enc,
            "stored_records",
            "Flow records written to the store.",
            self.stored,
        )?;
        counter(
            &mut enc,
            "store_flushes",
            "Commits of the store writer.",
            self.store_flushes,
        )?;
        counter(
            &mut enc,
            "store_flush_errors",
            "Failed commits of the store writer.",
            self.store_flush_errors,
        )?;
        counter(
            &mut enc,
            "enrichment_cache_hits",
            "Enrichment lookups answered by the cache.",
            self.cache_hits,
        )?;
        counter(
            &mut enc,
            "enrichment_cache_misses",
            "Enrichment lookups that went to the databases.",
            self.cache_misses,
        )?;
        counter(
            &mut enc,
            "geoip_reloads",
            "GeoIP database sets loaded after a change.",
            self.geoip_reloads,
        )?;
        let families: [(&str, &str, &str, &[Count]); 3] = [
            (
                "dropped_records",
                "Flow records dropped, by reason.",
                "reason",
                &self.flow_drops,
            ),
            (
                "dropped_packets",
                "UDP datagrams dropped before decoding, by reason.",
                "reason",
                &self.datagram_drops,
            ),
            ("decode_errors", "Decode errors, by code.", "code", &self.decode_errors),
        ];
        for (name, help, label, values) in families {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (k, v) in values {
                ConstCounter::new(*v).encode(m.encode_family(&[(label, *k)])?)?;
            }
        }
        let mut m = enc.encode_descriptor(
            "kernel_drops",
            "Datagrams the kernel dropped on a full socket buffer.",
            None,
            MetricType::Counter,
        )?;
        for (l, v) in &self.kernel_drops {
            ConstCounter::new(*v).encode(m.encode_family(&[("listener", l.as_str())])?)?;
        }
        let mut m = enc.encode_descriptor(
            "worker_queue_length",
            "Batches waiting per decode worker.",
            None,
            MetricType::Gauge,
        )?;
        for (i, v) in self.queues.iter().enumerate() {
            let w = i.to_string();
            ConstGauge::new(*v as i64).encode(m.encode_family(&[("worker", w.as_str())])?)?;
        }
        type Get = fn(&(String, u64, u64, u64)) -> u64;
        let per_exporter: [(&str, &str, MetricType, Get); 3] = [
            (
                "exporter_datagrams",
                "Datagrams per exporter.",
                MetricType::Counter,
                |e| e.1,
            ),
            (
                "exporter_sequence_lost",
                "Records an exporter's sequence numbers say were lost.",
                MetricType::Counter,
                |e| e.2,
            ),
            (
                "exporter_templates",
                "Templates held per exporter.",
                MetricType::Gauge,
                |e| e.3,
            ),
        ];
        for (name, help, t, get) in per_exporter {
            let mut m = enc.encode_descriptor(name, help, None, t)?;
            for e in &self.exporters {
                let l = [("exporter", e.0.as_str())];
                if matches!(t, MetricType::Counter) {
                    ConstCounter::new(get(e)).encode(m.encode_family(&l)?)?;
                } else {
                    ConstGauge::new(get(e) as i64).encode(m.encode_family(&l)?)?;
                }
            }
        }
        let m = enc.encode_descriptor(
            "store_last_flush_seconds",
            "How long the store writer's last commit took.",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(self.store_last_flush_seconds).encode(m)?;
        let m = enc.encode_descriptor(
            "uptime_seconds",
            "Seconds since the service started.",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(self.uptime_seconds as i64).encode(m)?;
        if let Some(h) = &self.processing {
            let m = enc.encode_descriptor(
                "processing_duration_seconds",
                "Time a decode worker spends on one received batch of datagrams.",
                None,
                MetricType::Histogram,
            )?;
            h.encode(m)?;
        }
        Ok(())
    }
}

fn health(s: &AppState) -> Health {
    let t = &s.status.telemetry;
    let w = &s.status.writer;
    let e = &s.sinks.enrich;
    let mut h = Health {
        datagrams: t.datagrams.load(Ordering::Relaxed),
        records: t.flows_received.load(Ordering::Relaxed),
        stored: w.rows.load(Ordering::Relaxed),
        flow_drops: FlowDrop::ALL.iter().map(|d| (d.name(), t.flow_drops(*d))).collect(),
        datagram_drops: DatagramDrop::ALL
            .iter()
            .map(|d| (d.name(), t.datagram_drops(*d)))
            .collect(),
        decode_errors: lock(&t.decode_errors).iter().map(|(k, v)| (*k, *v)).collect(),
        queues: t
            .decode_queues
            .iter()
            .map(|q| q.load(Ordering::Relaxed) as u64)
            .collect(),
        store_flushes: w.flushes.load(Ordering::Relaxed),
        store_flush_errors: w.flush_errors.load(Ordering::Relaxed),
        store_last_flush_seconds: w.last_flush_us.load(Ordering::Relaxed) as f64 / 1e6,
        cache_hits: e.stats.cache_hits.load(Ordering::Relaxed),
        cache_misses: e.stats.cache_misses.load(Ordering::Relaxed),
        geoip_reloads: e.geo.reloads.load(Ordering::Relaxed),
        uptime_seconds: t.started.elapsed().as_secs(),
        processing: Some(t.processing.clone()),
        ..Health::default()
    };
    let mut by_ip: std::collections::BTreeMap<String, (u64, u64, u64)> = Default::default();
    for (addr, x) in lock(&t.exporters).iter() {
        let v = by_ip.entry(addr.ip().to_string()).or_default();
        v.0 += x.datagrams;
        v.1 += x.sequence_lost;
        v.2 += x.templates as u64;
    }
    h.exporters = by_ip.into_iter().map(|(k, (a, b, c))| (k, a, b, c)).collect();
    for (i, sock) in &s.status.sockets {
        if let Some(d) = crate::serve::listen::kernel_drops(sock) {
            let name = s
                .status
                .config
                .collector
                .listeners
                .get(*i)
                .map(|l| l.addr().to_string())
                .unwrap_or_default();
            h.kernel_drops.push((name, d));
        }
    }
    h
}

fn traffic_collector(tr: &Traffic, m: &crate::config::Metrics, now_secs: i64) -> TrafficCollector {
    TrafficCollector {
        dims: tr.dims().iter().map(|d| d.label()).collect(),
        series: tr.snapshot(),
        windows: m.windows.iter().map(|w| (w.to_string(), w.0.as_secs())).collect(),
        now_secs,
        folded: tr.folded.load(Ordering::Relaxed),
    }
}

/// The traffic series alone as OpenMetrics text (the bench's scrape).
pub fn encode_traffic(tr: &Traffic, m: &crate::config::Metrics, now_secs: i64) -> String {
    let mut r = Registry::with_prefix(m.namespace.clone());
    r.register_collector(Box::new(traffic_collector(tr, m, now_secs)));
    let mut out = String::new();
    let _ = prometheus_client::encoding::text::encode(&mut out, &r);
    out
}

/// The metrics as OpenMetrics text.
pub fn render(s: &AppState) -> String {
    let m = &s.status.config.metrics;
    let prefix = match &m.subsystem {
        Some(sub) => format!("{}_{sub}", m.namespace),
        None => m.namespace.clone(),
    };
    let static_labels = m
        .labels
        .iter()
        .map(|(k, v)| (std::borrow::Cow::Owned(k.clone()), std::borrow::Cow::Owned(v.clone())));
    let mut r = Registry::with_prefix_and_labels(prefix, static_labels);
    r.register_collector(Box::new(traffic_collector(
        &s.sinks.traffic,
        m,
        crate::serve::now().as_millis().div_euclid(1_000),
    )));
    r.register_collector(Box::new(health(s)));
    let mut out = String::new();
    let _ = prometheus_client::encoding::text::encode(&mut out, &r);
    out
}

/// OpenMetrics text as the Prometheus text format (0.0.4): counter
/// families take their `_total` name, `# UNIT` and `# EOF` go.
pub fn to_prometheus_text(open: &str) -> String {
    let counters: std::collections::HashSet<&str> = open
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open.len());
    for line in open.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let fixed = ["# TYPE ", "# HELP "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(name).then(|| format!("{p}{name}_total {tail}"))
        });
        out.push_str(fixed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// `Arc` so the pipeline and the endpoint share one aggregator.
pub fn traffic(c: &crate::config::Config) -> Arc<Traffic> {
    Arc::new(Traffic::new(&c.metrics))
}

#[cfg(test)]
mod tests;
