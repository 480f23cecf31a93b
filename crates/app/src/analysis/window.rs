//! What the analyzers read: recent traffic summarised per minute as the
//! flows arrive, so a pass over ten minutes at 50,000 flows/s reads a few
//! thousand numbers instead of thirty million flows.
//!
//! Each flow is seen from its two ends as *client* and *server* (the side on
//! the service port: a SYN without ACK marks the client; otherwise the port
//! below 1024, then the one outside the ephemeral range, then the lower
//! one). A minute keeps totals, traffic series (exporter, interface,
//! destination network, protocol), per-host counters (traffic both ways,
//! distinct ports and servers as a client, distinct clients as a server, the
//! widest sweep on one port, DNS queries, connection attempts without a
//! reply, the largest peers), paths per network (asymmetry) and
//! conversations on insecure protocols. Every map is bounded
//! ([`super::limits`]); a closed minute keeps only its largest and its
//! reportable hosts.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

use flowlens_store::Flow;
use ipnet::IpNet;

use super::limits::*;
use super::roles::{insecure_service, roles, ACK, SYN};

type Fast = foldhash::fast::FixedState;

/// Bytes, packets and flows (sampling-corrected).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub bytes: u64,
    pub packets: u64,
    pub flows: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.packets = self.packets.saturating_add(o.packets);
        self.flows = self.flows.saturating_add(o.flows);
    }
}

/// Which way traffic crosses an interface or a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dir {
    /// Into the interface / towards the network.
    In,
    /// Out of the interface / from the network.
    Out,
}

/// A traffic series with a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeriesKey {
    Exporter(IpAddr),
    Interface(IpAddr, u32, Dir),
    /// Traffic towards a network (/24 for IPv4, /48 for IPv6).
    ToNet(IpNet),
    Protocol(u8),
}

/// The network an address is summarised under.
pub fn net_of(a: IpAddr) -> IpNet {
    let len = if a.is_ipv4() { 24 } else { 48 };
    IpNet::new(a, len).map(|n| n.trunc()).unwrap_or_else(|_| IpNet::from(a))
}

/// Up to four largest (peer, port) by weight: the space-saving sketch,
/// exact for peers that dominate.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Top4 {
    pub items: [(Option<IpAddr>, u16, u64); 4],
}

impl Top4 {
    pub fn add(&mut self, peer: IpAddr, port: u16, w: u64) {
        if let Some(i) = self.items.iter_mut().find(|i| i.0 == Some(peer)) {
            i.2 = i.2.saturating_add(w);
            if port != 0 {
                i.1 = port;
            }
            return;
        }
        let min = self
            .items
            .iter_mut()
            .min_by_key(|i| if i.0.is_none() { 0 } else { i.2 })
            .expect("four slots");
        *min = (Some(peer), port, min.2.saturating_add(w));
    }

    /// The entries, largest first.
    pub fn sorted(&self) -> Vec<(IpAddr, u16, u64)> {
        let mut v: Vec<_> = self.items.iter().filter_map(|i| i.0.map(|p| (p, i.1, i.2))).collect();
        v.sort_by_key(|x| std::cmp::Reverse(x.2));
        v
    }

    pub fn merge(&mut self, o: &Top4) {
        for (p, port, w) in o.sorted() {
            self.add(p, port, w);
        }
    }
}

/// One host's minute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Host {
    pub sent: Counts,
    pub received: Counts,
    /// Distinct (service port, protocol) it reached as a client.
    pub ports: u32,
    /// Distinct servers it reached as a client.
    pub servers: u32,
    /// Distinct clients that reached it as a server.
    pub clients: u32,
    /// Distinct addresses that sent it anything.
    pub senders: u32,
    /// The service port it probed the most servers on (SYN without ACK, or
    /// one- or two-packet flows), and how many.
    pub sweep_port: u16,
    pub sweep_hosts: u32,
    /// Packets it sent to port 53 as a client.
    pub dns_queries: u64,
    /// Distinct (server, port) it tried as a client (unsampled flows), and
    /// of those how many got no reply.
    pub attempts: u32,
    pub unanswered: u32,
    /// Its largest peers by bytes, both ways.
    pub peers: Top4,
    /// Who sent it the most packets.
    pub sources: Top4,
}

impl Host {
    pub fn bytes(&self) -> u64 {
        self.sent.bytes.saturating_add(self.received.bytes)
    }
}

/// A conversation on an insecure protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InsecureKey {
    pub client: IpAddr,
    pub server: IpAddr,
    pub port: u16,
    pub proto: u8,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Insecure {
    pub counts: Counts,
    /// The server sent something back (a reverse flow or reverse counters).
    pub answered: bool,
}

