//! Rollups: traffic per 1 minute, 5 minutes and 1 hour, kept as flows
//! arrive so dashboards never scan raw flows for long ranges.
//!
//! The writer adds every flow to an in-memory [`Aggregator`] keyed by the
//! 1-minute bucket of `time_received` and the rollup dimensions; a bucket is
//! written to `rollup_1m` once flows [`GRACE_SECS`] past its end have been
//! seen (or at shutdown), in the same commit as its raw flows. 5-minute and
//! 1-hour rows are built from closed 1-minute rows, never from raw flows.
//! Queries read rollups up to the watermark in `rollup_state` and raw flows
//! after it, so answers are always current.
//!
//! Cardinality is bounded by design:
//! - addresses are not traffic-rollup dimensions; the talkers tables keep,
//!   per bucket and side, the top [`MAX_TALKERS_PER_BUCKET`] addresses by
//!   bytes and fold the rest into one row (a top-N over days is then a
//!   top-N of per-bucket top-1000s: exact unless an address that is never
//!   in a minute's top 1000 adds up to a top one over the range);
//! - ports are folded to the service side: a port below 1024, or the lower
//!   of the two, is kept; the other (ephemeral) side becomes 0;
//! - each bucket holds at most [`MAX_ROLLUP_KEYS_PER_BUCKET`] keys; past
//!   that, new keys fold into one row whose dimensions are all NULL, and
//!   `folded` counts them.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use duckdb::arrow::array::{
    Array, ArrayRef, StringArray, TimestampMicrosecondArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use duckdb::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use duckdb::arrow::record_batch::RecordBatch;

use crate::flow::{addr_key, Flow};

/// The aggregator's maps: one lookup per flow and key, so a fast hash;
/// randomly seeded, so an exporter cannot aim collisions at it.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;
use crate::limits::{MAX_ROLLUP_KEYS_PER_BUCKET, MAX_TALKERS_PER_BUCKET, MAX_TALKER_KEYS_PER_BUCKET};

/// Seconds after a bucket's end before it is closed (flows of one batch
/// arrive slightly out of order).
pub const GRACE_SECS: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollup {
    pub table: &'static str,
    pub secs: i64,
}

/// Finest first.
pub const ROLLUPS: [Rollup; 3] = [
    Rollup {
        table: "rollup_1m",
        secs: 60,
    },
    Rollup {
        table: "rollup_5m",
        secs: 300,
    },
    Rollup {
        table: "rollup_1h",
        secs: 3_600,
    },
];

/// Top talkers per bucket, one table per rollup resolution (same order as
/// [`ROLLUPS`], same watermarks): for each side (0 source, 1 destination)
/// the [`MAX_TALKERS_PER_BUCKET`] addresses with the most bytes, the rest in
/// one row with a NULL address.
pub const TALKERS: [&str; 3] = ["talkers_1m", "talkers_5m", "talkers_1h"];

/// Dimension columns of every rollup table, in order.
pub const DIM_COLUMNS: &[(&str, &str)] = &[
    ("exporter_hi", "UBIGINT"),
    ("exporter_lo", "UBIGINT"),
    ("in_if", "UINTEGER"),
    ("out_if", "UINTEGER"),
    ("ip_version", "UTINYINT"),
    ("proto", "UTINYINT"),
    ("src_port", "USMALLINT"),
    ("dst_port", "USMALLINT"),
    ("src_as", "UINTEGER"),
    ("dst_as", "UINTEGER"),
    ("src_country", "VARCHAR"),
    ("dst_country", "VARCHAR"),
];

/// Filter and group-by columns a rollup answers exactly (ports are folded,
/// so a port filter needs raw flows; grouping by port gives service ports).
pub const EXACT_COLUMNS: &[&str] = &[
    "exporter",
    "in_if",
    "out_if",
    "ip_version",
    "proto",
    "src_as",
    "dst_as",
    "src_country",
    "dst_country",
];

