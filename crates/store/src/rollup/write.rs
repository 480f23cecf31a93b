//! Writing closed rollup buckets: 1-minute rows and talkers appended as
//! Arrow batches, 5-minute and 1-hour rows cascaded from the finer table
//! in SQL, and the watermarks that tell queries where rollups end.

use std::sync::Arc;

use duckdb::arrow::array::{
    Array, ArrayRef, StringArray, TimestampMicrosecondArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use duckdb::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use duckdb::arrow::record_batch::RecordBatch;

use super::{Bucket, Key, Rollup, Sums, DIM_COLUMNS, ROLLUPS, TALKERS};
use crate::limits::MAX_TALKERS_PER_BUCKET;

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
