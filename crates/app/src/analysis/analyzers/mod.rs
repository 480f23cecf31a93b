//! The analyzers. Each is `run_once(data) -> findings` over the recorder's
//! minutes (and the baselines), with the time in `data.now`: tests drive
//! them with a fixed clock. Thresholds come from `analysis.*` in the
//! configuration; every sentence carries the numbers that triggered it and
//! what to do.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

use super::advisory::{Finding, Severity, Subject};
use super::baseline::Baselines;
use super::limits::{MAX_DDOS_TRACKED, MAX_FINDINGS_PER_ANALYZER};
use super::roles::insecure_service;
use super::window::{Counts, Dir, Host, Insecure, InsecureKey, Minute, PathKey, SeriesKey};
use crate::config::Analysis;

/// Names of exporters and interfaces for the sentences.
pub trait Labels: Send + Sync {
    fn exporter(&self, a: IpAddr) -> String {
        a.to_string()
    }
    fn interface(&self, exporter: IpAddr, index: u32) -> String {
        format!("{} interface {index}", self.exporter(exporter))
    }
}

/// Addresses and numbers only.
pub struct Plain;
impl Labels for Plain {}

/// What a pass reads.
pub struct Data<'a> {
    /// Unix seconds.
    pub now: i64,
    /// Closed minutes, oldest first; the last is the newest complete one.
    pub closed: &'a [Arc<Minute>],
    /// The minute being filled (no series or paths).
    pub open: &'a Minute,
    pub baselines: &'a Baselines,
    pub labels: &'a dyn Labels,
}

impl Data<'_> {
    /// The last `minutes` closed minutes.
    fn window(&self, minutes: usize) -> &[Arc<Minute>] {
        &self.closed[self.closed.len().saturating_sub(minutes)..]
    }

    fn last(&self) -> Option<&Minute> {
        self.closed.last().map(|m| &**m)
    }

    /// Seconds the open minute has run, counting the one in progress
    /// (whole seconds: flows of second `now` are in).
    fn open_secs(&self) -> f64 {
        (self.now - self.open.start + 1).clamp(1, 60) as f64
    }
}

pub trait Analyzer: Send {
    fn name(&self) -> &'static str;
    fn run_once(&mut self, data: &Data) -> Vec<Finding>;
}

/// Every analyzer the configuration turns on.
pub fn all(c: &Analysis) -> Vec<Box<dyn Analyzer>> {
    let mut v: Vec<Box<dyn Analyzer>> = Vec::new();
    if c.top_talkers.enabled {
        v.push(Box::new(TopTalkers::new(c)));
    }
    if c.anomaly.enabled {
        v.push(Box::new(Anomaly {
            c: c.clone(),
            reported: Vec::new(),
        }));
    }
    if c.protocols.enabled {
        v.push(Box::new(Protocols(c.clone())));
    }
    if c.scans.enabled {
        v.push(Box::new(Scans(c.clone())));
    }
    if c.dns.enabled {
        v.push(Box::new(Dns(c.clone())));
    }
    if c.asymmetry.enabled {
        v.push(Box::new(Asymmetry(c.clone())));
    }
    if c.no_response.enabled {
        v.push(Box::new(NoResponse(c.clone())));
    }
    if c.ddos.enabled {
        v.push(Box::new(Ddos::new(c)));
    }
    v
}

// ---- words and numbers -------------------------------------------------

/// Bits per second as people write it: 8.2 Gbps, 950 kbps.
pub fn bps(bytes: f64, secs: f64) -> String {
    let b = bytes * 8.0 / secs.max(1e-9);
    let (v, unit) = if b >= 1e9 {
        (b / 1e9, "Gbps")
    } else if b >= 1e6 {
        (b / 1e6, "Mbps")
    } else if b >= 1e3 {
        (b / 1e3, "kbps")
    } else {
        (b, "bps")
    };
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}