pub fn ddl() -> String {
    let mut s = String::new();
    for r in ROLLUPS {
        let dims: Vec<String> = DIM_COLUMNS.iter().map(|(n, t)| format!("{n} {t}")).collect();
        s.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {} (time_received TIMESTAMP NOT NULL, {}, bytes UBIGINT NOT NULL, \
             packets UBIGINT NOT NULL, flows UBIGINT NOT NULL);\n",
            r.table,
            dims.join(", ")
        ));
    }
    for t in TALKERS {
        s.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {t} (time_received TIMESTAMP NOT NULL, side UTINYINT NOT NULL, \
             addr_hi UBIGINT, addr_lo UBIGINT, bytes UBIGINT NOT NULL, packets UBIGINT NOT NULL, \
             flows UBIGINT NOT NULL);\n"
        ));
    }
    s.push_str("CREATE TABLE IF NOT EXISTS rollup_state (tbl VARCHAR PRIMARY KEY, watermark_us BIGINT NOT NULL);\n");
    s
}

/// The service side of a port pair: ports below 1024 and the lower of the
/// two are kept; the other side is 0 ("ephemeral").
pub fn service_ports(src: Option<u16>, dst: Option<u16>) -> (Option<u16>, Option<u16>) {
    let keep = |p: u16, other: Option<u16>| p < 1_024 || other.is_none_or(|o| p <= o);
    (
        src.map(|p| if keep(p, dst) { p } else { 0 }),
        dst.map(|p| if keep(p, src) { p } else { 0 }),
    )
}

/// One rollup row's dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Key {
    pub exporter: Option<u128>,
    pub in_if: Option<u32>,
    pub out_if: Option<u32>,
    pub ip_version: Option<u8>,
    pub proto: Option<u8>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub src_as: Option<u32>,
    pub dst_as: Option<u32>,
    pub src_country: Option<[u8; 2]>,
    pub dst_country: Option<[u8; 2]>,
}

impl Key {
    pub fn of(f: &Flow) -> Key {
        let r = &f.record;
        let (src_port, dst_port) = service_ports(r.src_port, r.dst_port);
        Key {
            exporter: Some(addr_key(r.exporter.ip())),
            in_if: r.in_if,
            out_if: r.out_if,
            ip_version: r.ip_version,
            proto: r.proto,
            src_port,
            dst_port,
            src_as: r.src_as,
            dst_as: r.dst_as,
            src_country: f.src_country,
            dst_country: f.dst_country,
        }
    }
}

/// Sampling-corrected sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sums {
    pub bytes: u64,
    pub packets: u64,
    pub flows: u64,
}

impl Sums {
    fn add(&mut self, bytes: u64, packets: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.packets = self.packets.saturating_add(packets);
        self.flows += 1;
    }

    fn merge(&mut self, o: &Sums) {
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.packets = self.packets.saturating_add(o.packets);
        self.flows += o.flows;
    }
}

/// The top talkers of each side by bytes; everyone else in one row per side.
fn top_talkers(m: HashMap<(u8, Option<u128>), Sums>) -> Vec<(u8, Option<u128>, Sums)> {
    let mut out = Vec::new();
    for side in [0u8, 1] {
        let mut v: Vec<(Option<u128>, Sums)> = m
            .iter()
            .filter(|((s, _), _)| *s == side)
            .map(|((_, a), x)| (*a, *x))
            .collect();
        v.sort_by(|a, b| {
            b.0.is_some()
                .cmp(&a.0.is_some())
                .then(b.1.bytes.cmp(&a.1.bytes))
                .then(a.0.cmp(&b.0))
        });
        let mut rest = Sums::default();
        let mut any_rest = false;
        for (i, (a, x)) in v.into_iter().enumerate() {
            if a.is_some() && i < MAX_TALKERS_PER_BUCKET {
                out.push((side, a, x));
            } else {
                rest.merge(&x);
                any_rest = true;
            }
        }
        if any_rest {
            out.push((side, None, rest));
        }
    }
    out
}

/// Rows of one closed (or flushed) bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// Start, unix µs.
    pub start_us: i64,
    pub rows: Vec<(Key, Sums)>,
    /// (side, address or `None` for the rest, sums), top talkers only.
    pub talkers: Vec<(u8, Option<u128>, Sums)>,
}

/// The open 1-minute buckets.
#[derive(Debug, Default)]
pub struct Aggregator {
    open: HashMap<i64, HashMap<Key, Sums>>,
    talkers: HashMap<i64, HashMap<(u8, Option<u128>), Sums>>,
    /// Latest `time_received` seen, µs.
    latest_us: i64,
    /// Keys folded into the all-NULL row because a bucket was full.
    pub folded: u64,
}

