//! The analysis engine: analyzers on a schedule turning recent traffic into
//! advisories, user alert rules evaluated every 10 seconds, and the
//! notifications both send.
//!
//! ```text
//! sinks ──observe──► Recorder (per-minute summaries) ──► analyzers ──► Registry ──► events, webhooks, SQLite
//!       └─observe──► Rules (10-s buckets per rule)  ──► alerts ──────────────────┘
//! ```
//!
//! The sinks call [`Engine::observe`] once per batch (one lock each for the
//! recorder and the rules); everything else runs on the engine's own thread
//! ([`Engine::spawn`]) or, in tests, by calling [`Engine::run_once`] and
//! [`Engine::evaluate_rules`] with a fixed clock.

pub mod advisory;
pub mod analyzers;
pub mod baseline;
pub mod behaviour;
pub mod limits;
pub mod notify;
pub mod roles;
pub mod rules;
pub mod window;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use flowlens_store::{Flow, Store};
use serde::Serialize;
use serde_json::{json, Value};

pub use advisory::{Advisory, Change, Finding, Severity, Subject};
use analyzers::{Analyzer, Data, Labels};
use baseline::Baselines;
use rules::{Alert, AlertChange, RuleSpec, Rules};
use window::Recorder;

use crate::config::Config;

/// SQLite document kinds.
pub const RULE_DOC: &str = "alert_rule";
pub const ALERT_DOC: &str = "alert";
pub const ADVISORY_DOC: &str = "advisory";
/// History kept in SQLite per kind.
const DOCS_KEPT: usize = 10_000;

/// Counters for the status and `/metrics`.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub passes: AtomicU64,
    /// Wall time of the last pass, microseconds.
    pub last_pass_us: AtomicU64,
    pub rule_evaluations: AtomicU64,
    pub advisories_opened: AtomicU64,
    pub alerts_fired: AtomicU64,
    /// SQLite writes that failed (logged).
    pub persist_errors: AtomicU64,
}

struct State {
    analyzers: Vec<Box<dyn Analyzer>>,
    baselines: Baselines,
    /// Newest minute fed to the baselines.
    fed: i64,
}

pub struct Engine {
    config: Config,
    recorder: Mutex<Recorder>,
    rules: Mutex<Rules>,
    state: Mutex<State>,
    registry: Mutex<advisory::Registry>,
    pub notifier: notify::Notifier,
    store: Option<Arc<Store>>,
    labels: Box<dyn Labels>,
    pub stats: Stats,
    /// Rules exist (the sinks skip the rules' lock without them).
    has_rules: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Exporter and interface names from the enrichment.
pub struct InterfaceLabels(pub Arc<crate::enrich::Interfaces>);

impl Labels for InterfaceLabels {
    fn exporter(&self, a: IpAddr) -> String {
        match self.0.exporter_name(a) {
            Some(n) => format!("{n} ({a})"),
            None => a.to_string(),
        }
    }

