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
use super::window::{insecure_service, Counts, Dir, Host, Insecure, InsecureKey, Minute, PathKey, SeriesKey};
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

// ---- top talkers --------------------------------------------------------

pub struct TopTalkers {
    c: Analysis,
    /// The previous pass's top talkers, largest first.
    previous: Vec<IpAddr>,
}

impl TopTalkers {
    pub fn new(c: &Analysis) -> Self {
        TopTalkers {
            c: c.clone(),
            previous: Vec::new(),
        }
    }
}

impl Analyzer for TopTalkers {
    fn name(&self) -> &'static str {
        "top_talkers"
    }

    fn run_once(&mut self, d: &Data) -> Vec<Finding> {
        let minutes = window_minutes(&self.c);
        let w = d.window(minutes);
        if w.len() < minutes.min(5) {
            return Vec::new();
        }
        let secs = (w.len() * 60) as f64;
        let tot = total(w);
        if tot.bytes == 0 {
            return Vec::new();
        }
        let hosts = sum_hosts(w);
        let mut ranked: Vec<(u64, IpAddr)> = hosts.iter().map(|(a, h)| (h.bytes(), *a)).collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        let top: Vec<IpAddr> = ranked.iter().take(self.c.top_talkers.count).map(|x| x.1).collect();
        let (since, until) = (w[0].start, d.now);
        let mut out = Vec::new();
        let describe = |a: IpAddr, h: &Host| -> String {
            let peers = h.peers.sorted();
            match peers.first() {
                Some((p, port, b)) if *b * 2 >= h.bytes() => {
                    format!(", mostly {} with {p}", service_name(6, *port))
                }
                Some((p, port, _)) => format!(", largest peer {p} ({})", service_name(6, *port)),
                None => {
                    let _ = a;
                    String::new()
                }
            }
        };
        for (bytes, a) in ranked.iter().take(self.c.top_talkers.count) {
            let share = *bytes as f64 / tot.bytes as f64 * 100.0;
            if share < self.c.top_talkers.share {
                break;
            }
            let h = &hosts[a];
            out.push(Finding {
                analyzer: self.name(),
                severity: if share >= 70.0 {
                    Severity::Warning
                } else {
                    Severity::Info
                },
                subject: host(*a),
                title: format!("{a} carries {share:.0}% of all traffic"),
                description: format!(
                    "{a} is using {share:.0}% of total bandwidth ({} of {} over the last {} min){}.",
                    bps(*bytes as f64, secs),
                    bps(tot.bytes as f64, secs),
                    w.len(),
                    describe(*a, h)
                ),
                action: format!(
                    "Check that this volume is expected for {a} (backup, replication, update mirror); if not, \
                     find the application on it or rate-limit it."
                ),
                evidence: evidence(&format!("host {a}"), since, until),
                numbers: numbers([("share_percent", share), ("bps", *bytes as f64 * 8.0 / secs)]),
            });
        }
        // A new top talker: not among the previous pass's five, now first
        // with a real share.
        if let (Some(new), Some(old)) = (top.first(), self.previous.first()) {
            let share = ranked[0].0 as f64 / tot.bytes as f64 * 100.0;
            if new != old && !self.previous.iter().take(5).any(|p| p == new) && share >= self.c.top_talkers.shift_share
            {
                out.push(Finding {
                    analyzer: self.name(),
                    severity: Severity::Info,
                    subject: Subject {
                        kind: "network",
                        id: "top-talker".into(),
                    },
                    title: format!("New top talker: {new}"),
                    description: format!(
                        "{new} became the top talker ({share:.0}% of traffic, {}), replacing {old}{}.",
                        bps(ranked[0].0 as f64, secs),
                        describe(*new, &hosts[new])
                    ),
                    action: format!("If {new} is not expected to lead, look at what it started doing."),
                    evidence: evidence(&format!("host {new}"), since, until),
                    numbers: numbers([("share_percent", share)]),
                });
            }
        }
        self.previous = top;
        out
    }
}

// ---- baseline anomalies -------------------------------------------------

