//! `POST /ingest`: flow records as JSON (seed 000's `FlowSession`), one
//! object or an array. Each record is checked on its own: the valid ones
//! are stored together (one batch, one commit), the others come back with
//! their index and reason.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use flowlens_store::Flow;
use flowlens_wire::{FlowRecord, Protocol, Timestamp};
use serde::Serialize;
use serde_json::Value;

/// Longest `router` name accepted.
pub const MAX_ROUTER_NAME: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub index: usize,
    pub error: String,
}

/// The records of a body: flows, names given to exporters, and rejects.
#[derive(Debug, Default)]
pub struct Parsed {
    pub flows: Vec<Flow>,
    /// (synthetic exporter address, router name) for routers given by name.
    pub names: Vec<(IpAddr, String)>,
    pub rejected: Vec<Rejected>,
}

/// Why a whole body is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    NotJson(String),
    NotRecords,
    TooMany { count: usize, max: usize },
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::NotJson(e) => write!(f, "the body is not JSON: {e}"),
            BodyError::NotRecords => f.write_str("expected a flow record object or an array of them"),
            BodyError::TooMany { count, max } => {
                write!(f, "{count} records in one body; send at most {max} per request")
            }
        }
    }
}

pub fn parse(body: &[u8], max_records: usize, now: Timestamp) -> Result<Parsed, BodyError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| BodyError::NotJson(e.to_string()))?;
    let items = match v {
        Value::Array(a) => a,
        o @ Value::Object(_) => vec![o],
        _ => return Err(BodyError::NotRecords),
    };
    if items.len() > max_records {
        return Err(BodyError::TooMany {
            count: items.len(),
            max: max_records,
        });
    }
    let mut out = Parsed::default();
    for (index, item) in items.iter().enumerate() {
        match record(item, now) {
            Ok((flow, name)) => {
                if let Some(n) = name {
                    if !out.names.contains(&n) {
                        out.names.push(n);
                    }
                }
                out.flows.push(flow);
            }
            Err(error) => out.rejected.push(Rejected { index, error }),
        }
    }
    Ok(out)
}

/// The exporter address of a router: itself if it is an address, else a
/// stable address in fd66:6c6f:776c::/48 (ULA) derived from the name.
pub fn router_address(router: &str) -> (IpAddr, bool) {
    if let Ok(a) = router.parse::<IpAddr>() {
        return (a.to_canonical(), false);
    }
    // FNV-1a, 64 bits, of the name: the low 80 bits of the address.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in router.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let a = (0xfd66_6c6f_776c_u128 << 80) | u128::from(h);
    (IpAddr::V6(Ipv6Addr::from(a)), true)
}

type Named = Option<(IpAddr, String)>;

