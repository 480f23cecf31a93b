//! Dashboard questions and flow search over a store filled at a steady
//! flow rate: the "24 h at 20,000 flows/s" measurement, scaled to
//! what the disk holds.
//!
//!   cargo bench --workspace --bench dashboard --profile release -- [HOURS] [RATE] [RAW_HOURS]
//!
//! HOURS of traffic (default 24) at RATE flows/s (default 20000) are
//! generated with the encoders' traffic generator and written through the
//! store's writer (rollups maintained as in the service); raw flows older
//! than RAW_HOURS (default: all) are then dropped by retention, as a disk
//! budget would. The data set is kept in $FLOWLENS_BENCH_DIR (default
//! ~/.cache/flowlens/bench-dashboard-HOURSh-RATE) and reused by the next run
//! with the same arguments. Each question is asked 20 times; the first
//! (cold) time and the p50/p95 of the rest are printed.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use flowlens_store::query::{Dim, FlowQuery, Metric, Order, SeriesQuery, TimeRange, TopQuery};
use flowlens_store::retention::Retention;
use flowlens_store::{Filter, Flow, Store, StoreConfig, Writer};
use flowlens_wire::encode::generate::TrafficGen;
use flowlens_wire::{Protocol, Timestamp};

/// The end of the generated traffic (a fixed clock: runs are comparable).
const END_SECS: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const EXPORTERS: u8 = 8;
const BATCH: usize = 8_192;
const RUNS: usize = 20;

/// A stand-in for GeoIP: a country per address, stable, heavy-tailed.
fn country(a: Option<IpAddr>) -> Option<[u8; 2]> {
    const C: [[u8; 2]; 8] = [*b"US", *b"US", *b"US", *b"DE", *b"GB", *b"FR", *b"JP", *b"BR"];
    let a = a?;
    if a.is_ipv4() && matches!(a, IpAddr::V4(v) if v.octets()[0] == 10) {
        return None;
    }
    let h = flowlens_store::flow::addr_key(a).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 100;
    Some(C[(h % 8) as usize])
}

fn fill(store: &Store, hours: i64, rate: u64) {
    let w = Writer::start(store).unwrap();
    let mut gens: Vec<TrafficGen> = (0..EXPORTERS)
        .map(|i| {
            TrafficGen::new(
                u64::from(i),
                ([192, 0, 2, 1 + i], 2055).into(),
                Protocol::Netflow9,
                Some(if i % 2 == 0 { 1 } else { 100 }),
            )
        })
        .collect();
    let start_ms = (END_SECS - hours * 3_600) * 1_000;
    let total = hours as u64 * 3_600 * rate;
    let t = Instant::now();
    let mut sent = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    while sent < total {
        let at = Timestamp::from_millis(start_ms + (sent * 1_000 / rate) as i64);
        let g = &mut gens[(sent % u64::from(EXPORTERS)) as usize];
        let r = g.flow(at);
        let mut f = Flow::new(r);
        f.src_country = country(f.record.src_addr);
        f.dst_country = country(f.record.dst_addr);
        batch.push(f);
        sent += 1;
        if batch.len() == BATCH {
            w.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                .unwrap();
        }
        if sent % (rate * 3_600) == 0 {
            let s = t.elapsed().as_secs_f64();
            eprintln!(
                "  {} of {hours} h written ({sent} flows, {:.0} flows/s)",
                sent / (rate * 3_600),
                sent as f64 / s
            );
        }
    }
    w.send(batch).unwrap();
    w.close();
    let s = t.elapsed().as_secs_f64();
    eprintln!("filled: {total} flows in {s:.0} s = {:.0} flows/s", total as f64 / s);
}

