//! Detection quality, measured: the engine fed simulated traffic through a
//! fixed clock (hours pass in seconds). Each scenario is injected into
//! normal traffic at a known time and must be found within two analysis
//! intervals with the right subject and numbers; a normal day counts the
//! false advisories. `cargo test -- detection --nocapture` prints the table
//! that docs/BENCHMARKS.md quotes.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use flowlens_store::Flow;
use flowlens_wire::encode::generate::TrafficGen;
use flowlens_wire::{Protocol, Timestamp};

use super::analyzers::Plain;
use super::{Change, Engine};
use crate::config::Config;
use crate::scenario::{Injector, Scenario, ALL};
use crate::simulate::daily_factor;

const EXPORTERS: usize = 10;
const INTERVAL: i64 = 60;

struct Sim {
    engine: Engine,
    gens: Vec<TrafficGen>,
    exporters: Vec<SocketAddr>,
    injectors: Vec<Injector>,
    /// Unix seconds.
    t: i64,
    /// Peak flows per second.
    rate: f64,
    daily: bool,
    owed: f64,
    next: usize,
    /// Every advisory opened: (time, analyzer, subject, numbers).
    opened: Vec<(i64, String, String, BTreeMap<&'static str, f64>)>,
}

impl Sim {
    fn new(start: i64, rate: f64, daily: bool) -> Sim {
        let exporters: Vec<SocketAddr> = (0..EXPORTERS)
            .map(|i| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1 + i as u8)), 0))
            .collect();
        Sim {
            engine: Engine::new(&Config::default(), None, Box::new(Plain)),
            gens: exporters
                .iter()
                .enumerate()
                .map(|(i, e)| TrafficGen::new(7 + i as u64, *e, Protocol::Netflow9, None))
                .collect(),
            exporters,
            injectors: Vec::new(),
            t: start,
            rate,
            daily,
            owed: 0.0,
            next: 0,
            opened: Vec::new(),
        }
    }

    /// Runs `secs` seconds of traffic, a pass at every interval.
    fn run(&mut self, secs: i64) {
        let mut batch = Vec::new();
        for _ in 0..secs {
            let from = Timestamp::from_millis(self.t * 1_000);
            self.t += 1;
            let now = Timestamp::from_millis(self.t * 1_000);
            let mut rate = self.rate;
            if self.daily {
                rate *= daily_factor(now);
            }
            self.owed += rate;
            while self.owed >= 1.0 {
                self.owed -= 1.0;
                let i = self.next;
                self.next = (self.next + 1) % EXPORTERS;
                let mut r = self.gens[i].flow(now);
                r.time_received = now;
                if self.injectors.iter().all(|j| j.keep(now, &r)) {
                    batch.push(Flow::new(r));
                }
            }
            let mut injected = Vec::new();
            for j in &mut self.injectors {
                j.inject(from, now, EXPORTERS, &mut injected);
            }
            for (e, mut r) in injected {
                r.exporter = self.exporters[e];
                r.time_received = now;
                batch.push(Flow::new(r));
            }
            self.engine.observe(&batch);
            batch.clear();
            if self.t % INTERVAL == 1 {
                for c in self.engine.run_once(self.t) {
                    if let Change::Opened(a) = c {
                        self.opened.push((
                            a.first_seen,
                            a.finding.analyzer.to_string(),
                            a.finding.subject.id.clone(),
                            a.finding.numbers.clone(),
                        ));
                    }
                }
            }
        }
    }
}

/// 2026-11-02 00:00 UTC, a Monday.
const DAY0: i64 = 1_793_577_600;

