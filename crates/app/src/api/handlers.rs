//! The query endpoints: each a thin translation from query parameters to
//! one call of the store's query API, and from its answer to JSON.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use flowlens_store::ips::{IpSort, IpsQuery, NoResponseQuery};
use flowlens_store::limits::{MAX_QUERY_DIMS, MAX_QUERY_LIMIT, MAX_QUERY_OFFSET, MAX_SERIES_POINTS};
use flowlens_store::query::{Dim, FlowQuery, Key, Metric, Order, SeriesQuery, TimeRange, TopAnswer, TopQuery, Totals};
use flowlens_store::{Filter, Flow, Store};
use serde_json::{json, Value};

use super::limits::{DEFAULT_IP_TOP, DEFAULT_SERIES_POINTS};
use super::openapi::{schema, Param, P};
use super::params::{auto_step, Params};
use super::{answer, ApiError, Doc, Route};
use crate::enrich::{Databases, Interfaces};
use crate::flowjson::{rfc3339, FlowJson};
use crate::serve::http::AppState;

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: "get",
            path: "/api/v1/flows",
            doc: Doc {
                summary: "Flow search",
                description: "Raw flows matching a filter in a time range, newest first by default, a page at a \
                              time: pass `next` back as `cursor` for the following page.",
                params: &[P::FILTER, P::SINCE, P::UNTIL, P::ORDER, P::LIMIT, P::CURSOR],
                response: schema::flow_page,
                websocket: false,
                body: None,
            },
            handler: get(flows),
        },
        Route {
            method: "get",
            path: "/api/v1/series",
            doc: Doc {
                summary: "Time series",
                description: "Bytes, packets or flows per step, optionally split by one dimension into its top \
                              values plus \"other\"; `rate=true` gives per-second values.",
                params: &[
                    P::FILTER,
                    P::SINCE,
                    P::UNTIL,
                    P::METRIC,
                    P::STEP,
                    P::BY_ONE,
                    P::TOP,
                    P::RATE,
                ],
                response: schema::series,
                websocket: false,
                body: None,
            },
            handler: get(series),
        },
        Route {
            method: "get",
            path: "/api/v1/top",
            doc: Doc {
                summary: "Top-N",
                description: "The largest values of one or more dimensions (comma-separated `by`), with the \
                              remainder as `other` and the total.",
                params: &[P::FILTER, P::SINCE, P::UNTIL, P::METRIC, P::BY, P::LIMIT],
                response: schema::top,
                websocket: false,
                body: None,
            },
            handler: get(top),
        },
        Route {
            method: "get",
            path: "/api/v1/sankey",
            doc: Doc {
                summary: "Sankey",
                description: "Traffic along paths of 2 to 4 dimensions (`by=src_country,proto,dst_port`), as \
                              nodes and links weighted by the metric.",
                params: &[P::FILTER, P::SINCE, P::UNTIL, P::METRIC, P::BY, P::LIMIT],
                response: schema::sankey,
                websocket: false,
                body: None,
            },
            handler: get(sankey),
        },
        Route {
            method: "get",
            path: "/api/v1/ips",
            doc: Doc {
                summary: "IPs seen",
                description: "Every address seen as source or destination, with bytes, packets and flows in \
                              and out, peers, first and last seen; sortable and paginated.",
                params: &[
                    P::FILTER,
                    P::SINCE,
                    P::UNTIL,
                    P::SORT,
                    P::DIRECTION,
                    P::LIMIT,
                    P::OFFSET,
                ],
                response: schema::ips,
                websocket: false,
                body: None,
            },
            handler: get(ips),
        },
        Route {
            method: "get",
            path: "/api/v1/ips/{ip}",
            doc: Doc {
                summary: "One IP",
                description: "Traffic series in and out, top peers, protocols, ports and peer countries of \
                              one address.",
                params: &[P::IP, P::FILTER, P::SINCE, P::UNTIL, P::STEP, P::TOP],
                response: schema::ip_summary,
                websocket: false,
                body: None,
            },
            handler: get(ip_summary),
        },
        Route {
            method: "get",
            path: "/api/v1/ips/{ip}/peers",
            doc: Doc {
                summary: "Peers of one IP",
                description: "Addresses it exchanged traffic with, both directions together, by bytes.",
                params: &[P::IP, P::FILTER, P::SINCE, P::UNTIL, P::LIMIT],
                response: schema::peers,
                websocket: false,
                body: None,
            },
            handler: get(ip_peers),
        },
        Route {
            method: "get",
            path: "/api/v1/ips/{ip}/protocols",
            doc: Doc {
                summary: "Protocols of one IP",
                description: "Its traffic by IP protocol.",
                params: &[P::IP, P::FILTER, P::SINCE, P::UNTIL, P::METRIC, P::LIMIT],
                response: schema::top,
                websocket: false,
                body: None,
            },
            handler: get(ip_protocols),
        },
        Route {
            method: "get",
            path: "/api/v1/ips/{ip}/ports",
            doc: Doc {
                summary: "Ports of one IP",
                description: "Its traffic by destination port.",
                params: &[P::IP, P::FILTER, P::SINCE, P::UNTIL, P::METRIC, P::LIMIT],
                response: schema::top,
                websocket: false,
                body: None,
            },
            handler: get(ip_ports),
        },
        Route {
            method: "get",
            path: "/api/v1/bad-ips",
            doc: Doc {
                summary: "Sources without answers",
                description: "Sources with repeated attempts that got no reply (TCP with only SYN, or no \
                              reverse flow): scanners, dead services, misconfigured clients.",
                params: &[P::FILTER, P::SINCE, P::UNTIL, P::MIN_ATTEMPTS, P::LIMIT],
                response: schema::bad_ips,
                websocket: false,
                body: None,
            },
            handler: get(bad_ips),
        },
    ]
}

