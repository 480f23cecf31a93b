//! Flow search, time series, top-N and Sankey: each a thin translation
//! from query parameters to one call of the store's query API, and from its
//! answer to JSON.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use flowlens_store::limits::{MAX_QUERY_DIMS, MAX_QUERY_LIMIT, MAX_SERIES_POINTS};
use flowlens_store::query::{Dim, FlowQuery, Key, Order, SeriesQuery, TopQuery};
use serde_json::{json, Value};

use super::json::{flow_json, key_json, metric_name, range_json, top_json};
use super::limits::DEFAULT_SERIES_POINTS;
use super::openapi::{schema, P};
use super::params::{auto_step, Params};
use super::{answer, known, ApiError, Doc, Route};
use crate::auth::{Access, Caller};
use crate::flowjson::rfc3339;
use crate::serve::http::AppState;

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: "get",
            path: "/api/v1/flows",
            access: Access::Read,
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
            access: Access::Read,
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
            access: Access::Read,
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
            access: Access::Read,
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
    ]
}

async fn flows(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery, Caller(c): Caller) -> Response {
    let names = s.sinks.enrich.geo.current();
    let interfaces = s.sinks.enrich.interfaces.clone();
    answer(s, &c, q, known("/api/v1/flows"), move |store, p| {
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

async fn series(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery, Caller(c): Caller) -> Response {
    answer(s, &c, q, known("/api/v1/series"), |store, p| {
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

async fn top(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery, Caller(c): Caller) -> Response {
    let names = s.sinks.enrich.geo.current();
    answer(s, &c, q, known("/api/v1/top"), move |store, p| {
        let q = top_query(p, MAX_QUERY_DIMS)?;
        let a = store.top(&q).map_err(ApiError::from_store)?;
        Ok(top_json(&a, &q.range, &names))
    })
    .await
}

async fn sankey(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery, Caller(c): Caller) -> Response {
    answer(s, &c, q, known("/api/v1/sankey"), |store, p| {
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
