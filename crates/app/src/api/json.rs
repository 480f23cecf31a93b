//! How store answers look in JSON, shared by every route.

use std::net::IpAddr;

use flowlens_store::query::{Key, Metric, TimeRange, TopAnswer, Totals};
use flowlens_store::Flow;
use serde_json::{json, Value};

use super::ApiError;
use crate::enrich::{Databases, Interfaces};
use crate::flowjson::{rfc3339, FlowJson};

pub fn key_json(k: &Key) -> Value {
    match k {
        Key::None => Value::Null,
        Key::Int(n) => json!(n),
        Key::Addr(a) => json!(a.to_string()),
        Key::Text(t) => json!(t),
    }
}

pub fn totals_json(t: &Totals) -> Value {
    json!({ "bytes": t.bytes, "packets": t.packets, "flows": t.flows })
}

pub(super) fn range_json(r: &TimeRange) -> Value {
    json!({ "since": rfc3339(r.since), "until": rfc3339(r.until) })
}

/// A flow as the API shows it. Counters are sampling-corrected: stored
/// flows already are (`scaled`), live ones are scaled here.
pub fn flow_json(f: &Flow, scaled: bool, names: &Databases, interfaces: &Interfaces) -> Value {
    // Stored flows are shown as they are; only live ones need a scaled copy.
    let copy;
    let r = if scaled {
        &f.record
    } else {
        let mut r = f.record.clone();
        let rate = r.effective_sampling_rate();
        r.bytes = r.scaled_bytes();
        r.packets = r.scaled_packets();
        r.reverse_bytes = r.reverse_bytes.map(|b| b.saturating_mul(rate));
        r.reverse_packets = r.reverse_packets.map(|p| p.saturating_mul(rate));
        copy = r;
        &copy
    };
    let mut v = serde_json::to_value(FlowJson::new(r, &flowlens_wire::Batch::new())).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("kind");
        let country = |c: Option<[u8; 2]>| c.and_then(|c| std::str::from_utf8(&c).ok().map(str::to_string));
        if let Some(c) = country(f.src_country) {
            m.insert("src_country".into(), json!(c));
        }
        if let Some(c) = country(f.dst_country) {
            m.insert("dst_country".into(), json!(c));
        }
        for (side, class) in [("src", &f.src_class), ("dst", &f.dst_class)] {
            let Some(c) = class else { continue };
            for (k, v) in [
                ("net", &c.name),
                ("env", &c.env),
                ("dc", &c.datacenter),
                ("location", &c.location),
            ] {
                if let Some(v) = v {
                    m.insert(format!("{side}_{k}"), json!(v));
                }
            }
            if let Some(i) = c.internal {
                m.insert(format!("{side}_internal"), json!(i));
            }
        }
        // Cities are looked up when answering (a City database is optional
        // and large; flows store the country).
        if names.has_city() {
            for (key, ip) in [("src_city", f.record.src_addr), ("dst_city", f.record.dst_addr)] {
                if let Some(c) = ip.and_then(|ip| names.city(ip)) {
                    m.insert(key.into(), json!(c));
                }
            }
        }
        for (key, index) in [("in_if_name", f.record.in_if), ("out_if_name", f.record.out_if)] {
            if let Some(n) = index.and_then(|i| interfaces.info(f.record.exporter.ip(), i).name) {
                m.insert(key.into(), json!(n));
            }
        }
        for (key, asn) in [("src_as_name", f.record.src_as), ("dst_as_name", f.record.dst_as)] {
            if let Some(n) = asn.and_then(|a| names.as_name(a)) {
                m.insert(key.into(), json!(&**n));
            }
        }
    }
    v
}

pub(super) fn parse_ip(s: &str) -> Result<IpAddr, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad("bad_ip", format!("\"{s}\" is not an IPv4 or IPv6 address")))
}

pub(super) fn top_json(a: &TopAnswer, range: &TimeRange, names: &Databases) -> Value {
    let dims: Vec<&str> = a.by.iter().map(|d| d.name()).collect();
    let rows: Vec<Value> = a
        .rows
        .iter()
        .map(|r| {
            let keys: serde_json::Map<String, Value> = dims
                .iter()
                .zip(&r.keys)
                .map(|(d, k)| ((*d).to_string(), key_json(k)))
                .collect();
            let mut row =
                json!({ "key": keys, "bytes": r.totals.bytes, "packets": r.totals.packets, "flows": r.totals.flows });
            // AS numbers get their organisation beside them.
            let labels: serde_json::Map<String, Value> = dims
                .iter()
                .zip(&r.keys)
                .filter(|(d, _)| d.ends_with("_as"))
                .filter_map(|(d, k)| match k {
                    Key::Int(n) => u32::try_from(*n)
                        .ok()
                        .and_then(|a| names.as_name(a))
                        .map(|n| ((*d).to_string(), json!(&**n))),
                    _ => None,
                })
                .collect();
            if !labels.is_empty() {
                row["names"] = Value::Object(labels);
            }
            row
        })
        .collect();
    json!({
        "range": range_json(range),
        "by": dims,
        "metric": metric_name(a.metric),
        "rows": rows,
        "other": totals_json(&a.other),
        "total": totals_json(&a.total),
        "table": a.table,
    })
}

pub(super) fn metric_name(m: Metric) -> &'static str {
    match m {
        Metric::Bytes => "bytes",
        Metric::Packets => "packets",
        Metric::Flows => "flows",
    }
}