fn names(params: &[Param]) -> Vec<&'static str> {
    params.iter().filter(|p| !p.in_path).map(|p| p.name).collect()
}

/// The known parameter names of a route, leaked once per route (a fixed,
/// small set: the routes are built once).
pub(super) fn known(path: &str) -> &'static [&'static str] {
    use std::sync::OnceLock;
    static KNOWN: OnceLock<BTreeMap<&'static str, &'static [&'static str]>> = OnceLock::new();
    KNOWN
        .get_or_init(|| {
            super::routes()
                .into_iter()
                .map(|r| (r.path, &*Vec::leak(names(r.doc.params))))
                .collect()
        })
        .get(path)
        .copied()
        .unwrap_or(&[])
}

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

fn top_json(a: &TopAnswer, range: &TimeRange, names: &Databases) -> Value {
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

fn metric_name(m: Metric) -> &'static str {
    match m {
        Metric::Bytes => "bytes",
        Metric::Packets => "packets",
        Metric::Flows => "flows",
    }
}

pub(super) fn parse_ip(s: &str) -> Result<IpAddr, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad("bad_ip", format!("\"{s}\" is not an IPv4 or IPv6 address")))
}

async fn flows(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let names = s.sinks.enrich.geo.current();
    let interfaces = s.sinks.enrich.interfaces.clone();
    answer(s, q, known("/api/v1/flows"), move |store, p| {
        let range = p.range()?;
        let page = store
            .flows(&FlowQuery {
                range,
                filter: p.filter()?,
                order: Order::parse(p.get("order").unwrap_or("time")).map_err(ApiError::from_store)?,
                limit: p.limit(MAX_QUERY_LIMIT)?,
                cursor: p.get("cursor").map(str::to_string),
            })
            .map_err(ApiError::from_store)?;
        Ok(json!({
            "range": range_json(&range),
            "flows": page.flows.iter().map(|f| flow_json(f, true, &names, &interfaces)).collect::<Vec<_>>(),
            "next": page.next,
            "table": page.table,
        }))
    })
    .await
}

