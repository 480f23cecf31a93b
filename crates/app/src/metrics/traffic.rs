//! Traffic series for Prometheus: flows, bytes and packets per label
//! combination, and bytes per 10-second bucket for the last hour
//! (bandwidth over any whole-minute window, sliding by 10 s). The number of series is capped: a combination
//! that would pass the cap is added to one `other` series and counted.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use flowlens_store::flow::addr_key;
use flowlens_store::Flow;

use crate::config::{MetricDim, Metrics};

/// Width of a bandwidth bucket, seconds.
pub const BUCKET_SECS: i64 = 10;

/// Buckets of history per series: the longest window (1 h) and the one
/// being filled.
pub const BUCKETS: usize = 361;

/// The most dimensions a series can have (every `MetricDim`).
pub const MAX_DIMS: usize = 12;

/// A value that is not in the flow.
const NONE: u128 = u128::MAX;

/// One label combination: the configured dimensions' values, in order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key {
    n: u8,
    v: [u128; MAX_DIMS],
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        for x in &self.v[..self.n as usize] {
            h.write_u128(*x);
        }
    }
}

#[derive(Debug, Clone)]
pub struct Series {
    pub flows: u64,
    pub bytes: u64,
    pub packets: u64,
    /// Bytes per bucket, a ring indexed by absolute bucket number.
    buckets: Box<[u64; BUCKETS]>,
    /// The absolute bucket number of the newest slot.
    bucket: i64,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            flows: 0,
            bytes: 0,
            packets: 0,
            buckets: Box::new([0; BUCKETS]),
            bucket: 0,
        }
    }
}

impl Series {
    fn slot(b: i64) -> usize {
        b.rem_euclid(BUCKETS as i64) as usize
    }

    /// Moves the ring to bucket `b`, zeroing the buckets passed over.
    fn advance(&mut self, b: i64) {
        if b <= self.bucket {
            return;
        }
        let gap = (b - self.bucket).min(BUCKETS as i64);
        for k in 1..=gap {
            self.buckets[Self::slot(self.bucket + k)] = 0;
        }
        self.bucket = b;
    }

    fn add(&mut self, now_secs: i64, flows: u64, bytes: u64, packets: u64) {
        let b = now_secs.div_euclid(BUCKET_SECS);
        self.advance(b);
        self.flows += flows;
        self.bytes += bytes;
        self.packets += packets;
        self.buckets[Self::slot(b)] += bytes;
    }

    /// Bits per second over the last `window_secs` (a multiple of the
    /// bucket) of complete buckets before `now_secs`.
    pub fn bandwidth(&self, now_secs: i64, window_secs: u64) -> f64 {
        let now = now_secs.div_euclid(BUCKET_SECS);
        let n = ((window_secs as i64) / BUCKET_SECS).clamp(1, BUCKETS as i64 - 1);
        // Buckets newer than this series' newest are empty; older than the
        // ring's reach are gone.
        let bytes: u64 = (1..=n)
            .map(|k| now - k)
            .filter(|&b| b <= self.bucket && b > self.bucket - BUCKETS as i64)
            .map(|b| self.buckets[Self::slot(b)])
            .sum();
        bytes as f64 * 8.0 / (n * BUCKET_SECS) as f64
    }
}

struct Inner {
    series: HashMap<Key, Series, foldhash::fast::RandomState>,
    other: Series,
}

pub struct Traffic {
    dims: Vec<MetricDim>,
    max_series: usize,
    inner: Mutex<Inner>,
    /// Flows added to `other` because the cap was reached.
    pub folded: AtomicU64,
}

fn ip_value(a: Option<IpAddr>) -> u128 {
    a.map_or(NONE, addr_key)
}

fn num(v: Option<u32>) -> u128 {
    v.map_or(NONE, u128::from)
}

impl Traffic {
    pub fn new(m: &Metrics) -> Traffic {
        let mut dims = m.dimensions.clone();
        let g = m.groups;
        for (on, group) in [
            (g.ports, [MetricDim::SrcPort, MetricDim::DstPort]),
            (g.interfaces, [MetricDim::InIf, MetricDim::OutIf]),
            (g.geo, [MetricDim::SrcCountry, MetricDim::DstCountry]),
            (g.asn, [MetricDim::SrcAsn, MetricDim::DstAsn]),
        ] {
            if on {
                dims.extend(group);
            }
        }
        let mut seen = Vec::new();
        dims.retain(|d| {
            let new = !seen.contains(d);
            seen.push(*d);
            new
        });
        dims.truncate(MAX_DIMS);
        Traffic {
            dims,
            max_series: m.max_series,
            inner: Mutex::new(Inner {
                series: HashMap::default(),
                other: Series::default(),
            }),
            folded: AtomicU64::new(0),
        }
    }

