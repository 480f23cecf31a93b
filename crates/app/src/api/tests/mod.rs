//! Route tests without a socket (the router called directly), for every
//! endpoint, good input and each kind of bad input; the OpenAPI document
//! against the router; the live feed over a real loopback socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use flowlens_store::{Flow, Store, StoreConfig, Writer};
use flowlens_wire::{FlowRecord, Protocol, Timestamp};
use serde_json::Value;
use tokio::sync::broadcast;
use tower::ServiceExt;

use crate::config::Config;
use crate::serve::http::{self, AppState};
use crate::serve::pipeline::Sinks;
use crate::serve::status::{Rates, StatusSource};
use crate::serve::telemetry::Telemetry;

/// The flows' time: a fixed minute, so ranges in the tests are exact.
const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const RANGE: &str = "since=1767225000&until=1767226200";

fn flow(i: u32, src: &str, dst: &str, dport: u16, proto: u8, bytes: u64) -> Flow {
    let exporter: SocketAddr = "192.0.2.1:2055".parse().unwrap();
    let mut r = FlowRecord::new(
        Protocol::Netflow9,
        exporter,
        Timestamp::from_secs(T0 + i64::from(i % 60)),
    );
    r.src_addr = Some(src.parse().unwrap());
    r.dst_addr = Some(dst.parse().unwrap());
    r.ip_version = Some(if r.src_addr.unwrap().is_ipv4() { 4 } else { 6 });
    r.src_port = Some(40_000 + (i % 1_000) as u16);
    r.dst_port = Some(dport);
    r.proto = Some(proto);
    r.bytes = Some(bytes);
    r.packets = Some(1 + bytes / 1_000);
    r.sampling_rate = Some(if i % 2 == 0 { 1 } else { 10 });
    r.in_if = Some(1 + i % 3);
    r.out_if = Some(10);
    r.sequence = Some(i);
    if proto == 6 {
        r.tcp_flags = Some(if dport == 23 { 0x02 } else { 0x1b });
    }
    if dport != 23 {
        // Answered: a biflow with the reverse direction's counters.
        r.reverse_bytes = Some(bytes / 2);
        r.reverse_packets = Some(1);
    }
    let mut f = Flow::new(r);
    f.dst_country = Some(*b"DE");
    f
}

/// 200 flows: 10.0.0.1 → 192.0.2.10:443/tcp (150, 1,000 bytes each, half of
/// them sampled 1:10), 10.0.0.2 → 2001:db8::53 port 53/udp (30), and a
/// scanner 198.51.100.7 → 20 hosts, port 23, SYN only (20).
fn flows() -> Vec<Flow> {
    let mut v = Vec::new();
    for i in 0..150 {
        v.push(flow(i, "10.0.0.1", "192.0.2.10", 443, 6, 1_000));
    }
    for i in 150..180 {
        v.push(flow(i, "2001:db8::2", "2001:db8::53", 53, 17, 100));
    }
    for i in 180..200 {
        v.push(flow(i, "198.51.100.7", &format!("203.0.113.{}", i - 179), 23, 6, 60));
    }
    v
}

/// Bytes as stored: 1,000 × (75 + 75 × 10) + 100 × (15 + 15 × 10) + 60 × (10 + 10 × 10).
const TOTAL_BYTES: u64 = 825_000 + 16_500 + 6_600;

pub(crate) struct Fixture {
    state: Arc<AppState>,
    _dir: std::path::PathBuf,
}

/// The shared fixture with accounts off (loopback only): the routes'
/// answers. `access.rs` turns accounts on.
pub(crate) fn fixture(name: &str) -> Fixture {
    fixture_with(name, |c| {
        c.auth.enabled = false;
        c.web.listen = vec!["127.0.0.1:0".parse().unwrap()];
    })
}

