//! Analyzers of what single hosts do: insecure protocols, scans and
//! sweeps, DNS volume, attempts without replies, floods.

use super::*;

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
