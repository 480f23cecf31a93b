//! A deterministic generator of realistic flow records: what the simulator
//! sends, the demo shows and the store benches ingest. Seeded, no clock (the
//! end time of each flow is a parameter), no dependencies.
//!
//! The mix follows what an enterprise edge usually sees: a few thousand
//! internal clients with a skewed (Zipf-like) activity, a few hundred
//! external services in real-world provider prefixes with their AS numbers,
//! mostly HTTPS, then DNS, HTTP, NTP, mail and remote access; downloads
//! larger than uploads; 10% IPv6; a little scanning (SYN-only probes to
//! many ports) so analyzers have something to find.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::record::{Direction, FlowRecord, Protocol, Timestamp};

/// External services: (first address, hosts in the block, AS number).
const PROVIDERS: &[([u8; 4], u8, u32)] = &[
    ([142, 250, 180, 0], 64, 15_169), // Google
    ([172, 217, 16, 0], 32, 15_169),  // Google
    ([104, 16, 0, 0], 64, 13_335),    // Cloudflare
    ([52, 95, 110, 0], 48, 16_509),   // Amazon
    ([13, 107, 42, 0], 32, 8_075),    // Microsoft
    ([157, 240, 1, 0], 24, 32_934),   // Meta
    ([17, 253, 144, 0], 16, 714),     // Apple
    ([151, 101, 1, 0], 24, 54_113),   // Fastly
    ([185, 199, 108, 0], 8, 36_459),  // GitHub
    ([198, 51, 100, 0], 32, 64_500),  // a partner network
    ([203, 0, 113, 0], 32, 64_501),   // another
];

/// Internal address plan: clients in 10.0.0.0/16, servers in 10.1.0.0/24.
/// Share of IPv4 external peers drawn from the long tail, percent.
const TAIL_PERCENT: u64 = 25;
const TAIL_HOSTS: u64 = 1_000_000;
const CLIENTS: u32 = 2_000;
const SERVERS: u32 = 50;
const OWN_AS: u32 = 64_512;

/// (protocol, destination port, weight, mean packets, bytes per packet down, up)
const SERVICES: &[(u8, u16, u32, u32, u32, u32)] = &[
    (6, 443, 560, 40, 1_200, 180),
    (17, 443, 80, 60, 1_250, 150), // QUIC
    (17, 53, 150, 1, 180, 70),
    (6, 80, 60, 20, 1_100, 200),
    (17, 123, 20, 1, 76, 76),
    (6, 22, 15, 200, 300, 120),
    (6, 993, 15, 30, 900, 200),
    (6, 25, 10, 15, 600, 900),
    (6, 3389, 8, 400, 500, 150),
    (6, 5432, 10, 50, 800, 300),
    (1, 0, 12, 4, 84, 84),
];

/// A small, fast, seedable PRNG (SplitMix64): reproducible traffic without
/// a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p` percent.
    pub fn chance(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    /// Skewed towards small values: the k-th of `n` with weight ~ 1/k.
    pub fn zipf(&mut self, n: u64) -> u64 {
        // Inverse of the log-uniform CDF: cheap and close enough to 1/k.
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (((n as f64 + 1.0).powf(u) - 1.0) as u64).min(n - 1)
    }
}

/// Generates flows as one exporter would report them.
#[derive(Debug, Clone)]
pub struct TrafficGen {
    rng: Rng,
    exporter: SocketAddr,
    protocol: Protocol,
    sampling_rate: Option<u32>,
    weights: u32,
}

impl TrafficGen {
    pub fn new(seed: u64, exporter: SocketAddr, protocol: Protocol, sampling_rate: Option<u32>) -> Self {
        TrafficGen {
            rng: Rng::new(seed),
            exporter,
            protocol,
            sampling_rate,
            weights: SERVICES.iter().map(|s| s.2).sum(),
        }
    }