const MINUTE_US: i64 = 60_000_000;

impl Aggregator {
    pub fn add(&mut self, flows: &[Flow]) {
        for f in flows {
            let t = f.record.time_received.as_nanos() / 1_000;
            self.latest_us = self.latest_us.max(t);
            let start = t.div_euclid(MINUTE_US) * MINUTE_US;
            let bucket = self.open.entry(start).or_default();
            let mut key = Key::of(f);
            // Only a full bucket needs the extra lookup.
            if bucket.len() >= MAX_ROLLUP_KEYS_PER_BUCKET && !bucket.contains_key(&key) {
                key = Key::default();
                self.folded += 1;
            }
            let (bytes, packets) = (
                f.record.scaled_bytes().unwrap_or(0),
                f.record.scaled_packets().unwrap_or(0),
            );
            let s = bucket.entry(key).or_default();
            s.add(bytes, packets);
            let talkers = self.talkers.entry(start).or_default();
            for (side, a) in [(0u8, f.record.src_addr), (1, f.record.dst_addr)] {
                let Some(a) = a else { continue };
                let mut k = (side, Some(addr_key(a)));
                if talkers.len() >= MAX_TALKER_KEYS_PER_BUCKET && !talkers.contains_key(&k) {
                    k = (side, None);
                    self.folded += 1;
                }
                talkers.entry(k).or_default().add(bytes, packets);
            }
        }
    }

    /// Buckets whose end plus the grace is at or before the latest flow
    /// seen (all of them when `all`), oldest first.
    pub fn take_closed(&mut self, all: bool) -> Vec<Bucket> {
        let limit = self.latest_us - GRACE_SECS * 1_000_000;
        let mut starts: Vec<i64> = self
            .open
            .keys()
            .copied()
            .filter(|&s| all || s + MINUTE_US <= limit)
            .collect();
        starts.sort_unstable();
        starts
            .into_iter()
            .map(|s| Bucket {
                start_us: s,
                rows: self.open.remove(&s).expect("listed").into_iter().collect(),
                talkers: top_talkers(self.talkers.remove(&s).unwrap_or_default()),
            })
            .collect()
    }

    /// The start of the oldest open bucket (everything before it is in
    /// `rollup_1m`), or `None` when nothing is open.
    pub fn oldest_open_us(&self) -> Option<i64> {
        self.open.keys().min().copied()
    }
}

fn set_watermark(conn: &duckdb::Connection, table: &str, us: i64) -> duckdb::Result<()> {
    conn.execute(
        "INSERT INTO rollup_state (tbl, watermark_us) VALUES (?, ?) \
         ON CONFLICT (tbl) DO UPDATE SET watermark_us = greatest(watermark_us, excluded.watermark_us)",
        duckdb::params![table, us],
    )?;
    Ok(())
}

/// Everything before this instant (unix µs) of `table` is in the rollup;
/// after it, raw flows answer. `None`: the rollup is empty.
pub fn watermark_of(conn: &duckdb::Connection, table: &str) -> duckdb::Result<Option<i64>> {
    use duckdb::OptionalExt;
    conn.query_row("SELECT watermark_us FROM rollup_state WHERE tbl = ?", [table], |r| {
        r.get(0)
    })
    .optional()
}

