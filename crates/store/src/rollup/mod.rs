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

use crate::flow::{addr_key, Flow};
use crate::limits::{MAX_ROLLUP_KEYS_PER_BUCKET, MAX_TALKERS_PER_BUCKET, MAX_TALKER_KEYS_PER_BUCKET};

/// The aggregator's maps: one lookup per flow and key, so a fast hash;
/// randomly seeded, so an exporter cannot aim collisions at it.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;

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

mod write;

pub use write::{watermark_of, write};

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
