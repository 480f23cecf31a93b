//! Query-string parameters shared by the endpoints: the time range, the
//! filter, the metric, limits. Each parse error names the parameter, the
//! value and what is allowed, and becomes a 400.

use std::collections::HashMap;

use flowlens_store::query::{Dim, Metric, TimeRange};
use flowlens_store::Filter;
use flowlens_wire::Timestamp;

use super::limits::{DEFAULT_LIMIT, DEFAULT_RANGE_SECS, MAX_PARAM_LEN};
use super::ApiError;
use crate::timespec;

/// The raw query string, decoded, one value per name (the last wins).
pub struct Params {
    map: HashMap<String, String>,
    now: Timestamp,
    /// The asking account's scope: every flow question is ANDed with it.
    scope: Option<Filter>,
}

impl Params {
    pub fn new(map: HashMap<String, String>, now: Timestamp) -> Result<Params, ApiError> {
        if let Some((k, v)) = map.iter().find(|(k, v)| k.len() + v.len() > MAX_PARAM_LEN) {
            return Err(ApiError::bad(
                "param_too_long",
                format!(
                    "parameter \"{}\" is {} bytes long; at most {MAX_PARAM_LEN}",
                    k,
                    k.len() + v.len()
                ),
            ));
        }
        Ok(Params { map, now, scope: None })
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Parameters outside `known` are refused: a typo (`fitler`) must not
    /// silently answer a different question.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        for k in self.map.keys() {
            if !known.contains(&k.as_str()) {
                let near = crate::config::nearest(k, known);
                return Err(ApiError::bad(
                    "unknown_param",
                    match near {
                        Some(n) => format!("unknown parameter \"{k}\" (did you mean \"{n}\"?)"),
                        None => format!("unknown parameter \"{k}\"; this endpoint takes {}", known.join(", ")),
                    },
                ));
            }
        }
        Ok(())
    }

    /// `since` (default an hour ago) and `until` (default now).
    pub fn range(&self) -> Result<TimeRange, ApiError> {
        let t = |name: &str, default: Timestamp| match self.get(name) {
            None => Ok(default),
            Some(v) => timespec::time(v, self.now).map_err(|e| ApiError::bad("bad_time", format!("{name}: {e}"))),
        };
        let until = t("until", self.now)?;
        let since = t(
            "since",
            Timestamp(until.0.saturating_sub(DEFAULT_RANGE_SECS * 1_000_000_000)),
        )?;
        if until <= since {
            return Err(ApiError::bad(
                "bad_range",
                "the time range ends before it starts: until must be after since".to_string(),
            ));
        }
        Ok(TimeRange { since, until })
    }

    /// Limits every flow question to `scope` (an account's).
    pub fn scoped(mut self, scope: Option<Filter>) -> Params {
        self.scope = scope;
        self
    }

    /// The scope's filter, everything when unscoped.
    pub fn scope(&self) -> Filter {
        self.scope.clone().unwrap_or_else(Filter::all)
    }

    /// `filter` in the filter language (empty: everything), within the
    /// account's scope.
    pub fn filter(&self) -> Result<Filter, ApiError> {
        let f = match self.get("filter") {
            None => Filter::all(),
            Some(f) => Filter::parse(f).map_err(|e| ApiError::bad(e.code(), format!("filter: {e}")))?,
        };
        Ok(f.and(self.scope()))
    }

    pub fn metric(&self) -> Result<Metric, ApiError> {
        Metric::parse(self.get("metric").unwrap_or("bytes")).map_err(ApiError::from_store)
    }

    pub fn dims(&self, name: &str) -> Result<Vec<Dim>, ApiError> {
        let Some(v) = self.get(name) else {
            return Err(ApiError::bad(
                "missing_param",
                format!("\"{name}\" is required (e.g. {name}=src_ip)"),
            ));
        };
        v.split(',')
            .map(|d| Dim::parse(d.trim()).map_err(ApiError::from_store))
            .collect()
    }

    /// A whole number in `lo..=hi`, `default` when absent.
    pub fn number(&self, name: &str, default: u64, lo: u64, hi: u64) -> Result<u64, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(default);
        };
        match v.parse::<u64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(ApiError::bad(
                "bad_number",
                format!("{name}=\"{v}\": expected a whole number from {lo} to {hi}"),
            )),
        }
    }

    pub fn limit(&self, max: usize) -> Result<usize, ApiError> {
        Ok(self.number("limit", DEFAULT_LIMIT.min(max) as u64, 1, max as u64)? as usize)
    }

    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("false" | "0" | "no") => Ok(false),
            Some("true" | "1" | "yes") => Ok(true),
            Some(v) => Err(ApiError::bad("bad_flag", format!("{name}=\"{v}\": use true or false"))),
        }
    }

    /// A step in seconds: `300`, `5m`, `1h`.
    pub fn step(&self, default: u64) -> Result<u64, ApiError> {
        match self.get("step") {
            None => Ok(default),
            Some(v) => match timespec::duration_secs(v) {
                Ok(0) | Err(_) => Err(ApiError::bad(
                    "bad_step",
                    format!("step=\"{v}\": use a duration such as 60, 5m or 1h"),
                )),
                Ok(s) => Ok(s),
            },
        }
    }
}

/// The step for about `points` points over `range`, rounded up to a step a
/// person reads easily (and a rollup answers).
pub fn auto_step(range: &TimeRange, points: u64) -> u64 {
    const STEPS: [u64; 12] = [10, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 10_800, 21_600, 86_400];
    let secs = ((range.until.0 - range.since.0) / 1_000_000_000).max(1) as u64;
    let want = secs.div_ceil(points.max(1));
    STEPS
        .into_iter()
        .find(|&s| s >= want)
        .unwrap_or(want.div_ceil(86_400) * 86_400)
}