async fn series(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    answer(s, q, known("/api/v1/series"), |store, p| {
        let range = p.range()?;
        let step = p.step(auto_step(&range, DEFAULT_SERIES_POINTS))?;
        let points = ((range.until.0 - range.since.0) / 1_000_000_000) as u64 / step.max(1);
        if points > MAX_SERIES_POINTS as u64 {
            return Err(ApiError::bad(
                "too_many_points",
                format!("{points} points (range / step) is over the {MAX_SERIES_POINTS} allowed; use a longer step"),
            ));
        }
        let by = match p.get("by") {
            None => None,
            Some(d) => Some(Dim::parse(d).map_err(ApiError::from_store)?),
        };
        let metric = p.metric()?;
        let rate = p.flag("rate")?;
        let a = store
            .series(&SeriesQuery {
                range,
                step_secs: step,
                filter: p.filter()?,
                metric,
                by,
                top: p.number("top", 10, 1, 100)? as usize,
            })
            .map_err(ApiError::from_store)?;
        let series: Vec<Value> = a
            .series
            .iter()
            .map(|(k, values)| {
                let label = match (k, by) {
                    (None, None) => "total".to_string(),
                    (None, Some(_)) => "other".to_string(),
                    (Some(k), _) => k.to_string(),
                };
                let values: Vec<Value> = values
                    .iter()
                    .map(|v| {
                        if rate {
                            json!(*v as f64 / a.step_secs as f64)
                        } else {
                            json!(v)
                        }
                    })
                    .collect();
                json!({ "key": k.as_ref().map_or(Value::Null, key_json), "label": label, "values": values })
            })
            .collect();
        Ok(json!({
            "range": range_json(&range),
            "metric": metric_name(metric),
            "rate": rate,
            "step": a.step_secs,
            "by": by.map(Dim::name),
            "times": a.times.iter().map(|t| rfc3339(*t)).collect::<Vec<_>>(),
            "series": series,
            "table": a.table,
        }))
    })
    .await
}

fn top_query(p: &Params, max_dims: usize) -> Result<TopQuery, ApiError> {
    let by = p.dims("by")?;
    if by.len() > max_dims {
        return Err(ApiError::bad(
            "too_many_dims",
            format!("{} dimensions in by; at most {max_dims}", by.len()),
        ));
    }
    Ok(TopQuery {
        range: p.range()?,
        filter: p.filter()?,
        by,
        metric: p.metric()?,
        limit: p.limit(MAX_QUERY_LIMIT)?,
    })
}

async fn top(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let names = s.sinks.enrich.geo.current();
    answer(s, q, known("/api/v1/top"), move |store, p| {
        let q = top_query(p, MAX_QUERY_DIMS)?;
        let a = store.top(&q).map_err(ApiError::from_store)?;
        Ok(top_json(&a, &q.range, &names))
    })
    .await
}

