//! Store ingest: flows through the writer's whole path (rollup aggregation,
//! Arrow batch, DuckDB appender, rollup tables, one commit per flush), and
//! the disk it takes.
//!
//!   cargo bench --workspace --bench ingest --profile release
//!   (after `cargo build --release --workspace --all-targets`, which builds
//!   the same units)
//!
//! (`--workspace --profile release`: the same build of the bundled DuckDB
//! as `cargo build --release`, so it is not compiled a second time.)

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flowlens_store::{schema, Flow, Store, StoreConfig, Writer};
use flowlens_wire::encode::generate::TrafficGen;
use flowlens_wire::{Protocol, Timestamp};

const START: i64 = 1_700_000_000;

/// Flows the writer is handed at a time (what a pipeline batch would be).
const BATCH: usize = 8_192;

/// `n` flows from 4 exporters, spread evenly over `secs` seconds.
fn flows(n: usize, secs: i64) -> Vec<Flow> {
    let mut gens: Vec<TrafficGen> = (0..4u8)
        .map(|i| {
            TrafficGen::new(
                u64::from(i),
                ([192, 0, 2, 1 + i], 2055).into(),
                Protocol::Ipfix,
                Some(if i == 0 { 1 } else { 1_000 }),
            )
        })
        .collect();
    (0..n)
        .map(|i| {
            let t = Timestamp::from_millis(START * 1_000 + (i as i64 * secs * 1_000) / n as i64);
            Flow::new(gens[i % 4].flow(t))
        })
        .collect()
}

fn store(name: &str) -> Store {
    let dir = std::env::temp_dir().join(format!("flowlens-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Store::open(StoreConfig {
        data_dir: dir,
        flush_interval: Duration::from_secs(1),
    })
    .unwrap()
}

/// Everything through one writer, closed at the end (every rollup bucket
/// written, everything committed).
fn write_all(s: &Store, flows: &[Flow]) {
    let w = Writer::start(s).unwrap();
    for chunk in flows.chunks(BATCH) {
        w.send(chunk.to_vec()).unwrap();
    }
    w.close();
}

fn ingest(c: &mut Criterion) {
    // Ten minutes of traffic at 3,333 flows/s per exporter.
    let batch = flows(2_000_000, 600);
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.throughput(Throughput::Elements(65_536));
    g.bench_function("arrow batch only (64k flows)", |b| {
        b.iter(|| schema::record_batch(&batch[..65_536]))
    });
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("rollup aggregation only (2M flows)", |b| {
        b.iter(|| {
            let mut a = flowlens_store::rollup::Aggregator::default();
            for chunk in batch.chunks(BATCH) {
                a.add(chunk);
            }
            a.take_closed(true).len()
        })
    });
    g.measurement_time(Duration::from_secs(30));
    g.bench_function("writer with rollups (2M flows, 10 min)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let s = store("ingest");
                // The copies `write_all` makes stand for the batches a
                // pipeline hands over; they are made outside the timing.
                let chunks: Vec<Vec<Flow>> = batch.chunks(BATCH).map(<[Flow]>::to_vec).collect();
                let t = Instant::now();
                let w = Writer::start(&s).unwrap();
                for chunk in chunks {
                    w.send(chunk).unwrap();
                }
                w.close();
                total += t.elapsed();
                let _ = std::fs::remove_dir_all(s.data_dir());
            }
            total
        })
    });
    g.finish();

    // Disk per flow on the generated mix (raw flows and every rollup),
    // after a checkpoint.
    let s = store("disk");
    let n = 4_000_000;
    write_all(&s, &flows(n, 3_600));
    let c = s.connection().unwrap();
    c.execute_batch("CHECKPOINT").unwrap();
    let size = std::fs::metadata(s.data_dir().join(flowlens_store::store::FLOWS_FILE))
        .unwrap()
        .len();
    println!(
        "disk: {n} flows over 1 h in {size} bytes = {:.1} bytes/flow (raw flows and rollups)",
        size as f64 / n as f64
    );
    // Where the bytes are: persistent blocks per table, and per column of
    // `flows` the segments' extent within their blocks (the last segment of
    // a block is counted to the block's end, so columns are slight
    // over-estimates).
    let block: i64 = c
        .query_row("SELECT block_size FROM pragma_database_size()", [], |r| r.get(0))
        .unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT table_name FROM duckdb_tables() ORDER BY table_name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in tables {
        let (blocks, rows): (i64, i64) = c
            .query_row(
                &format!(
                    "SELECT count(DISTINCT block_id), (SELECT count(*) FROM {t}) \
                     FROM pragma_storage_info('{t}') WHERE persistent AND block_id >= 0"
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        println!(
            "  {t:<14} {rows:>9} rows {:>8.1} MB = {:>5.1} bytes per raw flow",
            (blocks * block) as f64 / 1e6,
            (blocks * block) as f64 / n as f64
        );
    }
    let mut q = c
        .prepare(&format!(
            "WITH s AS (SELECT column_name, compression, block_id, block_offset, \
                 coalesce(lead(block_offset) OVER (PARTITION BY block_id ORDER BY block_offset), {block}) \
                 - block_offset AS size FROM pragma_storage_info('flows') WHERE persistent AND block_id >= 0) \
             SELECT column_name, string_agg(DISTINCT compression, '/'), sum(size)::BIGINT FROM s \
             GROUP BY 1 ORDER BY 3 DESC"
        ))
        .unwrap();
    let cols = q
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
        })
        .unwrap();
    println!("  flows by column (bytes per flow, compression):");
    for col in cols {
        let (name, comp, bytes) = col.unwrap();
        if bytes as f64 / n as f64 >= 0.05 {
            println!("    {name:<20} {:>5.2}  {comp}", bytes as f64 / n as f64);
        }
    }
    let _ = std::fs::remove_dir_all(s.data_dir());
}

criterion_group!(benches, ingest);
criterion_main!(benches);