pub struct Anomaly {
    pub c: Analysis,
    /// Subjects reported by the last pass: kept first while they last, so
    /// a condition seen by many series keeps the same few advisories.
    pub reported: Vec<String>,
}

fn series_words(k: &SeriesKey, labels: &dyn Labels) -> (Subject, String, String) {
    match k {
        SeriesKey::Exporter(a) => (
            Subject {
                kind: "exporter",
                id: a.to_string(),
            },
            format!("Traffic through {}", labels.exporter(*a)),
            format!("exporter {a}"),
        ),
        SeriesKey::Interface(a, i, dir) => (
            Subject {
                kind: "interface",
                id: format!("{a}:{i}:{}", if *dir == Dir::In { "in" } else { "out" }),
            },
            format!(
                "Traffic {} {}",
                if *dir == Dir::In { "in on" } else { "out of" },
                labels.interface(*a, *i)
            ),
            format!("exporter {a} and {} if {i}", if *dir == Dir::In { "in" } else { "out" }),
        ),
        SeriesKey::ToNet(n) => (
            Subject {
                kind: "subnet",
                id: n.to_string(),
            },
            format!("Traffic to {n}"),
            format!("dst net {n}"),
        ),
        SeriesKey::Protocol(p) => (
            Subject {
                kind: "protocol",
                id: proto_name(*p),
            },
            format!("{} traffic", proto_name(*p)),
            format!("proto {p}"),
        ),
    }
}

impl Analyzer for Anomaly {
    fn name(&self) -> &'static str {
        "anomaly"
    }

    fn run_once(&mut self, d: &Data) -> Vec<Finding> {
        let a = &self.c.anomaly;
        let min_history = (a.min_history.0.as_secs() / 60) as usize;
        let Some(last) = d.last() else { return Vec::new() };
        let mut out = Vec::new();
        for (k, at, (bytes, flows)) in d.baselines.latest() {
            if at != last.start {
                continue;
            }
            let Some(e) = d.baselines.expect(k, min_history) else {
                continue;
            };
            let (bytes, flows) = (f64::from(bytes), f64::from(flows));
            // Only series that usually carry a real share are judged.
            let usual_share = e.bytes / (last.totals.bytes.max(1) as f64).max(e.bytes);
            let (subject, what, filter) = series_words(k, d.labels);
            let when = hhmm(at);
            let drop = 1.0 - a.drop_percent / 100.0;
            if e.flows >= a.min_flows_per_minute
                && flows <= e.flows * drop
                && bytes <= e.bytes * drop
                && e.flows - flows > a.sensitivity * e.flows_spread
            {
                let fell = (1.0 - bytes / e.bytes.max(1.0)) * 100.0;
                let (severity, cause, action) = match k {
                    SeriesKey::ToNet(n) => (
                        Severity::Critical,
                        "possible link failure",
                        format!(
                            "Check the path to {n}: the link or VPN towards it, the routes for it, and whether its \
                             hosts are up."
                        ),
                    ),
                    SeriesKey::Exporter(_) => (
                        Severity::Critical,
                        "the router may be down or have stopped exporting",
                        "Check the router and its flow export (collector address, source interface, ACLs on UDP)."
                            .into(),
                    ),
                    SeriesKey::Interface(..) => (
                        Severity::Critical,
                        "possible link failure",
                        "Check the interface: its state, errors and the far end.".into(),
                    ),
                    SeriesKey::Protocol(_) => (
                        Severity::Warning,
                        "an application or path using it may be down",
                        "Find which hosts stopped sending it (explore by source).".into(),
                    ),
                };
                out.push((
                    fell,
                    Finding {
                        analyzer: self.name(),
                        severity,
                        subject,
                        title: format!("{what} dropped {fell:.0}%"),
                        description: format!(
                            "{what} dropped {fell:.0}% at {when} — {cause}: {} ({} flows/min), usually {} ({} \
                             flows/min) at this time{}.",
                            bps(bytes, 60.0),
                            count(flows),
                            bps(e.bytes, 60.0),
                            count(e.flows),
                            if e.seasonal { " of day" } else { " over the last hour" }
                        ),
                        action,
                        evidence: format!("/explore?filter={}&since={}", urlenc(&filter), at - 3_600),
                        numbers: numbers([
                            ("bps", bytes * 8.0 / 60.0),
                            ("usual_bps", e.bytes * 8.0 / 60.0),
                            ("drop_percent", fell),
                        ]),
                    },
                ));
            } else if usual_share >= a.min_share / 100.0 / 2.0
                && e.flows >= a.min_flows_per_minute
                && spiked(bytes, &e, a)
                && bytes >= last.totals.bytes as f64 * a.min_share / 100.0
                // Two minutes in a row: one heavy flow is not a spike.
                && d.baselines.value(k, 1).is_some_and(|(b, _)| spiked(f64::from(b), &e, a))
            {
                let ratio = bytes / e.bytes.max(1.0);
                out.push((
                    ratio,
                    Finding {
                        analyzer: self.name(),
                        severity: if ratio >= 10.0 {
                            Severity::Critical
                        } else {
                            Severity::Warning
                        },
                        subject,
                        title: format!("{what} spiked to {ratio:.1}× usual"),
                        description: format!(
                            "{what} rose to {} at {when}, {ratio:.1}× the usual {} for this time{}.",
                            bps(bytes, 60.0),
                            bps(e.bytes, 60.0),
                            if e.seasonal { " of day" } else { " (last hour)" }
                        ),
                        action: "Find the hosts behind it (explore by source and destination); a backup or update \
                                 may explain it, a flood or a loop must be stopped."
                            .into(),
                        evidence: format!("/explore?filter={}&since={}", urlenc(&filter), at - 3_600),
                        numbers: numbers([
                            ("bps", bytes * 8.0 / 60.0),
                            ("usual_bps", e.bytes * 8.0 / 60.0),
                            ("ratio", ratio),
                        ]),
                    },
                ));
            }
        }
        // Already reported subjects first, then the largest.
        for (score, f) in &mut out {
            if self.reported.contains(&f.subject.id) {
                *score += 1e12;
            }
        }
        let out = summarise(out);
        self.reported = out.iter().map(|f| f.subject.id.clone()).collect();
        out
    }
}