async fn sankey(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    answer(s, q, known("/api/v1/sankey"), |store, p| {
        let q = top_query(p, MAX_QUERY_DIMS)?;
        if q.by.len() < 2 {
            return Err(ApiError::bad(
                "too_few_dims",
                "a Sankey needs 2 to 4 dimensions in by (e.g. by=src_country,proto,dst_port)".into(),
            ));
        }
        let a = store.top(&q).map_err(ApiError::from_store)?;
        // Nodes are (column, value); links join neighbouring columns of
        // each path, summed over the paths through them.
        let mut nodes: Vec<(usize, String)> = Vec::new();
        let mut index: BTreeMap<(usize, String), usize> = BTreeMap::new();
        let mut node = |col: usize, k: &Key| -> usize {
            let id = (col, k.to_string());
            *index.entry(id.clone()).or_insert_with(|| {
                nodes.push(id);
                nodes.len() - 1
            })
        };
        let mut links: BTreeMap<(usize, usize), u64> = BTreeMap::new();
        for row in &a.rows {
            let ids: Vec<usize> = row.keys.iter().enumerate().map(|(c, k)| node(c, k)).collect();
            for w in ids.windows(2) {
                *links.entry((w[0], w[1])).or_default() += row.totals.get(q.metric);
            }
        }
        let dims: Vec<&str> = q.by.iter().map(|d| d.name()).collect();
        Ok(json!({
            "range": range_json(&q.range),
            "by": dims,
            "metric": metric_name(q.metric),
            "nodes": nodes.iter().enumerate().map(|(i, (c, v))| json!({
                "id": i, "dimension": dims[*c], "value": v,
            })).collect::<Vec<_>>(),
            "links": links.iter().map(|((s, t), v)| json!({ "source": s, "target": t, "value": v }))
                .collect::<Vec<_>>(),
            "other": a.other.get(q.metric),
            "total": a.total.get(q.metric),
            "table": a.table,
        }))
    })
    .await
}

async fn ips(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    answer(s, q, known("/api/v1/ips"), |store, p| {
        let range = p.range()?;
        let descending = match p.get("direction").unwrap_or("desc") {
            "desc" => true,
            "asc" => false,
            other => {
                return Err(ApiError::bad(
                    "bad_direction",
                    format!("direction=\"{other}\": use asc or desc"),
                ))
            }
        };
        let a = store
            .ips(&IpsQuery {
                range,
                filter: p.filter()?,
                sort: IpSort::parse(p.get("sort").unwrap_or("bytes")).map_err(ApiError::from_store)?,
                descending,
                limit: p.limit(MAX_QUERY_LIMIT)?,
                offset: p.number("offset", 0, 0, MAX_QUERY_OFFSET as u64)? as usize,
            })
            .map_err(ApiError::from_store)?;
        let rows: Vec<Value> = a
            .rows
            .iter()
            .map(|r| {
                json!({
                    "ip": r.addr.to_string(),
                    "bytes_in": r.bytes_in, "bytes_out": r.bytes_out,
                    "packets_in": r.packets_in, "packets_out": r.packets_out,
                    "flows_in": r.flows_in, "flows_out": r.flows_out,
                    "peers": r.peers,
                    "first_seen": rfc3339(r.first_seen), "last_seen": rfc3339(r.last_seen),
                })
            })
            .collect();
        Ok(json!({ "range": range_json(&range), "ips": rows, "total": a.total, "table": a.table }))
    })
    .await
}

async fn ip_summary(State(s): State<Arc<AppState>>, Path(ip): Path<String>, RawQuery(q): RawQuery) -> Response {
    let names = s.sinks.enrich.geo.current();
    answer(s, q, known("/api/v1/ips/{ip}"), move |store, p| {
        let ip = parse_ip(&ip)?;
        let range = p.range()?;
        let step = p.step(auto_step(&range, DEFAULT_SERIES_POINTS))?;
        let top = p.number("top", DEFAULT_IP_TOP as u64, 1, 100)? as usize;
        let a = store
            .ip_summary(range, ip, &p.filter()?, step, top)
            .map_err(ApiError::from_store)?;
        let series = |s: &flowlens_store::query::SeriesAnswer| {
            json!({
                "step": s.step_secs,
                "times": s.times.iter().map(|t| rfc3339(*t)).collect::<Vec<_>>(),
                "bytes": s.series.first().map(|(_, v)| v.clone()).unwrap_or_default(),
                "table": s.table,
            })
        };
        let total = |t: &TopAnswer| t.total;
        let sent = a.series_out.series.first().map_or(0, |(_, v)| v.iter().sum::<u64>());
        let received = a.series_in.series.first().map_or(0, |(_, v)| v.iter().sum::<u64>());
        Ok(json!({
            "ip": ip.to_string(),
            "range": range_json(&range),
            "bytes_out": sent,
            "bytes_in": received,
            "totals": totals_json(&total(&a.protocols)),
            "series_out": series(&a.series_out),
            "series_in": series(&a.series_in),
            "peers": a.peers.iter().map(|(ip, t)| json!({
                "ip": ip.to_string(), "bytes": t.bytes, "packets": t.packets, "flows": t.flows,
            })).collect::<Vec<_>>(),
            "location": names.locate(ip),
            "protocols": top_json(&a.protocols, &range, &names),
            "ports": top_json(&a.ports, &range, &names),
            "peer_countries": top_json(&a.countries, &range, &names),
        }))
    })
    .await
}

