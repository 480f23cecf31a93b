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

pub(crate) fn fixture(name: &str) -> Fixture {
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
    let telemetry = Arc::new(Telemetry::new(0, 0));
    let (live, _) = broadcast::channel(crate::serve::LIVE_FEED_BATCHES);
    let sinks = Sinks {
        writer: writer.clone(),
        live,
        dedup: None,
        telemetry: telemetry.clone(),
        enrich: Arc::new(crate::enrich::EnrichSetup::disabled()),
        traffic: crate::metrics::traffic(&config),
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
            } else if r.method == "patch" || r.method == "delete" {
                // No rule has the id `{id}`: a 404 that says so.
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
fn flow_search_pages_and_filters() {
    let f = fixture("flows");
    rt().block_on(async {
        let v = ok(&f, &format!("/api/v1/flows?{RANGE}&filter=dst%20port%2053&limit=20")).await;
        let flows = v["flows"].as_array().unwrap();
        assert_eq!(flows.len(), 20);
        assert!(flows.iter().all(|x| x["dst_port"] == 53 && x["proto"] == 17));
        assert_eq!(v["table"], "flows");
        let next = v["next"].as_str().expect("a second page");
        let v2 = ok(
            &f,
            &format!("/api/v1/flows?{RANGE}&filter=dst%20port%2053&limit=20&cursor={next}"),
        )
        .await;
        assert_eq!(v2["flows"].as_array().unwrap().len(), 10, "30 in all");
        assert!(v2["next"].is_null());
        // Counters are sampling-corrected; the country from enrichment is there.
        let v = ok(
            &f,
            &format!("/api/v1/flows?{RANGE}&filter=host%2010.0.0.1&order=bytes&limit=1"),
        )
        .await;
        assert_eq!(v["flows"][0]["bytes"], 10_000);
        assert_eq!(v["flows"][0]["sampling_rate"], 10);
        assert_eq!(v["flows"][0]["dst_country"], "DE");
    });
}

#[test]
fn top_series_and_sankey_add_up() {
    let f = fixture("top");
    rt().block_on(async {
        let v = ok(&f, &format!("/api/v1/top?{RANGE}&by=proto&limit=10")).await;
        assert_eq!(v["total"]["bytes"], TOTAL_BYTES);
        assert_eq!(v["rows"][0]["key"]["proto"], 6);
        assert_eq!(v["rows"][0]["bytes"], 825_000 + 6_600);
        assert_eq!(v["rows"][0]["flows"], 170);
        let v = ok(&f, &format!("/api/v1/top?{RANGE}&by=src_ip&metric=flows&limit=1")).await;
        assert_eq!(v["rows"][0]["key"]["src_addr"], "10.0.0.1");
        assert_eq!(v["other"]["flows"], 50);

        let v = ok(&f, &format!("/api/v1/series?{RANGE}&step=60&by=proto")).await;
        let sum: u64 = v["series"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["values"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()))
            .sum();
        assert_eq!(sum, TOTAL_BYTES);
        assert_eq!(v["times"].as_array().unwrap().len(), 20, "20 minutes at 60 s");
        let v = ok(&f, &format!("/api/v1/series?{RANGE}&step=1200&rate=true")).await;
        let per_s = v["series"][0]["values"][0].as_f64().unwrap();
        assert!((per_s - TOTAL_BYTES as f64 / 1_200.0).abs() < 1e-6, "{per_s}");

        let v = ok(&f, &format!("/api/v1/sankey?{RANGE}&by=proto,dst_port")).await;
        let links = v["links"].as_array().unwrap();
        let sum: u64 = links.iter().map(|l| l["value"].as_u64().unwrap()).sum();
        assert_eq!(sum, TOTAL_BYTES);
        assert_eq!(v["nodes"].as_array().unwrap().len(), 5, "tcp, udp, 443, 53, 23");
    });
}

#[test]
fn ips_peers_and_bad_ips() {
    let f = fixture("ips");
    rt().block_on(async {
        let v = ok(&f, &format!("/api/v1/ips?{RANGE}&sort=bytes&limit=2")).await;
        assert_eq!(v["total"], 25, "3 sources, 22 destinations");
        assert_eq!(v["ips"][0]["ip"], "10.0.0.1");
        assert_eq!(v["ips"][0]["bytes_out"], 825_000);
        let v = ok(
            &f,
            &format!("/api/v1/ips?{RANGE}&sort=addr&direction=asc&limit=1&offset=1"),
        )
        .await;
        assert_eq!(v["ips"].as_array().unwrap().len(), 1);

        let v = ok(&f, &format!("/api/v1/ips/10.0.0.1?{RANGE}&step=60")).await;
        assert_eq!(v["bytes_out"], 825_000);
        assert_eq!(v["bytes_in"], 0);
        assert_eq!(v["peers"][0]["ip"], "192.0.2.10");
        let v = ok(&f, &format!("/api/v1/ips/198.51.100.7/peers?{RANGE}&limit=100")).await;
        assert_eq!(v["peers"].as_array().unwrap().len(), 20);
        let v = ok(&f, &format!("/api/v1/ips/2001:db8::53/protocols?{RANGE}")).await;
        assert_eq!(v["rows"][0]["key"]["proto"], 17);
        let v = ok(&f, &format!("/api/v1/ips/10.0.0.1/ports?{RANGE}")).await;
        assert_eq!(v["rows"][0]["key"]["dst_port"], 443);

        let v = ok(&f, &format!("/api/v1/bad-ips?{RANGE}&min_attempts=5")).await;
        let s = v["sources"].as_array().unwrap();
        assert_eq!(s.len(), 1, "{v}");
        assert_eq!(s[0]["ip"], "198.51.100.7");
        assert_eq!(s[0]["attempts"], 20);
        assert_eq!(s[0]["targets"], 20);
    });
}

#[test]
fn exporters_show_traffic_and_interfaces() {
    let f = fixture("exporters");
    rt().block_on(async {
        let v = ok(&f, &format!("/api/v1/exporters?{RANGE}")).await;
        let e = &v["exporters"][0];
        assert_eq!(e["address"], "192.0.2.1");
        assert_eq!(e["traffic"]["bytes"], TOTAL_BYTES);
        let v = ok(&f, &format!("/api/v1/exporters/192.0.2.1?{RANGE}")).await;
        let ifs = v["interfaces"].as_array().unwrap();
        assert_eq!(ifs.len(), 4, "in 1, 2, 3 and out 10: {v}");
        let out10 = ifs.iter().find(|i| i["index"] == 10).unwrap();
        assert_eq!(out10["out"]["bytes"], TOTAL_BYTES);
        bad(
            &f,
            &format!("/api/v1/exporters/192.0.2.99?{RANGE}"),
            "not_found",
            "no exporter 192.0.2.99",
        )
        .await;
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

/// The live feed over a real socket: filtered server-side, counters
/// sampling-corrected, and a client that falls behind is closed with a
/// reason while the pipeline carries on.
#[test]
fn the_live_feed_filters_and_drops_slow_clients() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let f = fixture("ws");
    rt().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = http::router(f.state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        // The events stream: a status message right away, then every 2 s.
        let (mut ev, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws/events"))
            .await
            .unwrap();
        let msg = tokio::time::timeout(Duration::from_secs(5), ev.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Text(t) = msg else { panic!("{msg:?}") };
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["type"], "status");
        assert!(v["status"]["flows"]["received"].is_u64(), "{v}");
        drop(ev);
        let url = format!("ws://{addr}/api/v1/ws/flows?filter=dst%20port%2053");
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        // Wait until the server has subscribed.
        while f.state.sinks.live.receiver_count() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        f.state.sinks.live.send(Arc::new(flows())).unwrap();
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Text(t) = msg else { panic!("{msg:?}") };
        let v: Value = serde_json::from_str(&t).unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a.len(), 30, "only port 53");
        let sampled = a.iter().find(|x| x["sampling_rate"] == 10).unwrap();
        assert_eq!(sampled["bytes"], 1_000, "scaled on the way out");
        // The events client may still be closing; the feed client is there.
        assert!(f.state.ws.clients.load(std::sync::atomic::Ordering::Relaxed) >= 1);

        // A burst larger than the ring while nothing else can run (one
        // thread): the feed is a ring behind, and its clients are told so
        // with 1008 rather than silently missing flows.
        let batch = Arc::new(flows());
        for _ in 0..crate::serve::LIVE_FEED_BATCHES + 10 {
            f.state.sinks.live.send(batch.clone()).unwrap();
        }
        let mut reason = None;
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            if let Ok(Message::Close(Some(c))) = m {
                reason = Some((u16::from(c.code), c.reason.to_string()));
                break;
            }
        }
        let (code, why) = reason.expect("closed with a reason");
        assert_eq!(code, 1008);
        assert!(why.contains("too slow"), "{why}");
        assert_eq!(f.state.ws.slow(), 1);
    });
}

/// The fan-out without sockets: a client that does not take its messages
/// is dropped once its queue is full; one that does keeps getting them, and
/// clients with the same filter share one serialised message.
#[test]
fn the_fan_out_drops_only_the_full_client() {
    use crate::api::limits::WS_CLIENT_QUEUE;
    use crate::api::live::{Hub, Msg};
    rt().block_on(async {
        let hub = Arc::new(Hub::default());
        let (live, _) = broadcast::channel(4);
        let f = |t: &str| flowlens_store::Filter::parse(t).unwrap();
        let (_slow, slow_rx) = hub.subscribe(&live, f("dst port 53"));
        let (_fast, mut fast_rx) = hub.subscribe(&live, f("dst port 53"));
        let (_other, mut other_rx) = hub.subscribe(&live, f("proto icmp"));
        let batch = flows();
        for _ in 0..WS_CLIENT_QUEUE + 1 {
            assert!(hub.publish(&batch));
            let Some(Msg::Flows(a)) = fast_rx.recv().await else {
                panic!()
            };
            let v: Value = serde_json::from_str(a.as_str()).unwrap();
            assert_eq!(v.as_array().unwrap().len(), 30);
        }
        assert_eq!(
            hub.closed_slow.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "only the full one"
        );
        drop(slow_rx);
        // No ICMP in the batch: nothing queued for that client.
        assert!(other_rx.try_recv().is_err());
    });
}

#[test]
fn classification_rules_are_added_changed_used_and_removed() {
    let f = fixture("rules");
    rt().block_on(async {
        let send = |method: &str, uri: &str, body: &str| {
            Request::builder()
                .method(method)
                .uri(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        let json = |b: Vec<u8>| -> Value { serde_json::from_slice(&b).unwrap() };
        // Bad rules: each refused with what is allowed.
        for (body, want) in [
            (r#"{"name":"x"}"#, "needs a cidr"),
            (r#"{"cidr":"10.0.0.0/33","name":"x"}"#, "is not a network"),
            (r#"{"cidr":"10.0.0.0/8"}"#, "at least one"),
            (r#"{"cidr":"10.0.0.0/8","name":"two words"}"#, "letters, digits"),
            (
                r#"{"cidr":"10.0.0.0/8","environment":"production"}"#,
                "prod, uat, qa, test, dev",
            ),
            (r#"{"cidr":"10.0.0.0/8","name":"x","colour":"red"}"#, "unknown field"),
            ("[1,2]", "one JSON object"),
            ("{", "not JSON"),
        ] {
            let (s, _, b) = call(&f, send("POST", "/api/v1/classification-rules", body)).await;
            let b = String::from_utf8_lossy(&b);
            assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
            assert!(b.contains(want), "{body}: {b}");
        }
        // Add two nested rules: the more specific one decides.
        let (s, _, b) = call(
            &f,
            send(
                "POST",
                "/api/v1/classification-rules",
                r#"{"cidr":"10.0.0.0/8","name":"corp","environment":"prod","internal":true}"#,
            ),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
        let corp = json(b)["id"].as_str().unwrap().to_string();
        let (s, _, b) = call(
            &f,
            send(
                "POST",
                "/api/v1/classification-rules",
                r#"{"cidr":"10.0.0.1/24","name":"lab","environment":"DEV","datacenter":"fra1"}"#,
            ),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let lab = json(b);
        assert_eq!(lab["cidr"], "10.0.0.0/24", "host bits cleared");
        assert_eq!(lab["environment"], "dev");
        let lab = lab["id"].as_str().unwrap().to_string();
        let (_, _, b) = call(
            &f,
            Request::get("/api/v1/classification-rules/classify/10.0.0.7")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let v = json(b);
        assert_eq!(v["class"]["name"], "lab", "{v}");
        assert_eq!(v["rule"]["id"], lab.as_str());
        // New flows carry the classification; the filter and top-N use it.
        let mut flows = vec![flow(500, "10.0.0.7", "192.0.2.10", 443, 6, 1_000)];
        let mut e = f.state.sinks.enrich.enricher(false);
        e.enrich_all(&mut flows);
        assert_eq!(flows[0].src_class.as_ref().unwrap().name.as_deref(), Some("lab"));
        // Change one: it applies at once.
        let (s, _, b) = call(
            &f,
            send(
                "PATCH",
                &format!("/api/v1/classification-rules/{lab}"),
                r#"{"name":"lab2","datacenter":null}"#,
            ),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
        let v = json(b);
        assert_eq!((v["name"].as_str(), v["datacenter"].is_null()), (Some("lab2"), true));
        let mut flows = vec![flow(501, "10.0.0.7", "192.0.2.10", 443, 6, 1_000)];
        e.enrich_all(&mut flows);
        assert_eq!(flows[0].src_class.as_ref().unwrap().name.as_deref(), Some("lab2"));
        let (_, _, b) = call(
            &f,
            Request::get("/api/v1/classification-rules")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(json(b)["rules"].as_array().unwrap().len(), 2);
        // Delete; then the wider rule decides, and the id is gone.
        let (s, _, _) = call(&f, send("DELETE", &format!("/api/v1/classification-rules/{lab}"), "")).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = call(&f, send("DELETE", &format!("/api/v1/classification-rules/{lab}"), "")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let mut flows = vec![flow(502, "10.0.0.7", "192.0.2.10", 443, 6, 1_000)];
        e.enrich_all(&mut flows);
        let c = flows[0].src_class.as_ref().unwrap();
        assert_eq!(
            (c.name.as_deref(), c.env.as_deref(), c.internal),
            (Some("corp"), Some("prod"), Some(true))
        );
        assert!(flows[0].dst_class.is_none());
        // The file's rules are listed but not changed here.
        let (s, _, b) = call(
            &f,
            send("PATCH", "/api/v1/classification-rules/config-0", r#"{"name":"x"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&b));
        let (s, _, _) = call(&f, send("DELETE", &format!("/api/v1/classification-rules/{corp}"), "")).await;
        assert_eq!(s, StatusCode::OK);
    });
}