/// Rollup rows (bucket start, dimensions, sums) as one Arrow batch in
/// table column order, for the appender: one bulk append, not a boxed value
/// per cell.
fn rows_batch(rows: &[(i64, &Key, &Sums)]) -> RecordBatch {
    let n = rows.len();
    let mut fields = vec![Field::new(
        "time_received",
        DataType::Timestamp(TimeUnit::Microsecond, None),
        false,
    )];
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(DIM_COLUMNS.len() + 4);
    arrays.push(Arc::new(TimestampMicrosecondArray::from_iter_values(
        rows.iter().map(|r| r.0),
    )));
    macro_rules! dim {
        ($name:literal, $arr:ty, $get:expr) => {{
            let a: $arr = rows.iter().map(|r| $get(r.1)).collect();
            fields.push(Field::new($name, a.data_type().clone(), true));
            arrays.push(Arc::new(a));
        }};
    }
    dim!("exporter_hi", UInt64Array, |k: &Key| k
        .exporter
        .map(|e| (e >> 64) as u64));
    dim!("exporter_lo", UInt64Array, |k: &Key| k.exporter.map(|e| e as u64));
    dim!("in_if", UInt32Array, |k: &Key| k.in_if);
    dim!("out_if", UInt32Array, |k: &Key| k.out_if);
    dim!("ip_version", UInt8Array, |k: &Key| k.ip_version);
    dim!("proto", UInt8Array, |k: &Key| k.proto);
    dim!("src_port", UInt16Array, |k: &Key| k.src_port);
    dim!("dst_port", UInt16Array, |k: &Key| k.dst_port);
    dim!("src_as", UInt32Array, |k: &Key| k.src_as);
    dim!("dst_as", UInt32Array, |k: &Key| k.dst_as);
    let country = |c: Option<[u8; 2]>| c.map(|c| String::from_utf8_lossy(&c).into_owned());
    dim!("src_country", StringArray, |k: &Key| country(k.src_country));
    dim!("dst_country", StringArray, |k: &Key| country(k.dst_country));
    debug_assert_eq!(fields.len(), DIM_COLUMNS.len() + 1);
    sums_columns(&mut fields, &mut arrays, rows.iter().map(|r| r.2), n);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("columns match the rollup schema")
}

/// A talker row to append: bucket start, side, address (`None`: the rest),
/// sums.
type TalkerRow<'a> = (i64, u8, Option<u128>, &'a Sums);

/// Talker rows as one batch.
fn talkers_batch(rows: &[TalkerRow<'_>]) -> RecordBatch {
    let mut fields = vec![
        Field::new("time_received", DataType::Timestamp(TimeUnit::Microsecond, None), false),
        Field::new("side", DataType::UInt8, false),
        Field::new("addr_hi", DataType::UInt64, true),
        Field::new("addr_lo", DataType::UInt64, true),
    ];
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(UInt8Array::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(
            rows.iter()
                .map(|r| r.2.map(|a| (a >> 64) as u64))
                .collect::<UInt64Array>(),
        ),
        Arc::new(rows.iter().map(|r| r.2.map(|a| a as u64)).collect::<UInt64Array>()),
    ];
    sums_columns(&mut fields, &mut arrays, rows.iter().map(|r| r.3), rows.len());
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("columns match the talkers schema")
}

fn sums_columns<'a>(
    fields: &mut Vec<Field>,
    arrays: &mut Vec<ArrayRef>,
    sums: impl Iterator<Item = &'a Sums> + Clone,
    n: usize,
) {
    for (name, get) in [
        ("bytes", (|s: &Sums| s.bytes) as fn(&Sums) -> u64),
        ("packets", |s| s.packets),
        ("flows", |s| s.flows),
    ] {
        fields.push(Field::new(name, DataType::UInt64, false));
        let mut v = Vec::with_capacity(n);
        v.extend(sums.clone().map(get));
        arrays.push(Arc::new(UInt64Array::from(v)));
    }
}

fn append(conn: &duckdb::Connection, table: &str, batch: RecordBatch) -> duckdb::Result<()> {
    if batch.num_rows() == 0 {
        return Ok(());
    }
    let mut app = conn.appender(table)?;
    app.append_record_batch(batch)?;
    app.flush()
}

