//! `flowlens demo`: the service on loopback with a temporary data directory,
//! an hour of history written first so the dashboard has a shape, and
//! simulated exporters of every protocol feeding it over UDP — the README's
//! first command.

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use flowlens_store::{Flow, Store, StoreConfig, Writer};
use flowlens_wire::encode::generate::TrafficGen;
use flowlens_wire::Timestamp;

use crate::config::units::BitRate;
use crate::config::{
    Boundary, ClassRule, Config, Environment, ExporterConfig, InterfaceConfig, InterfaceRule, ListenProtocol, Listener,
    LogLevel,
};
use crate::serve::{self, ServeError, Service};
use crate::simulate::{self, SimOptions, SimProtocol};

/// The simulated exporters: (protocol, how many, share of the rate,
/// first loopback address 127.0.0.N).
pub const EXPORTERS: &[(SimProtocol, usize, f64, u32)] = &[
    (SimProtocol::V9, 4, 0.50, 10),
    (SimProtocol::Ipfix, 3, 0.30, 20),
    (SimProtocol::Sflow, 2, 0.13, 30),
    (SimProtocol::V5, 1, 0.07, 40),
];

/// sFlow sampling of the simulated switches (1 in N).
pub const SFLOW_SAMPLING: u32 = 256;

/// Flows per second of the history, as a share of the live rate.
const HISTORY_SHARE: f64 = 0.5;

/// Flows handed to the writer at a time while writing history.
const HISTORY_BATCH: usize = 8_192;

pub struct DemoOptions {
    pub http: Vec<SocketAddr>,
    /// `None`: a temporary directory, removed on exit.
    pub data_dir: Option<PathBuf>,
    /// History written before the start (0 for none).
    pub history: Duration,
    /// Live flows per second over all simulated exporters.
    pub rate: u64,
    /// Accounts and sign-in as `serve` has them (always when listening
    /// beyond loopback).
    pub auth: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            http: vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080)],
            data_dir: None,
            history: Duration::from_secs(3_600),
            rate: 400,
            auth: false,
        }
    }
}

/// The configuration the demo runs with: loopback only, ports the kernel
/// picks for UDP, warnings only in the log.
pub fn config(o: &DemoOptions, data_dir: PathBuf) -> Config {
    let mut c = Config::default();
    c.storage.data_dir = data_dir;
    c.web.listen = o.http.clone();
    // A newcomer's first minute: no sign-in while nothing but this
    // machine can reach the console (`--auth` turns accounts on).
    c.auth.enabled = o.auth || !o.http.iter().all(|a| a.ip().is_loopback());
    c.logging.level = LogLevel::Warn;
    // Baselines learn from live traffic only (the history is written
    // before the service starts): ten minutes of it before the link-down
    // scenario's turn.
    c.analysis.anomaly.min_history = crate::config::units::Dur::secs(600);
    // Findings show quickly.
    c.analysis.interval = crate::config::units::Dur::secs(15);
    // The simulated network: clients in an office, servers in a datacenter
    // (what the generator's address plan means), so the console shows
    // classification out of the box.
    let rule = |cidr: &str, name: &str, env, dc: Option<&str>, location: &str| ClassRule {
        cidr: cidr.parse().expect("literal"),
        name: Some(name.into()),
        environment: env,
        datacenter: dc.map(str::to_string),
        location: Some(location.into()),
        internal: Some(true),
        priority: ClassRule::DEFAULT_PRIORITY,
    };
    c.exporters = demo_exporters();
    c.interface_rules = vec![
        InterfaceRule {
            description: Some("transit*".into()),
            boundary: Some(Boundary::External),
            connectivity: Some("transit".into()),
            ..InterfaceRule::default()
        },
        InterfaceRule {
            description: Some("peering*".into()),
            boundary: Some(Boundary::External),
            connectivity: Some("peering".into()),
            ..InterfaceRule::default()
        },
        InterfaceRule {
            interface: Some("ge-*".into()),
            boundary: Some(Boundary::Internal),
            ..InterfaceRule::default()
        },
    ];
    c.classification.rules = vec![
        rule("10.0.0.0/16", "office", None, None, "Berlin"),
        rule(
            "10.1.0.0/24",
            "servers",
            Some(Environment::Prod),
            Some("fra1"),
            "Frankfurt",
        ),
        rule("fd00::/8", "office6", None, None, "Berlin"),
    ];
    c.collector.listeners = [ListenProtocol::Netflow, ListenProtocol::Ipfix, ListenProtocol::Sflow]
        .into_iter()
        .map(|protocol| Listener {
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            protocol,
            // A few hundred flows a second: the kernel's default cap is plenty.
            receive_buffer: crate::config::units::Bytes(1 << 20),
            ..Listener::default()
        })
        .collect();
    c
}

