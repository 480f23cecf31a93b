//! Enrichment: what a flow learns on its way to the store — the country
//! of each address and its AS number, from MaxMind databases ([`geoip`]),
//! with the exporter's own AS numbers preferred by default; and what the
//! classification rules say of each address ([`classify`]).
//!
//! Each decode worker owns an [`Enricher`] with its own bounded cache, so
//! the hot path takes no lock: a warm lookup is two hash probes. When the
//! databases are reloaded ([`GeoIp::check_reload`], run by the service's
//! housekeeping), the shared generation moves and every worker drops its
//! cache before its next flow.

pub mod classify;
pub mod geoip;
pub mod interfaces;
pub mod limits;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flowlens_store::{Class, Flow};

pub use classify::{Classifier, RuleSet};
pub use geoip::{Databases, GeoError, GeoIp, Location};
pub use interfaces::{InterfaceInfo, Interfaces};

use crate::config::AsnSource;

/// Counters shared by every enricher (the status and metrics read them).
#[derive(Debug, Default)]
pub struct EnrichStats {
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    /// Lookups the database answered with an error (a damaged record).
    pub lookup_errors: AtomicU64,
}

/// How enrichers are made: the shared databases and counters, and the
/// configuration (the pipeline's sinks carry one).
pub struct EnrichSetup {
    pub geo: Arc<GeoIp>,
    pub classes: Arc<Classifier>,
    pub interfaces: Arc<Interfaces>,
    pub cache_size: usize,
    pub asn_sources: Vec<AsnSource>,
    pub stats: Arc<EnrichStats>,
}

impl EnrichSetup {
    pub fn new(
        geo: Arc<GeoIp>,
        classes: Arc<Classifier>,
        interfaces: Arc<Interfaces>,
        c: &crate::config::Enrichment,
    ) -> EnrichSetup {
        EnrichSetup {
            geo,
            classes,
            interfaces,
            cache_size: c.cache_size,
            asn_sources: c.asn_sources.clone(),
            stats: Arc::default(),
        }
    }

    /// No databases: flows pass unchanged.
    pub fn disabled() -> EnrichSetup {
        EnrichSetup::new(
            Arc::new(GeoIp::disabled()),
            Arc::new(Classifier::from_config(&[])),
            Arc::new(Interfaces::new(&[], &[])),
            &crate::config::Enrichment::default(),
        )
    }

    /// A decode worker's enricher (with the configured cache), or one for
    /// a single batch (`POST /ingest`: no cache).
    pub fn enricher(&self, cached: bool) -> Enricher {
        Enricher::new(
            self.geo.clone(),
            self.classes.clone(),
            if cached { self.cache_size } else { 0 },
            &self.asn_sources,
            self.stats.clone(),
        )
    }

    /// For the status: databases, reloads, cache counters.
    pub fn status(&self) -> serde_json::Value {
        let mut v = self.geo.status();
        v["cache"] = serde_json::json!({
            "size_per_worker": self.cache_size,
            "hits": self.stats.cache_hits.load(Ordering::Relaxed),
            "misses": self.stats.cache_misses.load(Ordering::Relaxed),
            "lookup_errors": self.stats.lookup_errors.load(Ordering::Relaxed),
        });
        v
    }
}

/// What is remembered per address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub country: Option<[u8; 2]>,
    pub asn: Option<u32>,
    pub class: Option<Arc<Class>>,
}

/// foldhash: addresses are not random enough for a multiply-only hash
/// (FxHash's low bits, which pick the bucket, made probes 3× slower).
type Map = HashMap<IpAddr, Answer, foldhash::fast::RandomState>;

/// A bounded address → answer cache: two generations, the older dropped
/// whole when the newer fills (no per-entry bookkeeping on the hot path).
pub struct Cache {
    young: Map,
    old: Map,
    half: usize,
}

impl Cache {
    pub fn new(size: usize) -> Cache {
        let half = size.min(limits::MAX_CACHE_SIZE) / 2;
        Cache {
            young: Map::default(),
            old: Map::default(),
            half,
        }
    }

    pub fn get(&mut self, ip: &IpAddr) -> Option<Answer> {
        if let Some(a) = self.young.get(ip) {
            return Some(a.clone());
        }
        let a = self.old.get(ip)?.clone();
        self.insert(*ip, a.clone());
        Some(a)
    }