fn record(v: &Value, now: Timestamp) -> Result<(Flow, Named), String> {
    let o = v.as_object().ok_or("expected an object")?;
    for k in o.keys() {
        if !FIELDS.contains(&k.as_str()) {
            return Err(format!("unknown field \"{}\" (fields: {})", clip(k), FIELDS.join(", ")));
        }
    }
    let router = match o.get("router").or_else(|| o.get("routers")) {
        Some(Value::String(s)) => {
            // "routers" is a comma-separated path; the first one exported it.
            let first = s.split(',').next().unwrap_or("").trim();
            if first.is_empty() {
                return Err("\"router\" is empty".into());
            }
            first.to_string()
        }
        Some(_) => return Err("\"router\" must be a string".into()),
        None => return Err("\"router\" is required (the exporter's name or address)".into()),
    };
    if router.chars().count() > MAX_ROUTER_NAME || router.chars().any(char::is_control) {
        return Err(format!(
            "\"router\" must be printable and at most {MAX_ROUTER_NAME} characters"
        ));
    }
    let (exporter, synthetic) = router_address(&router);
    let time = |k: &str| -> Result<Option<Timestamp>, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => s
                .parse::<jiff::Timestamp>()
                .map(|t| Some(Timestamp(t.as_nanosecond() as i64)))
                .map_err(|_| format!("\"{k}\" is not an RFC 3339 time (e.g. 2026-11-22T10:00:00Z)")),
            Some(Value::Number(n)) => n
                .as_i64()
                .filter(|s| (0..=crate::timespec::MAX_UNIX_SECS).contains(s))
                .map(|s| Some(Timestamp::from_secs(s)))
                .ok_or_else(|| format!("\"{k}\": unix seconds out of range")),
            Some(_) => Err(format!("\"{k}\" must be an RFC 3339 string or unix seconds")),
        }
    };
    let received = time("timestamp")?.unwrap_or(now);
    let mut r = FlowRecord::new(Protocol::Json, SocketAddr::new(exporter, 0), received);
    r.time_start = time("start")?;
    r.time_end = time("end")?;
    if let (Some(s), Some(e)) = (r.time_start, r.time_end) {
        if e < s {
            return Err("\"end\" is before \"start\"".into());
        }
    }
    let addr = |k: &str| -> Result<IpAddr, String> {
        match o.get(k) {
            Some(Value::String(s)) => s
                .parse::<IpAddr>()
                .map(|a| a.to_canonical())
                .map_err(|_| format!("\"{k}\" is not an IP address: \"{}\"", clip(s))),
            Some(_) => Err(format!("\"{k}\" must be a string")),
            None => Err(format!("\"{k}\" is required")),
        }
    };
    let src = addr("src_ip")?;
    let dst = addr("dst_ip")?;
    if src.is_ipv4() != dst.is_ipv4() {
        return Err("\"src_ip\" and \"dst_ip\" are of different IP versions".into());
    }
    r.src_addr = Some(src);
    r.dst_addr = Some(dst);
    r.ip_version = Some(if src.is_ipv4() { 4 } else { 6 });
    r.src_port = uint(o, "src_port", u64::from(u16::MAX))?.map(|v| v as u16);
    r.dst_port = uint(o, "dst_port", u64::from(u16::MAX))?.map(|v| v as u16);
    r.proto = match o.get("protocol") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .filter(|p| *p <= 255)
                .ok_or("\"protocol\" number must be 0 to 255")? as u8,
        ),
        Some(Value::String(s)) => Some(protocol_number(s).ok_or_else(|| {
            format!(
                "unknown \"protocol\" \"{}\" (use tcp, udp, icmp, icmp6, gre, esp, sctp or a number)",
                clip(s)
            )
        })?),
        Some(_) => return Err("\"protocol\" must be a name or a number".into()),
    };
    r.bytes = uint(o, "bytes", u64::MAX)?;
    r.packets = uint(o, "packets", u64::MAX)?;
    r.in_if = uint(o, "in_if", u64::from(u32::MAX))?.map(|v| v as u32);
    r.out_if = uint(o, "out_if", u64::from(u32::MAX))?.map(|v| v as u32);
    r.end_reason = uint(o, "end_reason", 255)?.map(|v| v as u8);
    // Accepted and checked, not stored: exporter-side cumulative counters
    // and post-NAT/drop packet counts have no column (yet).
    for k in ["cum_bytes", "cum_packets", "post_packets", "dropped_packets"] {
        uint(o, k, u64::MAX)?;
    }
    if let Some(n) = o.get("notes") {
        if !n.is_string() && !n.is_null() {
            return Err("\"notes\" must be a string".into());
        }
    }
    let mut flow = Flow::new(r);
    flow.src_country = country(o, "src_country")?;
    flow.dst_country = country(o, "dst_country")?;
    Ok((flow, synthetic.then_some((exporter, router))))
}

const FIELDS: &[&str] = &[
    "timestamp",
    "start",
    "end",
    "router",
    "routers",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "bytes",
    "packets",
    "post_packets",
    "dropped_packets",
    "in_if",
    "out_if",
    "src_country",
    "dst_country",
    "cum_bytes",
    "cum_packets",
    "end_reason",
    "notes",
];

fn uint(o: &serde_json::Map<String, Value>, k: &str, max: u64) -> Result<Option<u64>, String> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|v| *v <= max)
            .map(Some)
            .ok_or_else(|| format!("\"{k}\" must be a whole number from 0 to {max}")),
        Some(_) => Err(format!("\"{k}\" must be a number")),
    }
}

fn country(o: &serde_json::Map<String, Value>, k: &str) -> Result<Option<[u8; 2]>, String> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()) => {
            let b = s.as_bytes();
            Ok(Some([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()]))
        }
        Some(_) => Err(format!("\"{k}\" must be a two-letter ISO country code")),
    }
}

