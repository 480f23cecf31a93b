//! `/api/v1/exporters`: what the service has counted for each exporter
//! address since it started (all source ports together), with the store's
//! traffic in the range, and one exporter's interfaces.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use flowlens_store::limits::MAX_QUERY_LIMIT;
use flowlens_store::query::{Dim, Key, Metric, TimeRange, TopQuery, Totals};
use flowlens_store::{Filter, Store};
use serde::Serialize;
use serde_json::{json, Value};

use super::json::{key_json, parse_ip, range_json, totals_json};
use super::known;
use super::openapi::{schema, P};
use super::{answer, ApiError, Doc, Route};
use crate::auth::{Access, Caller};
use crate::flowjson::rfc3339;
use crate::serve::http::AppState;
use crate::serve::telemetry::{lock, DomainStats};

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: "get",
            path: "/api/v1/exporters",
            access: Access::Read,
            doc: Doc {
                summary: "Exporters",
                description: "Every exporter heard since start or with flows in the range: name, protocol, \
                              datagrams, flows, rates, templates, sequence losses, decode errors.",
                params: &[P::SINCE, P::UNTIL],
                response: schema::exporters,
                websocket: false,
                body: None,
            },
            handler: get(exporters),
        },
        Route {
            method: "get",
            path: "/api/v1/exporters/{addr}",
            access: Access::Read,
            doc: Doc {
                summary: "One exporter",
                description: "One exporter's counters, observation domains and interfaces (traffic in and \
                              out per interface index in the range).",
                params: &[P::ADDR, P::SINCE, P::UNTIL, P::LIMIT],
                response: schema::exporter,
                websocket: false,
                body: None,
            },
            handler: get(exporter),
        },
    ]
}

/// One exporter address as the API shows it.
#[derive(Debug, Default, Serialize)]
struct ExporterRow {
    address: String,
    name: Option<String>,
    ports: Vec<u16>,
    protocols: Vec<&'static str>,
    datagrams: u64,
    flows_received: u64,
    sequence_lost: u64,
    templates: u64,
    /// Latest sampling rate (1 in N) an exporter's flows carried.
    sampling_rate: Option<u32>,
    errors: BTreeMap<&'static str, u64>,
    last_seen: Option<String>,
    domains: BTreeMap<u32, DomainStats>,
    traffic: Value,
    bits_per_second: f64,
    flows_per_second: f64,
}

/// Every exporter address (or only `only`): the telemetry's counters, and
/// the exporters with flows in the range that this run has not heard (the
/// service restarted, or the flows came from an import).
///
/// A scoped account sees the telemetry of the exporters its scope names,
/// and traffic within its scope.
fn exporter_rows(
    s: &AppState,
    store: &Store,
    range: TimeRange,
    only: Option<IpAddr>,
    p: &super::params::Params,
    scope: Option<&crate::auth::Scope>,
) -> Result<Vec<ExporterRow>, ApiError> {
    let mut rows: BTreeMap<IpAddr, (ExporterRow, Option<i64>)> = BTreeMap::new();
    for (addr, e) in lock(&s.status.telemetry.exporters).iter() {
        let ip = addr.ip();
        if only.is_some_and(|o| o != ip) || scope.is_some_and(|sc| !sc.has_exporter(ip)) {
            continue;
        }
        let (r, last) = rows.entry(ip).or_default();
        r.datagrams += e.datagrams;
        r.flows_received += e.flows;
        r.sequence_lost += e.sequence_lost;
        r.templates += e.templates as u64;
        r.sampling_rate = e.sampling_rate.or(r.sampling_rate);
        r.ports.push(addr.port());
        if !r.protocols.contains(&e.protocol) {
            r.protocols.push(e.protocol);
        }
        for (code, n) in &e.errors {
            *r.errors.entry(code).or_default() += n;
        }
        *last = Some(last.unwrap_or(i64::MIN).max(e.last_seen_unix));
        r.domains.extend(e.domains.iter().map(|(d, st)| (*d, st.clone())));
    }
    let mut filter = p.scope();
    if let Some(o) = only {
        filter = exporter_filter(o)?.and(filter);
    }
    let traffic = store
        .top(&TopQuery {
            range,
            filter,
            by: vec![Dim::Exporter],
            metric: Metric::Bytes,
            limit: MAX_QUERY_LIMIT,
        })
        .map_err(ApiError::from_store)?;
    let secs = ((range.until.0 - range.since.0) as f64 / 1e9).max(1.0);
    let mut traffic_of: BTreeMap<IpAddr, Totals> = BTreeMap::new();
    for row in &traffic.rows {
        if let Some(Key::Addr(ip)) = row.keys.first() {
            rows.entry(*ip).or_default();
            traffic_of.insert(*ip, row.totals);
        }
    }
    let names: BTreeMap<IpAddr, String> = store
        .exporter_names()
        .map_err(ApiError::from_store)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(ip, (mut r, last))| {
            let t = traffic_of.get(&ip).copied().unwrap_or_default();
            r.address = ip.to_string();
            r.name = names.get(&ip).cloned();
            r.traffic = totals_json(&t);
            r.bits_per_second = (t.bytes as f64 * 8.0 / secs).round();
            r.flows_per_second = (t.flows as f64 / secs * 100.0).round() / 100.0;
            r.last_seen = last.map(|t| rfc3339(flowlens_wire::Timestamp::from_secs(t)));
            r
        })
        .collect())
}

