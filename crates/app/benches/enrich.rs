//! Enrichment cost per flow (two addresses): with a warm cache, with no
//! cache on the City database (every flow two City + two ASN lookups), and
//! without databases (the floor). MaxMind's test databases from
//! `../shared/geoip` — far smaller than the real ones, so the cold figure
//! is a lower bound for a real City database.
//!
//!   cargo build --release --workspace --all-targets --locked
//!   target/release/deps/enrich-<hash> --bench

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flowlens_app::config::{self, AsnSource};
use flowlens_app::enrich::{Classifier, EnrichSetup, GeoIp, Interfaces};
use flowlens_store::Flow;
use flowlens_wire::{FlowRecord, Protocol, Timestamp};

/// Distinct addresses in the warm set (well inside the default cache).
const WARM_ADDRESSES: u32 = 2_000;
const FLOWS: usize = 10_000;

fn flows(addresses: &[IpAddr]) -> Vec<Flow> {
    let exporter: SocketAddr = "192.0.2.1:2055".parse().unwrap();
    (0..FLOWS)
        .map(|i| {
            let mut r = FlowRecord::new(Protocol::Ipfix, exporter, Timestamp::from_secs(1_767_225_600));
            r.src_addr = Some(addresses[i % addresses.len()]);
            r.dst_addr = Some(addresses[(i * 7 + 3) % addresses.len()]);
            Flow::new(r)
        })
        .collect()
}

fn setup(geo: GeoIp, cache: usize) -> EnrichSetup {
    let c = config::Enrichment {
        cache_size: cache,
        asn_sources: vec![AsnSource::Flow, AsnSource::Geoip],
        ..config::Enrichment::default()
    };
    EnrichSetup::new(
        Arc::new(geo),
        Arc::new(Classifier::from_config(&[])),
        Arc::new(Interfaces::new(&[], &[])),
        &c,
    )
}

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/geoip");
    let city = config::GeoIp {
        country: Some(dir.join("GeoIP2-City-Test.mmdb")),
        city: Some(dir.join("GeoIP2-City-Test.mmdb")),
        asn: Some(dir.join("GeoLite2-ASN-Test.mmdb")),
        required: true,
        ..config::GeoIp::default()
    };
    // Addresses the databases know (London, Milton, Telstra, …) and others.
    let known: Vec<IpAddr> = [
        "81.2.69.160",
        "216.160.83.56",
        "1.128.0.1",
        "2a02:d300::1",
        "2001:218::1",
        "12.81.96.1",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let mut warm: Vec<IpAddr> = (0..WARM_ADDRESSES)
        .map(|i| IpAddr::from((0x5100_0000u32 + i * 7).to_be_bytes()))
        .collect();
    warm.extend(&known);
    let warm_flows = flows(&warm);
    let cold: Vec<IpAddr> = (0..FLOWS as u32 * 2)
        .map(|i| IpAddr::from((0x0100_0000u32 + i * 4_099).to_be_bytes()))
        .chain(known)
        .collect();
    let cold_flows = flows(&cold);

    let mut g = c.benchmark_group("enrich");
    g.throughput(Throughput::Elements(FLOWS as u64));
    let s = setup(GeoIp::open(&city).expect("test databases"), 100_000);
    let mut e = s.enricher(true);
    let mut batch = warm_flows.clone();
    e.enrich_all(&mut batch); // fill the cache
    g.bench_function("warm cache, City + ASN", |b| {
        b.iter(|| {
            let mut batch = warm_flows.clone();
            e.enrich_all(&mut batch);
            batch
        })
    });
    let s = setup(GeoIp::open(&city).expect("test databases"), 0);
    let mut e = s.enricher(true);
    g.bench_function("no cache, City + ASN", |b| {
        b.iter(|| {
            let mut batch = cold_flows.clone();
            e.enrich_all(&mut batch);
            batch
        })
    });
    let s = setup(GeoIp::disabled(), 100_000);
    let mut e = s.enricher(true);
    g.bench_function("no databases (clone of the batch only)", |b| {
        b.iter(|| {
            let mut batch = warm_flows.clone();
            e.enrich_all(&mut batch);
            batch
        })
    });
    g.finish();
}