    pub fn insert(&mut self, ip: IpAddr, a: Answer) {
        if self.half == 0 {
            return;
        }
        if self.young.len() >= self.half {
            self.old = std::mem::take(&mut self.young);
            self.young.reserve(self.half.min(4_096));
        }
        self.young.insert(ip, a);
    }

    pub fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }

    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One decode worker's enrichment.
pub struct Enricher {
    geo: Arc<GeoIp>,
    dbs: Arc<Databases>,
    classes: Arc<Classifier>,
    rules: Arc<RuleSet>,
    /// (databases, rules) generations the cache was filled under.
    generation: (u64, u64),
    cache: Cache,
    asn_sources: Vec<AsnSource>,
    stats: Arc<EnrichStats>,
    hits: u64,
    misses: u64,
    errors: u64,
}

impl Enricher {
    pub fn new(
        geo: Arc<GeoIp>,
        classes: Arc<Classifier>,
        cache_size: usize,
        asn_sources: &[AsnSource],
        stats: Arc<EnrichStats>,
    ) -> Enricher {
        Enricher {
            dbs: geo.current(),
            rules: classes.current(),
            generation: (geo.generation(), classes.generation()),
            geo,
            classes,
            cache: Cache::new(cache_size),
            asn_sources: asn_sources.to_vec(),
            stats,
            hits: 0,
            misses: 0,
            errors: 0,
        }
    }

    fn lookup(&mut self, ip: IpAddr) -> Answer {
        if let Some(a) = self.cache.get(&ip) {
            self.hits += 1;
            return a;
        }
        self.misses += 1;
        let country = self.dbs.country(ip).unwrap_or_else(|_| {
            self.errors += 1;
            None
        });
        let asn = self.dbs.asn(ip).unwrap_or_else(|_| {
            self.errors += 1;
            None
        });
        let class = self.rules.classify(ip);
        let a = Answer { country, asn, class };
        self.cache.insert(ip, a.clone());
        a
    }

    /// The AS number by the configured order of sources.
    fn choose_as(&self, from_flow: Option<u32>, from_db: Option<u32>) -> Option<u32> {
        // AS 0 is "unknown" in NetFlow/IPFIX: not an answer.
        let flow = from_flow.filter(|&a| a != 0);
        self.asn_sources
            .iter()
            .find_map(|s| match s {
                AsnSource::Flow => flow,
                AsnSource::Geoip => from_db,
            })
            .or(from_flow)
    }

    /// Fills in what the databases know and the flow does not say (a
    /// country given with the flow, e.g. by `POST /ingest`, is kept).
    pub fn enrich(&mut self, f: &mut Flow) {
        let g = (self.geo.generation(), self.classes.generation());
        if g != self.generation {
            self.generation = g;
            self.dbs = self.geo.current();
            self.rules = self.classes.current();
            self.cache.clear();
        }
        if self.dbs.is_empty() && self.rules.is_empty() {
            return;
        }
        if let Some(ip) = f.record.src_addr {
            let a = self.lookup(ip);
            f.src_country = f.src_country.or(a.country);
            f.record.src_as = self.choose_as(f.record.src_as, a.asn);
            f.src_class = a.class;
        }
        if let Some(ip) = f.record.dst_addr {
            let a = self.lookup(ip);
            f.dst_country = f.dst_country.or(a.country);
            f.record.dst_as = self.choose_as(f.record.dst_as, a.asn);
            f.dst_class = a.class;
        }
    }

    pub fn enrich_all(&mut self, flows: &mut [Flow]) {
        for f in flows.iter_mut() {
            self.enrich(f);
        }
        self.publish();
    }

    /// Adds this worker's counts to the shared counters.
    pub fn publish(&mut self) {
        if self.hits > 0 {
            self.stats
                .cache_hits
                .fetch_add(std::mem::take(&mut self.hits), Ordering::Relaxed);
        }
        if self.misses > 0 {
            self.stats
                .cache_misses
                .fetch_add(std::mem::take(&mut self.misses), Ordering::Relaxed);
        }
        if self.errors > 0 {
            self.stats
                .lookup_errors
                .fetch_add(std::mem::take(&mut self.errors), Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests;
