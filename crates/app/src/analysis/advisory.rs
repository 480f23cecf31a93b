//! Advisories: what the analyzers found, in words a network engineer acts
//! on, kept while the condition lasts and resolved when it is gone.
//!
//! An analyzer reports [`Finding`]s each pass; the [`Registry`] matches
//! them to open advisories by key (analyzer + subject): a new key opens an
//! advisory, a known one is updated (numbers, text, last seen; severity only
//! rises), and one not found for `resolve_after` is resolved. One incident
//! is one advisory, however many passes see it.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use serde_json::Value;

use super::limits::{MAX_ACTIVE_ADVISORIES, MAX_RESOLVED_ADVISORIES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        Severity::parse(&s).ok_or_else(|| serde::de::Error::custom("severity is info, warning or critical"))
    }
}

/// What an advisory is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// host, subnet, exporter, interface, protocol
    pub kind: &'static str,
    /// The address, network, `exporter:ifindex` or protocol name.
    pub id: String,
}

/// One analyzer's report of one condition in one pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub analyzer: &'static str,
    pub severity: Severity,
    pub subject: Subject,
    /// Short, for lists: "Port scan from 172.16.0.55".
    pub title: String,
    /// The sentence with the numbers.
    pub description: String,
    /// What to do about it.
    pub action: String,
    /// The console view that shows the evidence (a path with its query).
    pub evidence: String,
    /// The numbers behind the sentence, by name.
    pub numbers: BTreeMap<&'static str, f64>,
}

impl Finding {
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.analyzer, self.subject.kind, self.subject.id)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advisory {
    pub id: u64,
    #[serde(flatten)]
    pub finding: Finding,
    /// Unix seconds.
    pub first_seen: i64,
    pub last_seen: i64,
    pub resolved: Option<i64>,
    /// Passes that found it.
    pub seen: u64,
}

/// A change for the events stream and the webhooks.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Opened(Advisory),
    /// Severity rose.
    Escalated(Advisory),
    Resolved(Advisory),
}

impl Change {
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Opened(_) => "advisory.opened",
            Change::Escalated(_) => "advisory.escalated",
            Change::Resolved(_) => "advisory.resolved",
        }
    }

    pub fn advisory(&self) -> &Advisory {
        match self {
            Change::Opened(a) | Change::Escalated(a) | Change::Resolved(a) => a,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::json!({ "type": self.kind(), "advisory": self.advisory() })
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    active: BTreeMap<String, Advisory>,
    resolved: VecDeque<Advisory>,
    next_id: u64,
    /// Findings not opened because `MAX_ACTIVE_ADVISORIES` were open.
    pub refused: u64,
}

impl Registry {
    /// Merges one pass: `ran` names the analyzers that ran (only their
    /// advisories can resolve), `findings` what they found.
    pub fn merge(&mut self, now: i64, ran: &[&str], findings: Vec<Finding>, resolve_after: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        for f in findings {
            let key = f.key();
            let full = self.active.len() >= MAX_ACTIVE_ADVISORIES;
            match self.active.get_mut(&key) {
                Some(a) => {
                    let rose = f.severity > a.finding.severity;
                    let severity = a.finding.severity.max(f.severity);
                    a.finding = f;
                    a.finding.severity = severity;
                    a.last_seen = now;
                    a.seen += 1;
                    if rose {
                        changes.push(Change::Escalated(a.clone()));
                    }
                }
                None if full => self.refused += 1,
                None => {
                    self.next_id += 1;
                    let a = Advisory {
                        id: self.next_id,
                        finding: f,
                        first_seen: now,
                        last_seen: now,
                        resolved: None,
                        seen: 1,
                    };
                    changes.push(Change::Opened(a.clone()));
                    self.active.insert(key, a);
                }
            }
        }
        let gone: Vec<String> = self
            .active
            .iter()
            .filter(|(_, a)| ran.contains(&a.finding.analyzer) && now - a.last_seen >= resolve_after)
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            if let Some(mut a) = self.active.remove(&k) {
                a.resolved = Some(now);
                changes.push(Change::Resolved(a.clone()));
                self.resolved.push_front(a);
                self.resolved.truncate(MAX_RESOLVED_ADVISORIES);
            }
        }
        changes
    }

    /// Open advisories, most severe first, then newest.
    pub fn active(&self) -> Vec<Advisory> {
        let mut v: Vec<Advisory> = self.active.values().cloned().collect();
        v.sort_by(|a, b| {
            b.finding
                .severity
                .cmp(&a.finding.severity)
                .then(b.first_seen.cmp(&a.first_seen))
                .then(b.id.cmp(&a.id))
        });
        v
    }

    /// Resolved advisories, newest first.
    pub fn resolved(&self) -> Vec<Advisory> {
        self.resolved.iter().cloned().collect()
    }

    pub fn get(&self, id: u64) -> Option<Advisory> {
        self.active
            .values()
            .chain(self.resolved.iter())
            .find(|a| a.id == id)
            .cloned()
    }

    /// Open advisories per severity.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut c = BTreeMap::from([("critical", 0), ("warning", 0), ("info", 0)]);
        for a in self.active.values() {
            *c.entry(a.finding.severity.name()).or_default() += 1;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, sev: Severity) -> Finding {
        Finding {
            analyzer: "scan",
            severity: sev,
            subject: Subject {
                kind: "host",
                id: id.into(),
            },
            title: format!("Port scan from {id}"),
            description: String::new(),
            action: String::new(),
            evidence: String::new(),
            numbers: BTreeMap::new(),
        }
    }

    #[test]
    fn one_incident_is_one_advisory_until_it_resolves() {
        let mut r = Registry::default();
        let c = r.merge(60, &["scan"], vec![finding("10.0.0.1", Severity::Warning)], 120);
        assert!(matches!(&c[..], [Change::Opened(_)]));
        let c = r.merge(120, &["scan"], vec![finding("10.0.0.1", Severity::Warning)], 120);
        assert!(c.is_empty(), "{c:?}");
        let c = r.merge(180, &["scan"], vec![finding("10.0.0.1", Severity::Critical)], 120);
        assert!(matches!(&c[..], [Change::Escalated(a)] if a.finding.severity == Severity::Critical));
        assert!(r.merge(240, &["scan"], vec![], 120).is_empty(), "not yet: 60 s unseen");
        // Another analyzer's pass does not resolve it.
        assert!(r.merge(400, &["dns"], vec![], 120).is_empty());
        let c = r.merge(400, &["scan"], vec![], 120);
        assert!(matches!(&c[..], [Change::Resolved(a)] if a.resolved == Some(400) && a.seen == 3));
        assert!(r.active().is_empty());
        assert_eq!(r.resolved().len(), 1);
        assert_eq!(r.get(1).unwrap().first_seen, 60);
    }

    #[test]
    fn the_open_list_is_bounded_and_sorted() {
        let mut r = Registry::default();
        let many: Vec<Finding> = (0..MAX_ACTIVE_ADVISORIES + 10)
            .map(|i| {
                finding(
                    &format!("h{i}"),
                    if i % 2 == 0 { Severity::Info } else { Severity::Critical },
                )
            })
            .collect();
        r.merge(0, &["scan"], many, 60);
        assert_eq!(r.active().len(), MAX_ACTIVE_ADVISORIES);
        assert_eq!(r.refused, 10);
        assert_eq!(r.active()[0].finding.severity, Severity::Critical);
        assert_eq!(r.counts()["critical"] + r.counts()["info"], MAX_ACTIVE_ADVISORIES);
    }
}