/// (network, direction, exporter, interface): where a network's traffic
/// enters or leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathKey {
    pub net: IpNet,
    /// `In`: traffic towards the network; `Out`: traffic from it.
    pub dir: Dir,
    pub exporter: IpAddr,
    /// The interface the traffic left through (towards) or came in on (from).
    pub interface: u32,
}

/// One minute of traffic.
#[derive(Debug, Clone, Default)]
pub struct Minute {
    /// Unix seconds of the minute's start.
    pub start: i64,
    pub totals: Counts,
    pub series: HashMap<SeriesKey, Counts, Fast>,
    pub hosts: HashMap<IpAddr, Host, Fast>,
    pub paths: HashMap<PathKey, u64, Fast>,
    pub insecure: HashMap<InsecureKey, Insecure, Fast>,
    /// Flows whose series, host, path or conversation did not fit.
    pub folded: u64,
    /// The distinct-pair table was full: distinct counts are lower bounds.
    pub distinct_full: bool,
}

/// The sets behind the open minute's distinct counts (dropped at close).
#[derive(Default)]
struct Sets {
    seen: HashSet<u64, Fast>,
    sweeps: HashMap<(IpAddr, u16), u32, Fast>,
    /// Attempt key → (client, answered).
    attempts: HashMap<u64, (IpAddr, bool), Fast>,
    responses: HashSet<u64, Fast>,
}

fn hash(tag: u8, parts: &[u128]) -> u64 {
    let mut h = Fast::default().build_hasher();
    tag.hash(&mut h);
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

fn key(a: IpAddr) -> u128 {
    flowlens_store::flow::addr_key(a)
}

/// The recorder: flows in, minutes out.
pub struct Recorder {
    open: Minute,
    sets: Sets,
    /// Responses of the minute before the open one (a reply can cross a
    /// minute boundary).
    prev_responses: HashSet<u64, Fast>,
    closed: VecDeque<Arc<Minute>>,
    /// Flows older than the open minute allows.
    pub late: u64,
    started: bool,
    /// Closed minutes kept (the longest analyzer window).
    keep: usize,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new(MAX_WINDOW_MINUTES)
    }
}

impl Recorder {
    /// A recorder keeping `keep` closed minutes (at most
    /// [`MAX_WINDOW_MINUTES`]).
    pub fn new(keep: usize) -> Recorder {
        Recorder {
            keep: keep.clamp(1, MAX_WINDOW_MINUTES),
            open: Minute::default(),
            sets: Sets::default(),
            prev_responses: HashSet::default(),
            closed: VecDeque::new(),
            late: 0,
            started: false,
        }
    }

    fn minute_of(secs: i64) -> i64 {
        secs.div_euclid(BUCKET_SECS) * BUCKET_SECS
    }

    /// Closes minutes up to (not including) the one holding `now_secs`;
    /// minutes without flows close empty, so silence is a value.
    pub fn roll(&mut self, now_secs: i64) {
        let target = Self::minute_of(now_secs);
        if !self.started {
            self.open.start = target;
            self.started = true;
            return;
        }
        // A clock far ahead closes at most a window of empty minutes.
        let gap = (target - self.open.start) / BUCKET_SECS;
        if gap > self.keep as i64 + 1 {
            self.close();
            self.closed.clear();
            self.open.start = target - (self.keep as i64 + 1) * BUCKET_SECS;
        }
        while self.open.start < target {
            self.close();
        }
    }

    fn close(&mut self) {
        let next = self.open.start + BUCKET_SECS;
        let mut m = std::mem::take(&mut self.open);
        let sets = std::mem::take(&mut self.sets);
        // No-response: every attempt not answered by a flow back (this
        // minute or the one before).
        for (k, (client, answered)) in sets.attempts {
            let answered = answered || sets.responses.contains(&k) || self.prev_responses.contains(&k);
            if let Some(h) = m.hosts.get_mut(&client) {
                h.attempts += 1;
                h.unanswered += u32::from(!answered);
            }
        }
        self.prev_responses = sets.responses;
        prune_hosts(&mut m);
        // A closed minute is kept for the window: only its entries, not the
        // room the open minute grew.
        m.hosts.shrink_to_fit();
        m.series.shrink_to_fit();
        m.paths.shrink_to_fit();
        m.insecure.shrink_to_fit();
        self.closed.push_back(Arc::new(m));
        while self.closed.len() > self.keep {
            self.closed.pop_front();
        }
        self.open.start = next;
    }

