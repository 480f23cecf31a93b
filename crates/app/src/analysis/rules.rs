//! User-defined alert rules: a filter, a metric over a window, a
//! comparison with a threshold held for a duration, per subject.
//!
//! Flows are matched against each rule's filter as they arrive (the
//! in-memory predicate the live feed uses) and added to 10-second buckets
//! per subject; rules are evaluated every bucket. A condition true for
//! `for` fires an alert; false for `for` again (at least one bucket)
//! resolves it. After a resolution the rule and subject are in cool-down:
//! an alert within it is recorded but not notified, so one incident sends
//! one message and its resolution.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;

use flowlens_store::{Filter, Flow};
use serde::{Deserialize, Serialize};

use super::advisory::Severity;
use super::limits::*;
use crate::config::units::Dur;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleMetric {
    BytesPerSecond,
    BitsPerSecond,
    PacketsPerSecond,
    FlowsPerSecond,
    UniquePeers,
    UniquePorts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RuleBy {
    /// All matching traffic together.
    #[default]
    None,
    SrcAddr,
    DstAddr,
    Exporter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
}

impl Op {
    fn holds(self, v: f64, t: f64) -> bool {
        match self {
            Op::Above => v > t,
            Op::AtLeast => v >= t,
            Op::Below => v < t,
            Op::AtMost => v <= t,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Above => ">",
            Op::AtLeast => ">=",
            Op::Below => "<",
            Op::AtMost => "<=",
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_window() -> Dur {
    Dur::secs(60)
}
fn default_cooldown() -> Dur {
    Dur::secs(600)
}

/// An alert rule as stored and as the API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    /// Filter language; empty is all traffic.
    #[serde(default)]
    pub filter: String,
    pub metric: RuleMetric,
    #[serde(default)]
    pub by: RuleBy,
    pub op: Op,
    pub threshold: f64,
    #[serde(default = "default_window")]
    pub window: Dur,
    #[serde(default, rename = "for")]
    pub for_: Dur,
    pub severity: Severity,
    #[serde(default = "default_cooldown")]
    pub cooldown: Dur,
    /// Webhooks (by name in `notifications.webhooks`) notified.
    #[serde(default)]
    pub webhooks: Vec<String>,
    #[serde(default = "default_true")]
    pub enabled: bool,
}

impl RuleSpec {
    /// Everything wrong with the rule, for a person; `webhooks` are the
    /// configured names.
    pub fn check(&self, webhooks: &[String]) -> Result<Filter, String> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() || self.name.len() > MAX_RULE_NAME {
            problems.push(format!("name: 1 to {MAX_RULE_NAME} characters"));
        }
        if self.filter.len() > MAX_RULE_FILTER {
            problems.push(format!("filter: at most {MAX_RULE_FILTER} characters"));
        }
        let filter = if self.filter.trim().is_empty() {
            Some(Filter::all())
        } else {
            match Filter::parse(&self.filter) {
                Ok(f) => Some(f),
                Err(e) => {
                    problems.push(format!("filter: {e}"));
                    None
                }
            }
        };
        if !self.threshold.is_finite() || self.threshold < 0.0 {
            problems.push("threshold: a number ≥ 0".into());
        }
        let w = self.window.0.as_secs();
        let bucket = RULE_BUCKET_SECS as u64;
        if w < bucket || w > bucket * MAX_RULE_BUCKETS as u64 || w % bucket != 0 || self.window.0.subsec_nanos() != 0 {
            problems.push(format!(
                "window: {bucket}s to {}m in steps of {bucket}s",
                MAX_RULE_BUCKETS as i64 * RULE_BUCKET_SECS / 60
            ));
        }
        if self.for_.0.as_secs() > 86_400 {
            problems.push("for: at most 1d".into());
        }
        if self.cooldown.0.as_secs() > 7 * 86_400 {
            problems.push("cooldown: at most 7d".into());
        }
        for w in &self.webhooks {
            if !webhooks.contains(w) {
                problems.push(format!(
                    "webhooks: \"{w}\" is not in notifications.webhooks ({})",
                    if webhooks.is_empty() {
                        "none configured".into()
                    } else {
                        webhooks.join(", ")
                    }
                ));
            }
        }
        match (problems.is_empty(), filter) {
            (true, Some(f)) => Ok(f),
            _ => Err(problems.join("; ")),
        }
    }

    fn describe(&self, v: f64) -> String {
        let (value, threshold) = match self.metric {
            RuleMetric::BitsPerSecond => (
                super::analyzers::bps(v / 8.0, 1.0),
                super::analyzers::bps(self.threshold / 8.0, 1.0),
            ),
            RuleMetric::BytesPerSecond => (
                super::analyzers::bps(v, 1.0),
                super::analyzers::bps(self.threshold, 1.0),
            ),
            _ => (format!("{v:.1}"), format!("{}", self.threshold)),
        };
        let metric = match self.metric {
            RuleMetric::BytesPerSecond | RuleMetric::BitsPerSecond => "traffic",
            RuleMetric::PacketsPerSecond => "packets/s",
            RuleMetric::FlowsPerSecond => "flows/s",
            RuleMetric::UniquePeers => "unique peers",
            RuleMetric::UniquePorts => "unique ports",
        };
        format!("{metric} {value} {} {threshold} over {}", self.op.symbol(), self.window)
    }
}

/// A fired alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: u64,
    pub rule_id: i64,
    pub rule: String,
    pub severity: Severity,
    /// The address or exporter (`all` without `by`).
    pub subject: String,
    pub description: String,
    /// Unix seconds.
    pub started: i64,
    pub resolved: Option<i64>,
    /// The largest (or, for `<`, smallest) value while firing.
    pub peak: f64,
    /// Sent to the webhooks (false within a cool-down).
    pub notified: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlertChange {
    Firing(Alert, Vec<String>),
    Resolved(Alert, Vec<String>),
}

#[derive(Default)]
struct Acc {
    bytes: u64,
    packets: u64,
    flows: u64,
    distinct: HashSet<u64, foldhash::fast::FixedState>,
}

struct Bucket {
    start: i64,
    subjects: HashMap<Option<IpAddr>, Acc>,
}

#[derive(Default)]
struct Track {
    true_since: Option<i64>,
    false_since: Option<i64>,
    firing: Option<Alert>,
    cooldown_until: i64,
    /// The current incident was notified (its resolution is too).
    notify: bool,
}

struct Rule {
    id: i64,
    spec: RuleSpec,
    filter: Filter,
    buckets: VecDeque<Bucket>,
    distinct_total: usize,
    tracks: HashMap<Option<IpAddr>, Track>,
    pub folded: u64,
}

/// The rules and their state.
#[derive(Default)]
pub struct Rules {
    rules: Vec<Rule>,
    next_alert: u64,
    history: VecDeque<Alert>,
}

fn bucket_of(secs: i64) -> i64 {
    secs.div_euclid(RULE_BUCKET_SECS) * RULE_BUCKET_SECS
}

impl Rules {
    /// Replaces the rules, keeping the state of those unchanged.
    pub fn set(&mut self, specs: Vec<(i64, RuleSpec, Filter)>) {
        let mut old: HashMap<i64, Rule> = self.rules.drain(..).map(|r| (r.id, r)).collect();
        for (id, spec, filter) in specs.into_iter().take(MAX_ALERT_RULES) {
            match old.remove(&id) {
                Some(r) if r.spec == spec => self.rules.push(r),
                _ => self.rules.push(Rule {
                    id,
                    spec,
                    filter,
                    buckets: VecDeque::new(),
                    distinct_total: 0,
                    tracks: HashMap::new(),
                    folded: 0,
                }),
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn observe(&mut self, flows: &[Flow]) {
        for r in &mut self.rules {
            if !r.spec.enabled {
                continue;
            }
            for f in flows {
                if !flowlens_store::filter::eval::matches(&r.filter.expr, f) {
                    continue;
                }
                let rec = &f.record;
                let start = bucket_of(rec.time_received.as_millis().div_euclid(1_000));
                // A late flow goes into the newest bucket.
                if r.buckets.back().is_none_or(|b| b.start < start) {
                    r.buckets.push_back(Bucket {
                        start,
                        subjects: HashMap::new(),
                    });
                }
                let subject = match r.spec.by {
                    RuleBy::None => None,
                    RuleBy::SrcAddr => rec.src_addr,
                    RuleBy::DstAddr => rec.dst_addr,
                    RuleBy::Exporter => Some(rec.exporter.ip()),
                };
                let b = r.buckets.back_mut().expect("pushed above");
                let len = b.subjects.len();
                let acc = match b.subjects.get_mut(&subject) {
                    Some(a) => a,
                    None if len < MAX_RULE_SUBJECTS => b.subjects.entry(subject).or_default(),
                    None => {
                        r.folded += 1;
                        continue;
                    }
                };
                acc.bytes = acc.bytes.saturating_add(rec.scaled_bytes().unwrap_or(0));
                acc.packets = acc.packets.saturating_add(rec.scaled_packets().unwrap_or(0));
                acc.flows += 1;
                let distinct = match (r.spec.metric, r.spec.by) {
                    (RuleMetric::UniquePeers, RuleBy::SrcAddr) => rec.dst_addr.map(|a| hash_of(&a)),
                    (RuleMetric::UniquePeers, RuleBy::DstAddr) => rec.src_addr.map(|a| hash_of(&a)),
                    (RuleMetric::UniquePeers, _) => Some(hash_of(&(rec.src_addr, rec.dst_addr))),
                    (RuleMetric::UniquePorts, _) => rec.dst_port.map(|p| hash_of(&p)),
                    _ => None,
                };
                if let Some(h) = distinct {
                    if acc.distinct.len() < MAX_RULE_DISTINCT
                        && r.distinct_total < MAX_RULE_DISTINCT * 20
                        && acc.distinct.insert(h)
                    {
                        r.distinct_total += 1;
                    }
                }
            }
        }
    }

    /// Evaluates every rule on the complete buckets before `now`.
    pub fn evaluate(&mut self, now: i64) -> Vec<AlertChange> {
        let mut changes = Vec::new();
        let complete = bucket_of(now);
        for r in &mut self.rules {
            let n = (r.spec.window.0.as_secs() as i64 / RULE_BUCKET_SECS).max(1);
            let from = complete - n * RULE_BUCKET_SECS;
            while r.buckets.front().is_some_and(|b| b.start < from) {
                if let Some(b) = r.buckets.pop_front() {
                    r.distinct_total -= b.subjects.values().map(|a| a.distinct.len()).sum::<usize>();
                }
            }
            if !r.spec.enabled {
                continue;
            }
            let secs = (n * RULE_BUCKET_SECS) as f64;
            let mut values: BTreeMap<Option<IpAddr>, f64> = BTreeMap::new();
            let mut sets: HashMap<Option<IpAddr>, HashSet<u64>> = HashMap::new();
            for b in r.buckets.iter().filter(|b| b.start < complete) {
                for (s, a) in &b.subjects {
                    let v = values.entry(*s).or_default();
                    match r.spec.metric {
                        RuleMetric::BytesPerSecond => *v += a.bytes as f64 / secs,
                        RuleMetric::BitsPerSecond => *v += a.bytes as f64 * 8.0 / secs,
                        RuleMetric::PacketsPerSecond => *v += a.packets as f64 / secs,
                        RuleMetric::FlowsPerSecond => *v += a.flows as f64 / secs,
                        RuleMetric::UniquePeers | RuleMetric::UniquePorts => {
                            sets.entry(*s).or_default().extend(a.distinct.iter().copied());
                        }
                    }
                }
            }
            for (s, set) in sets {
                values.insert(s, set.len() as f64);
            }
            if r.spec.by == RuleBy::None {
                values.entry(None).or_insert(0.0);
            }
            // Subjects with an open alert or a pending condition are judged
            // even when silent.
            for s in r.tracks.keys() {
                values.entry(*s).or_insert(0.0);
            }
            for (s, v) in values {
                let holds = r.spec.op.holds(v, r.spec.threshold);
                let t = r.tracks.entry(s).or_default();
                let hold_for = r.spec.for_.0.as_secs() as i64;
                if holds {
                    t.false_since = None;
                    let since = *t.true_since.get_or_insert(now);
                    if let Some(a) = &mut t.firing {
                        a.peak = if matches!(r.spec.op, Op::Below | Op::AtMost) {
                            a.peak.min(v)
                        } else {
                            a.peak.max(v)
                        };
                    } else if now - since >= hold_for {
                        self.next_alert += 1;
                        let notify = now >= t.cooldown_until;
                        let subject = s.map_or_else(|| "all".to_string(), |a| a.to_string());
                        let a = Alert {
                            id: self.next_alert,
                            rule_id: r.id,
                            rule: r.spec.name.clone(),
                            severity: r.spec.severity,
                            description: format!("{}: {} for {subject}", r.spec.name, r.spec.describe(v)),
                            subject,
                            started: now,
                            resolved: None,
                            peak: v,
                            notified: notify,
                        };
                        t.notify = notify;
                        t.firing = Some(a.clone());
                        changes.push(AlertChange::Firing(
                            a,
                            if notify { r.spec.webhooks.clone() } else { Vec::new() },
                        ));
                    }
                } else {
                    t.true_since = None;
                    let since = *t.false_since.get_or_insert(now);
                    if t.firing.is_some() && now - since >= hold_for.max(RULE_BUCKET_SECS) - RULE_BUCKET_SECS {
                        let mut a = t.firing.take().expect("checked");
                        a.resolved = Some(now);
                        t.cooldown_until = now + r.spec.cooldown.0.as_secs() as i64;
                        changes.push(AlertChange::Resolved(
                            a,
                            if t.notify { r.spec.webhooks.clone() } else { Vec::new() },
                        ));
                    }
                }
            }
            // Forget quiet subjects.
            r.tracks
                .retain(|_, t| t.firing.is_some() || t.true_since.is_some() || t.cooldown_until > now);
        }
        for c in &changes {
            let a = match c {
                AlertChange::Firing(a, _) | AlertChange::Resolved(a, _) => a,
            };
            self.history.retain(|h| h.id != a.id);
            self.history.push_front(a.clone());
        }
        self.history.truncate(MAX_ALERTS_KEPT);
        changes
    }

    /// Alerts, firing first, then newest.
    pub fn alerts(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.history.iter().cloned().collect();
        v.sort_by(|a, b| {
            a.resolved
                .is_some()
                .cmp(&b.resolved.is_some())
                .then(b.started.cmp(&a.started))
        });
        v
    }

    /// Alert ids continue after `id` (the newest stored).
    pub fn continue_after(&mut self, id: u64) {
        self.next_alert = self.next_alert.max(id);
    }
}

fn hash_of<T: Hash>(v: &T) -> u64 {
    foldhash::fast::FixedState::default().hash_one(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowlens_wire::{FlowRecord, Protocol, Timestamp};

    fn spec(json: serde_json::Value) -> RuleSpec {
        serde_json::from_value(json).unwrap()
    }

    fn flows(t: i64, n: u32, src: &str) -> Vec<Flow> {
        (0..n)
            .map(|i| {
                let mut r = FlowRecord::new(
                    Protocol::Ipfix,
                    "192.0.2.1:0".parse().unwrap(),
                    Timestamp::from_millis(t * 1_000),
                );
                r.src_addr = Some(src.parse().unwrap());
                r.dst_addr = Some(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
                r.proto = Some(17);
                r.src_port = Some(40_000);
                r.dst_port = Some(53);
                r.bytes = Some(100);
                r.packets = Some(1);
                Flow::new(r)
            })
            .collect()
    }

    #[test]
    fn rules_are_checked_with_reasons() {
        let bad = spec(serde_json::json!({
            "name": "", "filter": "port 5x", "metric": "flows_per_second", "op": ">",
            "threshold": -1, "window": "7s", "severity": "warning", "webhooks": ["pager"]
        }));
        let e = bad.check(&["noc".into()]).unwrap_err();
        for part in ["name:", "filter:", "threshold:", "window:", "webhooks: \"pager\""] {
            assert!(e.contains(part), "{e}");
        }
        assert!(serde_json::from_value::<RuleSpec>(serde_json::json!({
            "name": "x", "metric": "flows", "op": ">", "threshold": 1, "severity": "warning"
        }))
        .is_err());
    }

    #[test]
    fn fires_after_for_resolves_and_stays_quiet_in_cooldown() {
        let s = spec(serde_json::json!({
            "name": "DNS fan-out", "filter": "dst port 53", "metric": "unique_peers", "by": "src_addr",
            "op": ">", "threshold": 50, "window": "20s", "for": "20s", "severity": "critical",
            "cooldown": "10m", "webhooks": ["noc"]
        }));
        let f = s.check(&["noc".into()]).unwrap();
        let mut rules = Rules::default();
        rules.set(vec![(1, s, f)]);
        let mut fired = Vec::new();
        // 100 peers every 10 s from 1000 to 1060, then silence, then again.
        for t in (1_000..1_200).step_by(10) {
            if t < 1_060 || (1_120..1_150).contains(&t) {
                rules.observe(&flows(t, 100, "10.9.9.9"));
            }
            fired.extend(rules.evaluate(t + 10));
        }
        let kinds: Vec<(bool, bool)> = fired
            .iter()
            .map(|c| match c {
                AlertChange::Firing(a, hooks) => (true, a.notified && !hooks.is_empty()),
                AlertChange::Resolved(_, hooks) => (false, !hooks.is_empty()),
            })
            .collect();
        // Fires (notified), resolves (notified), fires again within the
        // cool-down (recorded, silent) and resolves silently.
        assert_eq!(
            kinds,
            vec![(true, true), (false, true), (true, false), (false, false)],
            "{fired:?}"
        );
        match &fired[0] {
            AlertChange::Firing(a, _) => {
                assert_eq!(a.subject, "10.9.9.9");
                assert!(a.description.contains("unique peers 100.0 > 50"), "{}", a.description);
                assert_eq!(
                    a.started, 1_030,
                    "true from 1010 (its first complete bucket), held for 20 s"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rules.alerts().len(), 2);
    }

    #[test]
    fn below_thresholds_see_silence() {
        let s = spec(serde_json::json!({
            "name": "Feed stopped", "metric": "flows_per_second", "op": "<", "threshold": 1,
            "window": "30s", "severity": "critical"
        }));
        let f = s.check(&[]).unwrap();
        let mut rules = Rules::default();
        rules.set(vec![(7, s, f)]);
        rules.observe(&flows(1_000, 100, "10.0.0.1"));
        assert!(rules.evaluate(1_010).is_empty(), "100 flows in the window: 3.3/s");
        assert!(matches!(rules.evaluate(1_050)[..], [AlertChange::Firing(..)]));
    }
}
