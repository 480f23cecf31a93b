//! Store ingest: flows appended through the writer's path (Arrow batch →
//! DuckDB appender → commit), and the disk it takes.
//!
//!   cargo bench -p flowlens-store --bench ingest

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flowlens_store::{schema, Flow, Store, StoreConfig};
use flowlens_wire::encode::generate::TrafficGen;
use flowlens_wire::{Protocol, Timestamp};

const START: i64 = 1_700_000_000;

/// `n` flows from 4 exporters, spread over one hour.
fn flows(n: usize) -> Vec<Flow> {
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
            let t = Timestamp::from_millis(START * 1_000 + (i as i64 * 3_600_000) / n as i64);
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

fn append(s: &Store, f: &[Flow]) {
    let c = s.connection().unwrap();
    let mut app = c.appender("flows").unwrap();
    for chunk in f.chunks(65_536) {
        app.append_record_batch(schema::record_batch(chunk)).unwrap();
    }
    app.flush().unwrap();
}

fn ingest(c: &mut Criterion) {
    let batch = flows(200_000);
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(10);
    g.bench_function("arrow batch only (200k flows)", |b| {
        b.iter(|| schema::record_batch(&batch[..65_536]))
    });
    let s = store("ingest");
    g.bench_function("append + commit (200k flows)", |b| b.iter(|| append(&s, &batch)));
    g.finish();

    // Disk per flow on the generated mix, after a checkpoint.
    let s = store("disk");
    let n = 2_000_000;
    append(&s, &flows(n));
    let c = s.connection().unwrap();
    c.execute_batch("CHECKPOINT").unwrap();
    let size = std::fs::metadata(s.data_dir().join("flows.duckdb")).unwrap().len();
    println!(
        "disk: {n} flows in {size} bytes = {:.1} bytes/flow",
        size as f64 / n as f64
    );
    let _ = std::fs::remove_dir_all(s.data_dir());
}

criterion_group!(benches, ingest);
criterion_main!(benches);
