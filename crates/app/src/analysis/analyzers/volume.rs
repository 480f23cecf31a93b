//! Analyzers of traffic volume and paths: top talkers, anomalies against
//! the baselines, asymmetric routing.

use super::*;

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
fn spiked(bytes: f64, e: &crate::analysis::baseline::Expectation, a: &crate::config::AnomalyConfig) -> bool {
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
