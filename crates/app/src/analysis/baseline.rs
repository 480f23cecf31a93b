//! Seasonal baselines: what a series (an exporter, an interface, a network,
//! a protocol) usually carries at this time of day.
//!
//! Each series keeps its per-minute bytes and flows for up to 7 days. The
//! expectation for a minute is the median of the same time of day (± 15
//! minutes) on each earlier day once a day of history exists, else of the
//! last hour; the spread is the median absolute deviation (MAD) of the same
//! samples. Medians and MADs ignore the odd outlier that a mean and a
//! standard deviation would chase, so a spike does not hide the next one.
//! Until a series has `min_history` of history it is learning, and no
//! anomaly is reported for it.

use std::collections::{HashMap, VecDeque};

use super::limits::{MAX_BASELINE_MINUTES, MAX_BASELINE_SERIES};
use super::window::{Minute, SeriesKey};

const DAY: usize = 1_440;
/// Minutes either side of the same time of day on earlier days.
const SEASON_SLACK: usize = 15;
/// Minutes of the non-seasonal baseline before a day of history exists.
const RECENT: usize = 60;

/// A series' history: one (bytes, flows) per minute, oldest first.
#[derive(Debug, Clone, Default)]
struct History {
    /// Unix seconds of the newest minute.
    last: i64,
    values: VecDeque<(f32, f32)>,
}

/// What a minute of a series is expected to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expectation {
    pub bytes: f64,
    /// Robust spread of bytes: 1.4826 × MAD (a standard deviation for
    /// normal noise).
    pub bytes_spread: f64,
    pub flows: f64,
    pub flows_spread: f64,
    pub samples: usize,
    /// From earlier days at this time (else from the last hour).
    pub seasonal: bool,
}

#[derive(Debug, Default)]
pub struct Baselines {
    series: HashMap<SeriesKey, History>,
    /// Series that qualified but found no room.
    pub refused: u64,
}

fn median(v: &mut [f32]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    f64::from(*m)
}

fn median_and_spread(v: &mut [f32]) -> (f64, f64) {
    let m = median(v);
    let mut dev: Vec<f32> = v.iter().map(|x| (f64::from(*x) - m).abs() as f32).collect();
    (m, 1.4826 * median(&mut dev))
}

impl Baselines {
    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Adds a closed minute: every known series gets its value (0 when
    /// silent); series carrying at least `min_share` of the minute's bytes
    /// or flows start a history if there is room.
    pub fn add(&mut self, m: &Minute, min_share: f64) {
        for (k, h) in self.series.iter_mut() {
            let v = m.series.get(k).map_or((0.0, 0.0), |c| (c.bytes as f32, c.flows as f32));
            // Minutes missed (the service was down) are not invented.
            if m.start <= h.last {
                continue;
            }
            if m.start - h.last > 60 {
                h.values.clear();
            }
            h.values.push_back(v);
            h.last = m.start;
            while h.values.len() > MAX_BASELINE_MINUTES {
                h.values.pop_front();
            }
        }
        let total = m.totals;
        if total.flows == 0 {
            return;
        }
        for (k, c) in &m.series {
            if self.series.contains_key(k) {
                continue;
            }
            let share = (c.bytes as f64 / total.bytes.max(1) as f64).max(c.flows as f64 / total.flows as f64);
            if share < min_share {
                continue;
            }
            if self.series.len() >= MAX_BASELINE_SERIES {
                self.refused += 1;
                continue;
            }
            self.series.insert(
                *k,
                History {
                    last: m.start,
                    values: VecDeque::from([(c.bytes as f32, c.flows as f32)]),
                },
            );
        }
    }

    /// Minutes of history of a series.
    pub fn history(&self, k: &SeriesKey) -> usize {
        self.series.get(k).map_or(0, |h| h.values.len())
    }

    /// The series with a history, and their newest minute's value.
    pub fn latest(&self) -> impl Iterator<Item = (&SeriesKey, i64, (f32, f32))> + '_ {
        self.series
            .iter()
            .filter_map(|(k, h)| h.values.back().map(|v| (k, h.last, *v)))
    }

    /// The value of the series `back` minutes before its newest.
    pub fn value(&self, k: &SeriesKey, back: usize) -> Option<(f32, f32)> {
        let h = self.series.get(k)?;
        h.values
            .len()
            .checked_sub(1 + back)
            .and_then(|i| h.values.get(i).copied())
    }