/// Names for the simulated routers and the interfaces the generator uses
/// (two uplinks, four access ports), as an operator would configure them.
fn demo_exporters() -> Vec<ExporterConfig> {
    let mut out = Vec::new();
    for &(protocol, n, _, base) in EXPORTERS {
        let kind = match protocol {
            SimProtocol::V9 => "edge",
            SimProtocol::Ipfix => "core",
            SimProtocol::Sflow => "switch",
            SimProtocol::V5 => "branch",
        };
        for i in 0..n {
            let mut interfaces = std::collections::BTreeMap::new();
            let uplink = |name: &str, description: &str| InterfaceConfig {
                name: Some(name.into()),
                description: Some(description.into()),
                speed: Some(BitRate(10_000_000_000)),
                ..InterfaceConfig::default()
            };
            interfaces.insert(1, uplink("xe-0/0/1", "transit: Example Transit"));
            interfaces.insert(2, uplink("xe-0/0/2", "peering: Example IX"));
            for port in 10..14u32 {
                interfaces.insert(
                    port,
                    InterfaceConfig {
                        name: Some(format!("ge-0/1/{}", port - 10)),
                        description: Some(format!("access floor {}", port - 9)),
                        speed: Some(BitRate(1_000_000_000)),
                        ..InterfaceConfig::default()
                    },
                );
            }
            out.push(ExporterConfig {
                address: exporter_addr(base, i).ip(),
                name: Some(format!("{kind}-{}", i + 1)),
                interfaces,
            });
        }
    }
    out
}

fn exporter_addr(base: u32, i: usize) -> SocketAddr {
    let k = base + i as u32;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, (k >> 8) as u8, k as u8)), 0)
}