/// 2,847
pub fn count(n: f64) -> String {
    let n = n.round() as i64;
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn hhmm(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%H:%M UTC").to_string())
        .unwrap_or_default()
}

/// A console link to the flows behind an advisory.
pub fn evidence(filter: &str, since: i64, until: i64) -> String {
    let f: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    format!("/flows?filter={f}&since={since}&until={until}")
}

fn service_name(proto: u8, port: u16) -> String {
    let name = match (proto, port) {
        (6, 443) | (17, 443) => "HTTPS",
        (6, 80) | (6, 8080) => "HTTP",
        (6 | 17, 53) => "DNS",
        (17, 123) => "NTP",
        (6, 22) => "SSH",
        (6, 25) => "SMTP",
        (6, 3389) => "RDP",
        (6, 445) => "SMB",
        (6, 5432) => "PostgreSQL",
        (6, 3306) => "MySQL",
        (6, 993) => "IMAPS",
        _ => "",
    };
    if !name.is_empty() {
        return name.into();
    }
    match proto {
        6 => format!("TCP {port}"),
        17 => format!("UDP {port}"),
        1 => "ICMP".into(),
        58 => "ICMPv6".into(),
        p => format!("IP protocol {p}"),
    }
}

fn proto_name(p: u8) -> String {
    match p {
        1 => "ICMP".into(),
        6 => "TCP".into(),
        17 => "UDP".into(),
        47 => "GRE".into(),
        50 => "ESP".into(),
        58 => "ICMPv6".into(),
        132 => "SCTP".into(),
        p => format!("IP protocol {p}"),
    }
}

fn numbers<const N: usize>(v: [(&'static str, f64); N]) -> BTreeMap<&'static str, f64> {
    v.into_iter().collect()
}

fn host(a: IpAddr) -> Subject {
    Subject {
        kind: "host",
        id: a.to_string(),
    }
}

/// Largest first, at most `MAX_FINDINGS_PER_ANALYZER`.
fn largest(mut v: Vec<(f64, Finding)>) -> Vec<Finding> {
    v.sort_by(|a, b| b.0.total_cmp(&a.0));
    v.into_iter().take(MAX_FINDINGS_PER_ANALYZER).map(|x| x.1).collect()
}

/// Hosts of the last closed minute and of the open one, each with the
/// seconds its minute covers and the minute's start.
fn recent_hosts<'a>(d: &'a Data) -> impl Iterator<Item = (IpAddr, &'a Host, f64, i64)> + 'a {
    let last = d
        .last()
        .into_iter()
        .flat_map(|m| m.hosts.iter().map(move |(a, h)| (*a, h, 60.0, m.start)));
    let (secs, start) = (d.open_secs(), d.open.start);
    last.chain(d.open.hosts.iter().map(move |(a, h)| (*a, h, secs, start)))
}

/// Sums hosts over minutes.
fn sum_hosts(minutes: &[Arc<Minute>]) -> HashMap<IpAddr, Host> {
    let mut out: HashMap<IpAddr, Host> = HashMap::new();
    for m in minutes {
        for (a, h) in &m.hosts {
            let s = out.entry(*a).or_default();
            s.sent.add(&h.sent);
            s.received.add(&h.received);
            s.attempts += h.attempts;
            s.unanswered += h.unanswered;
            s.servers = s.servers.max(h.servers);
            s.peers.merge(&h.peers);
        }
    }
    out
}

fn total(minutes: &[Arc<Minute>]) -> Counts {
    let mut c = Counts::default();
    for m in minutes {
        c.add(&m.totals);
    }
    c
}

fn window_minutes(c: &Analysis) -> usize {
    (c.window.0.as_secs() / 60).max(1) as usize
}

mod hosts;
mod volume;

pub use hosts::{Ddos, Dns, NoResponse, Protocols, Scans};
pub use volume::{Anomaly, Asymmetry, TopTalkers};
