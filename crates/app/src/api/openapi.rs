//! The OpenAPI 3 document, built from the same route list as the router
//! (so it lists exactly the routes served), and the page `/api/docs`
//! that shows it to a person.

use serde_json::{json, Map, Value};

use super::Route;

/// One query or path parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub in_path: bool,
    /// Path parameters always are.
    pub required: bool,
    pub description: &'static str,
    /// JSON Schema of the value, as JSON text.
    pub schema: &'static str,
}

const fn q(name: &'static str, description: &'static str, schema: &'static str) -> Param {
    Param {
        name,
        in_path: false,
        required: false,
        description,
        schema,
    }
}

/// The parameters the endpoints share, described once.
pub struct P;

impl P {
    pub const FILTER: Param = q(
        "filter",
        "Filter in the nfdump-style language, e.g. `proto tcp and dst port 443 and net 10.0.0.0/8`. Empty: all flows.",
        r#"{"type":"string","maxLength":4096}"#,
    );
    pub const SINCE: Param = q(
        "since",
        "Start of the range: RFC 3339, unix seconds, `now` or relative (`-1h`, `15m`, `7d`). Default: an hour before `until`.",
        r#"{"type":"string"}"#,
    );
    pub const UNTIL: Param = q(
        "until",
        "End of the range (exclusive), same forms as `since`. Default: now.",
        r#"{"type":"string"}"#,
    );
    pub const ORDER: Param = q(
        "order",
        "Sort: `time` (newest first), `+time`, `bytes` or `packets`.",
        r#"{"type":"string","enum":["time","+time","time_desc","time_asc","bytes","packets"]}"#,
    );
    pub const LIMIT: Param = q(
        "limit",
        "Rows to return (default 100).",
        r#"{"type":"integer","minimum":1,"maximum":10000}"#,
    );
    pub const OFFSET: Param = q(
        "offset",
        "Rows to skip (pagination).",
        r#"{"type":"integer","minimum":0,"maximum":1000000}"#,
    );
    pub const CURSOR: Param = q(
        "cursor",
        "The `next` value of the previous page.",
        r#"{"type":"string"}"#,
    );
    pub const METRIC: Param = q(
        "metric",
        "What to add up: bytes (default), packets or flows. Sampling-corrected.",
        r#"{"type":"string","enum":["bytes","packets","flows"]}"#,
    );
    pub const STEP: Param = q(
        "step",
        "Bucket width: seconds or a duration (`60`, `5m`, `1h`). Default: about 120 points over the range.",
        r#"{"type":"string"}"#,
    );
    pub const BY_ONE: Param = q(
        "by",
        "Split by one dimension: src_ip, dst_ip, src_port, dst_port, proto, src_as, dst_as, in_if, out_if, exporter, src_country, dst_country, ip_version, src_net, dst_net, src_env, dst_env, src_dc, dst_dc.",
        r#"{"type":"string","enum":["src_ip","dst_ip","src_addr","dst_addr","src_port","dst_port","proto","protocol","src_as","dst_as","in_if","out_if","exporter","src_country","dst_country","ip_version","src_net","dst_net","src_env","dst_env","src_dc","dst_dc"]}"#,
    );
    pub const BY: Param = Param {
        required: true,
        ..q(
            "by",
            "Dimensions, comma-separated (src_ip, dst_ip, src_port, dst_port, proto, src_as, dst_as, in_if, out_if, exporter, src_country, dst_country, ip_version, src_net, dst_net, src_env, dst_env, src_dc, dst_dc).",
            r#"{"type":"string","pattern":"^(src_ip|dst_ip|src_addr|dst_addr|src_port|dst_port|proto|protocol|src_as|dst_as|in_if|out_if|exporter|src_country|dst_country|ip_version|src_net|dst_net|src_env|dst_env|src_dc|dst_dc)(,(src_ip|dst_ip|src_addr|dst_addr|src_port|dst_port|proto|protocol|src_as|dst_as|in_if|out_if|exporter|src_country|dst_country|ip_version|src_net|dst_net|src_env|dst_env|src_dc|dst_dc)){0,3}$"}"#,
        )
    };
    pub const TOP: Param = q(
        "top",
        "How many values to keep (default 10); the rest is \"other\".",
        r#"{"type":"integer","minimum":1,"maximum":100}"#,
    );
    pub const RATE: Param = q(
        "rate",
        "`true`: values per second instead of per step.",
        r#"{"type":"boolean"}"#,
    );
    pub const SORT: Param = q(
        "sort",
        "Sort IPs by bytes (default), bytes_in, bytes_out, packets, flows, peers, first_seen, last_seen or addr.",
        r#"{"type":"string","enum":["bytes","bytes_in","bytes_out","packets","flows","peers","first_seen","last_seen","addr"]}"#,
    );
    pub const DIRECTION: Param = q(
        "direction",
        "Sort direction: desc (default) or asc.",
        r#"{"type":"string","enum":["asc","desc"]}"#,
    );
    pub const MIN_ATTEMPTS: Param = q(
        "min_attempts",
        "Only sources with at least this many unanswered attempts (default 10).",
        r#"{"type":"integer","minimum":1,"maximum":4294967295}"#,
    );
    pub const IP: Param = Param {
        name: "ip",
        in_path: true,
        required: true,
        description: "An IPv4 or IPv6 address.",
        schema: r#"{"type":"string","anyOf":[{"format":"ipv4"},{"format":"ipv6"}]}"#,
    };
    pub const ADDR: Param = Param {
        name: "addr",
        in_path: true,
        required: true,
        description: "The exporter's IP address.",
        schema: r#"{"type":"string","anyOf":[{"format":"ipv4"},{"format":"ipv6"}]}"#,
    };
    pub const RULE_ID: Param = Param {
        name: "id",
        in_path: true,
        required: true,
        description: "A rule's id (rules from the configuration file, `config-N`, cannot be changed here).",
        schema: r#"{"type":"string"}"#,
    };
    pub const ID: Param = Param {
        name: "id",
        in_path: true,
        required: true,
        description: "The numeric id.",
        schema: r#"{"type":"integer","minimum":1}"#,
    };
    pub const ALL: Param = q("all", "`true`: everyone's (admins only).", r#"{"type":"boolean"}"#);
    pub const BEFORE: Param = q(
        "before",
        "Only entries with a smaller id (the `next` of the previous page).",
        r#"{"type":"integer","minimum":1}"#,
    );
    pub const ACTOR: Param = q(
        "actor",
        "Only entries by this actor.",
        r#"{"type":"string","maxLength":600}"#,
    );
    pub const ACTION: Param = q(
        "action",
        "Only entries whose action starts with this (`login`, `user.`, `token.`, `alert_rule.`).",
        r#"{"type":"string","maxLength":64}"#,
    );
    pub const STATE: Param = q(
        "state",
        "`active` (default; `firing` for alerts), `resolved` or `all`.",
        r#"{"type":"string","enum":["active","firing","resolved","all"]}"#,
    );
    pub const SEVERITY: Param = q(
        "severity",
        "Only this severity and above: `info`, `warning` or `critical`.",
        r#"{"type":"string","enum":["info","warning","critical"]}"#,
    );
    pub const ANALYZER: Param = q(
        "analyzer",
        "Only this analyzer's advisories (`scan`, `sweep`, `anomaly`, `ddos`, …).",
        r#"{"type":"string","maxLength":64}"#,
    );
}

pub mod schema;

fn param_json(p: &Param) -> Value {
    json!({
        "name": p.name,
        "in": if p.in_path { "path" } else { "query" },
        "required": p.required || p.in_path,
        "description": p.description,
        "schema": serde_json::from_str::<Value>(p.schema).expect("parameter schemas are valid JSON"),
    })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
    })
}

