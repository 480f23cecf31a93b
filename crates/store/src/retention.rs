//! Retention: how long each table keeps data, enforced by `run_once`
//! (called on a schedule by the service; tests call it with a fixed clock),
//! plus an optional disk budget that drops the oldest raw flows first.
//!
//! Deletes go oldest-first in slices of [`DELETE_SLICE_SECS`], each its own
//! short transaction, so the writer's commits never wait long behind one.
//! Each run records the cutoff per table; the query planner refuses ranges
//! that reach before it instead of answering them partially.

use std::time::Duration;

use flowlens_wire::Timestamp;

use crate::rollup::ROLLUPS;
use crate::{Store, StoreError};

/// One slice of a delete: an hour of data.
pub const DELETE_SLICE_SECS: i64 = 3_600;

/// Slices the disk budget may drop per run (the next run continues).
pub const MAX_BUDGET_SLICES_PER_RUN: usize = 48;

/// `storage.retention.*` and `storage.max_disk_bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    pub raw: Duration,
    pub rollup_1m: Duration,
    pub rollup_5m: Duration,
    pub rollup_1h: Duration,
    pub max_disk_bytes: Option<u64>,
}

impl Default for Retention {
    fn default() -> Self {
        let day = Duration::from_secs(86_400);
        Retention {
            raw: day * 7,
            rollup_1m: day * 7,
            rollup_5m: day * 90,
            rollup_1h: day * 730,
            max_disk_bytes: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// (table, rows deleted).
    pub deleted: Vec<(&'static str, u64)>,
    /// Raw-flow slices dropped to meet the disk budget.
    pub budget_slices: usize,
    pub used_bytes: u64,
}

pub fn ddl() -> &'static str {
    "CREATE TABLE IF NOT EXISTS retention_state (tbl VARCHAR PRIMARY KEY, cutoff_us BIGINT NOT NULL);"
}

fn tables(r: &Retention) -> [(&'static str, Duration); 4] {
    [
        ("flows", r.raw),
        (ROLLUPS[0].table, r.rollup_1m),
        (ROLLUPS[1].table, r.rollup_5m),
        (ROLLUPS[2].table, r.rollup_1h),
    ]
}

/// Bytes the database occupies (used blocks and the write-ahead log).
pub fn used_bytes(c: &duckdb::Connection) -> Result<u64, StoreError> {
    let (block, used, wal): (u64, u64, String) = c.query_row(
        "SELECT block_size, used_blocks, wal_size FROM pragma_database_size()",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(block * used + parse_size(&wal))
}

/// DuckDB prints sizes as "1.2 MiB", "0 bytes".
fn parse_size(s: &str) -> u64 {
    let mut it = s.split_whitespace();
    let n: f64 = it.next().and_then(|n| n.parse().ok()).unwrap_or(0.0);
    let mult = match it.next().unwrap_or("bytes") {
        "KiB" | "KB" => 1024.0,
        "MiB" | "MB" => 1024.0 * 1024.0,
        "GiB" | "GB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" | "TB" => 1024.0_f64.powi(4),
        _ => 1.0,
    };
    (n * mult) as u64
}

/// Deletes `table` rows older than `cutoff_us`, oldest slice first.
fn delete_before(c: &duckdb::Connection, table: &str, cutoff_us: i64) -> Result<u64, StoreError> {
    let oldest: Option<i64> = c.query_row(&format!("SELECT min(epoch_us(time_received)) FROM {table}"), [], |r| {
        r.get(0)
    })?;
    let Some(mut from) = oldest else { return Ok(0) };
    let mut deleted = 0u64;
    while from < cutoff_us {
        let to = (from + DELETE_SLICE_SECS * 1_000_000).min(cutoff_us);
        deleted += c.execute(
            &format!("DELETE FROM {table} WHERE epoch_us(time_received) < ?"),
            duckdb::params![to],
        )? as u64;
        from = to;
    }
    Ok(deleted)
}

fn record_cutoff(c: &duckdb::Connection, table: &str, cutoff_us: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO retention_state (tbl, cutoff_us) VALUES (?, ?) \
         ON CONFLICT (tbl) DO UPDATE SET cutoff_us = greatest(cutoff_us, excluded.cutoff_us)",
        duckdb::params![table, cutoff_us],
    )?;
    Ok(())
}

/// The oldest instant (unix µs) `table` still holds everything from, if
/// retention ever ran.
pub fn cutoff_of(c: &duckdb::Connection, table: &str) -> Result<Option<i64>, StoreError> {
    use duckdb::OptionalExt;
    Ok(
        c.query_row("SELECT cutoff_us FROM retention_state WHERE tbl = ?", [table], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

impl Store {
    /// Enforces retention as of `now`.
    pub fn retention_once(&self, now: Timestamp, r: &Retention) -> Result<RetentionReport, StoreError> {
        let c = self.connection()?;
        let now_us = now.as_nanos() / 1_000;
        let mut report = RetentionReport::default();
        for (table, keep) in tables(r) {
            let cutoff = now_us - keep.as_micros() as i64;
            let n = delete_before(&c, table, cutoff)?;
            record_cutoff(&c, table, cutoff)?;
            report.deleted.push((table, n));
        }
        if let Some(budget) = r.max_disk_bytes {
            c.execute_batch("CHECKPOINT")?;
            while used_bytes(&c)? > budget && report.budget_slices < MAX_BUDGET_SLICES_PER_RUN {
                let oldest: Option<i64> =
                    c.query_row("SELECT min(epoch_us(time_received)) FROM flows", [], |r| r.get(0))?;
                let Some(oldest) = oldest else { break };
                let cutoff = oldest + DELETE_SLICE_SECS * 1_000_000;
                let n = delete_before(&c, "flows", cutoff)?;
                record_cutoff(&c, "flows", cutoff)?;
                report.budget_slices += 1;
                if let Some(e) = report.deleted.iter_mut().find(|(t, _)| *t == "flows") {
                    e.1 += n;
                }
                c.execute_batch("CHECKPOINT")?;
            }
        }
        report.used_bytes = used_bytes(&c)?;
        Ok(report)
    }
}