    fn interface(&self, exporter: IpAddr, index: u32) -> String {
        let router = self
            .0
            .exporter_name(exporter)
            .map_or_else(|| exporter.to_string(), str::to_string);
        match self.0.info(exporter, index).name {
            Some(n) => format!("{router} {n}"),
            None => format!("{router} interface {index}"),
        }
    }
}

impl Engine {
    pub fn new(config: &Config, store: Option<Arc<Store>>, labels: Box<dyn Labels>) -> Engine {
        Engine {
            // The longest window, plus the minute before it (top-talker
            // shifts compare with it).
            recorder: Mutex::new(Recorder::new((config.analysis.window.0.as_secs() / 60) as usize + 1)),
            rules: Mutex::new(Rules::default()),
            state: Mutex::new(State {
                analyzers: analyzers::all(&config.analysis),
                baselines: Baselines::default(),
                fed: i64::MIN,
            }),
            registry: Mutex::new(advisory::Registry::default()),
            notifier: notify::Notifier::new(&config.notifications),
            store,
            labels,
            stats: Stats::default(),
            has_rules: AtomicBool::new(false),
            config: config.clone(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.analysis.enabled
    }

    /// Adds a batch of flows (the sinks, once per batch).
    pub fn observe(&self, flows: &[Flow]) {
        if !self.enabled() {
            return;
        }
        lock(&self.recorder).observe(flows);
        if self.has_rules.load(Ordering::Relaxed) {
            lock(&self.rules).observe(flows);
        }
    }

    /// Closes the minutes before `now` and learns their baselines, without
    /// judging (history replayed at start).
    pub fn learn(&self, now: i64) {
        let closed = {
            let mut r = lock(&self.recorder);
            r.roll(now);
            r.closed()
        };
        let mut st = lock(&self.state);
        let min_share = self.config.analysis.anomaly.min_share / 100.0;
        for m in closed {
            if m.start > st.fed {
                st.baselines.add(&m, min_share);
                st.fed = m.start;
            }
        }
    }

    /// One analysis pass at `now` (unix seconds): every analyzer, then the
    /// advisories merged, stored and notified. Returns the changes.
    pub fn run_once(&self, now: i64) -> Vec<Change> {
        let started = Instant::now();
        let (closed, open) = {
            let mut r = lock(&self.recorder);
            r.roll(now);
            (r.closed(), r.open())
        };
        let mut findings = Vec::new();
        let mut ran = Vec::new();
        {
            let mut st = lock(&self.state);
            let min_share = self.config.analysis.anomaly.min_share / 100.0;
            for m in &closed {
                if m.start > st.fed {
                    st.baselines.add(m, min_share);
                    st.fed = m.start;
                }
            }
            let State {
                analyzers, baselines, ..
            } = &mut *st;
            let data = Data {
                now,
                closed: &closed,
                open: &open,
                baselines,
                labels: &*self.labels,
            };
            for a in analyzers.iter_mut() {
                ran.push(a.name());
                if a.name() == "scan" {
                    ran.push("sweep");
                }
                findings.extend(a.run_once(&data));
            }
        }
        let resolve_after = self.config.analysis.resolve_after.0.as_secs() as i64;
        let changes = lock(&self.registry).merge(now, &ran, findings, resolve_after);
        for c in &changes {
            let a = c.advisory();
            if matches!(c, Change::Opened(_)) {
                self.stats.advisories_opened.fetch_add(1, Ordering::Relaxed);
                tracing::info!(severity = a.finding.severity.name(), subject = %a.finding.subject.id, "{}", a.finding.description);
            }
            self.persist(
                ADVISORY_DOC,
                a.id as i64,
                &serde_json::to_value(a).unwrap_or(Value::Null),
                now,
            );
            let severity = a.finding.severity;
            self.notifier.send(&c.json(), |w| {
                Severity::parse(&w.advisories).is_some_and(|min| severity >= min)
            });
        }
        // Now and then, the stored history is cut to its newest documents.
        if self.stats.passes.fetch_add(1, Ordering::Relaxed) % 60 == 59 {
            if let Some(store) = &self.store {
                for kind in [ADVISORY_DOC, ALERT_DOC] {
                    if let Err(e) = store.prune_docs(kind, DOCS_KEPT) {
                        tracing::warn!(error = %e, kind, "could not prune meta.sqlite");
                    }
                }
            }
        }
        self.stats
            .last_pass_us
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        changes
    }

    /// Evaluates the alert rules at `now`; alerts stored and notified.
    pub fn evaluate_rules(&self, now: i64) -> Vec<AlertChange> {
        if !self.has_rules.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let changes = lock(&self.rules).evaluate(now);
        self.stats.rule_evaluations.fetch_add(1, Ordering::Relaxed);
        for c in &changes {
            let (kind, a, hooks) = match c {
                AlertChange::Firing(a, h) => {
                    self.stats.alerts_fired.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(rule = %a.rule, subject = %a.subject, "alert: {}", a.description);
                    ("alert.firing", a, h)
                }
                AlertChange::Resolved(a, h) => ("alert.resolved", a, h),
            };
            self.persist(
                ALERT_DOC,
                a.id as i64,
                &serde_json::to_value(a).unwrap_or(Value::Null),
                now,
            );
            self.notifier
                .send(&json!({ "type": kind, "alert": a }), |w| hooks.contains(&w.name));
        }
        changes
    }

    fn persist(&self, kind: &str, id: i64, body: &Value, now: i64) {
        let Some(store) = &self.store else { return };
        if let Err(e) = store.put_doc(kind, id, &body.to_string(), now, true) {
            self.stats.persist_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, kind, "could not record in meta.sqlite");
        }
    }

    /// Loads the alert rules from SQLite (at start and after every change
    /// through the API); rules that no longer check are skipped and logged.
    /// Alert ids continue after the stored ones.
    pub fn reload_rules(&self) -> Result<usize, flowlens_store::StoreError> {
        let Some(store) = &self.store else { return Ok(0) };
        let hooks = self.webhook_names();
        let mut specs = Vec::new();
        for (id, body) in store.docs(RULE_DOC, limits::MAX_ALERT_RULES)? {
            match serde_json::from_str::<RuleSpec>(&body)
                .map_err(|e| e.to_string())
                .and_then(|s| {
                    let f = s.check(&hooks)?;
                    Ok((s, f))
                }) {
                Ok((s, f)) => specs.push((id, s, f)),
                Err(e) => tracing::warn!(rule = id, error = %e, "alert rule skipped; fix or delete it"),
            }
        }
        specs.sort_by_key(|s| s.0);
        let n = specs.len();
        let mut rules = lock(&self.rules);
        if let Ok(Some((id, _))) = store.docs(ALERT_DOC, 1).map(|v| v.into_iter().next()) {
            rules.continue_after(id as u64);
        }
        rules.set(specs);
        self.has_rules.store(!rules.is_empty(), Ordering::Relaxed);
        Ok(n)
    }

    pub fn webhook_names(&self) -> Vec<String> {
        self.config
            .notifications
            .webhooks
            .iter()
            .map(|w| w.name.clone())
            .collect()
    }

    /// Open advisories, most severe first.
    pub fn advisories(&self) -> Vec<Advisory> {
        lock(&self.registry).active()
    }

    pub fn advisory(&self, id: u64) -> Option<Advisory> {
        lock(&self.registry).get(id)
    }

    pub fn counts(&self) -> std::collections::BTreeMap<&'static str, usize> {
        lock(&self.registry).counts()
    }

