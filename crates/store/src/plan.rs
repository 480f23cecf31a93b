//! The query planner: which table answers a question (raw flows, a
//! traffic rollup, or a talkers rollup) and the subquery that reads it —
//! the rollup up to its watermark, raw flows after it.

use duckdb::types::Value;
use flowlens_wire::Timestamp;

use crate::filter::sql::DuckDb;
use crate::query::{bind, ts, Dim, TimeRange};
use crate::{rollup, Filter, Store, StoreError};

/// Where an answer comes from: raw flows, or a rollup up to its watermark
/// and raw flows after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Raw,
    Rollup {
        table: &'static str,
        watermark_us: i64,
    },
    /// Top talkers of one side (0 source, 1 destination).
    Talkers {
        table: &'static str,
        watermark_us: i64,
        side: u8,
    },
}

impl Source {
    pub fn table(self) -> &'static str {
        match self {
            Source::Raw => "flows",
            Source::Rollup { table, .. } | Source::Talkers { table, .. } => table,
        }
    }
}

/// A port of a raw flow folded as the rollups fold it (see `rollup.rs`).
fn folded_port(col: &str, other: &str) -> String {
    format!(
        "CASE WHEN {col} IS NULL THEN NULL WHEN {col} < 1024 OR {other} IS NULL OR {col} <= {other} \
         THEN {col} ELSE 0 END AS {col}"
    )
}

/// A subquery `(…) AS s` with columns `ts_us`, the dimension `cols`,
/// `bytes`, `packets` and `n` (flows), for `range` and `filter`.
pub(crate) fn source_sql(source: Source, range: &TimeRange, filter: &Filter, cols: &[&str]) -> (String, Vec<Value>) {
    let since = range.since.as_nanos() / 1_000;
    let until = range.until.as_nanos() / 1_000;
    let raw_part = |from: i64, to: i64, fold: bool, params: &mut Vec<Value>| {
        let c = filter.to_sql(&DuckDb);
        let list: Vec<String> = cols
            .iter()
            .map(|col| match (*col, fold) {
                ("src_port", true) => folded_port("src_port", "dst_port"),
                ("dst_port", true) => folded_port("dst_port", "src_port"),
                (col, _) => col.to_string(),
            })
            .collect();
        params.extend([ts(Timestamp::from_micros(from)), ts(Timestamp::from_micros(to))]);
        params.extend(bind(&c.params));
        format!(
            "SELECT epoch_us(time_received) AS ts_us{}{}, bytes, packets, 1 AS n FROM flows \
             WHERE time_received >= ? AND time_received < ? AND {}",
            if list.is_empty() { "" } else { ", " },
            list.join(", "),
            c.sql
        )
    };
    let mut params = Vec::new();
    let sql = match source {
        Source::Raw => raw_part(since, until, false, &mut params),
        Source::Rollup { table, watermark_us } => {
            let c = filter.to_sql(&DuckDb);
            let mid = watermark_us.clamp(since, until);
            params.extend([ts(Timestamp::from_micros(since)), ts(Timestamp::from_micros(mid))]);
            params.extend(bind(&c.params));
            let list = cols.iter().map(|c| format!(", {c}")).collect::<String>();
            let rollup = format!(
                "SELECT epoch_us(time_received) AS ts_us{list}, bytes, packets, flows AS n FROM {table} \
                 WHERE time_received >= ? AND time_received < ? AND {}",
                c.sql
            );
            let raw = raw_part(mid, until, true, &mut params);
            format!("{rollup} UNION ALL {raw}")
        }
        Source::Talkers {
            table,
            watermark_us,
            side,
        } => {
            // Only planned for one address dimension and no filter.
            let mid = watermark_us.clamp(since, until);
            params.extend([ts(Timestamp::from_micros(since)), ts(Timestamp::from_micros(mid))]);
            let list = match cols {
                [h, l] => format!(", addr_hi AS {h}, addr_lo AS {l}"),
                _ => String::new(),
            };
            let talkers = format!(
                "SELECT epoch_us(time_received) AS ts_us{list}, bytes, packets, flows AS n FROM {table} \
                 WHERE side = {side} AND time_received >= ? AND time_received < ?"
            );
            let raw = raw_part(mid, until, false, &mut params);
            format!("{talkers} UNION ALL {raw}")
        }
    };
    (format!("({sql}) AS s"), params)
}
impl Store {
    /// The coarsest rollup that answers exactly: every filter column and
    /// dimension kept by rollups, range (and step) on its bucket bounds, and
    /// some of the range before its watermark. Otherwise raw flows.
    pub fn plan(
        &self,
        c: &duckdb::Connection,
        range: &TimeRange,
        filter: &Filter,
        dims: &[Dim],
        step_secs: Option<u64>,
    ) -> Result<Source, StoreError> {
        let source = self.pick(c, range, filter, dims, step_secs)?;
        // Never answer partially: a range reaching before what the table
        // still holds is an error that says what is kept.
        if let Some(cutoff) = crate::retention::cutoff_of(c, source.table())? {
            if range.since.as_nanos() / 1_000 < cutoff {
                let kept = Timestamp::from_micros(cutoff);
                return Err(StoreError::Query(format!(
                    "the range starts before what {} still holds (data from {} unix seconds on is kept); \
                     start later{}",
                    source.table(),
                    kept.as_secs(),
                    if source == Source::Raw {
                        ", or align since/until to whole minutes/hours so rollups with longer retention can answer"
                    } else {
                        ""
                    }
                )));
            }
        }
        Ok(source)
    }