    /// The closed minutes, oldest first.
    pub fn closed(&self) -> Vec<Arc<Minute>> {
        self.closed.iter().cloned().collect()
    }

    /// The minute being filled, without its distinct sets.
    pub fn open(&self) -> Minute {
        let mut m = self.open.clone();
        m.series = HashMap::default();
        m.paths = HashMap::default();
        m
    }

    pub fn open_start(&self) -> i64 {
        self.open.start
    }

    /// Adds flows: each to the minute it was received in. Flows of a closed
    /// minute go to the open one if at most [`LATE_MINUTES`] late (a
    /// stalled pipeline), else are counted as late.
    pub fn observe(&mut self, flows: &[Flow]) {
        for f in flows {
            let secs = f.record.time_received.as_millis().div_euclid(1_000);
            if !self.started {
                self.roll(secs);
            }
            let m = Self::minute_of(secs);
            if m > self.open.start {
                self.roll(secs);
            } else if m < self.open.start - LATE_MINUTES * BUCKET_SECS {
                self.late += 1;
                continue;
            }
            self.add(f);
        }
    }

    fn add(&mut self, f: &Flow) {
        let r = &f.record;
        let c = Counts {
            bytes: r.scaled_bytes().unwrap_or(0),
            packets: r.scaled_packets().unwrap_or(0),
            flows: 1,
        };
        let m = &mut self.open;
        m.totals.add(&c);
        let exporter = r.exporter.ip();
        let series = |k: SeriesKey, m: &mut Minute| {
            let len = m.series.len();
            match m.series.get_mut(&k) {
                Some(s) => s.add(&c),
                None if len < MAX_SERIES_PER_MINUTE => {
                    m.series.insert(k, c);
                }
                None => m.folded += 1,
            }
        };
        series(SeriesKey::Exporter(exporter), m);
        if let Some(i) = r.in_if.filter(|i| *i != 0) {
            series(SeriesKey::Interface(exporter, i, Dir::In), m);
        }
        if let Some(i) = r.out_if.filter(|i| *i != 0) {
            series(SeriesKey::Interface(exporter, i, Dir::Out), m);
        }
        if let Some(p) = r.proto {
            series(SeriesKey::Protocol(p), m);
        }
        if let Some(d) = r.dst_addr {
            series(SeriesKey::ToNet(net_of(d)), m);
        }
        // Paths of networks: towards dst's network out of `out_if`, from
        // src's network in on `in_if`.
        for (addr, dir, interface) in [(r.dst_addr, Dir::In, r.out_if), (r.src_addr, Dir::Out, r.in_if)] {
            let Some(a) = addr else { continue };
            let k = PathKey {
                net: net_of(a),
                dir,
                exporter,
                interface: interface.unwrap_or(0),
            };
            let len = m.paths.len();
            match m.paths.get_mut(&k) {
                Some(b) => *b = b.saturating_add(c.bytes),
                None if len < MAX_PATHS_PER_MINUTE => {
                    m.paths.insert(k, c.bytes);
                }
                None => m.folded += 1,
            }
        }
        let Some(roles) = roles(r) else { return };
        let (src, dst) = (r.src_addr.unwrap_or(roles.client), r.dst_addr.unwrap_or(roles.server));
        let proto = r.proto.unwrap_or(0);
        let room = MAX_HOSTS_PER_MINUTE.saturating_sub(m.hosts.len());
        if room < 2 && !(m.hosts.contains_key(&src) && m.hosts.contains_key(&dst)) {
            m.folded += 1;
            return;
        }
        {
            let h = m.hosts.entry(src).or_default();
            h.sent.add(&c);
            h.peers.add(dst, roles.port, c.bytes);
        }
        {
            let h = m.hosts.entry(dst).or_default();
            h.received.add(&c);
            h.peers.add(src, roles.port, c.bytes);
            h.sources.add(src, roles.port, c.packets);
        }
        if roles.request && roles.port == 53 {
            if let Some(h) = m.hosts.get_mut(&roles.client) {
                h.dns_queries += c.packets;
            }
        }
        // Insecure protocols, by the service port.
        if insecure_service(proto, roles.port).is_some() {
            let k = InsecureKey {
                client: roles.client,
                server: roles.server,
                port: roles.port,
                proto,
            };
            let answered =
                !roles.request || r.reverse_packets.unwrap_or(0) > 0 || r.tcp_flags.is_some_and(|f| f & ACK != 0);
            let len = m.insecure.len();
            match m.insecure.get_mut(&k) {
                Some(i) => {
                    i.counts.add(&c);
                    i.answered |= answered;
                }
                None if len < MAX_INSECURE_PER_MINUTE => {
                    m.insecure.insert(k, Insecure { counts: c, answered });
                }
                None => m.folded += 1,
            }
        }
        // Distinct counts, each pair once per minute.
        let (ck, sk, pk) = (key(roles.client), key(roles.server), u128::from(roles.port));
        let sets = &mut self.sets;
        let mut first = |tag: u8, parts: &[u128], m: &mut Minute| -> bool {
            if sets.seen.len() >= MAX_DISTINCT_PER_MINUTE {
                m.distinct_full = true;
                return false;
            }
            sets.seen.insert(hash(tag, parts))
        };
        // Ports and sweeps count what a client asked for (a reflection
        // attack's victim receives answers from many servers: not a sweep).
        if roles.request && roles.port != 0 && first(1, &[ck, pk, u128::from(proto)], m) {
            if let Some(h) = m.hosts.get_mut(&roles.client) {
                h.ports += 1;
            }
        }
        if first(2, &[ck, sk], m) {
            if let Some(h) = m.hosts.get_mut(&roles.client) {
                h.servers += 1;
            }
            if let Some(h) = m.hosts.get_mut(&roles.server) {
                h.clients += 1;
            }
        }
        if first(5, &[key(src), key(dst)], m) {
            if let Some(h) = m.hosts.get_mut(&dst) {
                h.senders += 1;
            }
        }
        // A sweep is probes: a SYN without ACK, or (without flags) a flow of
        // one or two packets. A busy proxy or browser reaching hundreds of
        // HTTPS servers a minute is not sweeping.
        let probe = match (r.proto, r.tcp_flags) {
            (Some(6), Some(f)) => f & SYN != 0 && f & ACK == 0,
            _ => r.packets.unwrap_or(0) <= 2,
        };
        if roles.request && probe && roles.port != 0 && first(3, &[ck, pk, sk], m) {
            let room = sets.sweeps.len() < MAX_SWEEP_KEYS;
            let n = match sets.sweeps.get_mut(&(roles.client, roles.port)) {
                Some(n) => {
                    *n += 1;
                    Some(*n)
                }
                None if room => {
                    sets.sweeps.insert((roles.client, roles.port), 1);
                    Some(1)
                }
                None => None,
            };
            if let (Some(n), Some(h)) = (n, m.hosts.get_mut(&roles.client)) {
                if n > h.sweep_hosts {
                    h.sweep_hosts = n;
                    h.sweep_port = roles.port;
                }
            }
        }
        // Attempts and replies, on unsampled flows only (a sampled reply
        // may simply not have been sampled).
        if r.sampling_rate.unwrap_or(1) <= 1 {
            let k = hash(4, &[ck, sk, pk, u128::from(proto)]);
            if roles.request {
                let acked = r.tcp_flags.is_some_and(|f| f & ACK != 0) || r.reverse_packets.unwrap_or(0) > 0;
                let room = sets.attempts.len() < MAX_ATTEMPTS_PER_MINUTE;
                match sets.attempts.get_mut(&k) {
                    Some(a) => a.1 |= acked,
                    None if room => {
                        sets.attempts.insert(k, (roles.client, acked));
                    }
                    None => {}
                }
            } else if sets.responses.len() < MAX_ATTEMPTS_PER_MINUTE {
                sets.responses.insert(k);
            }
        }
    }
}

