//! The HTTP side of the service: health, readiness, status, `POST
//! /ingest`, and the JSON API of [`crate::api`], all in one router built by
//! [`router`], with the web console of [`crate::console`] and the
//! Prometheus endpoint of [`crate::metrics`].

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use flowlens_store::Store;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tower_http::compression::CompressionLayer;

use crate::api::limits::MAX_CONCURRENT_QUERIES;
use crate::api::openapi::{self, schema};
use crate::api::{Doc, Route};
use crate::auth::{Access, Auth};

use super::ingest;
use super::pipeline::Sinks;
use super::status::{status, StatusSource};

pub struct AppState {
    pub status: StatusSource,
    pub sinks: Sinks,
    pub store: Arc<Store>,
    /// Listeners bound and the pipeline running.
    pub ready: AtomicBool,
    /// Store questions running at once (the rest wait their turn).
    pub queries: Arc<Semaphore>,
    pub ws: WsStats,
    pub auth: Arc<Auth>,
}

/// WebSocket clients now, and those refused or closed for being slow;
/// the live feed's fan-out.
#[derive(Default)]
pub struct WsStats {
    pub clients: AtomicUsize,
    pub refused: AtomicU64,
    /// Closed because a message waited too long to be taken.
    pub closed_slow: AtomicU64,
    pub hub: Arc<crate::api::live::Hub>,
}

impl WsStats {
    /// Every client closed for being slow, however it was noticed.
    pub fn slow(&self) -> u64 {
        self.closed_slow.load(Ordering::Relaxed) + self.hub.closed_slow.load(Ordering::Relaxed)
    }
}

impl AppState {
    pub fn new(status: StatusSource, sinks: Sinks, store: Arc<Store>) -> AppState {
        let ws = WsStats::default();
        let _ = ws.hub.enrich.set(sinks.enrich.clone());
        let auth = Arc::new(Auth::new(&status.config, store.accounts().clone()));
        AppState {
            auth,
            status,
            sinks,
            store,
            ready: AtomicBool::new(false),
            queries: Arc::new(Semaphore::new(MAX_CONCURRENT_QUERIES)),
            ws,
        }
    }
}

/// The routes served here besides the query API, documented like it.
fn service_routes(ingest_limit: usize) -> Vec<Route> {
    let doc = |summary, description, params: &'static [openapi::Param], response| Doc {
        summary,
        description,
        params,
        response,
        websocket: false,
        body: None,
    };
    vec![
        Route {
            method: "get",
            path: "/healthz",
            access: Access::Public,
            doc: doc("Liveness", "`ok` while the process runs.", &[], schema::text_ok),
            handler: get(|| async { "ok\n" }),
        },
        Route {
            method: "get",
            path: "/readyz",
            access: Access::Public,
            doc: doc(
                "Readiness",
                "`ready` once the store is open and the listeners are bound; 503 while starting or stopping.",
                &[],
                schema::text_ok,
            ),
            handler: get(readyz),
        },
        Route {
            method: "get",
            path: "/api/v1/status",
            access: Access::ReadAll,
            doc: doc(
                "Service status",
                "Listeners, datagram and flow counters with rates, drops by reason, exporters, the store \
                 writer, and the accounting of every flow received.",
                &[],
                schema::status,
            ),
            handler: get(status_handler),
        },
        Route {
            method: "post",
            path: "/ingest",
            access: Access::Ingest,
            doc: Doc {
                body: Some(|| json!({ "type": "object" })),
                ..doc(
                    "Ingest flows as JSON",
                    "A `FlowSession` document (or a list of them): each record is validated, duplicates dropped, \
                 the rest stored like flows from the wire.",
                    &[],
                    schema::ingest,
                )
            },
            handler: post(ingest_handler).layer(DefaultBodyLimit::max(ingest_limit)),
        },
        Route {
            method: "get",
            path: "/api/openapi.json",
            access: Access::Public,
            doc: doc(
                "This document",
                "The OpenAPI 3 description of every route.",
                &[],
                || json!({ "type": "object" }),
            ),
            handler: get(|| async { Json(document().clone()) }),
        },
        Route {
            method: "get",
            path: "/api/docs",
            access: Access::Public,
            doc: doc(
                "This document, for people",
                "An HTML page of the OpenAPI document; the JSON document itself when the request accepts \
                 only application/json.",
                &[],
                schema::text_ok,
            ),
            handler: get(docs),
        },
    ]
}

/// Every route the router serves, documented.
pub fn routes(ingest_limit: usize) -> Vec<Route> {
    service_routes(ingest_limit)
        .into_iter()
        .chain(crate::api::routes())
        .collect()
}