/// Bytes far enough above the expectation: `spike_ratio` times it and
/// `sensitivity` robust deviations (a quarter of the usual at least: bytes
/// per minute are heavy-tailed).
fn spiked(bytes: f64, e: &super::baseline::Expectation, a: &crate::config::AnomalyConfig) -> bool {
    bytes >= e.bytes * a.spike_ratio && bytes - e.bytes > a.sensitivity * e.bytes_spread.max(e.bytes * 0.25)
}

/// Anomalies reported per pass; more at once (one event seen by every
/// exporter and interface it crosses) are summed up in the largest.
const MAX_ANOMALIES_PER_PASS: usize = 5;

fn summarise(mut v: Vec<(f64, Finding)>) -> Vec<Finding> {
    v.sort_by(|a, b| b.0.total_cmp(&a.0));
    if v.len() > MAX_ANOMALIES_PER_PASS {
        let rest: Vec<String> = v[MAX_ANOMALIES_PER_PASS..]
            .iter()
            .map(|(_, f)| format!("{} {}", f.subject.kind, f.subject.id))
            .collect();
        let shown: Vec<String> = rest.iter().take(8).cloned().collect();
        let more = rest.len() - shown.len();
        let f = &mut v[0].1;
        let _ = write!(
            f.description,
            " At the same time {} other series changed: {}{}.",
            rest.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
        v.truncate(MAX_ANOMALIES_PER_PASS);
    }
    v.into_iter().map(|x| x.1).collect()
}

fn urlenc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---- insecure protocols --------------------------------------------------

pub struct Protocols(pub Analysis);

impl Analyzer for Protocols {
    fn name(&self) -> &'static str {
        "insecure_protocols"
    }

    fn run_once(&mut self, d: &Data) -> Vec<Finding> {
        let w = d.window(window_minutes(&self.0));
        let mut conv: BTreeMap<InsecureKey, Insecure> = BTreeMap::new();
        for m in w.iter().map(|m| &**m).chain(std::iter::once(d.open)) {
            for (k, v) in &m.insecure {
                let e = conv.entry(*k).or_default();
                e.counts.add(&v.counts);
                e.answered |= v.answered;
            }
        }
        // One advisory per (client, service); used only if the server
        // answered (attempts alone are a scanner's business).
        let mut by_client: BTreeMap<(IpAddr, u8, u16), (Vec<IpAddr>, Counts)> = BTreeMap::new();
        for (k, v) in conv {
            if !v.answered || v.counts.packets < self.0.protocols.min_packets {
                continue;
            }
            let e = by_client.entry((k.client, k.proto, k.port)).or_default();
            e.0.push(k.server);
            e.1.add(&v.counts);
        }
        let since = w.first().map_or(d.open.start, |m| m.start);
        let mut out = Vec::new();
        for ((client, proto, port), (servers, c)) in by_client {
            let Some((name, instead)) = insecure_service(proto, port) else {
                continue;
            };
            let to = match servers.as_slice() {
                [one] => format!("to {one}"),
                [first, rest @ ..] => format!("to {first} and {} more", rest.len()),
                [] => continue,
            };
            out.push((
                c.bytes as f64,
                Finding {
                    analyzer: self.name(),
                    severity: Severity::Warning,
                    subject: host(client),
                    title: format!("{name} in use from {client}"),
                    description: format!(
                        "{name} traffic (port {port}) detected from {client} {to}: {} flows, {} bytes since {} — \
                         credentials and data cross the network readable by anyone on the path.",
                        count(c.flows as f64),
                        count(c.bytes as f64),
                        hhmm(since)
                    ),
                    action: format!("Consider migrating to {instead}, then block port {port} between these networks."),
                    evidence: evidence(&format!("host {client} and port {port}"), since, d.now),
                    numbers: numbers([
                        ("flows", c.flows as f64),
                        ("bytes", c.bytes as f64),
                        ("servers", servers.len() as f64),
                    ]),
                },
            ));
        }
        largest(out)
    }
}

