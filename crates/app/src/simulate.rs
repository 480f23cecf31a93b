//! `flowlens simulate`: realistic traffic from many fake exporters, built
//! with the wire crate's generator and encoders, sent over UDP at a steady
//! rate (or as fast as possible) — for demos, tests and load tests. The
//! report says exactly what was sent, in the units the collector stores
//! (sampling-corrected bytes and packets), so a test can compare.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use flowlens_wire::encode::fields::TimeBase;
use flowlens_wire::encode::generate::TrafficGen;
use flowlens_wire::encode::{standard_template, IpfixEncoder, SflowEncoder, V5Header, V9Encoder};
use flowlens_wire::{FlowRecord, Protocol, Timestamp};
use serde::Serialize;

use crate::scenario::Injector;

/// Most fake exporters one run may have.
pub const MAX_EXPORTERS: usize = 1_000;
/// Templates are sent again every this many datagrams of an exporter (and
/// in its first), as routers refresh them on UDP. A multiple of 10 (one
/// datagram in 10 is IPv6).
pub const TEMPLATE_EVERY: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimProtocol {
    V5,
    V9,
    Ipfix,
    Sflow,
}

impl SimProtocol {
    pub fn parse(s: &str) -> Result<SimProtocol, String> {
        match s.to_ascii_lowercase().as_str() {
            "v5" | "netflow5" => Ok(SimProtocol::V5),
            "v9" | "netflow9" => Ok(SimProtocol::V9),
            "ipfix" | "v10" => Ok(SimProtocol::Ipfix),
            "sflow" | "sflow5" => Ok(SimProtocol::Sflow),
            _ => Err(format!("unknown protocol \"{s}\": use v5, v9, ipfix or sflow")),
        }
    }

    pub fn wire(self) -> Protocol {
        match self {
            SimProtocol::V5 => Protocol::Netflow5,
            SimProtocol::V9 => Protocol::Netflow9,
            SimProtocol::Ipfix => Protocol::Ipfix,
            SimProtocol::Sflow => Protocol::Sflow5,
        }
    }

