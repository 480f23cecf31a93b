//! Conditions injected into normal traffic at a known time, so detection can
//! be measured: `flowlens simulate --scenario …`, the demo, and the
//! detection-quality tests all use these.
//!
//! Each scenario adds flows (a scanner, a flood, a telnet session, …) or
//! removes them (a link going down) from the moment it starts, and names
//! the advisory it should raise: analyzer and subject.

use std::net::{IpAddr, Ipv4Addr};

use flowlens_wire::encode::generate::Rng;
use flowlens_wire::{FlowRecord, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    PortScan,
    HostSweep,
    Ddos,
    LinkDown,
    DnsFlood,
    Telnet,
    Asymmetric,
    NoResponse,
}

pub const ALL: [Scenario; 8] = [
    Scenario::PortScan,
    Scenario::HostSweep,
    Scenario::Ddos,
    Scenario::LinkDown,
    Scenario::DnsFlood,
    Scenario::Telnet,
    Scenario::Asymmetric,
    Scenario::NoResponse,
];

const SCANNER: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 55);
const SWEEPER: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 66);
const SCAN_TARGET: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 20);
const VICTIM: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 30);
const RESOLVER: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 53);
const DNS_SOURCE: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 100);
const TELNET_CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
const TELNET_SERVER: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 23);
const BRANCH: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 0);
const SILENT_CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 3, 77);

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::PortScan => "port-scan",
            Scenario::HostSweep => "host-sweep",
            Scenario::Ddos => "ddos",
            Scenario::LinkDown => "link-down",
            Scenario::DnsFlood => "dns-flood",
            Scenario::Telnet => "telnet",
            Scenario::Asymmetric => "asymmetric",
            Scenario::NoResponse => "no-response",
        }
    }

    pub fn parse(s: &str) -> Result<Scenario, String> {
        ALL.into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| format!("unknown scenario \"{s}\": use {}", ALL.map(Scenario::name).join(", ")))
    }

    /// The advisory it should raise: (analyzer, subject id).
    pub fn expected(self) -> (&'static str, String) {
        match self {
            Scenario::PortScan => ("scan", SCANNER.to_string()),
            Scenario::HostSweep => ("sweep", SWEEPER.to_string()),
            Scenario::Ddos => ("ddos", VICTIM.to_string()),
            Scenario::LinkDown => ("anomaly", "10.0.1.0/24".into()),
            Scenario::DnsFlood => ("dns_volume", DNS_SOURCE.to_string()),
            Scenario::Telnet => ("insecure_protocols", TELNET_CLIENT.to_string()),
            Scenario::Asymmetric => ("asymmetry", "10.9.0.0/24".into()),
            Scenario::NoResponse => ("no_response", SILENT_CLIENT.to_string()),
        }
    }
}

/// One scenario running from `start`.
#[derive(Debug, Clone)]
pub struct Injector {
    pub scenario: Scenario,
    pub start: Timestamp,
    /// Stops injecting (the link comes back) at this time, if set.
    pub end: Option<Timestamp>,
    rng: Rng,
    /// Fractional flows owed from earlier calls.
    owed: f64,
    seq: u64,
}

fn v4(a: Ipv4Addr) -> IpAddr {
    IpAddr::V4(a)
}

impl Injector {
    pub fn new(scenario: Scenario, start: Timestamp, seed: u64) -> Injector {
        Injector {
            scenario,
            start,
            end: None,
            rng: Rng::new(seed ^ 0x5ce7_a210),
            owed: 0.0,
            seq: 0,
        }
    }

    fn active(&self, t: Timestamp) -> bool {
        t >= self.start && self.end.is_none_or(|e| t < e)
    }

    /// Whether a normal flow survives at `t` (a link down removes its
    /// network's traffic both ways).
    pub fn keep(&self, t: Timestamp, r: &FlowRecord) -> bool {
        if self.scenario != Scenario::LinkDown || !self.active(t) {
            return true;
        }
        let net: ipnet::Ipv4Net = "10.0.1.0/24".parse().expect("literal");
        let inside = |a: Option<IpAddr>| matches!(a, Some(IpAddr::V4(v)) if net.contains(&v));
        !(inside(r.src_addr) || inside(r.dst_addr))
    }

    /// Flows per second it adds.
    fn rate(&self) -> f64 {
        match self.scenario {
            Scenario::PortScan => 60.0,
            Scenario::HostSweep => 20.0,
            Scenario::Ddos => 30.0,
            Scenario::LinkDown => 0.0,
            Scenario::DnsFlood => 20.0,
            Scenario::Telnet => 0.4,
            Scenario::Asymmetric => 20.0,
            Scenario::NoResponse => 3.0,
        }
    }

    /// Adds the flows of `(from, to]` to `out` as (exporter index, flow),
    /// the exporter index taken modulo `exporters` (at least 1).
    pub fn inject(&mut self, from: Timestamp, to: Timestamp, exporters: usize, out: &mut Vec<(usize, FlowRecord)>) {
        if !self.active(to) {
            return;
        }
        let from = from.max(self.start);
        let secs = (to.0 - from.0).max(0) as f64 / 1e9;
        self.owed += secs * self.rate();
        let exporters = exporters.max(1);
        while self.owed >= 1.0 {
            self.owed -= 1.0;
            self.seq += 1;
            for (e, r) in self.one(to, exporters) {
                out.push((e % exporters, r));
            }
        }
    }

    fn flow(&self, end: Timestamp, src: IpAddr, dst: IpAddr, proto: u8, sport: u16, dport: u16) -> FlowRecord {
        let mut r = FlowRecord::new(
            flowlens_wire::Protocol::Netflow9,
            "0.0.0.0:0".parse().expect("literal"),
            end,
        );
        r.ip_version = Some(4);
        r.src_addr = Some(src);
        r.dst_addr = Some(dst);
        r.proto = Some(proto);
        r.src_port = Some(sport);
        r.dst_port = Some(dport);
        r.time_end = Some(end);
        r.time_start = Some(end);
        r.in_if = Some(10);
        r.out_if = Some(1);
        r
    }

