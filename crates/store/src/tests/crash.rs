//! `kill -9` during heavy ingest loses at most the last flush, and the store
//! opens cleanly afterwards (the test re-executes itself as the victim).

use super::*;

const CRASH_TEST: &str = "tests::crash::kill_9_during_heavy_ingest_loses_at_most_the_last_flush";

/// The child side: write as fast as possible, report each committed total.
fn crash_child(dir: &str) -> ! {
    let s = Store::open(StoreConfig {
        data_dir: dir.into(),
        flush_interval: Duration::from_millis(100),
    })
    .unwrap();
    let w = Writer::start(&s).unwrap();
    let mut seq = 0u32;
    let mut reported = 0;
    loop {
        let batch: Vec<Flow> = (0..20_000)
            .map(|_| {
                seq += 1;
                full_flow(seq)
            })
            .collect();
        w.send(batch).unwrap();
        let rows = w.stats().rows.load(std::sync::atomic::Ordering::Relaxed);
        if rows != reported {
            println!("committed {rows}");
            reported = rows;
        }
    }
}

#[test]
fn kill_9_during_heavy_ingest_loses_at_most_the_last_flush() {
    use std::io::BufRead;
    if let Ok(dir) = std::env::var("FLOWLENS_CRASH_CHILD") {
        crash_child(&dir);
    }
    let dir = temp_dir("crash");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CRASH_TEST, "--nocapture", "--test-threads=1"])
        .env("FLOWLENS_CRASH_CHILD", &dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut committed = 0u64;
    let mut reports = 0;
    let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            committed = n.parse().unwrap();
            reports += 1;
            if reports == 8 {
                break;
            }
        }
    }
    // SIGKILL: no destructors, no final flush.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(committed > 0, "the child never committed");
    let s = Store::open(StoreConfig {
        data_dir: dir.clone(),
        flush_interval: Duration::from_secs(1),
    })
    .expect("the store opens cleanly after kill -9");
    let c = s.connection().unwrap();
    let n: u64 = c.query_row("SELECT count(*) FROM flows", [], |r| r.get(0)).unwrap();
    assert!(
        n >= committed,
        "{n} rows after the crash, {committed} were committed before it"
    );
    // What survived is whole: every row reads back.
    let bad: u64 = c
        .query_row(
            "SELECT count(*) FROM flows WHERE bytes IS NULL OR src_addr_hi IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