/// Writes `o.history` of traffic ending now, second by second, with the
/// same exporters, mix and spikes as the live simulators.
pub fn write_history(o: &DemoOptions, c: &Config, mut progress: impl FnMut(f64)) -> Result<u64, ServeError> {
    let data_dir = &c.storage.data_dir;
    let secs = o.history.as_secs();
    if secs == 0 {
        return Ok(0);
    }
    let store = Store::open(StoreConfig {
        data_dir: data_dir.to_path_buf(),
        flush_interval: Duration::from_secs(1),
    })?;
    let writer = Writer::start(&store)?;
    // History is classified like live flows (there are no GeoIP databases
    // in the demo).
    let setup = crate::enrich::EnrichSetup::new(
        Arc::new(crate::enrich::GeoIp::disabled()),
        Arc::new(crate::enrich::Classifier::from_config(&c.classification.rules)),
        Arc::new(crate::enrich::Interfaces::new(&[], &[])),
        &c.enrichment,
    );
    let mut enricher = setup.enricher(true);
    let mut gens: Vec<(TrafficGen, f64, bool)> = Vec::new();
    for &(protocol, n, share, base) in EXPORTERS {
        let sflow = protocol == SimProtocol::Sflow;
        for i in 0..n {
            let gen = TrafficGen::new(
                7_919 * u64::from(base) + i as u64,
                exporter_addr(base, i),
                protocol.wire(),
                sflow.then_some(SFLOW_SAMPLING),
            );
            gens.push((gen, share / n as f64, sflow));
        }
    }
    let now = serve::now();
    let start = Timestamp(now.0 - secs as i64 * 1_000_000_000);
    let rate = o.rate as f64 * HISTORY_SHARE;
    let mut pending = Vec::with_capacity(HISTORY_BATCH);
    let mut written = 0u64;
    // Fractions of a flow carried from one second to the next, per exporter.
    let mut carry = vec![0.0f64; gens.len()];
    for s in 0..secs {
        let t = Timestamp(start.0 + s as i64 * 1_000_000_000);
        // A slow swell over the hour, and spikes a quarter as often as the
        // live simulators' (each four times as long).
        let swell = 0.8 + 0.2 * (std::f64::consts::TAU * s as f64 / 1_800.0).sin();
        let factor = swell * simulate::spike_factor(s as f64 / 4.0);
        for (k, (gen, share, sflow)) in gens.iter_mut().enumerate() {
            carry[k] += rate * *share * factor;
            while carry[k] >= 1.0 {
                carry[k] -= 1.0;
                let r = gen.flow(t);
                pending.push(Flow::new(if *sflow { simulate::one_packet(r) } else { r }));
            }
        }
        if pending.len() >= HISTORY_BATCH {
            written += pending.len() as u64;
            enricher.enrich_all(&mut pending);
            writer.send(std::mem::replace(&mut pending, Vec::with_capacity(HISTORY_BATCH)))?;
            progress(s as f64 / secs as f64);
        }
    }
    written += pending.len() as u64;
    enricher.enrich_all(&mut pending);
    writer.send(pending)?;
    writer.close();
    progress(1.0);
    Ok(written)
}

/// The first injected condition starts this long after the demo…
const SCENARIO_FIRST: Duration = Duration::from_secs(20);
/// …each lasts this long…
const SCENARIO_FOR: Duration = Duration::from_secs(180);
/// …and a new one starts this often, in turn.
const SCENARIO_EVERY: Duration = Duration::from_secs(240);