    /// Alerts in memory (firing first).
    pub fn alerts(&self) -> Vec<Alert> {
        lock(&self.rules).alerts()
    }

    /// Baseline series and recorder state, for the status.
    pub fn status(&self) -> Value {
        let st = lock(&self.state);
        let r = lock(&self.recorder);
        let d = &self.notifier.stats;
        json!({
            "enabled": self.enabled(),
            "interval_seconds": self.config.analysis.interval.0.as_secs(),
            "passes": self.stats.passes.load(Ordering::Relaxed),
            "last_pass_ms": self.stats.last_pass_us.load(Ordering::Relaxed) as f64 / 1_000.0,
            "baseline_series": st.baselines.len(),
            "baseline_series_refused": st.baselines.refused,
            "late_flows": r.late,
            "advisories": lock(&self.registry).counts(),
            "alerts_fired": self.stats.alerts_fired.load(Ordering::Relaxed),
            "webhooks": {
                "delivered": d.delivered.load(Ordering::Relaxed),
                "retried": d.retried.load(Ordering::Relaxed),
                "failed": d.failed.load(Ordering::Relaxed),
                "dropped": d.dropped.load(Ordering::Relaxed),
            },
            "persist_errors": self.stats.persist_errors.load(Ordering::Relaxed),
        })
    }

    /// Runs passes every `analysis.interval` and rule evaluations every
    /// 10 s on a thread of its own until `stop`.
    pub fn spawn(self: &Arc<Self>, stop: Arc<AtomicBool>) -> std::io::Result<std::thread::JoinHandle<()>> {
        let e = self.clone();
        std::thread::Builder::new()
            .name("flowlens-analysis".into())
            .spawn(move || {
                let every = e.config.analysis.interval.0;
                let rule_every = Duration::from_secs(limits::RULE_BUCKET_SECS as u64);
                let mut next_pass = Instant::now() + every;
                let mut next_rules = Instant::now() + rule_every;
                while !stop.load(Ordering::Relaxed) {
                    let now = crate::serve::now().as_millis().div_euclid(1_000);
                    // With analysis off no flow is recorded: rules would
                    // only see silence.
                    if e.enabled() && Instant::now() >= next_rules {
                        e.evaluate_rules(now);
                        next_rules += rule_every;
                    }
                    if e.enabled() && Instant::now() >= next_pass {
                        e.run_once(now);
                        next_pass += every;
                        // A pass that overran does not queue up more.
                        next_pass = next_pass.max(Instant::now());
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
            })
    }
}

#[cfg(test)]
mod tests;