    fn one(&mut self, t: Timestamp, exporters: usize) -> Vec<(usize, FlowRecord)> {
        let seq = self.seq;
        let eph = 32_768 + (self.rng.below(28_000) as u16);
        let syn = |mut r: FlowRecord| {
            r.tcp_flags = Some(0x02);
            r.packets = Some(1);
            r.bytes = Some(44);
            r
        };
        match self.scenario {
            Scenario::PortScan => {
                let port = 1 + (seq % 65_535) as u16;
                vec![(0, syn(self.flow(t, v4(SCANNER), v4(SCAN_TARGET), 6, 61_000, port)))]
            }
            Scenario::HostSweep => {
                let host = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 1)) + (seq % 60_000) as u32);
                vec![(0, syn(self.flow(t, v4(SWEEPER), IpAddr::V4(host), 6, eph, 445)))]
            }
            Scenario::Ddos => {
                // 300 sources, 1,000 packets each per flow: 30,000 pps.
                let src = Ipv4Addr::from(u32::from(Ipv4Addr::new(45, 83, 0, 0)) + (self.rng.below(300) as u32) * 7);
                let mut r = self.flow(t, IpAddr::V4(src), v4(VICTIM), 17, 123, 443);
                r.packets = Some(1_000);
                r.bytes = Some(1_000 * 480);
                r.in_if = Some(1);
                r.out_if = Some(10);
                vec![((seq % exporters as u64) as usize, r)]
            }
            Scenario::LinkDown => Vec::new(),
            Scenario::DnsFlood => {
                let mut q = self.flow(t, v4(DNS_SOURCE), v4(RESOLVER), 17, eph, 53);
                q.packets = Some(50);
                q.bytes = Some(50 * 72);
                let mut a = self.flow(t, v4(RESOLVER), v4(DNS_SOURCE), 17, 53, eph);
                a.packets = Some(50);
                a.bytes = Some(50 * 160);
                vec![(0, q), (0, a)]
            }
            Scenario::Telnet => {
                let mut c = self.flow(t, v4(TELNET_CLIENT), v4(TELNET_SERVER), 6, eph, 23);
                c.tcp_flags = Some(0x1b);
                c.packets = Some(20);
                c.bytes = Some(20 * 60);
                let mut s = self.flow(t, v4(TELNET_SERVER), v4(TELNET_CLIENT), 6, 23, eph);
                s.tcp_flags = Some(0x1b);
                s.packets = Some(20);
                s.bytes = Some(20 * 200);
                vec![(0, c), (0, s)]
            }
            Scenario::Asymmetric => {
                // A branch office: traffic to it leaves router 0 on
                // interface 7, its answers come in on router 1 (or on
                // interface 8 of router 0 when there is one router).
                let host = IpAddr::V4(Ipv4Addr::from(u32::from(BRANCH) + 10 + self.rng.below(50) as u32));
                let server = IpAddr::V4(Ipv4Addr::new(10, 1, 0, 10 + self.rng.below(20) as u8));
                let mut to = self.flow(t, server, host, 6, 443, eph);
                to.tcp_flags = Some(0x1b);
                to.packets = Some(80);
                to.bytes = Some(80 * 1_200);
                to.in_if = Some(10);
                to.out_if = Some(7);
                let mut back = self.flow(t, host, server, 6, eph, 443);
                back.tcp_flags = Some(0x1b);
                back.packets = Some(40);
                back.bytes = Some(40 * 400);
                let back_exporter = if exporters > 1 { 1 } else { 0 };
                back.in_if = Some(if exporters > 1 { 7 } else { 8 });
                back.out_if = Some(10);
                vec![(0, to), (back_exporter, back)]
            }
            Scenario::NoResponse => {
                // A client configured for servers that are gone: 10 hosts
                // × 30 ports, never answered.
                let host = Ipv4Addr::new(10, 1, 0, 100 + (seq % 10) as u8);
                let port = 7_000 + ((seq / 10) % 30) as u16;
                if seq % 2 == 0 {
                    vec![(0, syn(self.flow(t, v4(SILENT_CLIENT), IpAddr::V4(host), 6, eph, port)))]
                } else {
                    let mut r = self.flow(t, v4(SILENT_CLIENT), IpAddr::V4(host), 17, eph, port);
                    r.packets = Some(1);
                    r.bytes = Some(120);
                    vec![(0, r)]
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_rates_hold() {
        for s in ALL {
            assert_eq!(Scenario::parse(s.name()), Ok(s));
        }
        assert!(Scenario::parse("portscan").unwrap_err().contains("port-scan"));
        let t0 = Timestamp::from_millis(1_000_000);
        let mut i = Injector::new(Scenario::PortScan, t0, 1);
        let mut out = Vec::new();
        i.inject(
            Timestamp::from_millis(990_000),
            Timestamp::from_millis(1_010_000),
            4,
            &mut out,
        );
        assert_eq!(out.len(), 600, "60 a second from the start only");
        let mut link = Injector::new(Scenario::LinkDown, t0, 1);
        link.end = Some(Timestamp::from_millis(2_000_000));
        let mut r = out[0].1.clone();
        r.dst_addr = Some("10.0.1.77".parse().unwrap());
        assert!(link.keep(Timestamp::from_millis(999_000), &r));
        assert!(!link.keep(Timestamp::from_millis(1_500_000), &r));
        assert!(link.keep(Timestamp::from_millis(2_000_000), &r));
    }
}