#[test]
fn detection_every_injected_condition_is_found_within_two_intervals() {
    // 90 minutes of normal traffic from 08:00 (baselines learn), then each
    // scenario for 10 minutes at a time off the minute, 10 quiet minutes
    // between them.
    let mut sim = Sim::new(DAY0 + 8 * 3_600, 100.0, false);
    sim.run(90 * 60);
    let mut rows = Vec::new();
    for (k, s) in ALL.into_iter().enumerate() {
        let at = sim.t + 17;
        let mut inj = Injector::new(s, Timestamp::from_millis(at * 1_000), 99 + k as u64);
        inj.end = Some(Timestamp::from_millis((at + 600) * 1_000));
        sim.injectors = vec![inj];
        let seen_before = sim.opened.len();
        sim.run(20 * 60);
        let (analyzer, subject) = s.expected();
        let found = sim.opened[seen_before..]
            .iter()
            .find(|(_, a, sub, _)| a == analyzer && *sub == subject)
            .cloned();
        let others: Vec<String> = sim.opened[seen_before..]
            .iter()
            .filter(|(_, a, sub, _)| !(a == analyzer && *sub == subject))
            .map(|(_, a, sub, _)| format!("{a} {sub}"))
            .collect();
        let delay = found.as_ref().map(|f| f.0 - at);
        println!(
            "detection {:<12} {:<20} {:<18} after {:>4} s; also opened: {}",
            s.name(),
            analyzer,
            subject,
            delay.map_or("-".into(), |d| d.to_string()),
            if others.is_empty() {
                "-".into()
            } else {
                others.join(", ")
            }
        );
        rows.push((s, found, delay));
    }
    for (s, found, delay) in &rows {
        let (_, _, _, numbers) = found
            .as_ref()
            .unwrap_or_else(|| panic!("{} was not detected", s.name()));
        let delay = delay.expect("found");
        assert!(delay <= 2 * INTERVAL, "{}: found after {delay} s", s.name());
        // The numbers say what happened.
        match s {
            Scenario::PortScan => assert!(numbers["ports"] >= 500.0, "{numbers:?}"),
            Scenario::HostSweep => assert!(numbers["hosts"] >= 200.0 && numbers["port"] == 445.0),
            Scenario::Ddos => assert!((20_000.0..=40_000.0).contains(&numbers["pps"]), "{numbers:?}"),
            Scenario::LinkDown => assert!(numbers["drop_percent"] >= 95.0, "{numbers:?}"),
            Scenario::DnsFlood => assert!(
                (800.0..=1_200.0).contains(&numbers["queries_per_second"]),
                "{numbers:?}"
            ),
            Scenario::Telnet => assert!(numbers["servers"] == 1.0),
            Scenario::Asymmetric => assert!(numbers["out_bps"] > numbers["in_bps"]),
            Scenario::NoResponse => assert_eq!(numbers["answered_percent"], 0.0),
        }
    }
}

#[test]
fn detection_a_normal_day_raises_at_most_one_false_advisory_per_analyzer() {
    // 25 hours with the time of day (a tenth of the peak at 03:00); the
    // first hour is the baselines' learning time.
    let mut sim = Sim::new(DAY0 - 3_600, 60.0, true);
    sim.run(25 * 3_600);
    let mut per: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (t, a, s, _) in &sim.opened {
        if *t >= DAY0 {
            per.entry(a.clone())
                .or_default()
                .push(format!("{s} at {}", (t - DAY0) / 60));
        }
    }
    for a in [
        "top_talkers",
        "anomaly",
        "insecure_protocols",
        "scan",
        "sweep",
        "dns_volume",
        "asymmetry",
        "no_response",
        "ddos",
    ] {
        let n = per.get(a).map_or(0, Vec::len);
        println!(
            "false-positives {a:<20} {n} per simulated day {:?}",
            per.get(a).cloned().unwrap_or_default()
        );
    }
    for (a, v) in &per {
        assert!(v.len() <= 1, "{a}: {} false advisories in a normal day: {v:?}", v.len());
    }
}

#[test]
fn a_pass_over_ten_minutes_is_cheap() {
    // The cost target is checked in release by the bench; here, that a pass
    // reads summaries, not flows: its time does not grow with the flows.
    let mut sim = Sim::new(DAY0, 400.0, false);
    sim.run(11 * 60);
    let t = std::time::Instant::now();
    sim.engine.run_once(sim.t);
    assert!(t.elapsed() < std::time::Duration::from_secs(2), "{:?}", t.elapsed());
}