/// The OpenAPI 3.0 document of `routes`.
pub fn document(routes: &[Route]) -> Value {
    let mut paths = Map::new();
    for r in routes {
        let d = &r.doc;
        let ok = if d.websocket {
            json!({ "101": { "description": "Switching protocols to WebSocket." } })
        } else {
            let content = if r.path == "/api/docs" {
                json!({
                    "text/html": { "schema": (d.response)() },
                    "application/json": { "schema": { "type": "object" } },
                })
            } else if r.path.starts_with("/api") || r.path == "/ingest" {
                json!({ "application/json": { "schema": (d.response)() } })
            } else {
                json!({ "text/plain": { "schema": (d.response)() } })
            };
            json!({ "200": { "description": "OK", "content": content } })
        };
        let mut responses = ok.as_object().expect("object").clone();
        if !d.params.is_empty() || d.body.is_some() || d.websocket {
            responses.insert(
                "400".into(),
                error_response("Bad parameter or body; the message says which and why."),
            );
        }
        if d.params.iter().any(|p| p.in_path) {
            responses.insert("404".into(), error_response("Nothing of that address."));
        }
        if r.path.starts_with("/api/v1/") && !r.path.ends_with("/status") {
            responses.insert(
                "503".into(),
                error_response("The question took too long, or the service is stopping or busy."),
            );
        }
        if r.path.starts_with("/api/v1/classification-rules/{") && r.method != "get" {
            responses.insert(
                "409".into(),
                error_response("The rule comes from the configuration file: change it there."),
            );
        }
        if d.body.is_some() && r.path != "/ingest" {
            responses.insert("413".into(), error_response("Body too large."));
        }
        if r.path == "/ingest" {
            responses.insert("413".into(), error_response("Body over limits.max_ingest_body."));
            responses.insert("422".into(), error_response("No valid record in the body."));
        }
        if r.path == "/readyz" {
            responses.insert("503".into(), error_response("Starting or stopping."));
        }
        if (r.path.starts_with("/api/v1/users") && r.method != "get")
            || (r.path == "/api/v1/tokens" && r.method == "post")
        {
            responses.insert(
                "409".into(),
                error_response("It would break something: the last admin, a taken name, too many tokens."),
            );
        }
        if r.path == "/api/v1/me/password" {
            responses.insert(
                "429".into(),
                error_response("Too many wrong passwords; try again later."),
            );
        }
        if r.access != crate::auth::Access::Public {
            responses.insert(
                "401".into(),
                error_response("No session or token, or an unknown one: sign in or send a bearer token."),
            );
            responses.insert(
                "403".into(),
                error_response(&format!(
                    "Signed in, but the role, scope or token permission does not allow this (access: {}).",
                    r.access.as_str()
                )),
            );
        }
        let mut op = json!({
            "summary": d.summary,
            "description": d.description,
            "operationId": operation_id(r.method, r.path),
            "parameters": d.params.iter().map(param_json).collect::<Vec<_>>(),
            "responses": responses,
        });
        if r.access == crate::auth::Access::Public {
            op["security"] = json!([]);
        }
        if let Some(body) = d.body {
            op["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": body() } },
            });
        }
        paths
            .entry(r.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("object")
            .insert(r.method.to_string(), op);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "FlowLens API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Flows collected by FlowLens: search, series, top-N, Sankey, IPs, exporters and a \
                            live feed. Times are RFC 3339 (UTC); counters are sampling-corrected.",
        },
        "paths": paths,
        "components": {
            "schemas": { "Error": schema::error() },
            "securitySchemes": {
                "token": { "type": "http", "scheme": "bearer", "description": "An API token (`flt_…`) from /account." },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::COOKIE_PLAIN,
                             "description": "The console's session (`__Host-flowlens_session` over HTTPS); changes also need the X-CSRF-Token header." },
            },
        },
        "security": [{ "token": [] }, { "session": [] }],
    })
}

fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_string();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != "api" && *p != "v1") {
        id.push('_');
        id.push_str(&part.trim_matches(|c| c == '{' || c == '}').replace('-', "_"));
    }
    id
}

/// `/api/docs`: the document as a page a person reads.
pub fn page(doc: &Value) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut body = String::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, ops) in paths {
            for (method, op) in ops.as_object().into_iter().flatten() {
                body.push_str(&format!(
                    "<section><h2><span class=m>{}</span> <code>{}</code></h2><p><b>{}</b> — {}</p>",
                    esc(&method.to_uppercase()),
                    esc(path),
                    esc(op["summary"].as_str().unwrap_or("")),
                    esc(op["description"].as_str().unwrap_or(""))
                ));
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                if !params.is_empty() {
                    body.push_str("<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>");
                    for p in params {
                        body.push_str(&format!(
                            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                            esc(p["name"].as_str().unwrap_or("")),
                            esc(p["in"].as_str().unwrap_or("")),
                            esc(p["description"].as_str().unwrap_or(""))
                        ));
                    }
                    body.push_str("</table>");
                }
                let codes: Vec<&String> = op["responses"]
                    .as_object()
                    .map(|r| r.keys().collect())
                    .unwrap_or_default();
                body.push_str(&format!(
                    "<p class=codes>answers: {}</p></section>",
                    codes.iter().map(|c| esc(c)).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>FlowLens API</title><style>\
         :root{{color-scheme:light dark;--fg:#1d2330;--bg:#fbfbfd;--muted:#5b6475;--line:#d9dde5;--accent:#2458d6}}\
         @media (prefers-color-scheme:dark){{:root{{--fg:#e6e9f0;--bg:#12151c;--muted:#9aa3b5;--line:#2a303c;--accent:#7aa2ff}}}}\
         body{{font:15px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg);max-width:60rem;margin:2rem auto;padding:0 1rem}}\
         h1{{margin-bottom:.2rem}} h2{{font-size:1.05rem;margin:1.6rem 0 .3rem}} .m{{color:var(--accent);font-weight:700}}\
         table{{border-collapse:collapse;width:100%}} td,th{{border-top:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}}\
         th{{color:var(--muted);font-weight:600}} code{{font:13px ui-monospace,monospace}} .codes,.lead{{color:var(--muted)}}\
         </style></head><body><h1>FlowLens API</h1><p class=lead>{} — the machine-readable document is \
         <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p>{}</body></html>",
        esc(doc["info"]["description"].as_str().unwrap_or("")),
        body
    )
}