/// Writes closed 1-minute buckets, cascades 5-minute and 1-hour buckets that
/// are now complete, and moves the watermarks. Runs inside the writer's
/// transaction.
pub fn write(conn: &duckdb::Connection, closed: &[Bucket], oldest_open_us: Option<i64>) -> duckdb::Result<()> {
    if closed.is_empty() {
        return Ok(());
    }
    let coarser: Vec<(Rollup, Option<i64>)> = ROLLUPS[1..]
        .iter()
        .map(|r| Ok((*r, watermark_of(conn, r.table)?)))
        .collect::<duckdb::Result<_>>()?;
    let mut fine: Vec<(i64, &Key, &Sums)> = Vec::new();
    // Late rows for buckets a coarser rollup already holds go there too, as
    // extra rows (queries sum).
    let mut late: Vec<Vec<(i64, &Key, &Sums)>> = vec![Vec::new(); coarser.len()];
    let mut talkers: Vec<Vec<TalkerRow<'_>>> = vec![Vec::new(); TALKERS.len()];
    for b in closed {
        fine.extend(b.rows.iter().map(|(k, s)| (b.start_us, k, s)));
        talkers[0].extend(b.talkers.iter().map(|(side, a, s)| (b.start_us, *side, *a, s)));
        for (i, (r, w)) in coarser.iter().enumerate() {
            if w.is_some_and(|w| b.start_us < w) {
                let start = b.start_us.div_euclid(r.secs * 1_000_000) * r.secs * 1_000_000;
                late[i].extend(b.rows.iter().map(|(k, s)| (start, k, s)));
                talkers[i + 1].extend(b.talkers.iter().map(|(side, a, s)| (start, *side, *a, s)));
            }
        }
    }
    append(conn, ROLLUPS[0].table, rows_batch(&fine))?;
    for ((r, _), rows) in coarser.iter().zip(&late) {
        append(conn, r.table, rows_batch(rows))?;
    }
    for (t, rows) in TALKERS.iter().zip(&talkers) {
        append(conn, t, talkers_batch(rows))?;
    }
    let last_end = closed.iter().map(|b| b.start_us + 60_000_000).max().expect("not empty");
    let w1 = oldest_open_us.map_or(last_end, |o| o.min(last_end).max(closed[0].start_us));
    let w1 = w1.max(watermark_of(conn, ROLLUPS[0].table)?.unwrap_or(i64::MIN));
    set_watermark(conn, ROLLUPS[0].table, w1)?;
    // Cascade: each coarser rollup from the one below, for its buckets that
    // ended before the finer watermark.
    let dims: Vec<&str> = DIM_COLUMNS.iter().map(|(n, _)| *n).collect();
    let dims = dims.join(", ");
    let mut below = (ROLLUPS[0], w1);
    for (r, w) in coarser {
        let unit = r.secs * 1_000_000;
        let upto = below.1.div_euclid(unit) * unit;
        let from = match w {
            Some(w) => w,
            // First time: from the start of the finer rollup's data.
            None => {
                conn.query_row(
                    &format!(
                        "SELECT coalesce(min(epoch_us(time_received)), 0) FROM {}",
                        below.0.table
                    ),
                    [],
                    |row| row.get::<_, i64>(0),
                )?
                .div_euclid(unit)
                    * unit
            }
        };
        if upto > from {
            conn.execute(
                &format!(
                    "INSERT INTO {t} SELECT make_timestamp((epoch_us(time_received) // {unit}) * {unit}) AS b, {dims}, \
                     sum(bytes), sum(packets), sum(flows) FROM {src} \
                     WHERE epoch_us(time_received) >= ? AND epoch_us(time_received) < ? GROUP BY ALL",
                    t = r.table,
                    src = below.0.table
                ),
                duckdb::params![from, upto],
            )?;
            let level = ROLLUPS.iter().position(|x| x.table == r.table).expect("listed");
            conn.execute(
                &format!(
                    "INSERT INTO {t} SELECT b, side, CASE WHEN rn <= {n} THEN addr_hi END, \
                     CASE WHEN rn <= {n} THEN addr_lo END, sum(bytes), sum(packets), sum(flows) FROM ( \
                       SELECT *, row_number() OVER (PARTITION BY b, side \
                                  ORDER BY addr_hi IS NULL, bytes DESC, addr_hi, addr_lo) AS rn FROM ( \
                         SELECT make_timestamp((epoch_us(time_received) // {unit}) * {unit}) AS b, side, \
                                addr_hi, addr_lo, sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows \
                         FROM {src} WHERE epoch_us(time_received) >= ? AND epoch_us(time_received) < ? \
                         GROUP BY ALL)) GROUP BY ALL",
                    t = TALKERS[level],
                    src = TALKERS[level - 1],
                    n = MAX_TALKERS_PER_BUCKET
                ),
                duckdb::params![from, upto],
            )?;
            set_watermark(conn, r.table, upto)?;
        } else if w.is_none() {
            set_watermark(conn, r.table, from)?;
        }
        below = (r, upto.max(w.unwrap_or(upto)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowlens_wire::{FlowRecord, Protocol, Timestamp};

    fn flow(secs: i64, sp: u16, dp: u16, bytes: u64) -> Flow {
        let mut r = FlowRecord::new(
            Protocol::Ipfix,
            "192.0.2.1:2055".parse().unwrap(),
            Timestamp::from_secs(secs),
        );
        r.src_port = Some(sp);
        r.dst_port = Some(dp);
        r.proto = Some(6);
        r.bytes = Some(bytes);
        r.packets = Some(1);
        r.sampling_rate = Some(10);
        Flow::new(r)
    }

    #[test]
    fn ports_fold_to_the_service_side() {
        assert_eq!(service_ports(Some(51_000), Some(443)), (Some(0), Some(443)));
        assert_eq!(service_ports(Some(443), Some(51_000)), (Some(443), Some(0)));
        assert_eq!(service_ports(Some(8_080), Some(51_000)), (Some(8_080), Some(0)));
        assert_eq!(service_ports(Some(80), Some(1_000)), (Some(80), Some(1_000)));
        assert_eq!(service_ports(None, None), (None, None));
        assert_eq!(service_ports(Some(5_000), Some(5_000)), (Some(5_000), Some(5_000)));
    }

    #[test]
    fn buckets_close_after_the_grace_and_sum_scaled_counters() {
        let mut a = Aggregator::default();
        let t0 = 1_700_000_040; // the start of a minute
        a.add(&[flow(t0, 51_000, 443, 100), flow(t0 + 1, 52_000, 443, 50)]);
        assert!(a.take_closed(false).is_empty(), "the minute is still open");
        // 5 s after the minute's end closes it.
        let minute_end = (t0 / 60 + 1) * 60;
        a.add(&[flow(minute_end + GRACE_SECS, 1, 2, 1)]);
        let closed = a.take_closed(false);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].start_us, (t0 / 60) * 60 * 1_000_000);
        assert_eq!(closed[0].rows.len(), 1, "both flows fold onto one key");
        assert_eq!(
            closed[0].rows[0].1,
            Sums {
                bytes: 1_500,
                packets: 20,
                flows: 2
            }
        );
        assert_eq!(a.take_closed(true).len(), 1, "shutdown takes the open one");
        assert_eq!(a.oldest_open_us(), None);
    }

    #[test]
    fn a_full_bucket_folds_new_keys_into_one_row() {
        let mut a = Aggregator::default();
        let flows: Vec<Flow> = (0..MAX_ROLLUP_KEYS_PER_BUCKET as u32 + 10)
            .map(|i| {
                let mut f = flow(1_700_000_000, 443, 51_000, 1);
                f.record.src_as = Some(i);
                f
            })
            .collect();
        a.add(&flows);
        assert_eq!(a.folded, 10);
        let b = a.take_closed(true);
        assert_eq!(b[0].rows.len(), MAX_ROLLUP_KEYS_PER_BUCKET + 1);
        let other = b[0].rows.iter().find(|(k, _)| *k == Key::default()).unwrap();
        assert_eq!(other.1.flows, 10);
    }

    #[test]
    fn talkers_keep_the_top_addresses_and_fold_the_rest() {
        let mut a = Aggregator::default();
        let flows: Vec<Flow> = (0..MAX_TALKERS_PER_BUCKET as u32 + 50)
            .map(|i| {
                let mut f = flow(1_700_000_040, 443, 51_000, u64::from(i) + 1);
                f.record.src_addr = Some(std::net::IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
                f
            })
            .collect();
        a.add(&flows);
        let b = a.take_closed(true);
        let src: Vec<_> = b[0].talkers.iter().filter(|(side, _, _)| *side == 0).collect();
        assert_eq!(src.len(), MAX_TALKERS_PER_BUCKET + 1, "the top ones and one rest row");
        let rest = src.iter().find(|(_, a, _)| a.is_none()).unwrap();
        assert_eq!(rest.2.flows, 50, "the 50 smallest folded");
        assert_eq!(rest.2.bytes, (1..=50u64).sum::<u64>() * 10, "sampling-corrected");
    }
}