    fn pick(
        &self,
        c: &duckdb::Connection,
        range: &TimeRange,
        filter: &Filter,
        dims: &[Dim],
        step_secs: Option<u64>,
    ) -> Result<Source, StoreError> {
        let mut cols = Vec::new();
        crate::filter::sql::columns(&filter.expr, &mut cols);
        if !cols.iter().all(|c| rollup::EXACT_COLUMNS.contains(c)) {
            return Ok(Source::Raw);
        }
        let talker_side = match (dims, &filter.expr) {
            ([Dim::SrcAddr], crate::filter::Expr::All) => Some(0u8),
            ([Dim::DstAddr], crate::filter::Expr::All) => Some(1u8),
            _ => None,
        };
        if talker_side.is_none() && dims.iter().any(|d| matches!(d, Dim::SrcAddr | Dim::DstAddr)) {
            return Ok(Source::Raw);
        }
        // Dimensions the rollups do not keep (classification) need the flows.
        let classification = |d: &Dim| {
            matches!(
                d,
                Dim::SrcNet | Dim::DstNet | Dim::SrcEnv | Dim::DstEnv | Dim::SrcDc | Dim::DstDc
            )
        };
        if dims.iter().any(classification) {
            return Ok(Source::Raw);
        }
        let (since, until) = (range.since.as_nanos() / 1_000, range.until.as_nanos() / 1_000);
        for r in rollup::ROLLUPS.iter().rev() {
            let unit = r.secs * 1_000_000;
            let aligned =
                since % unit == 0 && until % unit == 0 && step_secs.is_none_or(|s| (s as i64 * 1_000_000) % unit == 0);
            if !aligned {
                continue;
            }
            if let Some(w) = rollup::watermark_of(c, r.table)? {
                if w > since {
                    return Ok(match talker_side {
                        Some(side) => Source::Talkers {
                            table: rollup::TALKERS[rollup::ROLLUPS.iter().position(|x| x == r).expect("listed")],
                            watermark_us: w,
                            side,
                        },
                        None => Source::Rollup {
                            table: r.table,
                            watermark_us: w,
                        },
                    });
                }
            }
        }
        Ok(Source::Raw)
    }
}