fn measure(name: &str, mut f: impl FnMut() -> String) {
    let t = Instant::now();
    let what = f();
    let cold = t.elapsed();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
    println!(
        "{name:<44} cold {:>7.1} ms  p50 {:>7.1} ms  p95 {:>7.1} ms  ({what})",
        cold.as_secs_f64() * 1e3,
        pct(50).as_secs_f64() * 1e3,
        pct(95).as_secs_f64() * 1e3,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let hours: i64 = args.first().map_or(24, |a| a.parse().expect("HOURS"));
    let rate: u64 = args.get(1).map_or(20_000, |a| a.parse().expect("RATE"));
    let raw_hours: Option<u64> = args.get(2).map(|a| a.parse().expect("RAW_HOURS"));
    let dir = std::env::var_os("FLOWLENS_BENCH_DIR").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/flowlens")
                .join(format!("bench-dashboard-{hours}h-{rate}"))
        },
        PathBuf::from,
    );
    let fresh = !dir.join(flowlens_store::store::FLOWS_FILE).exists();
    let store = Store::open(StoreConfig {
        data_dir: dir.clone(),
        flush_interval: Duration::from_secs(1),
    })
    .unwrap();
    if fresh {
        eprintln!("generating {hours} h at {rate} flows/s into {}", dir.display());
        fill(&store, hours, rate);
    }
    let now = Timestamp::from_secs(END_SECS);
    if let Some(raw) = raw_hours {
        let r = Retention {
            raw: Duration::from_secs(raw * 3_600),
            ..Retention::default()
        };
        let rep = store.retention_once(now, &r).unwrap();
        eprintln!("retention: {:?}", rep.deleted);
    }
    let c = store.connection().unwrap();
    c.execute_batch("CHECKPOINT").unwrap();
    let size: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let rows = |t: &str| -> u64 {
        c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get::<_, i64>(0))
            .unwrap() as u64
    };
    println!(
        "data set: {hours} h at {rate} flows/s; raw rows {}, rollup_1m {}, rollup_5m {}, rollup_1h {}, talkers_1h {}; {:.2} GB on disk",
        rows("flows"),
        rows("rollup_1m"),
        rows("rollup_5m"),
        rows("rollup_1h"),
        rows("talkers_1h"),
        size as f64 / 1e9
    );

    let day = TimeRange {
        since: Timestamp::from_secs(END_SECS - hours * 3_600),
        until: now,
    };
    let top = |by: Dim| {
        let a = store
            .top(&TopQuery {
                range: day,
                filter: Filter::all(),
                by: vec![by],
                metric: Metric::Bytes,
                limit: 10,
            })
            .unwrap();
        format!("{} rows from {}", a.rows.len(), a.table)
    };
    measure("throughput by protocol (5 min steps)", || {
        let a = store
            .series(&SeriesQuery {
                range: day,
                step_secs: 300,
                filter: Filter::all(),
                metric: Metric::Bytes,
                by: Some(Dim::Proto),
                top: 10,
            })
            .unwrap();
        format!("{} series × {} points from {}", a.series.len(), a.times.len(), a.table)
    });
    measure("top 10 source IPs", || top(Dim::SrcAddr));
    measure("top 10 destination ports", || top(Dim::DstPort));
    measure("top 10 source countries", || top(Dim::SrcCountry));
    let last_hour = TimeRange {
        since: Timestamp::from_secs(END_SECS - 3_600),
        until: now,
    };
    let search = Filter::parse("src host 10.0.0.77 and dst port 53").unwrap();
    measure("flow search, last hour, selective filter", || {
        let p = store
            .flows(&FlowQuery {
                range: last_hour,
                filter: search.clone(),
                order: Order::TimeDesc,
                limit: 100,
                cursor: None,
            })
            .unwrap();
        format!("{} flows from {}", p.flows.len(), p.table)
    });
    let wide = Filter::parse("dst port 443 and bytes > 100K").unwrap();
    measure("flow search, last hour, broad filter", || {
        let p = store
            .flows(&FlowQuery {
                range: last_hour,
                filter: wide.clone(),
                order: Order::TimeDesc,
                limit: 100,
                cursor: None,
            })
            .unwrap();
        format!("{} flows from {}", p.flows.len(), p.table)
    });
}
