//! A small Chrome DevTools Protocol client for the browser tests: Debian's
//! Chromium (headless) started on a free port, one page attached, calls
//! with a timeout, the page's console errors and failed requests
//! collected, screenshots, light and dark mode, and `flowlens demo`
//! started on a free loopback port.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::strict;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Longest a page may take to load and draw its data.
pub(crate) const PAGE_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest one DevTools call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn chromium() -> Option<PathBuf> {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).exists() {
            return Some(PathBuf::from(c));
        }
    }
    assert!(
        !strict(),
        "chromium is not installed: run scripts/install-test-deps (Debian package chromium)"
    );
    None
}

/// A process killed when dropped.
pub(crate) struct Kill(pub(crate) Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What went wrong on a page: console errors, exceptions, failed requests.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub(crate) Vec<String>);

pub(crate) struct Cdp {
    ws: Ws,
    next: u64,
    session: String,
    pub(crate) events: Vec<Value>,
}

impl Cdp {
    /// Connects to Chromium at `ws_url` and attaches to a new blank page
    /// (1400×1000, page, runtime, network and log events on).
    pub(crate) async fn connect(ws_url: &str) -> Cdp {
        let (ws, _) = tokio_tungstenite::connect_async(ws_url)
            .await
            .expect("connect to chromium");
        let mut b = Cdp {
            ws,
            next: 0,
            session: String::new(),
            events: Vec::new(),
        };
        let target = b
            .send("Target.createTarget", json!({ "url": "about:blank" }), false)
            .await;
        let attached = b
            .send(
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
                false,
            )
            .await;
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Page.enable", "Runtime.enable", "Network.enable", "Log.enable"] {
            b.call(domain, json!({})).await;
        }
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
        b
    }

    pub(crate) async fn send(&mut self, method: &str, params: Value, session: bool) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if session {
            msg["sessionId"] = json!(self.session);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .await
            .expect("send to chromium");
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = tokio::time::timeout(left, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("chromium did not answer {method}"))
                .expect("chromium closed the connection")
                .expect("read from chromium");
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(&t).expect("DevTools JSON");
            if v["id"] == json!(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method}: {e}");
                }
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    pub(crate) async fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, true).await
    }

    /// Evaluates `expr` in the page (promises awaited), returning its value.
    pub(crate) async fn eval(&mut self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expr, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Evaluates `expr`; an exception (a page between two documents while
    /// it navigates) is `null`, not a failure.
    pub(crate) async fn probe(&mut self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expr, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if r.get("exceptionDetails").is_some() {
            return Value::Null;
        }
        r["result"]["value"].clone()
    }

    /// Polls `expr` until it is true.
    pub(crate) async fn wait_for(&mut self, expr: &str, what: &str) {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        while self.probe(expr).await != json!(true) {
            assert!(Instant::now() < deadline, "timed out waiting for {what} ({expr})");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Bytes received over the network for the page so far (compressed,
    /// headers included), from the `Network.loadingFinished` events.
    pub(crate) fn transferred(&self) -> f64 {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.loadingFinished")
            .map(|e| e["params"]["encodedDataLength"].as_f64().unwrap_or(0.0))
            .sum()
    }

    /// Drains the events so far into the page's problems.
    pub(crate) async fn problems(&mut self) -> Problems {
        // One round trip lets pending events arrive.
        self.eval("1").await;
        let mut p = Problems::default();
        for e in self.events.drain(..) {
            let params = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Runtime.exceptionThrown" => p.0.push(format!("exception: {}", params["exceptionDetails"])),
                "Runtime.consoleAPICalled" if params["type"] == "error" || params["type"] == "warning" => {
                    p.0.push(format!("console.{}: {}", params["type"], params["args"]))
                }
                "Log.entryAdded" if params["entry"]["level"] == "error" => {
                    p.0.push(format!("log: {}", params["entry"]["text"]))
                }
                "Network.loadingFailed" if params["canceled"] != json!(true) => {
                    p.0.push(format!("request failed: {}", params["errorText"]))
                }
                "Network.responseReceived" if params["response"]["status"].as_u64().unwrap_or(0) >= 400 => {
                    p.0.push(format!(
                        "HTTP {} for {}",
                        params["response"]["status"], params["response"]["url"]
                    ))
                }
                _ => {}
            }
        }
        p
    }

    /// Opens `url` and waits for the page script to say it drew its data
    /// (`document.body.dataset.loaded`).
    pub(crate) async fn open(&mut self, url: &str) {
        self.eval("document.body && delete document.body.dataset.loaded").await;
        self.call("Page.navigate", json!({ "url": url })).await;
        self.wait_for(
            "document.readyState === 'complete' && !!document.body.dataset.loaded",
            url,
        )
        .await;
    }

    pub(crate) async fn screenshot(&mut self, file: &Path) {
        let m = self.call("Page.getLayoutMetrics", json!({})).await;
        let w = m["cssContentSize"]["width"].as_f64().unwrap_or(1400.0);
        let h = m["cssContentSize"]["height"].as_f64().unwrap_or(1000.0).min(6000.0);
        let r = self
            .call(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true,
                        "clip": { "x": 0, "y": 0, "width": w, "height": h, "scale": 1 } }),
            )
            .await;
        let png = base64(r["data"].as_str().expect("screenshot data"));
        std::fs::write(file, png).expect("write screenshot");
    }

    pub(crate) async fn dark(&mut self, on: bool) {
        self.call(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": if on { "dark" } else { "light" } }] }),
        )
        .await;
    }
}

/// Standard base64 (the screenshots), without a dependency.
fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=' && !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= u32::from(val(c)) << (18 - 6 * i);
        }
        let take = chunk.len() - 1;
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    out
}

/// Starts `flowlens demo` on a free loopback port; returns it and its URL.
pub(crate) fn start_demo(dir: &Path) -> (Kill, String, Instant) {
    start_demo_with(dir, &["--history", "5m"])
}

/// [`start_demo`] with more arguments.
pub(crate) fn start_demo_with(dir: &Path, args: &[&str]) -> (Kill, String, Instant) {
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(["demo", "--http", "127.0.0.1:0", "--rate", "300"])
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start flowlens demo");
    let out = child.stdout.take().unwrap();
    let kill = Kill(child);
    let mut lines = BufReader::new(out).lines();
    let url = loop {
        let line = lines.next().expect("demo printed its URL").expect("read demo output");
        if let Some(rest) = line.split("open ").nth(1) {
            break rest.trim().trim_end_matches('/').to_string();
        }
    };
    // Keep reading so the demo never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (kill, url, t)
}

/// Starts Chromium with DevTools on a free port; returns it and its
/// browser WebSocket address.
pub(crate) fn start_chromium(bin: &Path, profile: &Path) -> (Kill, String) {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--window-size=1400,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let err = child.stderr.take().unwrap();
    let kill = Kill(child);
    let mut lines = BufReader::new(err).lines();
    let ws = loop {
        let line = lines
            .next()
            .expect("chromium printed its DevTools address")
            .expect("read chromium output");
        if let Some(rest) = line.split("DevTools listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (kill, ws)
}
