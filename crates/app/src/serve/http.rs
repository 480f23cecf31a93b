//! The HTTP side of the service: health, readiness, status and
//! `POST /ingest`. (The query API, console and metrics join this router in
//! their own issues.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use flowlens_store::Store;
use serde_json::json;

use super::ingest;
use super::pipeline::Sinks;
use super::status::{status, StatusSource};

pub struct AppState {
    pub status: StatusSource,
    pub sinks: Sinks,
    pub store: Arc<Store>,
    /// Listeners bound and the pipeline running.
    pub ready: AtomicBool,
}

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.status.config.limits.max_ingest_body.0 as usize;
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/api/v1/status", get(status_handler))
        .route("/ingest", post(ingest_handler).layer(DefaultBodyLimit::max(limit)))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .with_state(state)
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
        Ok(v) => Json(v).into_response(),
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
    let flows = parsed.flows;
    let st = s.clone();
    let stored = tokio::task::spawn_blocking(move || {
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
