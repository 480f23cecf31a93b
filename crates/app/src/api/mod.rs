//! The JSON API under `/api/v1/`: flow search, series, top-N, Sankey,
//! IPs, no-response sources, exporters, the live feed, and the OpenAPI
//! document that describes exactly these routes.
//!
//! Every route is declared once in [`routes`], with its handler and its
//! documentation side by side: the router and the OpenAPI document are both
//! built from that list, so they cannot disagree. Handlers parse their query
//! string with [`params::Params`] (unknown parameters are errors), run the
//! store query on the blocking pool under a concurrency cap and a timeout,
//! and answer JSON; every error is `{"error": {"code", "message"}}`.

mod accounts;
mod analysis;
mod classification;
mod exporters;
mod ips;
mod json;
pub mod limits;
pub mod live;
pub mod openapi;
pub mod params;
mod queries;
mod users;
mod ws;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Json;
use flowlens_store::{Store, StoreError};
use serde_json::{json, Value};

use crate::serve::http::AppState;
use limits::{MAX_PARAMS, QUERY_TIMEOUT};
use params::Params;

/// An error answer: status, stable code, message for a person.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn bad(code: &'static str, message: String) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message,
        }
    }

    pub fn not_found(message: String) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message,
        }
    }

    /// Query and filter errors are the caller's (400); anything from the
    /// database is ours (500), logged, and answered without its detail.
    pub fn from_store(e: StoreError) -> ApiError {
        match e {
            StoreError::Query(m) => ApiError::bad("bad_query", m),
            StoreError::Filter(f) => ApiError::bad(f.code(), format!("filter: {f}")),
            StoreError::Db(e) if e.to_string().contains("Out of Memory") => {
                tracing::warn!(error = %e, "a query needed more memory than storage.memory_limit");
                ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "query_memory",
                    message: "the question needs more memory than storage.memory_limit allows; narrow the time \
                              range or the filter, or raise storage.memory_limit"
                        .into(),
                }
            }
            other => {
                tracing::error!(error = %other, "query failed");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: other.code(),
                    message: "the store could not answer; the server log has the reason".into(),
                }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}

/// What a route's documentation says (see [`openapi`]).
#[derive(Debug, Clone)]
pub struct Doc {
    pub summary: &'static str,
    pub description: &'static str,
    /// Query (and path) parameters, by name.
    pub params: &'static [openapi::Param],
    /// The schema of a 200 answer (JSON Schema, as `serde_json::Value`).
    pub response: fn() -> Value,
    /// `true` for WebSocket upgrades.
    pub websocket: bool,
    /// The schema of the JSON request body, for routes that take one.
    pub body: Option<fn() -> Value>,
}

impl Doc {
    /// A plain (not WebSocket) route's documentation.
    pub fn plain(
        summary: &'static str,
        description: &'static str,
        params: &'static [openapi::Param],
        response: fn() -> Value,
        body: Option<fn() -> Value>,
    ) -> Doc {
        Doc {
            summary,
            description,
            params,
            response,
            websocket: false,
            body,
        }
    }
}

pub struct Route {
    pub method: &'static str,
    /// axum syntax (`/api/v1/ips/{ip}`), which OpenAPI shares.
    pub path: &'static str,
    /// Who may use it ([`crate::auth::authorize`] checks, before the handler).
    pub access: crate::auth::Access,
    pub doc: Doc,
    pub handler: MethodRouter<Arc<AppState>>,
}

/// Every route of the service that the OpenAPI document describes.
pub fn routes() -> Vec<Route> {
    queries::routes()
        .into_iter()
        .chain(ips::routes())
        .chain(exporters::routes())
        .chain(classification::routes())
        .chain(analysis::routes())
        .chain(ws::routes())
        .chain(accounts::routes())
        .collect()
}

fn names(params: &[openapi::Param]) -> Vec<&'static str> {
    params.iter().filter(|p| !p.in_path).map(|p| p.name).collect()
}