    pub fn dims(&self) -> &[MetricDim] {
        &self.dims
    }

    fn key(&self, f: &Flow) -> Key {
        let r = &f.record;
        let mut k = Key {
            n: self.dims.len() as u8,
            v: [0; MAX_DIMS],
        };
        for (i, d) in self.dims.iter().enumerate() {
            k.v[i] = match d {
                MetricDim::SrcAddr => ip_value(r.src_addr),
                MetricDim::DstAddr => ip_value(r.dst_addr),
                MetricDim::Exporter => ip_value(Some(r.exporter.ip())),
                MetricDim::Protocol => num(r.proto.map(u32::from)),
                MetricDim::SrcPort => num(r.src_port.map(u32::from)),
                MetricDim::DstPort => num(r.dst_port.map(u32::from)),
                MetricDim::InIf => num(r.in_if),
                MetricDim::OutIf => num(r.out_if),
                MetricDim::SrcAsn => num(r.src_as),
                MetricDim::DstAsn => num(r.dst_as),
                MetricDim::SrcCountry => f.src_country.map_or(NONE, |c| u128::from(u16::from_be_bytes(c))),
                MetricDim::DstCountry => f.dst_country.map_or(NONE, |c| u128::from(u16::from_be_bytes(c))),
            };
        }
        k
    }

    /// Adds a batch (one lock per batch); counters are sampling-corrected.
    pub fn record(&self, flows: &[Flow], now_secs: i64) {
        if flows.is_empty() {
            return;
        }
        let mut folded = 0u64;
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let inner = &mut *g;
        for f in flows {
            let key = self.key(f);
            let bytes = f.record.scaled_bytes().unwrap_or(0);
            let packets = f.record.scaled_packets().unwrap_or(0);
            let s = if let Some(s) = inner.series.get_mut(&key) {
                s
            } else if inner.series.len() < self.max_series {
                inner.series.entry(key).or_insert_with(|| Series {
                    bucket: now_secs.div_euclid(BUCKET_SECS),
                    ..Series::default()
                })
            } else {
                folded += 1;
                &mut inner.other
            };
            s.add(now_secs, 1, bytes, packets);
        }
        drop(g);
        if folded > 0 {
            self.folded.fetch_add(folded, Ordering::Relaxed);
        }
    }

    /// Every series with its label values (in `dims` order), and `other`
    /// (all labels "other") when it has anything.
    pub fn snapshot(&self) -> Vec<(Vec<String>, Series)> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<(Vec<String>, Series)> = g.series.iter().map(|(k, s)| (self.labels(k), s.clone())).collect();
        drop(g);
        // A stable order: scrapes and diffs read the same.
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.other.flows > 0 {
            out.push((vec!["other".to_string(); self.dims.len()], g.other.clone()));
        }
        out
    }

    pub fn series_count(&self) -> usize {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.series.len() + usize::from(g.other.flows > 0)
    }

    fn labels(&self, k: &Key) -> Vec<String> {
        self.dims
            .iter()
            .zip(&k.v)
            .map(|(d, &v)| {
                if v == NONE {
                    return String::new();
                }
                match d {
                    MetricDim::SrcAddr | MetricDim::DstAddr | MetricDim::Exporter => {
                        flowlens_store::flow::addr_from_key(v).to_string()
                    }
                    MetricDim::Protocol => protocol_name(v as u8),
                    MetricDim::SrcCountry | MetricDim::DstCountry => {
                        String::from_utf8_lossy(&(v as u16).to_be_bytes()).into_owned()
                    }
                    _ => v.to_string(),
                }
            })
            .collect()
    }
}

/// Protocol numbers by their usual names (a fixed list: label values
/// never come from the wire as text).
pub fn protocol_name(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        2 => "igmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        41 => "ipv6".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        51 => "ah".into(),
        58 => "icmpv6".into(),
        89 => "ospf".into(),
        103 => "pim".into(),
        112 => "vrrp".into(),
        132 => "sctp".into(),
        n => n.to_string(),
    }
}