    /// The expectation for the newest minute of a series, from the minutes
    /// before it; `None` while it has less than `min_history` minutes.
    pub fn expect(&self, k: &SeriesKey, min_history: usize) -> Option<Expectation> {
        let h = self.series.get(k)?;
        let n = h.values.len();
        if n < min_history.max(2) + 1 {
            return None;
        }
        let now = n - 1;
        let mut bytes = Vec::new();
        let mut flows = Vec::new();
        let seasonal = now >= DAY + SEASON_SLACK;
        if seasonal {
            for d in 1..=7 {
                let Some(center) = now.checked_sub(d * DAY) else { break };
                let lo = center.saturating_sub(SEASON_SLACK);
                for i in lo..=(center + SEASON_SLACK).min(now - 1) {
                    let (b, f) = h.values[i];
                    bytes.push(b);
                    flows.push(f);
                }
            }
        } else {
            for i in now.saturating_sub(RECENT)..now {
                let (b, f) = h.values[i];
                bytes.push(b);
                flows.push(f);
            }
        }
        let (b, bs) = median_and_spread(&mut bytes);
        let (f, fs) = median_and_spread(&mut flows);
        Some(Expectation {
            bytes: b,
            bytes_spread: bs,
            flows: f,
            flows_spread: fs,
            samples: bytes.len(),
            seasonal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::window::Counts;

    fn minute(start: i64, bytes: u64) -> Minute {
        let mut m = Minute {
            start,
            ..Minute::default()
        };
        m.totals = Counts {
            bytes,
            packets: bytes / 100,
            flows: bytes / 1_000,
        };
        m.series.insert(SeriesKey::Protocol(6), m.totals);
        m
    }

    #[test]
    fn learning_then_a_robust_recent_baseline() {
        let mut b = Baselines::default();
        for i in 0..30 {
            b.add(&minute(i * 60, 1_000_000 + (i as u64 % 3) * 10_000), 0.01);
        }
        assert!(b.expect(&SeriesKey::Protocol(6), 60).is_none(), "still learning");
        for i in 30..90 {
            // One wild minute does not move the median.
            let v = if i == 50 {
                90_000_000
            } else {
                1_000_000 + (i as u64 % 3) * 10_000
            };
            b.add(&minute(i * 60, v), 0.01);
        }
        let e = b.expect(&SeriesKey::Protocol(6), 60).unwrap();
        assert!(!e.seasonal);
        assert!((e.bytes - 1_010_000.0).abs() < 10_001.0, "{e:?}");
        assert!(e.bytes_spread < 20_000.0, "{e:?}");
    }

    #[test]
    fn a_day_later_the_same_time_of_day_is_the_baseline() {
        let mut b = Baselines::default();
        // Busy 12:00–13:00, quiet otherwise, for two days.
        for i in 0..(2 * DAY as i64 + 30) {
            let tod = i % DAY as i64;
            let v = if (720..780).contains(&tod) {
                10_000_000
            } else {
                1_000_000
            };
            b.add(&minute(i * 60, v), 0.01);
        }
        // Minute 12:30 of day 3 expects the busy level.
        while b.history(&SeriesKey::Protocol(6)) < 2 * DAY + 751 {
            let i = b.history(&SeriesKey::Protocol(6)) as i64;
            b.add(&minute(i * 60, 10_000_000), 0.01);
        }
        let e = b.expect(&SeriesKey::Protocol(6), 60).unwrap();
        assert!(e.seasonal);
        assert!((e.bytes - 10_000_000.0).abs() < 1.0, "{e:?}");
    }

    #[test]
    fn series_are_bounded() {
        let mut b = Baselines::default();
        let mut m = minute(0, 1_000);
        for p in 0..=255u8 {
            m.series.insert(SeriesKey::Protocol(p), m.totals);
        }
        for i in 0..(MAX_BASELINE_SERIES as u32 + 10) {
            m.series.insert(
                SeriesKey::Interface("192.0.2.1".parse().unwrap(), i, super::super::window::Dir::In),
                m.totals,
            );
        }
        b.add(&m, 0.01);
        assert_eq!(b.len(), MAX_BASELINE_SERIES);
        assert!(b.refused > 0);
    }
}