fn exporter_filter(ip: IpAddr) -> Result<Filter, ApiError> {
    Filter::parse(&format!("exporter {ip}")).map_err(|e| ApiError::bad(e.code(), e.to_string()))
}

fn to_json(r: &ExporterRow) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

async fn exporters(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery, Caller(c): Caller) -> Response {
    let st = s.clone();
    let scope = c.scope.clone();
    answer(s, &c, q, known("/api/v1/exporters"), move |store, p| {
        let range = p.range()?;
        let rows = exporter_rows(&st, store, range, None, p, scope.as_ref())?;
        Ok(json!({ "range": range_json(&range), "exporters": rows.iter().map(to_json).collect::<Vec<_>>() }))
    })
    .await
}

async fn exporter(
    State(s): State<Arc<AppState>>,
    Path(addr): Path<String>,
    RawQuery(q): RawQuery,
    Caller(c): Caller,
) -> Response {
    let st = s.clone();
    let scope = c.scope.clone();
    answer(s, &c, q, known("/api/v1/exporters/{addr}"), move |store, p| {
        let ip = parse_ip(&addr)?;
        let range = p.range()?;
        let limit = p.limit(MAX_QUERY_LIMIT)?;
        let Some(row) = exporter_rows(&st, store, range, Some(ip), p, scope.as_ref())?.pop() else {
            return Err(ApiError::not_found(format!(
                "no exporter {ip} heard since the start or with flows in the range"
            )));
        };
        let filter = exporter_filter(ip)?.and(p.scope());
        let side = |dim: Dim| -> Result<Vec<(Key, Totals)>, ApiError> {
            Ok(store
                .top(&TopQuery {
                    range,
                    filter: filter.clone(),
                    by: vec![dim],
                    metric: Metric::Bytes,
                    limit,
                })
                .map_err(ApiError::from_store)?
                .rows
                .into_iter()
                .map(|r| (r.keys.into_iter().next().unwrap_or(Key::None), r.totals))
                .collect())
        };
        let mut ifs: BTreeMap<Key, (Totals, Totals)> = BTreeMap::new();
        for (k, t) in side(Dim::InIf)? {
            ifs.entry(k).or_default().0 = t;
        }
        for (k, t) in side(Dim::OutIf)? {
            ifs.entry(k).or_default().1 = t;
        }
        let mut v = to_json(&row);
        let secs = ((range.until.0 - range.since.0) as f64 / 1e9).max(1.0);
        let names = &st.sinks.enrich.interfaces;
        v["interfaces"] = json!(ifs
            .iter()
            .map(|(k, (i, o))| {
                let mut e = json!({ "index": key_json(k), "in": totals_json(i), "out": totals_json(o) });
                if let Key::Int(index) = k {
                    let info = names.info(ip, *index as u32);
                    // Utilisation: the range's average rate against the link speed.
                    if let Some(speed) = info.speed_bps.filter(|s| *s > 0) {
                        let pct = |t: &Totals| (t.bytes as f64 * 8.0 / secs / speed as f64 * 10_000.0).round() / 100.0;
                        e["utilisation_in_percent"] = json!(pct(i));
                        e["utilisation_out_percent"] = json!(pct(o));
                    }
                    if let (Value::Object(m), Ok(Value::Object(extra))) = (&mut e, serde_json::to_value(&info)) {
                        m.extend(extra.into_iter().filter(|(_, v)| !v.is_null()));
                    }
                }
                e
            })
            .collect::<Vec<_>>());
        v["range"] = range_json(&range);
        Ok(v)
    })
    .await
}
