//! The one writer: a thread fed by a bounded channel of flow batches, that
//! appends them to `flows` as Arrow batches and commits every flush
//! interval. A full channel is back-pressure: `send` waits, `try_send`
//! says so and the caller counts the drop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::limits::{MAX_ROWS_PER_FLUSH, WRITER_QUEUE_BATCHES};
use crate::rollup::{self, Aggregator, Bucket};
use crate::{schema, Flow, Store, StoreError};

/// Counters the writer keeps (read by telemetry).
#[derive(Debug, Default)]
pub struct WriterStats {
    pub rows: AtomicU64,
    /// Rows of flushes that failed (rolled back; nothing half-written).
    pub failed_rows: AtomicU64,
    /// Batches queued and not yet taken by the writer.
    pub queued: AtomicU64,
    pub flushes: AtomicU64,
    pub flush_errors: AtomicU64,
    /// Duration of the last flush, µs.
    pub last_flush_us: AtomicU64,
    /// Rollup keys folded into the all-NULL row (full buckets).
    pub folded: AtomicU64,
}

pub struct Writer {
    /// Bounded: its depth is the back-pressure between pipeline and disk.
    tx: Option<SyncSender<Vec<Flow>>>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<WriterStats>,
}

/// `try_send` found the queue full; the batch is handed back.
#[derive(Debug)]
pub struct QueueFull(pub Vec<Flow>);

impl Writer {
    pub fn start(store: &Store) -> Result<Writer, StoreError> {
        let conn = store.connection()?;
        let (tx, rx) = mpsc::sync_channel(WRITER_QUEUE_BATCHES);
        let stats = Arc::new(WriterStats::default());
        let s = stats.clone();
        let interval = store.config().flush_interval;
        let thread = std::thread::Builder::new()
            .name("flowlens-writer".into())
            .spawn(move || run(conn, rx, interval, &s))
            .map_err(|e| StoreError::Writer(e.to_string()))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
            stats,
        })
    }

    /// Queues a batch, waiting while the queue is full.
    pub fn send(&self, flows: Vec<Flow>) -> Result<(), StoreError> {
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        self.tx.as_ref().expect("open until close").send(flows).map_err(|_| {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            StoreError::Writer("writer stopped".into())
        })
    }

    /// Queues a batch unless the queue is full.
    pub fn try_send(&self, flows: Vec<Flow>) -> Result<(), QueueFull> {
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        match self.tx.as_ref().expect("open until close").try_send(flows) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(f) | TrySendError::Disconnected(f)) => {
                self.stats.queued.fetch_sub(1, Ordering::Relaxed);
                Err(QueueFull(f))
            }
        }
    }

    pub fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    /// Writes what is queued and stops.
    pub fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(conn: duckdb::Connection, rx: Receiver<Vec<Flow>>, interval: Duration, stats: &WriterStats) {
    let mut pending: Vec<Flow> = Vec::new();
    let mut agg = Aggregator::default();
    let mut last = Instant::now();
    loop {
        let timeout = interval.saturating_sub(last.elapsed());
        let open = match rx.recv_timeout(timeout) {
            Ok(mut batch) => {
                stats.queued.fetch_sub(1, Ordering::Relaxed);
                agg.add(&batch);
                if pending.is_empty() {
                    pending = std::mem::take(&mut batch);
                } else {
                    pending.append(&mut batch);
                }
                true
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        };
        if !open || last.elapsed() >= interval || pending.len() >= MAX_ROWS_PER_FLUSH {
            // At shutdown every open bucket is written: nothing is left
            // only in memory.
            let closed = agg.take_closed(!open);
            if !pending.is_empty() || !closed.is_empty() {
                flush(&conn, &pending, &closed, agg.oldest_open_us(), stats);
                pending.clear();
            }
            stats.folded.store(agg.folded, Ordering::Relaxed);
            last = Instant::now();
        }
        if !open {
            return;
        }
    }
}

/// Raw flows, closed rollup buckets and the new watermarks, in one commit.
fn flush(
    conn: &duckdb::Connection,
    flows: &[Flow],
    closed: &[Bucket],
    oldest_open_us: Option<i64>,
    stats: &WriterStats,
) {
    let t = Instant::now();
    let result = (|| -> duckdb::Result<()> {
        conn.execute_batch("BEGIN TRANSACTION")?;
        let r = (|| {
            if !flows.is_empty() {
                let mut app = conn.appender("flows")?;
                for chunk in flows.chunks(MAX_ROWS_PER_FLUSH) {
                    app.append_record_batch(schema::record_batch(chunk))?;
                }
                app.flush()?;
            }
            rollup::write(conn, closed, oldest_open_us)
        })();
        match r {
            Ok(()) => conn.execute_batch("COMMIT"),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    })();
    match result {
        Ok(()) => {
            stats.rows.fetch_add(flows.len() as u64, Ordering::Relaxed);
            stats.flushes.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            stats.flush_errors.fetch_add(1, Ordering::Relaxed);
            stats.failed_rows.fetch_add(flows.len() as u64, Ordering::Relaxed);
            tracing::error!(flows = flows.len(), error = %e, "writing flows failed; the batch was rolled back");
        }
    }
    stats
        .last_flush_us
        .store(t.elapsed().as_micros() as u64, Ordering::Relaxed);
}
