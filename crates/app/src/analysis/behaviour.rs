//! What a host behaves like, from its flows: server, workstation,
//! database, load balancer or router, with a confidence and the evidence.
//!
//! The signals (seed 004's table): many clients and few servers of its own
//! is a server, the reverse a workstation; serving database ports makes a
//! database; serving web ports to many clients while calling several
//! back ends on web or application ports makes a load balancer (or reverse
//! proxy); speaking a routing protocol (BGP, OSPF, EIGRP, VRRP, HSRP, RIP,
//! LDP, BFD) makes a router. A host with too few flows is `unknown`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use flowlens_store::Flow;
use serde::Serialize;

use super::roles::roles;

/// Flows a host needs before it is classified.
pub const MIN_FLOWS: usize = 20;

const DATABASE_PORTS: &[u16] = &[1433, 1521, 3306, 5432, 5984, 6379, 9042, 9200, 27017];
const WEB_PORTS: &[u16] = &[80, 443, 8080, 8443];
const APP_PORTS: &[u16] = &[80, 443, 3000, 5000, 8000, 8008, 8080, 8443, 9000];
/// (protocol, port 0 for any) of routing protocols.
const ROUTING: &[(u8, u16, &str)] = &[
    (89, 0, "OSPF"),
    (88, 0, "EIGRP"),
    (112, 0, "VRRP"),
    (6, 179, "BGP"),
    (17, 520, "RIP"),
    (17, 1985, "HSRP"),
    (6, 646, "LDP"),
    (17, 646, "LDP"),
    (17, 3784, "BFD"),
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Behaviour {
    /// server, workstation, database, load_balancer, router or unknown
    pub role: &'static str,
    /// 0 to 1.
    pub confidence: f64,
    /// Why, in words.
    pub reasons: Vec<String>,
    pub flows: usize,
    /// Distinct clients that reached it, and servers it reached.
    pub fan_in: usize,
    pub fan_out: usize,
    /// The ports it serves, with their distinct clients, most first.
    pub serves: Vec<(u16, usize)>,
}

/// Classifies `host` from its flows (either end).
pub fn classify(host: IpAddr, flows: &[Flow]) -> Behaviour {
    let mut clients = BTreeSet::new();
    let mut servers = BTreeSet::new();
    let mut serves: BTreeMap<u16, BTreeSet<IpAddr>> = BTreeMap::new();
    let mut calls: BTreeMap<u16, BTreeSet<IpAddr>> = BTreeMap::new();
    let mut routing = BTreeSet::new();
    let mut n = 0;
    for f in flows {
        let r = &f.record;
        if r.src_addr != Some(host) && r.dst_addr != Some(host) {
            continue;
        }
        n += 1;
        let proto = r.proto.unwrap_or(0);
        for (p, port, name) in ROUTING {
            if proto == *p && (*port == 0 || r.src_port == Some(*port) || r.dst_port == Some(*port)) {
                routing.insert(*name);
            }
        }
        let Some(roles) = roles(r) else { continue };
        if roles.server == host {
            clients.insert(roles.client);
            if roles.port != 0 {
                serves.entry(roles.port).or_default().insert(roles.client);
            }
        } else {
            servers.insert(roles.server);
            if roles.port != 0 {
                calls.entry(roles.port).or_default().insert(roles.server);
            }
        }
    }
    let mut served: Vec<(u16, usize)> = serves.iter().map(|(p, c)| (*p, c.len())).collect();
    served.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    served.truncate(10);
    let (fan_in, fan_out) = (clients.len(), servers.len());
    let mut b = Behaviour {
        role: "unknown",
        confidence: 0.0,
        reasons: Vec::new(),
        flows: n,
        fan_in,
        fan_out,
        serves: served.clone(),
    };
    if n < MIN_FLOWS {
        b.reasons
            .push(format!("only {n} flows in the range; {MIN_FLOWS} are needed"));
        return b;
    }
    let share = |a: usize, b: usize| a as f64 / (a + b).max(1) as f64;
    if !routing.is_empty() {
        b.role = "router";
        b.confidence = 0.9;
        b.reasons
            .push(format!("speaks {}", routing.into_iter().collect::<Vec<_>>().join(", ")));
        return b;
    }
    let db: Vec<(u16, usize)> = served
        .iter()
        .filter(|(p, c)| DATABASE_PORTS.contains(p) && *c >= 1)
        .copied()
        .collect();
    let db_clients: usize = db.iter().map(|x| x.1).sum();
    if !db.is_empty() && db_clients >= 2 {
        b.role = "database";
        b.confidence = (0.6 + 0.4 * share(db_clients, fan_in.saturating_sub(db_clients))).min(0.97);
        b.reasons.push(format!(
            "serves database port{} {} to {db_clients} clients",
            if db.len() > 1 { "s" } else { "" },
            db.iter().map(|x| x.0.to_string()).collect::<Vec<_>>().join(", ")
        ));
        return b;
    }
    let web_clients: usize = served.iter().filter(|(p, _)| WEB_PORTS.contains(p)).map(|x| x.1).sum();
    let backends: BTreeSet<IpAddr> = calls
        .iter()
        .filter(|(p, _)| APP_PORTS.contains(p))
        .flat_map(|(_, s)| s.iter().copied())
        .collect();
    if web_clients >= 20 && backends.len() >= 2 && backends.len() * 4 <= web_clients {
        b.role = "load_balancer";
        b.confidence = (0.5 + 0.1 * backends.len().min(4) as f64).min(0.9);
        b.reasons.push(format!(
            "serves web ports to {web_clients} clients and calls {} back ends on application ports",
            backends.len()
        ));
        return b;
    }
    if fan_in >= 5 && fan_in >= 3 * fan_out {
        b.role = "server";
        b.confidence = (share(fan_in, fan_out) * 0.9 + 0.1 * (fan_in.min(100) as f64 / 100.0)).min(0.98);
        b.reasons.push(format!(
            "reached by {fan_in} clients, itself reaches {fan_out} servers{}",
            served
                .first()
                .map(|(p, c)| format!("; busiest port {p} ({c} clients)"))
                .unwrap_or_default()
        ));
    } else if fan_out >= 5 && fan_out >= 3 * fan_in {
        b.role = "workstation";
        b.confidence = (share(fan_out, fan_in) * 0.9 + 0.1 * (fan_out.min(100) as f64 / 100.0)).min(0.98);
        b.reasons
            .push(format!("reaches {fan_out} servers, reached by {fan_in} clients"));
    } else {
        b.reasons
            .push(format!("mixed: reached by {fan_in} clients, reaches {fan_out} servers"));
        b.confidence = 0.3;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowlens_wire::{FlowRecord, Protocol, Timestamp};

    fn f(src: &str, dst: &str, sport: u16, dport: u16, proto: u8) -> Flow {
        let mut r = FlowRecord::new(
            Protocol::Ipfix,
            "192.0.2.1:0".parse().unwrap(),
            Timestamp::from_millis(0),
        );
        r.src_addr = Some(src.parse().unwrap());
        r.dst_addr = Some(dst.parse().unwrap());
        r.proto = Some(proto);
        r.src_port = Some(sport);
        r.dst_port = Some(dport);
        Flow::new(r)
    }

    #[test]
    fn roles_from_traffic_shape() {
        let srv: IpAddr = "10.1.0.5".parse().unwrap();
        let flows: Vec<Flow> = (0..40)
            .map(|i| f(&format!("10.0.0.{i}"), "10.1.0.5", 50_000, 443, 6))
            .collect();
        let b = classify(srv, &flows);
        assert_eq!((b.role, b.fan_in, b.fan_out), ("server", 40, 0));
        assert!(b.confidence > 0.9);

        let db: Vec<Flow> = (0..30)
            .map(|i| f(&format!("10.1.0.{i}"), "10.1.0.200", 40_000, 5432, 6))
            .collect();
        assert_eq!(classify("10.1.0.200".parse().unwrap(), &db).role, "database");

        let ws: Vec<Flow> = (0..30)
            .map(|i| f("10.0.0.9", &format!("93.184.0.{i}"), 50_000, 443, 6))
            .collect();
        assert_eq!(classify("10.0.0.9".parse().unwrap(), &ws).role, "workstation");

        let mut lb: Vec<Flow> = (0..40)
            .map(|i| f(&format!("10.0.0.{i}"), "10.1.0.9", 50_000, 443, 6))
            .collect();
        lb.extend((0..4).map(|i| f("10.1.0.9", &format!("10.2.0.{i}"), 41_000, 8_080, 6)));
        assert_eq!(classify("10.1.0.9".parse().unwrap(), &lb).role, "load_balancer");

        let mut rt = ws.clone();
        rt.push(f("10.0.0.9", "10.0.0.1", 179, 40_000, 6));
        assert_eq!(classify("10.0.0.9".parse().unwrap(), &rt).role, "router");

        let few = classify(srv, &flows[..3]);
        assert_eq!(few.role, "unknown");
        assert!(few.reasons[0].contains("only 3 flows"));
    }
}
