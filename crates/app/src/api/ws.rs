//! WebSockets: the live flow feed (filtered on the server with the
//! in-memory predicate) and the events stream (status now; advisories and
//! alerts join it in their issues).
//!
//! The live feed's clients are served by one fan-out ([`super::live`]):
//! a client whose queue fills, or that does not take a message within
//! [`WS_SEND_TIMEOUT`], is closed with a reason and counted: it never slows
//! the pipeline or another client, and its memory is its short queue.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flowlens_store::Filter;
use serde_json::json;

use super::limits::{MAX_WS_CONNS, WS_CLIENT_QUEUE, WS_EVENTS_INTERVAL, WS_SEND_TIMEOUT};
use super::live::Msg;
use super::openapi::{schema, P};
use super::{parse_query, ApiError, Doc, Route};
use crate::auth::{Access, Caller};
use crate::serve::http::AppState;

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: "get",
            path: "/api/v1/ws/flows",
            access: Access::Read,
            doc: Doc {
                summary: "Live flow feed (WebSocket)",
                description: "Upgrade to a WebSocket; each text message is a JSON array of flows matching `filter`, \
                              as they are decoded (sampling-corrected). A client that cannot keep up is closed with \
                              code 1008 and a reason; reconnect and narrow the filter.",
                params: &[P::FILTER],
                response: schema::live,
                websocket: true,
                body: None,
            },
            handler: get(flows),
        },
        Route {
            method: "get",
            path: "/api/v1/ws/events",
            access: Access::ReadAll,
            doc: Doc {
                summary: "Events (WebSocket)",
                description: "Upgrade to a WebSocket; a `{\"type\": \"status\", ...}` message every 2 s, and each \
                              change as it happens: `advisory.opened`, `advisory.escalated`, `advisory.resolved` \
                              (with `advisory`), `alert.firing`, `alert.resolved` (with `alert`).",
                params: &[],
                response: schema::live,
                websocket: true,
                body: None,
            },
            handler: get(events),
        },
    ]
}

/// Holds one of the `MAX_WS_CONNS` client slots until dropped.
struct Slot(Arc<AppState>);

impl Slot {
    fn take(s: &Arc<AppState>) -> Option<Slot> {
        let n = s.ws.clients.fetch_add(1, Ordering::AcqRel);
        if n >= MAX_WS_CONNS {
            s.ws.clients.fetch_sub(1, Ordering::AcqRel);
            s.ws.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(Slot(s.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.ws.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

fn upgrade_needed() -> Response {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "websocket_required",
        message: "this endpoint is a WebSocket: connect with a WebSocket client (Upgrade: websocket)".into(),
    }
    .into_response()
}

fn full() -> Response {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "too_many_clients",
        message: format!("{MAX_WS_CONNS} WebSocket clients are connected already; try again later"),
    }
    .into_response()
}

async fn flows(
    State(s): State<Arc<AppState>>,
    Caller(c): Caller,
    RawQuery(q): RawQuery,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let filter = match parse_query(q, crate::serve::now())
        .and_then(|p| p.only(&["filter"]).map(|()| p.scoped(c.scope_filter())))
        .and_then(|p| p.filter())
    {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let Ok(ws) = ws else { return upgrade_needed() };
    let Some(slot) = Slot::take(&s) else { return full() };
    ws.on_upgrade(move |socket| feed(socket, filter, slot))
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

/// Sends one message; `false` when the client is gone, or was too slow to
/// take it within [`WS_SEND_TIMEOUT`] (then closed with 1008 and counted).
async fn send(socket: &mut WebSocket, text: axum::extract::ws::Utf8Bytes, s: &AppState) -> bool {
    match tokio::time::timeout(WS_SEND_TIMEOUT, socket.send(Message::Text(text))).await {
        Ok(Ok(())) => true,
        Ok(Err(_)) => false,
        Err(_) => {
            s.ws.closed_slow.fetch_add(1, Ordering::Relaxed);
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: 1008,
                    reason: "too slow: a message waited over 5 s".into(),
                })))
                .await;
            false
        }
    }
}

async fn feed(mut socket: WebSocket, filter: Filter, slot: Slot) {
    let s = slot.0.clone();
    let hub = s.ws.hub.clone();
    let (id, mut rx) = hub.subscribe(&s.sinks.live, filter);
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Some(Msg::Flows(text)) => {
                    if !send(&mut socket, text, &s).await {
                        break;
                    }
                }
                Some(Msg::Close(code, reason)) => {
                    close(socket, code, &reason).await;
                    break;
                }
                // The fan-out dropped this client: its queue was full.
                None => {
                    close(socket, 1008, &format!("too slow: {WS_CLIENT_QUEUE} messages were waiting")).await;
                    break;
                }
            },
            m = socket.recv() => match m {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                // Pings are answered by the library; anything else is ignored.
                Some(Ok(_)) => {}
            },
        }
    }
    hub.unsubscribe(id);
}

async fn events(
    State(s): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if let Err(e) = parse_query(q, crate::serve::now()).and_then(|p| p.only(&[])) {
        return e.into_response();
    }
    let Ok(ws) = ws else { return upgrade_needed() };
    let Some(slot) = Slot::take(&s) else { return full() };
    ws.on_upgrade(move |socket| event_stream(socket, slot))
}

async fn event_stream(mut socket: WebSocket, slot: Slot) {
    let s = slot.0.clone();
    let mut tick = tokio::time::interval(WS_EVENTS_INTERVAL);
    let mut events = s.sinks.analysis.notifier.subscribe();
    loop {
        tokio::select! {
            e = events.recv() => match e {
                Ok(text) => {
                    if !send(&mut socket, (&*text).into(), &s).await {
                        return;
                    }
                }
                // Missed events are in GET /api/v1/advisories and /alerts.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                let st = s.clone();
                let Ok(status) = tokio::task::spawn_blocking(move || crate::serve::status::status(&st.status)).await
                else { return };
                let text = json!({ "type": "status", "status": status }).to_string();
                if !send(&mut socket, text.into(), &s).await {
                    return;
                }
            }
            m = socket.recv() => match m {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