// ---- scans and sweeps -----------------------------------------------------

pub struct Scans(pub Analysis);

impl Analyzer for Scans {
    fn name(&self) -> &'static str {
        "scan"
    }

    fn run_once(&mut self, d: &Data) -> Vec<Finding> {
        let s = &self.0.scans;
        // Per host, the busier of the last closed and the open minute.
        let mut best: HashMap<(IpAddr, bool), (u32, u16, i64)> = HashMap::new();
        for (a, h, _, start) in recent_hosts(d) {
            if h.ports >= s.scan_threshold {
                let e = best.entry((a, true)).or_default();
                if h.ports > e.0 {
                    *e = (h.ports, 0, start);
                }
            }
            if h.sweep_hosts >= s.sweep_threshold {
                let e = best.entry((a, false)).or_default();
                if h.sweep_hosts > e.0 {
                    *e = (h.sweep_hosts, h.sweep_port, start);
                }
            }
        }
        let mut out = Vec::new();
        for ((a, vertical), (n, port, start)) in best {
            let f = if vertical {
                Finding {
                    analyzer: self.name(),
                    severity: Severity::Critical,
                    subject: host(a),
                    title: format!("Port scan from {a}"),
                    description: format!(
                        "{a} contacted {} unique ports in 60s — likely a port scan (threshold {}).",
                        count(f64::from(n)),
                        count(f64::from(s.scan_threshold))
                    ),
                    action: format!(
                        "Find out who runs {a}: if it is not an authorised scanner, isolate it and check it for \
                         compromise; block it at the edge if it is outside."
                    ),
                    evidence: evidence(&format!("src host {a}"), start, d.now),
                    numbers: numbers([("ports", f64::from(n)), ("threshold", f64::from(s.scan_threshold))]),
                }
            } else {
                Finding {
                    analyzer: "sweep",
                    severity: Severity::Critical,
                    subject: host(a),
                    title: format!("Host sweep from {a} on port {port}"),
                    description: format!(
                        "{a} contacted {} hosts on port {port} ({}) in 60s — likely a host sweep looking for {} \
                         (threshold {}).",
                        count(f64::from(n)),
                        service_name(6, port),
                        service_name(6, port),
                        count(f64::from(s.sweep_threshold))
                    ),
                    action: format!(
                        "If {a} is not an inventory or monitoring system, isolate it: sweeps on one port are how \
                         worms spread. Check the hosts that answered it."
                    ),
                    evidence: evidence(&format!("src host {a} and dst port {port}"), start, d.now),
                    numbers: numbers([
                        ("hosts", f64::from(n)),
                        ("port", f64::from(port)),
                        ("threshold", f64::from(s.sweep_threshold)),
                    ]),
                }
            };
            out.push((f64::from(n), f));
        }
        largest(out)
    }
}