/// IANA protocol numbers for the names people write.
pub fn protocol_number(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return Some(n);
    }
    Some(match s.to_ascii_lowercase().as_str() {
        "icmp" => 1,
        "igmp" => 2,
        "tcp" => 6,
        "udp" => 17,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "icmp6" | "icmpv6" | "ipv6-icmp" => 58,
        "ospf" => 89,
        "pim" => 103,
        "vrrp" => 112,
        "sctp" => 132,
        _ => return None,
    })
}

/// Echoes of user input in errors are kept short.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_800_000_000_000_000_000);

    #[test]
    fn seed_examples() {
        let one = br#"{"router":"custom-agent","src_ip":"10.0.0.10","src_port":55000,"dst_ip":"1.1.1.1","dst_port":53,"protocol":"udp","bytes":2500,"packets":5}"#;
        let p = parse(one, 10, NOW).unwrap();
        assert!(p.rejected.is_empty());
        let r = &p.flows[0].record;
        assert_eq!(
            (r.proto, r.bytes, r.packets, r.dst_port),
            (Some(17), Some(2500), Some(5), Some(53))
        );
        assert_eq!(r.time_received, NOW);
        assert_eq!(
            p.names,
            vec![(router_address("custom-agent").0, "custom-agent".to_string())]
        );

        let many = br#"[
          { "router":"r1", "src_ip":"10.0.0.1", "dst_ip":"8.8.8.8", "protocol":"UDP", "bytes":1200, "packets":3, "timestamp": "2025-09-22T06:58:00Z", "src_country": "us" },
          { "router":"192.0.2.7", "src_ip":"10.0.0.1", "dst_ip":"8.8.4.4", "protocol":"udp", "bytes":800, "packets":2 }
        ]"#;
        let p = parse(many, 10, NOW).unwrap();
        assert_eq!(p.flows.len(), 2);
        assert_eq!(p.flows[0].src_country, Some(*b"US"));
        assert_eq!(p.flows[0].record.time_received, Timestamp::from_secs(1_758_524_280));
        assert_eq!(p.flows[1].record.exporter, "192.0.2.7:0".parse().unwrap());
        assert_eq!(p.names.len(), 1, "an address needs no name");
    }

    #[test]
    fn bad_records_are_named_by_index() {
        let body = br#"[
          {"router":"r1","src_ip":"10.0.0.1","dst_ip":"10.0.0.2"},
          {"src_ip":"10.0.0.1","dst_ip":"10.0.0.2"},
          {"router":"r1","src_ip":"10.0.0.999","dst_ip":"10.0.0.2"},
          {"router":"r1","src_ip":"10.0.0.1","dst_ip":"10.0.0.2","dst_port":70000},
          {"router":"r1","src_ip":"10.0.0.1","dst_ip":"10.0.0.2","protocol":"carrier-pigeon"},
          {"router":"r1","src_ip":"10.0.0.1","dst_ip":"::1"},
          {"router":"r1","src_ip":"10.0.0.1","dst_ip":"10.0.0.2","bytez":1},
          "not an object",
          {"router":"r1","src_ip":"10.0.0.1","dst_ip":"10.0.0.2","start":"2025-01-02T00:00:00Z","end":"2025-01-01T00:00:00Z"}
        ]"#;
        let p = parse(body, 100, NOW).unwrap();
        assert_eq!(p.flows.len(), 1);
        let got: Vec<(usize, &str)> = p.rejected.iter().map(|r| (r.index, r.error.as_str())).collect();
        assert_eq!(got[0], (1, "\"router\" is required (the exporter's name or address)"));
        assert!(got[1].1.contains("not an IP address"), "{got:?}");
        assert!(got[2].1.contains("0 to 65535"), "{got:?}");
        assert!(got[3].1.contains("unknown \"protocol\""), "{got:?}");
        assert!(got[4].1.contains("different IP versions"), "{got:?}");
        assert!(got[5].1.contains("unknown field \"bytez\""), "{got:?}");
        assert_eq!(got[6], (7, "expected an object"));
        assert!(got[7].1.contains("before"), "{got:?}");
    }

    #[test]
    fn whole_body_errors() {
        assert!(matches!(parse(b"{oops", 10, NOW), Err(BodyError::NotJson(_))));
        assert_eq!(parse(b"42", 10, NOW).unwrap_err(), BodyError::NotRecords);
        let many = format!("[{}]", ["{}"; 11].join(","));
        assert_eq!(
            parse(many.as_bytes(), 10, NOW).unwrap_err(),
            BodyError::TooMany { count: 11, max: 10 }
        );
    }
}