    fn client(&mut self) -> IpAddr {
        let k = self.rng.zipf(u64::from(CLIENTS)) as u32;
        IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 10)) + k))
    }

    fn external(&mut self, v6: bool) -> (IpAddr, u32) {
        if !v6 && self.rng.chance(TAIL_PERCENT) {
            return self.long_tail();
        }
        let (base, hosts, asn) = PROVIDERS[self.rng.zipf(PROVIDERS.len() as u64) as usize];
        let host = self.rng.zipf(u64::from(hosts)) as u32;
        if v6 {
            // The provider's block in a documentation-style IPv6 form.
            let a = Ipv6Addr::new(
                0x2a00,
                0x1450,
                u16::from(base[0]),
                u16::from(base[1]),
                0,
                0,
                0,
                host as u16 + 1,
            );
            return (IpAddr::V6(a), asn);
        }
        (IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::from(base)) + host)), asn)
    }

    /// The rest of the Internet: a million hosts in public /8s, each /16
    /// its own AS (what makes top-talker and AS tables grow in real data).
    fn long_tail(&mut self) -> (IpAddr, u32) {
        const FIRST_OCTETS: [u8; 12] = [2, 5, 31, 37, 46, 62, 77, 78, 81, 82, 85, 89];
        let k = self.rng.zipf(TAIL_HOSTS) as u32;
        let first = FIRST_OCTETS[(k % FIRST_OCTETS.len() as u32) as usize];
        let rest = (k / FIRST_OCTETS.len() as u32).wrapping_mul(2_654_435_761) & 0x00ff_ffff;
        let a = (u32::from(first) << 24) | rest;
        (IpAddr::V4(Ipv4Addr::from(a)), 20_000 + (a >> 16) % 40_000)
    }

    /// One flow ending at or shortly before `end`.
    pub fn flow(&mut self, end: Timestamp) -> FlowRecord {
        let r = &mut self.rng;
        let mut pick = r.below(u64::from(self.weights)) as u32;
        let svc = SERVICES
            .iter()
            .find(|s| {
                if pick < s.2 {
                    true
                } else {
                    pick -= s.2;
                    false
                }
            })
            .copied()
            .unwrap_or(SERVICES[0]);
        let (proto, port, _, mean_packets, down_bpp, up_bpp) = svc;
        let v6 = self.rng.chance(10);
        let scan = self.rng.chance(1);
        let inbound_service = port == 22 || port == 3389 || port == 5432 || port == 25;
        let (ext, ext_as) = self.external(v6);
        let internal = if inbound_service {
            IpAddr::V4(Ipv4Addr::new(10, 1, 0, 10 + self.rng.below(u64::from(SERVERS)) as u8))
        } else if v6 {
            IpAddr::V6(Ipv6Addr::new(
                0xfd00,
                0,
                0,
                0,
                0,
                0,
                0,
                10 + self.rng.zipf(u64::from(CLIENTS)) as u16,
            ))
        } else {
            self.client()
        };
        let mut rec = FlowRecord::new(self.protocol, self.exporter, end);
        // Who initiated: clients go out, external hosts come in to servers.
        let (client, server, client_as, server_as) = if inbound_service {
            (ext, internal, ext_as, OWN_AS)
        } else {
            (internal, ext, OWN_AS, ext_as)
        };
        // Half the records are the request direction, half the response.
        let response = self.rng.chance(50);
        let ephemeral = 32_768 + self.rng.below(28_000) as u16;
        let packets = if scan {
            1
        } else {
            1 + self.rng.below(u64::from(mean_packets) * 2)
        };
        let bpp = if response == inbound_service { up_bpp } else { down_bpp };
        let bytes = packets * (u64::from(bpp) / 2 + self.rng.below(u64::from(bpp)));
        let (src, dst, sport, dport, sas, das) = if response {
            (server, client, port, ephemeral, server_as, client_as)
        } else {
            (client, server, ephemeral, port, client_as, server_as)
        };
        rec.ip_version = Some(if src.is_ipv4() { 4 } else { 6 });
        rec.src_addr = Some(src);
        rec.dst_addr = Some(dst);
        rec.proto = Some(proto);
        if proto == 1 {
            rec.icmp_type = Some(if response { 0 } else { 8 });
            rec.icmp_code = Some(0);
        } else {
            rec.src_port = Some(sport);
            rec.dst_port = Some(if scan { 1 + self.rng.below(1_024) as u16 } else { dport });
        }
        if proto == 6 {
            rec.tcp_flags = Some(if scan {
                0x02
            } else if packets < 3 {
                0x12
            } else {
                0x1b
            });
        }
        rec.bytes = Some(bytes.max(40));
        rec.packets = Some(packets);
        rec.tos = Some(if port == 5432 || port == 22 { 0x10 } else { 0 });
        let outside_if = 1 + self.rng.below(2) as u32; // two uplinks
        let inside_if = 10 + self.rng.below(4) as u32; // four access ports
        let from_outside = src == ext;
        rec.in_if = Some(if from_outside { outside_if } else { inside_if });
        rec.out_if = Some(if from_outside { inside_if } else { outside_if });
        rec.direction = Some(Direction::Ingress);
        rec.src_as = Some(sas);
        rec.dst_as = Some(das);
        rec.src_mask = Some(if src.is_ipv4() { 24 } else { 48 });
        rec.dst_mask = Some(if dst.is_ipv4() { 24 } else { 48 });
        let duration_ms = if packets == 1 { 0 } else { self.rng.below(60_000) as i64 };
        let end_ms = end.as_millis() - self.rng.below(5_000) as i64;
        rec.time_end = Some(Timestamp::from_millis(end_ms));
        rec.time_start = Some(Timestamp::from_millis(end_ms - duration_ms));
        if let Some(rate) = self.sampling_rate {
            rec.sampling_rate = Some(rate);
        }
        rec
    }

    /// Appends `n` flows ending up to `end`.
    pub fn fill(&mut self, n: usize, end: Timestamp, out: &mut Vec<FlowRecord>) {
        out.extend((0..n).map(|_| self.flow(end)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_deterministic_and_plausible() {
        let exporter: SocketAddr = "192.0.2.1:2055".parse().unwrap();
        let end = Timestamp::from_secs(1_700_000_000);
        let mut a = TrafficGen::new(7, exporter, Protocol::Ipfix, Some(100));
        let mut b = TrafficGen::new(7, exporter, Protocol::Ipfix, Some(100));
        let (mut x, mut y) = (Vec::new(), Vec::new());
        a.fill(10_000, end, &mut x);
        b.fill(10_000, end, &mut y);
        assert_eq!(x, y, "same seed, same flows");
        let https = x
            .iter()
            .filter(|f| f.dst_port == Some(443) || f.src_port == Some(443))
            .count();
        assert!((5_000..8_000).contains(&https), "HTTPS dominates: {https}");
        let v6 = x.iter().filter(|f| f.ip_version == Some(6)).count();
        assert!((500..1_500).contains(&v6), "about 10% IPv6: {v6}");
        assert!(x.iter().all(|f| f.time_start <= f.time_end && f.time_end <= Some(end)));
        assert!(x.iter().all(|f| f.bytes.unwrap() >= 40 && f.packets.unwrap() >= 1));
        let syn_only = x.iter().filter(|f| f.tcp_flags == Some(0x02)).count();
        assert!(syn_only > 0, "some scanning");
    }
}