// ---- DNS volume -------------------------------------------------------------

pub struct Dns(pub Analysis);

impl Analyzer for Dns {
    fn name(&self) -> &'static str {
        "dns_volume"
    }

    fn run_once(&mut self, d: &Data) -> Vec<Finding> {
        let limit = self.0.dns.queries_per_second;
        let mut best: HashMap<IpAddr, f64> = HashMap::new();
        for (a, h, secs, _) in recent_hosts(d) {
            let qps = h.dns_queries as f64 / secs;
            if qps >= limit {
                let e = best.entry(a).or_default();
                *e = e.max(qps);
            }
        }
        let since = d.now - 120;
        largest(
            best.into_iter()
                .map(|(a, qps)| {
                    (
                        qps,
                        Finding {
                            analyzer: self.name(),
                            severity: if qps >= limit * 10.0 {
                                Severity::Critical
                            } else {
                                Severity::Warning
                            },
                            subject: host(a),
                            title: format!("{a} sends {} DNS queries/s", count(qps)),
                            description: format!(
                                "{a} is generating {} DNS queries/sec (threshold {}) — possible loop or \
                                 misconfigured resolver.",
                                count(qps),
                                count(limit)
                            ),
                            action: format!(
                                "Look at the resolver settings of {a} and what it asks (a forwarding loop, a retry \
                                 storm or malware beaconing); rate-limit it on the DNS server meanwhile."
                            ),
                            evidence: evidence(&format!("src host {a} and dst port 53"), since, d.now),
                            numbers: numbers([("queries_per_second", qps), ("threshold", limit)]),
                        },
                    )
                })
                .collect(),
        )
    }
}

// ---- asymmetry ------------------------------------------------------------

pub struct Asymmetry(pub Analysis);