/// The known parameter names of a route, leaked once per route (a fixed,
/// small set: the routes are built once).
fn known(path: &str) -> &'static [&'static str] {
    use std::sync::OnceLock;
    static KNOWN: OnceLock<BTreeMap<&'static str, &'static [&'static str]>> = OnceLock::new();
    KNOWN
        .get_or_init(|| {
            routes()
                .into_iter()
                .map(|r| (r.path, &*Vec::leak(names(r.doc.params))))
                .collect()
        })
        .get(path)
        .copied()
        .unwrap_or(&[])
}

/// Parses the query string, refusing too many parameters.
pub fn parse_query(raw: Option<String>, now: flowlens_wire::Timestamp) -> Result<Params, ApiError> {
    let raw = raw.unwrap_or_default();
    let mut map = HashMap::new();
    for (i, (k, v)) in form_urlencoded::parse(raw.as_bytes()).enumerate() {
        if i >= MAX_PARAMS {
            return Err(ApiError::bad(
                "too_many_params",
                format!("more than {MAX_PARAMS} query parameters"),
            ));
        }
        map.insert(k.into_owned(), v.into_owned());
    }
    Params::new(map, now)
}

/// Runs a store question off the async runtime: parameters checked
/// against `known`, at most `MAX_CONCURRENT_QUERIES` at once, answered
/// within `QUERY_TIMEOUT`.
pub async fn answer(
    state: Arc<AppState>,
    caller: &crate::auth::Principal,
    raw: Option<String>,
    known: &'static [&'static str],
    f: impl FnOnce(&Store, &Params) -> Result<Value, ApiError> + Send + 'static,
) -> Response {
    let p = match parse_query(raw, crate::serve::now()).and_then(|p| p.only(known).map(|()| p)) {
        Ok(p) => p.scoped(caller.scope_filter()),
        Err(e) => return e.into_response(),
    };
    let Ok(permit) = state.queries.clone().acquire_owned().await else {
        return unavailable();
    };
    let store = state.store.clone();
    let job = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f(&store, &p)
    });
    match tokio::time::timeout(QUERY_TIMEOUT, job).await {
        Ok(Ok(Ok(v))) => Json(v).into_response(),
        Ok(Ok(Err(e))) => e.into_response(),
        Ok(Err(_)) => ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "the query stopped unexpectedly; the server log has the reason".into(),
        }
        .into_response(),
        Err(_) => ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "query_timeout",
            message: format!(
                "the question took over {} s; narrow the time range or the filter",
                QUERY_TIMEOUT.as_secs()
            ),
        }
        .into_response(),
    }
}

/// Runs a change (a stored rule added, changed, removed) off the async
/// threads; its JSON, or the error.
pub(crate) async fn blocking(f: impl FnOnce() -> Result<Value, ApiError> + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(_) => ApiError::from_store(StoreError::Meta("task failed".into())).into_response(),
    }
}

/// Records a change made through the API in the audit log: the object's
/// id and name, and its JSON (cut) as the detail.
pub(crate) fn audit_change(s: &AppState, who: &crate::auth::Principal, action: &str, v: &Value) {
    let target = match (v.get("id"), v.get("name").or_else(|| v.get("cidr")), v.get("deleted")) {
        (_, _, Some(d)) => format!("#{}", d.as_str().unwrap_or_default()),
        (Some(id), Some(n), _) => format!(
            "#{} {}",
            id.to_string().trim_matches('"'),
            n.as_str().unwrap_or_default()
        ),
        (Some(id), None, _) => format!("#{}", id.to_string().trim_matches('"')),
        _ => String::new(),
    };
    let detail = if v.get("deleted").is_some() {
        String::new()
    } else {
        v.to_string()
    };
    crate::auth::manage::audit(&s.auth.accounts, &who.by(), action, &target, "ok", &detail);
}

/// Unix seconds now (the time stored changes carry).
pub(crate) fn now_unix() -> i64 {
    crate::serve::now().as_millis() / 1_000
}

fn unavailable() -> Response {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "shutting_down",
        message: "the service is stopping".into(),
    }
    .into_response()
}

#[cfg(test)]
pub(crate) mod tests;