/// The OpenAPI document of [`routes`], built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| openapi::document(&routes(0)))
}

async fn docs(headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let json_only = !accept.is_empty()
        && accept.split(',').all(|t| {
            t.trim()
                .split(';')
                .next()
                .is_some_and(|m| m.trim() == "application/json")
        });
    if json_only {
        Json(document().clone()).into_response()
    } else {
        Html(openapi::page(document())).into_response()
    }
}

/// Every (method, path, access) the router serves: the API's routes, the
/// console's pages, sign-in and sign-out, and the metrics.
pub fn access_table(metrics_path: &str) -> Vec<(&'static str, String, Access)> {
    let mut t: Vec<(&'static str, String, Access)> = routes(0)
        .into_iter()
        .map(|r| (r.method, r.path.to_string(), r.access))
        .collect();
    t.extend(
        crate::console::pages()
            .into_iter()
            .map(|p| (p.method, p.path.to_string(), p.access)),
    );
    t.push(("get", metrics_path.to_string(), Access::Metrics));
    t
}

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.status.config.limits.max_ingest_body.0 as usize;
    let m = &state.status.config.metrics;
    // The guard's view of the metrics path (a fixed string per process).
    let metrics_path: &'static str = Box::leak(m.path.clone().into_boxed_str());
    let guard = |access: Access| {
        axum::middleware::from_fn_with_state((state.auth.clone(), access, metrics_path), crate::auth::authorize)
    };
    let mut r = Router::new();
    for route in routes(limit) {
        r = r.route(route.path, route.handler.layer(guard(route.access)));
    }
    for page in crate::console::pages() {
        r = r.route(page.path, page.handler.layer(guard(page.access)));
    }
    if m.enabled {
        r = r.route(metrics_path, get(metrics_handler).layer(guard(Access::Metrics)));
    }
    let r = r.fallback(not_found).layer(CompressionLayer::new()).with_state(state);
    crate::console::security_headers(r)
}

/// Prometheus scrapes: OpenMetrics when the scraper asks for it, the
/// Prometheus text format otherwise.
async fn metrics_handler(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let open = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    let text = crate::metrics::render(&s);
    if open {
        (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            crate::metrics::to_prometheus_text(&text),
        )
            .into_response()
    }
}

/// A page for browsers, the JSON error for the API and everything else.
async fn not_found(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if browser && !path.starts_with("/api/") && path != "/ingest" {
        crate::console::not_found_page(path)
    } else {
        error(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see /api/docs")
    }
}

/// `{"error": {"code": …, "message": …}}` with `status`.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response()
}

async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    if s.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        error(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "starting or stopping")
    }
}

async fn status_handler(State(s): State<Arc<AppState>>) -> Response {
    let s2 = s.clone();
    match tokio::task::spawn_blocking(move || status(&s2.status)).await {
        Ok(mut v) => {
            v["enrichment"] = s.sinks.enrich.status();
            v["analysis"] = s.sinks.analysis.status();
            v["websocket"] = json!({
                "clients": s.ws.clients.load(Ordering::Relaxed),
                "refused": s.ws.refused.load(Ordering::Relaxed),
                "closed_slow": s.ws.slow(),
            });
            Json(v).into_response()
        }
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "status failed"),
    }
}

async fn ingest_handler(State(s): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                &format!(
                    "the body is over {} (limits.max_ingest_body); send fewer records per request",
                    s.status.config.limits.max_ingest_body
                ),
            )
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_body", &e.body_text()),
    };
    let max = s.status.config.limits.max_ingest_records;
    let parsed = match ingest::parse(&body, max, super::now()) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_records", &e.to_string()),
    };
    let rejected = parsed.rejected;
    let received = parsed.flows.len();
    if received == 0 {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": { "code": "no_valid_records", "message": "no record in the body is valid; see rejected" },
                "rejected": rejected,
            })),
        )
            .into_response();
    }
    let names = parsed.names;
    let mut flows = parsed.flows;
    let st = s.clone();
    let stored = tokio::task::spawn_blocking(move || {
        st.sinks.enrich.enricher(false).enrich_all(&mut flows);
        if !names.is_empty() {
            let now = super::now().as_millis() / 1_000;
            if let Err(e) = st.store.set_exporter_names(&names, "ingest", now) {
                tracing::warn!(error = %e, "recording exporter names failed");
            }
        }
        st.sinks.deliver_waiting(flows)
    })
    .await
    .ok()
    .flatten();
    let Some(stored) = stored else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the store is not taking flows (shutting down?); send again later",
        );
    };
    Json(json!({
        "accepted": stored,
        "duplicates": received as u64 - stored.min(received as u64),
        "rejected": rejected,
    }))
    .into_response()
}
