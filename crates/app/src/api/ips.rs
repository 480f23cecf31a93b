//! The IP table, one address's summary, peers, protocols and ports, and
//! sources whose attempts get no reply.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use flowlens_store::ips::{IpSort, IpsQuery, NoResponseQuery};
use flowlens_store::limits::{MAX_QUERY_LIMIT, MAX_QUERY_OFFSET};
use flowlens_store::query::{Dim, TopAnswer, TopQuery};
use flowlens_store::{Filter, Store};
use serde_json::{json, Value};

use super::json::{parse_ip, range_json, top_json, totals_json};
use super::limits::{DEFAULT_IP_TOP, DEFAULT_SERIES_POINTS};
use super::openapi::{schema, P};
use super::params::{auto_step, Params};
use super::{answer, known, ApiError, Doc, Route};
use crate::auth::{Access, Caller};
use crate::enrich::Databases;
use crate::flowjson::rfc3339;
use crate::serve::http::AppState;

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: "get",
            path: "/api/v1/ips",
            access: Access::Read,
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
            access: Access::Read,
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
            access: Access::Read,
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
            access: Access::Read,
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
            access: Access::Read,
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
            access: Access::Read,
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

async fn ips(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery, Caller(c): Caller) -> Response {
    answer(s, &c, q, known("/api/v1/ips"), |store, p| {
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

async fn ip_summary(
    State(s): State<Arc<AppState>>,
    Path(ip): Path<String>,
    RawQuery(q): RawQuery,
    Caller(c): Caller,
) -> Response {
    let names = s.sinks.enrich.geo.current();
    answer(s, &c, q, known("/api/v1/ips/{ip}"), move |store, p| {
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

async fn ip_peers(
    State(s): State<Arc<AppState>>,
    Path(ip): Path<String>,
    RawQuery(q): RawQuery,
    Caller(c): Caller,
) -> Response {
    answer(s, &c, q, known("/api/v1/ips/{ip}/peers"), move |store, p| {
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

async fn ip_protocols(
    State(s): State<Arc<AppState>>,
    Path(ip): Path<String>,
    RawQuery(q): RawQuery,
    Caller(c): Caller,
) -> Response {
    answer(s, &c, q, known("/api/v1/ips/{ip}/protocols"), move |store, p| {
        ip_top(store, p, &ip, Dim::Proto)
    })
    .await
}

async fn ip_ports(
    State(s): State<Arc<AppState>>,
    Path(ip): Path<String>,
    RawQuery(q): RawQuery,
    Caller(c): Caller,
) -> Response {
    answer(s, &c, q, known("/api/v1/ips/{ip}/ports"), move |store, p| {
        ip_top(store, p, &ip, Dim::DstPort)
    })
    .await
}

async fn bad_ips(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery, Caller(c): Caller) -> Response {
    answer(s, &c, q, known("/api/v1/bad-ips"), |store, p| {
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