async fn ip_peers(State(s): State<Arc<AppState>>, Path(ip): Path<String>, RawQuery(q): RawQuery) -> Response {
    answer(s, q, known("/api/v1/ips/{ip}/peers"), move |store, p| {
        let ip = parse_ip(&ip)?;
        let range = p.range()?;
        let limit = p.limit(MAX_QUERY_LIMIT)?;
        let peers = store
            .ip_peers(range, ip, &p.filter()?, limit)
            .map_err(ApiError::from_store)?;
        Ok(json!({
            "ip": ip.to_string(),
            "range": range_json(&range),
            "peers": peers.iter().map(|(ip, t)| json!({
                "ip": ip.to_string(), "bytes": t.bytes, "packets": t.packets, "flows": t.flows,
            })).collect::<Vec<_>>(),
        }))
    })
    .await
}

/// Top-N of one IP's traffic (either side) by one dimension.
fn ip_top(store: &Store, p: &Params, ip: &str, by: Dim) -> Result<Value, ApiError> {
    let ip = parse_ip(ip)?;
    let range = p.range()?;
    let host = Filter::parse(&format!("host {ip}")).map_err(|e| ApiError::bad(e.code(), e.to_string()))?;
    let filter = p.filter()?.and(host);
    let a = store
        .top(&TopQuery {
            range,
            filter,
            by: vec![by],
            metric: p.metric()?,
            limit: p.limit(MAX_QUERY_LIMIT)?,
        })
        .map_err(ApiError::from_store)?;
    let mut v = top_json(&a, &range, &Databases::default());
    v["ip"] = json!(ip.to_string());
    Ok(v)
}

async fn ip_protocols(State(s): State<Arc<AppState>>, Path(ip): Path<String>, RawQuery(q): RawQuery) -> Response {
    answer(s, q, known("/api/v1/ips/{ip}/protocols"), move |store, p| {
        ip_top(store, p, &ip, Dim::Proto)
    })
    .await
}

async fn ip_ports(State(s): State<Arc<AppState>>, Path(ip): Path<String>, RawQuery(q): RawQuery) -> Response {
    answer(s, q, known("/api/v1/ips/{ip}/ports"), move |store, p| {
        ip_top(store, p, &ip, Dim::DstPort)
    })
    .await
}

async fn bad_ips(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    answer(s, q, known("/api/v1/bad-ips"), |store, p| {
        let range = p.range()?;
        let rows = store
            .no_response(&NoResponseQuery {
                range,
                filter: p.filter()?,
                min_attempts: p.number("min_attempts", 10, 1, u64::from(u32::MAX))?,
                limit: p.limit(MAX_QUERY_LIMIT)?,
            })
            .map_err(ApiError::from_store)?;
        Ok(json!({
            "range": range_json(&range),
            "sources": rows.iter().map(|r| json!({
                "ip": r.addr.to_string(),
                "attempts": r.attempts,
                "targets": r.targets,
                "ports": r.ports,
                "first_seen": rfc3339(r.first_seen),
                "last_seen": rfc3339(r.last_seen),
            })).collect::<Vec<_>>(),
        }))
    })
    .await
}