impl Analyzer for Asymmetry {
    fn name(&self) -> &'static str {
        "asymmetry"
    }

    fn run_once(&mut self, d: &Data) -> Vec<Finding> {
        let c = &self.0.asymmetry;
        let w = d.window(window_minutes(&self.0));
        if w.is_empty() {
            return Vec::new();
        }
        let secs = (w.len() * 60) as f64;
        let tot = total(w).bytes as f64;
        // network → direction → (exporter, interface) → bytes
        type Paths = BTreeMap<(IpAddr, u32), u64>;
        let mut nets: HashMap<ipnet::IpNet, [Paths; 2]> = HashMap::new();
        for m in w {
            for (
                PathKey {
                    net,
                    dir,
                    exporter,
                    interface,
                },
                b,
            ) in &m.paths
            {
                let e = nets.entry(*net).or_default();
                *e[(*dir == Dir::Out) as usize]
                    .entry((*exporter, *interface))
                    .or_default() += b;
            }
        }
        let dominant = |p: &Paths| -> Option<((IpAddr, u32), u64, u64)> {
            let sum: u64 = p.values().sum();
            let (k, b) = p.iter().max_by_key(|x| x.1)?;
            (*b as f64 >= sum as f64 * c.dominance / 100.0).then_some((*k, *b, sum))
        };
        let mut out = Vec::new();
        for (net, [to, from]) in &nets {
            let (Some((out_path, out_b, out_sum)), Some((in_path, in_b, in_sum))) = (dominant(to), dominant(from))
            else {
                continue;
            };
            if out_path == in_path || (out_sum.min(in_sum) as f64) < tot * c.min_share / 100.0 {
                continue;
            }
            // The other direction must not use the path much either.
            if to.get(&in_path).copied().unwrap_or(0) as f64 > out_sum as f64 * 0.1
                || from.get(&out_path).copied().unwrap_or(0) as f64 > in_sum as f64 * 0.1
            {
                continue;
            }
            let name = |(e, i): (IpAddr, u32)| {
                if i == 0 {
                    d.labels.exporter(e)
                } else {
                    d.labels.interface(e, i)
                }
            };
            let same_router = out_path.0 == in_path.0;
            out.push((
                (out_b + in_b) as f64,
                Finding {
                    analyzer: self.name(),
                    severity: Severity::Warning,
                    subject: Subject {
                        kind: "subnet",
                        id: net.to_string(),
                    },
                    title: format!("Asymmetric path for {net}"),
                    description: format!(
                        "Traffic to {net} exits via {} ({}) but returns via {} ({}) over the last {} min{}.",
                        name(out_path),
                        bps(out_b as f64, secs),
                        name(in_path),
                        bps(in_b as f64, secs),
                        w.len(),
                        if same_router { "" } else { ", on different routers" }
                    ),
                    action: format!(
                        "Check routing tables for {net} on both paths (a more specific route, a failed-over link, \
                         uneven BGP local preference): stateful firewalls and NAT drop asymmetric flows."
                    ),
                    evidence: evidence(&format!("net {net}"), w[0].start, d.now),
                    numbers: numbers([
                        ("out_bps", out_b as f64 * 8.0 / secs),
                        ("in_bps", in_b as f64 * 8.0 / secs),
                    ]),
                },
            ));
        }
        largest(out)
    }
}

// ---- no-response sources ------------------------------------------------------

pub struct NoResponse(pub Analysis);

impl Analyzer for NoResponse {
    fn name(&self) -> &'static str {
        "no_response"
    }

    fn run_once(&mut self, d: &Data) -> Vec<Finding> {
        let c = &self.0.no_response;
        let w = d.window(window_minutes(&self.0));
        let Some(first) = w.first() else { return Vec::new() };
        let mut out = Vec::new();
        for (a, h) in sum_hosts(w) {
            if h.unanswered < c.min_attempts || h.attempts == 0 {
                continue;
            }
            let answered = f64::from(h.attempts - h.unanswered) / f64::from(h.attempts) * 100.0;
            if answered > c.max_answered_percent {
                continue;
            }
            let mut text = format!(
                "{a} made {} connection attempts in the last {} min and {} got no reply ({answered:.0}% answered)",
                count(f64::from(h.attempts)),
                w.len(),
                count(f64::from(h.unanswered))
            );
            if let Some((p, _, _)) = h.peers.sorted().first() {
                let _ = write!(text, "; its busiest peer is {p}");
            }
            text.push('.');
            out.push((
                f64::from(h.unanswered),
                Finding {
                    analyzer: self.name(),
                    severity: Severity::Warning,
                    subject: host(a),
                    title: format!("{a} gets no replies"),
                    description: text,
                    action: format!(
                        "A scanner, a host configured for a service that is gone, or traffic filtered on the way: \
                         check what {a} is trying to reach and whether it should."
                    ),
                    evidence: format!("/bad-ips?since={}&until={}", first.start, d.now),
                    numbers: numbers([
                        ("attempts", f64::from(h.attempts)),
                        ("unanswered", f64::from(h.unanswered)),
                        ("answered_percent", answered),
                    ]),
                },
            ));
        }
        largest(out)
    }
}

// ---- DDoS-like ----------------------------------------------------------------

pub struct Ddos {
    c: Analysis,
    /// Destination → its packets per closed minute (newest last, up to 30).
    history: HashMap<IpAddr, Vec<u64>>,
    /// The newest closed minute already in `history`.
    seen: i64,
    /// Destinations flagged in the last pass: their minutes are not learnt.
    flagged: std::collections::HashSet<IpAddr>,
}