/// The metrics aggregator per flow (target ≤ 50 ns) and a scrape with the
/// series cap reached (target ≤ 50 ms).
fn metrics(c: &mut Criterion) {
    use flowlens_app::config::{MetricDim, Metrics};
    use flowlens_app::metrics::{encode_traffic, Traffic};
    let now = 1_767_225_600i64;
    // Default dimensions (exporter, protocol): few series, the common case.
    let m = Metrics::default();
    let t = Traffic::new(&m);
    let addrs: Vec<IpAddr> = (0..1_000u32)
        .map(|i| IpAddr::from((0x0a00_0000u32 + i).to_be_bytes()))
        .collect();
    let batch = flows(&addrs);
    let mut g = c.benchmark_group("metrics");
    g.throughput(Throughput::Elements(FLOWS as u64));
    g.bench_function("record, exporter × protocol", |b| b.iter(|| t.record(&batch, now)));
    // Addresses as labels: the cap (2,000) is reached, the rest folds.
    let m = Metrics {
        dimensions: vec![MetricDim::SrcAddr, MetricDim::DstAddr, MetricDim::Protocol],
        ..Metrics::default()
    };
    let t = Traffic::new(&m);
    let many: Vec<IpAddr> = (0..50_000u32)
        .map(|i| IpAddr::from((0x0a00_0000u32 + i).to_be_bytes()))
        .collect();
    let wide = flows(&many);
    g.bench_function("record, src × dst × protocol at the cap", |b| {
        b.iter(|| t.record(&wide, now))
    });
    g.finish();
    let mut g = c.benchmark_group("scrape");
    g.sample_size(20);
    g.bench_function("2,000 series × 4 windows", |b| {
        b.iter(|| encode_traffic(&t, &m, now + 30).len())
    });
    g.finish();
}

/// The analysis engine at 50,000 flows/s: recording a batch (the cost on
/// the decode workers), and one pass over ten minutes of such traffic
/// (the target: at most 1 s of CPU).
fn analysis(c: &mut Criterion) {
    use flowlens_app::analysis::{analyzers::Plain, Engine};
    use flowlens_wire::encode::generate::TrafficGen;
    const RATE: usize = 50_000;
    let start = 1_767_225_600i64;
    let mut gens: Vec<TrafficGen> = (0..10u8)
        .map(|i| {
            TrafficGen::new(
                u64::from(i),
                SocketAddr::new(IpAddr::from([192, 0, 2, i + 1]), 0),
                Protocol::Netflow9,
                None,
            )
        })
        .collect();
    let mut second = |t: i64| -> Vec<Flow> {
        let now = Timestamp::from_secs(t);
        (0..RATE)
            .map(|i| {
                let mut r = gens[i % 10].flow(now);
                r.time_received = now;
                Flow::new(r)
            })
            .collect()
    };
    let rss = || -> f64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<f64>().ok())
            .unwrap_or(0.0)
            * 4096.0
            / 1e6
    };
    let engine = Engine::new(&config::Config::default(), None, Box::new(Plain));
    let before = rss();
    let (mut generating, mut recording) = (0.0, 0.0);
    for s in 0..600 {
        let t = std::time::Instant::now();
        let batch = second(start + s);
        generating += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        engine.observe(&batch);
        recording += t.elapsed().as_secs_f64();
    }
    eprintln!(
        "analysis: ten minutes at {RATE} flows/s: recorded in {recording:.1} s of CPU ({:.0} ns/flow; \
         generating took {generating:.1} s); resident memory {:.0} MB → {:.0} MB",
        recording * 1e9 / (600.0 * RATE as f64),
        before,
        rss()
    );
    let mut g = c.benchmark_group("analysis");
    g.sample_size(10);
    let batch = second(start + 600);
    let chunk = &batch[..10_000];
    g.throughput(Throughput::Elements(chunk.len() as u64));
    g.bench_function("observe 10k flows", |b| b.iter(|| engine.observe(chunk)));
    g.throughput(Throughput::Elements(1));
    g.bench_function("pass over 10 min at 50k flows/s", |b| {
        b.iter(|| engine.run_once(start + 601))
    });
    g.finish();
}

/// What one sign-in costs the server: an argon2id hash with the shipped
/// parameters (target 50–200 ms), and a refused try (the throttle).
fn password(c: &mut Criterion) {
    use flowlens_app::auth::{password, throttle::Throttle};
    let mut g = c.benchmark_group("password");
    g.sample_size(20);
    let h = password::hash("a password of some length");
    g.bench_function("verify", |b| {
        b.iter(|| password::verify(&h, "a wrong password of some length"))
    });
    let t = Throttle::default();
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    for _ in 0..10 {
        t.failed("admin", ip, 1_000);
    }
    g.bench_function("refused by the throttle", |b| {
        b.iter(|| t.check("admin", ip, 1_001).is_err())
    });
    g.finish();
}

criterion_group!(benches, bench, metrics, analysis, password);
criterion_main!(benches);