    /// Records per datagram (v9/IPFIX: the 22 of a full 1,500-byte packet).
    fn per_datagram(self) -> usize {
        match self {
            SimProtocol::V5 => 30,
            SimProtocol::V9 | SimProtocol::Ipfix => 22,
            SimProtocol::Sflow => 8,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub target: SocketAddr,
    pub protocol: SimProtocol,
    /// Flows per second; `None` is as fast as possible.
    pub rate: Option<u64>,
    pub duration: Duration,
    pub exporters: usize,
    pub seed: u64,
    /// sFlow's 1-in-N (the other protocols send unsampled flows).
    pub sflow_rate: u32,
    /// Follow the time of day: `rate` at 15:00 UTC, a tenth of it at 03:00.
    pub daily: bool,
    /// Traffic spikes: [`SPIKE_FACTOR`] × the rate for [`SPIKE_SECS`] every
    /// [`SPIKE_EVERY_SECS`].
    pub spikes: bool,
    /// On loopback, exporter `i` sends from 127.0.0.(`exporter_base` + i),
    /// so simulators running side by side stay distinct exporters.
    pub exporter_base: u32,
    /// Set to stop early (the demo's simulators stop with the service).
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// A condition injected this long after the start.
    pub scenario: Option<(crate::scenario::Scenario, Duration)>,
    /// Conditions shared by several simulators (the demo): each drops what
    /// a link down removes; the one with `lead` injects.
    pub schedule: Option<std::sync::Arc<Schedule>>,
    pub lead: bool,
}

/// The condition in force for several simulators at once.
#[derive(Debug, Default)]
pub struct Schedule {
    current: std::sync::Mutex<Option<Injector>>,
}

impl Schedule {
    fn with<R>(&self, f: impl FnOnce(&mut Option<Injector>) -> R) -> R {
        f(&mut self.current.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn set(&self, injector: Option<Injector>) {
        self.with(|c| *c = injector);
    }

    pub fn keep(&self, t: Timestamp, r: &FlowRecord) -> bool {
        self.with(|c| c.as_ref().is_none_or(|i| i.keep(t, r)))
    }

    pub fn inject(&self, from: Timestamp, to: Timestamp, exporters: usize, out: &mut Vec<(usize, FlowRecord)>) {
        self.with(|c| {
            if let Some(i) = c {
                i.inject(from, to, exporters, out);
            }
        });
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            target: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2055),
            protocol: SimProtocol::V9,
            rate: Some(1_000),
            duration: Duration::from_secs(60),
            exporters: 20,
            seed: 42,
            sflow_rate: 1_000,
            daily: false,
            spikes: false,
            exporter_base: 10,
            stop: None,
            scenario: None,
            schedule: None,
            lead: false,
        }
    }
}

/// A spike multiplies the rate by this much…
pub const SPIKE_FACTOR: f64 = 4.0;
/// …for this long…
pub const SPIKE_SECS: u64 = 20;
/// …once in this many seconds (the first after one period).
pub const SPIKE_EVERY_SECS: u64 = 150;

/// The rate multiplier at `elapsed` seconds into a run with spikes.
pub fn spike_factor(elapsed: f64) -> f64 {
    let period = SPIKE_EVERY_SECS as f64;
    if elapsed >= period && elapsed % period < SPIKE_SECS as f64 {
        SPIKE_FACTOR
    } else {
        1.0
    }
}

/// Injected flows waiting for their exporter's turn.
const MAX_INJECTED: usize = 100_000;

/// The exporter index whose datagram is being built (`next` already moved on).
fn next_exporter(next: usize, count: usize) -> usize {
    (next + count - 1) % count
}

/// Flows owed at most after a stall: a second's worth, so a late thread
/// catches up smoothly instead of in one burst.
const MAX_OWED_SECS: f64 = 1.0;

/// Share of the peak rate at this time of day (UTC): a smooth day with its
/// low at 03:00 (0.1) and its high at 15:00 (1.0).
pub fn daily_factor(t: Timestamp) -> f64 {
    let hours = (t.0.rem_euclid(86_400_000_000_000)) as f64 / 3.6e12;
    0.55 - 0.45 * (std::f64::consts::TAU * (hours - 3.0) / 24.0).cos()
}

/// What was sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SimReport {
    pub protocol: &'static str,
    pub exporters: usize,
    pub datagrams: u64,
    pub flows: u64,
    /// Sampling-corrected, as the collector stores them.
    pub bytes: u64,
    pub packets: u64,
    /// Datagrams the kernel refused to send (not counted above).
    pub send_errors: u64,
    pub seconds: f64,
}

struct Exporter {
    socket: usize,
    gen: TrafficGen,
    v9: [V9Encoder; 2],
    ipfix: [IpfixEncoder; 2],
    sflow: SflowEncoder,
    v5_sequence: u32,
    datagrams: u32,
}

fn wall_clock() -> Timestamp {
    crate::serve::now()
}

/// Sends until the duration is over; `progress` is called about once a second.
pub fn run(o: &SimOptions, mut progress: impl FnMut(&SimReport)) -> Result<SimReport, String> {
    if o.exporters == 0 || o.exporters > MAX_EXPORTERS {
        return Err(format!("--exporters must be 1 to {MAX_EXPORTERS}"));
    }
    if o.rate == Some(0) {
        return Err("--rate must be above 0 (or max)".into());
    }
    if o.scenario.is_some() && o.protocol == SimProtocol::Sflow {
        return Err("--scenario needs flow records: use --protocol v9, ipfix or v5".into());
    }
    // On loopback each exporter gets its own source address (127.0.0.0/8
    // is all local); elsewhere they share one socket and differ by source
    // id / observation domain / sub-agent.
    let loopback = o.target.ip().is_loopback() && o.target.is_ipv4();
    let mut sockets = Vec::new();
    let mut exporters = Vec::new();
    for i in 0..o.exporters {
        let socket = if loopback || sockets.is_empty() {
            let local: SocketAddr = if loopback {
                let k = o.exporter_base + i as u32;
                SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, (k >> 8) as u8, k as u8)), 0)
            } else if o.target.is_ipv4() {
                "0.0.0.0:0".parse().expect("literal")
            } else {
                "[::]:0".parse().expect("literal")
            };
            let s = UdpSocket::bind(local).map_err(|e| format!("cannot bind {local}: {e}"))?;
            s.connect(o.target)
                .map_err(|e| format!("cannot send to {}: {e}", o.target))?;
            let _ = socket2::SockRef::from(&s).set_send_buffer_size(4 << 20);
            sockets.push(s);
            sockets.len() - 1
        } else {
            0
        };
        let agent = match sockets[socket].local_addr() {
            Ok(a) if !a.ip().is_unspecified() => a.ip(),
            _ => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1 + (i % 250) as u8)),
        };
        let id = i as u32 + 1;
        exporters.push(Exporter {
            socket,
            gen: TrafficGen::new(
                o.seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
                SocketAddr::new(agent, 0),
                o.protocol.wire(),
                (o.protocol == SimProtocol::Sflow).then_some(o.sflow_rate),
            ),
            v9: [
                V9Encoder::new(id, 256, standard_template(false, true)),
                V9Encoder::new(id, 257, standard_template(true, true)),
            ],
            ipfix: [
                IpfixEncoder::new(id, 256, standard_template(false, false)),
                IpfixEncoder::new(id, 257, standard_template(true, false)),
            ],
            sflow: SflowEncoder::new(agent, id),
            v5_sequence: 0,
            datagrams: 0,
        });
    }

    let mut report = SimReport {
        protocol: o.protocol.wire().name(),
        exporters: o.exporters,
        ..SimReport::default()
    };
    let per = o.protocol.per_datagram();
    let start = Instant::now();
    let boot = wall_clock();
    let mut last_progress = start;
    let mut records: Vec<FlowRecord> = Vec::with_capacity(per);
    let mut buf = Vec::with_capacity(2_048);
    let mut next = 0usize;
    // Flows the rate allows now and not yet sent (the rate integrated over
    // time, so a changing rate never makes a burst).
    let mut owed = 0.0f64;
    let mut last_tick = start;
    let mut injector = o
        .scenario
        .map(|(s, at)| Injector::new(s, Timestamp(boot.0 + at.as_nanos() as i64), o.seed));
    let mut injected: Vec<(usize, FlowRecord)> = Vec::new();
    let mut last_inject = boot;
    while start.elapsed() < o.duration {
        if o.stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
        {
            break;
        }
        if let Some(rate) = o.rate {
            let now = Instant::now();
            let mut rate = rate as f64;
            if o.daily {
                rate *= daily_factor(wall_clock());
            }
            if o.spikes {
                rate *= spike_factor(start.elapsed().as_secs_f64());
            }
            owed = (owed + (now - last_tick).as_secs_f64() * rate).min(rate * MAX_OWED_SECS + per as f64);
            last_tick = now;
            if owed < 1.0 {
                std::thread::sleep(Duration::from_micros(500));
                continue;
            }
        }
        let count = exporters.len();
        let e = &mut exporters[next];
        next = (next + 1) % count;
        let now = wall_clock();
        // One address family per datagram (v9/IPFIX templates are per
        // family; v5 carries IPv4 only).
        let v6 = e.datagrams % 10 == 9 && o.protocol != SimProtocol::V5;
        if let Some(inj) = &mut injector {
            inj.inject(last_inject, now, count, &mut injected);
        }
        if let (Some(sch), true) = (&o.schedule, o.lead) {
            sch.inject(last_inject, now, count, &mut injected);
        }
        last_inject = now;
        records.clear();
        // Injected flows first (IPv4, this exporter's share), then normal ones.
        if !v6 {
            let mine = next_exporter(next, count);
            injected.retain(|(i, r)| {
                if *i == mine && records.len() < per {
                    records.push(r.clone());
                    false
                } else {
                    true
                }
            });
            // Injected flows of exporters that never come round are not kept
            // for ever.
            injected.truncate(MAX_INJECTED);
        }
        while records.len() < per {
            let r = e.gen.flow(now);
            if injector.as_ref().is_some_and(|i| !i.keep(now, &r))
                || o.schedule.as_ref().is_some_and(|s| !s.keep(now, &r))
            {
                continue;
            }
            if r.src_addr.is_some_and(|a| a.is_ipv6()) == v6 {
                records.push(if o.protocol == SimProtocol::Sflow {
                    one_packet(r)
                } else {
                    r
                });
            }
        }
        buf.clear();
        let uptime = (now.0 - boot.0).max(0) / 1_000_000 + 60_000;
        let base = TimeBase {
            export_time: now,
            sys_uptime_ms: uptime as u32,
        };
        // IPv4 datagrams are 0, 1, … 8, 10 …; IPv6 ones 9, 19, 29 …: each
        // family's template goes in its first datagram and every 20th.
        let with_template = e.datagrams % TEMPLATE_EVERY == if v6 { 9 } else { 0 };
        match o.protocol {
            SimProtocol::V5 => {
                let h = V5Header {
                    export_time: now,
                    sys_uptime_ms: uptime as u32,
                    sequence: e.v5_sequence,
                    engine_type: 0,
                    engine_id: (e.v9[0].source_id & 0xff) as u8,
                    sampling_interval: 0,
                };
                let n = flowlens_wire::encode::v5::encode(&h, &records, &mut buf);
                e.v5_sequence = e.v5_sequence.wrapping_add(n as u32);
            }
            // One sequence per observation domain, whatever the template.
            SimProtocol::V9 => {
                let k = v6 as usize;
                e.v9[k].sequence = e.v9[1 - k].sequence;
                e.v9[k].encode(&base, &records, with_template, None, &mut buf);
                e.v9[1 - k].sequence = e.v9[k].sequence;
            }
            SimProtocol::Ipfix => {
                let k = v6 as usize;
                e.ipfix[k].sequence = e.ipfix[1 - k].sequence;
                e.ipfix[k].encode(&base, &records, with_template, None, &mut buf);
                e.ipfix[1 - k].sequence = e.ipfix[k].sequence;
            }
            SimProtocol::Sflow => e.sflow.encode(&records, &[], &mut buf),
        }
        e.datagrams += 1;
        match sockets[e.socket].send(&buf) {
            Ok(_) => {
                report.datagrams += 1;
                report.flows += records.len() as u64;
                owed -= records.len() as f64;
                for r in &records {
                    let rate = u64::from(r.sampling_rate.unwrap_or(1).max(1));
                    report.bytes += r.bytes.unwrap_or(0) * rate;
                    report.packets += r.packets.unwrap_or(0) * rate;
                }
            }
            Err(_) => report.send_errors += 1,
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            report.seconds = start.elapsed().as_secs_f64();
            progress(&report);
            last_progress = Instant::now();
        }
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// An sFlow flow sample is one sampled packet: its IP length as bytes.
pub fn one_packet(mut r: FlowRecord) -> FlowRecord {
    let packets = r.packets.unwrap_or(1).max(1);
    let size = (r.bytes.unwrap_or(64) / packets).clamp(40, 1_500);
    r.packets = Some(1);
    r.bytes = Some(size);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_has_a_low_and_a_high() {
        let at = |h: i64| daily_factor(Timestamp::from_secs(1_767_225_600 + h * 3_600));
        assert!((at(3) - 0.1).abs() < 1e-9);
        assert!((at(15) - 1.0).abs() < 1e-9);
        assert!(at(9) > at(3) && at(9) < at(15));
    }

    #[test]
    fn options_are_checked() {
        let o = SimOptions {
            target: "127.0.0.1:9".parse().unwrap(),
            protocol: SimProtocol::V9,
            rate: Some(0),
            duration: Duration::from_secs(1),
            exporters: 1,
            seed: 1,
            sflow_rate: 1,
            ..SimOptions::default()
        };
        assert!(run(&o, |_| {}).unwrap_err().contains("--rate"));
        let o = SimOptions {
            rate: Some(1),
            exporters: 0,
            ..o
        };
        assert!(run(&o, |_| {}).unwrap_err().contains("--exporters"));
        assert_eq!(SimProtocol::parse("IPFIX"), Ok(SimProtocol::Ipfix));
        assert!(SimProtocol::parse("v6").is_err());
    }

    #[test]
    fn spikes_come_and_go() {
        assert_eq!(spike_factor(0.0), 1.0);
        assert_eq!(spike_factor(SPIKE_EVERY_SECS as f64 - 1.0), 1.0);
        assert_eq!(spike_factor(SPIKE_EVERY_SECS as f64 + 1.0), SPIKE_FACTOR);
        assert_eq!(spike_factor((SPIKE_EVERY_SECS + SPIKE_SECS) as f64 + 1.0), 1.0);
        assert_eq!(spike_factor((2 * SPIKE_EVERY_SECS) as f64 + 5.0), SPIKE_FACTOR);
    }
}