impl Ddos {
    pub fn new(c: &Analysis) -> Self {
        Ddos {
            c: c.clone(),
            history: HashMap::new(),
            seen: i64::MIN,
            flagged: Default::default(),
        }
    }

    fn learn(&mut self, m: &Minute) {
        // Every tracked destination gets a value (0 when silent); the
        // busiest of the minute join while there is room.
        for (a, v) in self.history.iter_mut() {
            if self.flagged.contains(a) {
                continue;
            }
            v.push(m.hosts.get(a).map_or(0, |h| h.received.packets));
            if v.len() > 30 {
                v.remove(0);
            }
        }
        let mut busy: Vec<(u64, IpAddr)> = m.hosts.iter().map(|(a, h)| (h.received.packets, *a)).collect();
        busy.sort_unstable_by(|a, b| b.cmp(a));
        for (p, a) in busy.into_iter().take(64) {
            if self.history.len() >= MAX_DDOS_TRACKED || self.flagged.contains(&a) {
                break;
            }
            self.history.entry(a).or_insert_with(|| vec![p]);
        }
        // Forget destinations silent for the whole memory.
        self.history.retain(|_, v| v.iter().any(|p| *p > 0));
    }
}

impl Analyzer for Ddos {
    fn name(&self) -> &'static str {
        "ddos"
    }

    fn run_once(&mut self, d: &Data) -> Vec<Finding> {
        let c = &self.c.ddos;
        let mut out = Vec::new();
        for (a, h, secs, _) in recent_hosts(d) {
            let pps = h.received.packets as f64 / secs;
            if pps < c.min_pps || h.senders < c.min_sources {
                continue;
            }
            // Its usual rate: the median of its earlier minutes (0 if new;
            // minutes it was flagged in are not learnt).
            let usual = self
                .history
                .get(&a)
                .map(|v| {
                    let mut v: Vec<u64> = v.clone();
                    v.sort_unstable();
                    v.get(v.len() / 2).copied().unwrap_or(0) as f64 / 60.0
                })
                .unwrap_or(0.0);
            if pps < usual * c.factor {
                continue;
            }
            if out.iter().any(|(_, f): &(f64, Finding)| f.subject.id == a.to_string()) {
                continue;
            }
            let sources: Vec<String> = h
                .sources
                .sorted()
                .into_iter()
                .map(|(s, _, p)| format!("{s} ({} pps)", count(p as f64 / secs)))
                .collect();
            out.push((
                pps,
                Finding {
                    analyzer: self.name(),
                    severity: Severity::Critical,
                    subject: host(a),
                    title: format!("Possible DDoS against {a}"),
                    description: format!(
                        "{a} is receiving {} packets/s from {} sources ({}), {} its usual {} packets/s; top sources: {}.",
                        count(pps),
                        count(f64::from(h.senders)),
                        bps(h.received.bytes as f64, secs),
                        if usual > 0.0 { format!("{:.0}×", pps / usual) } else { "far above".into() },
                        count(usual),
                        sources.join(", ")
                    ),
                    action: format!(
                        "If {a} is not expecting this load, ask the upstream provider for filtering or \
                         blackholing of {a}, rate-limit at the edge, and check the service is still answering."
                    ),
                    evidence: evidence(&format!("dst host {a}"), d.now - 300, d.now),
                    numbers: numbers([
                        ("pps", pps),
                        ("usual_pps", usual),
                        ("sources", f64::from(h.senders)),
                    ]),
                },
            ));
        }
        // Learn from minutes closed since the last pass, after judging and
        // without the flagged destinations (an attack is not its own
        // baseline).
        self.flagged = out.iter().filter_map(|(_, f)| f.subject.id.parse().ok()).collect();
        let fresh: Vec<Arc<Minute>> = d.closed.iter().filter(|m| m.start > self.seen).cloned().collect();
        for m in fresh {
            self.learn(&m);
            self.seen = m.start;
        }
        largest(out)
    }
}