/// Keeps the hosts an analyzer may report and the largest by bytes.
fn prune_hosts(m: &mut Minute) {
    if m.hosts.len() <= MAX_HOSTS_KEPT {
        return;
    }
    let mut by_bytes: Vec<(u64, IpAddr)> = m.hosts.iter().map(|(a, h)| (h.bytes(), *a)).collect();
    by_bytes.sort_unstable_by(|a, b| b.cmp(a));
    let mut keep: HashSet<IpAddr, Fast> = by_bytes.iter().take(MAX_HOSTS_KEPT / 2).map(|x| x.1).collect();
    // Then the most notable by each analyzer's own measure.
    type Score = fn(&Host) -> u64;
    let scores: [Score; 5] = [
        |h| u64::from(h.ports),
        |h| u64::from(h.sweep_hosts),
        |h| h.dns_queries,
        |h| u64::from(h.unanswered),
        |h| h.received.packets,
    ];
    let per = MAX_HOSTS_KEPT / 2 / scores.len();
    for score in scores {
        let mut v: Vec<(u64, IpAddr)> = m
            .hosts
            .iter()
            .map(|(a, h)| (score(h), *a))
            .filter(|x| x.0 > 0)
            .collect();
        if v.len() > per {
            v.select_nth_unstable_by(per, |a, b| b.cmp(a));
            v.truncate(per);
        }
        keep.extend(v.into_iter().map(|x| x.1));
    }
    m.hosts.retain(|a, _| keep.contains(a));
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowlens_wire::{FlowRecord, Protocol, Timestamp};

    fn flow(t: i64, src: &str, dst: &str, sport: u16, dport: u16, flags: Option<u16>) -> Flow {
        let mut r = FlowRecord::new(
            Protocol::Netflow9,
            "192.0.2.1:0".parse().unwrap(),
            Timestamp::from_millis(t * 1_000),
        );
        r.src_addr = Some(src.parse().unwrap());
        r.dst_addr = Some(dst.parse().unwrap());
        r.proto = Some(6);
        r.src_port = Some(sport);
        r.dst_port = Some(dport);
        r.tcp_flags = flags;
        r.bytes = Some(100);
        r.packets = Some(2);
        Flow::new(r)
    }

    #[test]
    fn roles_follow_flags_then_ports() {
        let f = flow(0, "10.0.0.1", "10.0.0.2", 40_000, 60_000, Some(SYN));
        assert_eq!(roles(&f.record).unwrap().port, 60_000, "a SYN marks the client");
        let f = flow(0, "10.0.0.2", "10.0.0.1", 443, 50_000, None);
        let r = roles(&f.record).unwrap();
        assert_eq!(
            (r.client.to_string(), r.port, r.request),
            ("10.0.0.1".into(), 443, false)
        );
        let f = flow(0, "10.0.0.1", "10.0.0.2", 50_000, 8_080, None);
        assert_eq!(roles(&f.record).unwrap().port, 8_080, "outside the ephemeral range");
    }

    #[test]
    fn distinct_ports_sweeps_and_unanswered_attempts() {
        let mut rec = Recorder::default();
        let mut flows = Vec::new();
        for p in 1..=300u16 {
            flows.push(flow(60, "172.16.0.55", "10.0.0.9", 40_000, p, Some(SYN)));
        }
        for h in 1..=50u8 {
            flows.push(flow(61, "172.16.0.56", &format!("10.0.1.{h}"), 40_000, 22, Some(SYN)));
        }
        // One answered connection: request with ACK.
        flows.push(flow(62, "10.0.0.7", "10.0.0.9", 50_000, 443, Some(0x1b)));
        rec.observe(&flows);
        rec.roll(121);
        let m = &rec.closed()[0];
        let scanner = &m.hosts[&"172.16.0.55".parse::<IpAddr>().unwrap()];
        assert_eq!((scanner.ports, scanner.servers, scanner.unanswered), (300, 1, 300));
        let sweeper = &m.hosts[&"172.16.0.56".parse::<IpAddr>().unwrap()];
        assert_eq!((sweeper.sweep_port, sweeper.sweep_hosts, sweeper.servers), (22, 50, 50));
        let ok = &m.hosts[&"10.0.0.7".parse::<IpAddr>().unwrap()];
        assert_eq!((ok.attempts, ok.unanswered), (1, 0));
        assert_eq!(m.totals.flows, 351);
    }

    #[test]
    fn silent_minutes_close_empty_and_late_flows_are_counted() {
        let mut rec = Recorder::default();
        rec.observe(&[flow(600, "10.0.0.1", "10.0.0.2", 50_000, 443, None)]);
        rec.roll(600 + 5 * 60);
        let closed = rec.closed();
        assert_eq!(closed.len(), 5);
        assert!(closed[1..].iter().all(|m| m.totals.flows == 0));
        rec.observe(&[flow(600, "10.0.0.1", "10.0.0.2", 50_000, 443, None)]);
        assert_eq!(rec.late, 1);
    }

    #[test]
    fn the_host_table_is_bounded() {
        let mut rec = Recorder::default();
        let flows: Vec<Flow> = (0..(MAX_HOSTS_PER_MINUTE as u32 + 5_000))
            .map(|i| {
                let a = std::net::Ipv4Addr::from(0x0a00_0000 + i);
                flow(60, &a.to_string(), "192.0.2.9", 50_000, 443, None)
            })
            .collect();
        rec.observe(&flows);
        assert!(rec.open.hosts.len() <= MAX_HOSTS_PER_MINUTE);
        assert!(rec.open.folded > 0);
        rec.roll(200);
        assert!(rec.closed()[0].hosts.len() <= MAX_HOSTS_KEPT);
    }
}