/// Injects each scenario in turn until `stop`.
fn scenarios(schedule: &simulate::Schedule, stop: &AtomicBool) {
    let wait = |d: Duration| {
        let until = std::time::Instant::now() + d;
        while std::time::Instant::now() < until {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        true
    };
    if !wait(SCENARIO_FIRST) {
        return;
    }
    for (k, s) in crate::scenario::ALL.into_iter().cycle().enumerate() {
        let now = serve::now();
        let mut i = crate::scenario::Injector::new(s, now, k as u64);
        i.end = Some(Timestamp(now.0 + SCENARIO_FOR.as_nanos() as i64));
        tracing::info!(
            scenario = s.name(),
            "demo: injecting a condition for {} s",
            SCENARIO_FOR.as_secs()
        );
        schedule.set(Some(i));
        if !wait(SCENARIO_EVERY) {
            return;
        }
    }
}

/// Runs the demo until SIGINT/SIGTERM.
pub fn run(o: DemoOptions) -> Result<(), ServeError> {
    let (data_dir, temporary) = match &o.data_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("flowlens-demo-{}", std::process::id())),
            true,
        ),
    };
    let c = config(&o, data_dir.clone());
    let cfg_auth = c.auth.enabled;
    serve::init_logging(&c.logging);
    serve::limit_malloc_arenas();
    let tty = std::io::stderr().is_terminal();
    if !o.history.is_zero() {
        eprintln!(
            "flowlens demo: writing {} of history to {}…",
            crate::config::units::Dur(o.history),
            data_dir.display()
        );
        let t = std::time::Instant::now();
        let n = write_history(&o, &c, |f| {
            if tty {
                eprint!("\r  {:>3.0}%", f * 100.0);
                let _ = std::io::stderr().flush();
            }
        })
        .inspect_err(|_| {
            if temporary {
                let _ = std::fs::remove_dir_all(&data_dir);
            }
        })?;
        if tty {
            eprint!("\r");
        }
        eprintln!("  {n} flows in {:.1} s", t.elapsed().as_secs_f64());
    }
    let service = match Service::start(c) {
        Ok(s) => s,
        Err(e) => {
            if temporary {
                let _ = std::fs::remove_dir_all(&data_dir);
            }
            return Err(e);
        }
    };
    let udp = service.udp_addrs().to_vec();
    let stop = Arc::new(AtomicBool::new(false));
    let schedule = Arc::new(simulate::Schedule::default());
    let mut sims = Vec::new();
    for &(protocol, n, share, base) in EXPORTERS {
        // The listeners of `config`, in order: NetFlow, IPFIX, sFlow.
        let target = match protocol {
            SimProtocol::V9 | SimProtocol::V5 => udp.first(),
            SimProtocol::Ipfix => udp.get(1),
            SimProtocol::Sflow => udp.get(2),
        }
        .copied();
        let Some(target) = target else { continue };
        let opts = SimOptions {
            target,
            protocol,
            rate: Some(((o.rate as f64 * share).round() as u64).max(1)),
            duration: Duration::from_secs(u64::MAX / 4),
            exporters: n,
            seed: u64::from(base),
            sflow_rate: SFLOW_SAMPLING,
            spikes: true,
            exporter_base: base,
            stop: Some(stop.clone()),
            schedule: Some(schedule.clone()),
            lead: base == EXPORTERS[0].3,
            ..SimOptions::default()
        };
        sims.push(std::thread::spawn(move || {
            if let Err(e) = simulate::run(&opts, |_| {}) {
                tracing::error!("demo simulator ({:?}): {e}", opts.protocol);
            }
        }));
    }
    let http = service
        .http_addrs()
        .first()
        .map(|a| format!("http://{a}/"))
        .unwrap_or_else(|| "(no HTTP listener)".into());
    println!("FlowLens demo is running: open {http}");
    println!(
        "  simulated exporters: 4 NetFlow v9, 3 IPFIX, 2 sFlow (1:{SFLOW_SAMPLING}), 1 NetFlow v5 — about {} flows/s, \
         with a spike every {} s",
        o.rate,
        simulate::SPIKE_EVERY_SECS
    );
    println!(
        "  UDP listeners: {} (NetFlow), {} (IPFIX), {} (sFlow) — point a real exporter here too",
        udp.first().map(|a| a.to_string()).unwrap_or_default(),
        udp.get(1).map(|a| a.to_string()).unwrap_or_default(),
        udp.get(2).map(|a| a.to_string()).unwrap_or_default()
    );
    println!(
        "  data: {}{}",
        data_dir.display(),
        if temporary { " (removed on exit)" } else { "" }
    );
    println!(
        "  every {} min a condition is injected for {} min (port scan, host sweep, DDoS, link down, DNS flood, \
         telnet, asymmetric routing, no-response): see /advisories",
        SCENARIO_EVERY.as_secs() / 60,
        SCENARIO_FOR.as_secs() / 60
    );
    if cfg_auth {
        println!(
            "  sign-in is on (accounts in {}/meta.sqlite). Stop with Ctrl-C.",
            data_dir.display()
        );
    } else {
        println!("  the console opens without a login: the demo listens on loopback only. Stop with Ctrl-C.");
    }
    sims.push(std::thread::spawn({
        let (stop, schedule) = (stop.clone(), schedule.clone());
        move || scenarios(&schedule, &stop)
    }));
    let _ = std::io::stdout().flush();
    service.wait_for_signal();
    stop.store(true, Ordering::Relaxed);
    for s in sims {
        let _ = s.join();
    }
    let acc = service.shutdown();
    eprintln!("flowlens demo: stopped ({acc})");
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    Ok(())
}