pub(crate) fn fixture_with(name: &str, configure: impl FnOnce(&mut Config)) -> Fixture {
    let dir = std::env::temp_dir().join(format!("flowlens-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(
        Store::open(StoreConfig {
            data_dir: dir.clone(),
            flush_interval: Duration::from_millis(20),
        })
        .unwrap(),
    );
    let writer = Arc::new(Writer::start(&store).unwrap());
    writer.send(flows()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while writer.stats().rows.load(std::sync::atomic::Ordering::Relaxed) < 200 {
        assert!(std::time::Instant::now() < deadline, "the writer did not flush");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut config = Config::default();
    config.collector.listeners.clear();
    configure(&mut config);
    let telemetry = Arc::new(Telemetry::new(0, 0));
    let (live, _) = broadcast::channel(crate::serve::LIVE_FEED_BATCHES);
    let sinks = Sinks {
        writer: writer.clone(),
        live,
        dedup: None,
        telemetry: telemetry.clone(),
        enrich: Arc::new(crate::enrich::EnrichSetup::disabled()),
        traffic: crate::metrics::traffic(&config),
        analysis: Arc::new(crate::analysis::Engine::new(
            &config,
            Some(store.clone()),
            Box::new(crate::analysis::analyzers::Plain),
        )),
    };
    let status = StatusSource {
        config,
        telemetry,
        writer: writer.stats().clone(),
        rates: Rates::default(),
        sockets: Vec::new(),
        capped_buffers: Vec::new(),
    };
    let state = Arc::new(AppState::new(status, sinks, store));
    state.ready.store(true, std::sync::atomic::Ordering::Relaxed);
    Fixture { state, _dir: dir }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

pub(crate) async fn call(f: &Fixture, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = http::router(f.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 64 << 20).await.unwrap();
    (status, headers, body.to_vec())
}

async fn get(f: &Fixture, uri: &str) -> (StatusCode, Value) {
    let (s, _, body) = call(f, Request::get(uri).body(Body::empty()).unwrap()).await;
    let v = serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (s, v)
}

async fn ok(f: &Fixture, uri: &str) -> Value {
    let (s, v) = get(f, uri).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    v
}

async fn bad(f: &Fixture, uri: &str, code: &str, says: &str) {
    let (s, v) = get(f, uri).await;
    assert!(s.is_client_error(), "{uri}: {s} {v}");
    assert_eq!(v["error"]["code"], code, "{uri}: {v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(says), "{uri}: \"{msg}\" does not say \"{says}\"");
}

/// The router on a real loopback socket (WebSocket tests); its address.
async fn listen(f: &Fixture) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = http::router(f.state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Once the live feed has a subscriber, pushes the fixture's flows and
/// returns the next text message `ws` receives, as JSON.
async fn push_and_read<S>(f: &Fixture, ws: &mut S) -> Value
where
    S: futures_util::Stream<
            Item = Result<tokio_tungstenite::tungstenite::Message, tokio_tungstenite::tungstenite::Error>,
        > + Unpin,
{
    use futures_util::StreamExt;
    while f.state.sinks.live.receiver_count() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    f.state.sinks.live.send(Arc::new(flows())).unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let tokio_tungstenite::tungstenite::Message::Text(t) = msg else {
        panic!("{msg:?}")
    };
    serde_json::from_str(&t).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn every_documented_route_answers_good_input() {
    let f = fixture("routes");
    rt().block_on(async {
        for r in http::routes(1 << 20) {
            let path = r.path.replace("{ip}", "10.0.0.1").replace("{addr}", "192.0.2.1");
            let query = if r.doc.params.iter().any(|p| p.name == "since") {
                format!("?{RANGE}")
            } else {
                String::new()
            };
            let query = if r.path.ends_with("/top") || r.path.ends_with("/sankey") {
                format!("{query}&by=proto,dst_port")
            } else {
                query
            };
            let uri = format!("{path}{query}");
            let req = Request::builder().method(r.method.to_uppercase().as_str()).uri(&uri);
            let req = if r.method == "post" {
                req.header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from("{}"))
                    .unwrap()
            } else {
                req.body(Body::empty()).unwrap()
            };
            let (s, _, body) = call(&f, req).await;
            let body = String::from_utf8_lossy(&body);
            if r.doc.websocket {
                assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {body}");
                assert!(body.contains("websocket_required"), "{uri}: {body}");
            } else if r.method == "post" {
                // An empty document is refused with a reason, not a 404.
                assert!(s.is_client_error() && s != StatusCode::NOT_FOUND, "{uri}: {s} {body}");
            } else if r.method == "patch" || r.method == "delete" || r.path.contains("{id}") {
                // Nothing has the id `{id}`: a 404 that says so.
                assert_eq!(s, StatusCode::NOT_FOUND, "{uri}: {body}");
            } else {
                assert_eq!(s, StatusCode::OK, "{uri}: {body}");
            }
        }
    });
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_served() {
    let f = fixture("openapi");
    rt().block_on(async {
        let doc = ok(&f, "/api/openapi.json").await;
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for m in ops.as_object().unwrap().keys() {
                documented.push((m.clone(), path.clone()));
            }
        }
        documented.sort();
        let mut served: Vec<(String, String)> = http::routes(1)
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        served.sort();
        assert_eq!(documented, served);
        // And nothing else is served: the fallback answers the rest.
        let (s, v) = get(&f, "/api/v1/nothing").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(v["error"]["code"], "not_found");
        // Every parameter the handlers accept is documented, and only those:
        // an undocumented one is refused by name.
        bad(
            &f,
            &format!("/api/v1/flows?{RANGE}&fitler=x"),
            "unknown_param",
            "did you mean \"filter\"",
        )
        .await;
        // Each documented parameter schema is valid JSON with a type.
        for ops in doc["paths"].as_object().unwrap().values() {
            for op in ops.as_object().unwrap().values() {
                for p in op["parameters"].as_array().unwrap() {
                    assert!(p["schema"]["type"].is_string(), "{p}");
                }
            }
        }
    });
}

#[test]
fn the_docs_page_is_html_for_browsers_and_json_for_json_clients() {
    let f = fixture("docs");
    rt().block_on(async {
        let req = Request::get("/api/docs")
            .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
            .body(Body::empty())
            .unwrap();
        let (s, h, body) = call(&f, req).await;
        assert_eq!(s, StatusCode::OK);
        assert!(h[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains("/api/v1/flows") && html.contains("prefers-color-scheme:dark"));
        let req = Request::get("/api/docs")
            .header(header::ACCEPT, "application/json")
            .body(Body::empty())
            .unwrap();
        let (_, h, body) = call(&f, req).await;
        assert!(h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["openapi"], "3.0.3");
    });
}

#[test]
fn answers_are_gzipped_when_asked() {
    let f = fixture("gzip");
    rt().block_on(async {
        let req = Request::get(format!("/api/v1/flows?{RANGE}&limit=200"))
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .unwrap();
        let (s, h, body) = call(&f, req).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h[header::CONTENT_ENCODING], "gzip");
        assert_eq!(&body[..2], &[0x1f, 0x8b]);
    });
}

#[test]
fn bad_input_is_a_clear_4xx() {
    let f = fixture("bad");
    rt().block_on(async {
        let long = "x".repeat(20_000);
        let many: String = (0..40).map(|i| format!("p{i}=1&")).collect();
        for (uri, code, says) in [
            (
                format!("/api/v1/flows?{RANGE}&filter=dst%20port%20htps"),
                "filter_syntax",
                "column",
            ),
            (
                format!("/api/v1/flows?{RANGE}&filter=net%2010.0.0.0/33"),
                "filter_value",
                "prefix length",
            ),
            ("/api/v1/flows?since=yesterday".into(), "bad_time", "since"),
            (
                "/api/v1/flows?since=1767226200&until=1767225000".into(),
                "bad_range",
                "ends before it starts",
            ),
            (format!("/api/v1/flows?{RANGE}&limit=0"), "bad_number", "limit"),
            (format!("/api/v1/flows?{RANGE}&limit=10001"), "bad_number", "10000"),
            (
                format!("/api/v1/flows?{RANGE}&order=size"),
                "bad_query",
                "unknown order",
            ),
            (format!("/api/v1/flows?{RANGE}&cursor=garbage"), "bad_query", "cursor"),
            (format!("/api/v1/top?{RANGE}"), "missing_param", "by"),
            (
                format!("/api/v1/top?{RANGE}&by=colour"),
                "bad_query",
                "unknown dimension",
            ),
            (
                format!("/api/v1/top?{RANGE}&by=proto&metric=bits"),
                "bad_query",
                "unknown metric",
            ),
            (
                format!("/api/v1/top?{RANGE}&by=proto,src_ip,dst_ip,src_port,dst_port"),
                "too_many_dims",
                "at most 4",
            ),
            (format!("/api/v1/sankey?{RANGE}&by=proto"), "too_few_dims", "2 to 4"),
            (format!("/api/v1/series?{RANGE}&step=0"), "bad_step", "step"),
            (
                "/api/v1/series?since=0&until=now&step=1".into(),
                "too_many_points",
                "longer step",
            ),
            (format!("/api/v1/series?{RANGE}&rate=maybe"), "bad_flag", "rate"),
            (format!("/api/v1/ips?{RANGE}&sort=colour"), "bad_query", "cannot sort"),
            (
                format!("/api/v1/ips?{RANGE}&direction=up"),
                "bad_direction",
                "asc or desc",
            ),
            (format!("/api/v1/ips?{RANGE}&offset=2000000"), "bad_number", "offset"),
            (
                format!("/api/v1/ips/10.0.0.300?{RANGE}"),
                "bad_ip",
                "not an IPv4 or IPv6",
            ),
            (format!("/api/v1/ips/x/peers?{RANGE}"), "bad_ip", "not an IPv4 or IPv6"),
            (format!("/api/v1/exporters/nowhere?{RANGE}"), "bad_ip", "not an IPv4"),
            (
                format!("/api/v1/bad-ips?{RANGE}&min_attempts=-1"),
                "bad_number",
                "min_attempts",
            ),
            (format!("/api/v1/flows?filter={long}"), "param_too_long", "at most"),
            (format!("/api/v1/flows?{many}"), "too_many_params", "more than"),
            ("/api/v1/ws/flows?filter=port%20x".into(), "filter_syntax", "column"),
        ] {
            bad(&f, &uri, code, says).await;
        }
    });
}

mod access;
mod classification;
mod live;
mod queries;
mod sign_in;
