//! One function per page: the frame, the controls and the empty panels the
//! page script fills. Nothing here queries the flow store, so every page
//! answers in well under a millisecond whatever the data.

use std::net::IpAddr;
use std::path::Path as FsPath;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};

use super::layout::{card, controls, heading, page, Frame};
use super::{html_page, view};
use crate::serve::http::AppState;

/// The collector's UDP ports as an exporter would be told them:
/// `udp/2055 (NetFlow), udp/4739 (IPFIX)`.
fn listeners_text(s: &AppState) -> String {
    let mut seen: Vec<(u16, &str)> = Vec::new();
    for l in &s.status.config.collector.listeners {
        let name = match l.protocol.name() {
            "netflow" => "NetFlow",
            "ipfix" => "IPFIX",
            "sflow" => "sFlow",
            _ => "any flow protocol",
        };
        if l.port != 0 && !seen.contains(&(l.port, name)) {
            seen.push((l.port, name));
        }
    }
    if seen.is_empty() {
        return "no UDP listener is configured (collector.listeners)".into();
    }
    seen.iter()
        .map(|(p, n)| format!("udp/{p} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The panel shown instead of charts while there is nothing to show.
fn empty_state(s: &AppState) -> Markup {
    html! {
        div #empty .empty-state hidden {
            h2 { "No flows yet" }
            p { "Point an exporter at " strong { (listeners_text(s)) } " on this host, or run "
                code { "flowlens simulate" } " to send test traffic." }
            p.hint { "Flows appear here within a few seconds of arriving. If an exporter is sending and nothing shows, \
                      check " a href="/exporters" { "Exporters" } " for decode errors and " a href="/about" { "About" }
                      " for drops." }
        }
    }
}

pub async fn dashboard(State(s): State<Arc<AppState>>, q: RawQuery) -> Response {
    let v = view(q);
    let body = html! {
        (heading("Dashboard", None))
        (controls(&v, true, html! {}))
        (empty_state(&s))
        div #stats .stats .hide-when-empty {
            div.stat { span.k { "Traffic" } span.v #stat-bps { "–" } span.s #stat-bytes {} }
            div.stat { span.k { "Packets" } span.v #stat-pps { "–" } span.s #stat-packets {} }
            div.stat { span.k { "Flows" } span.v #stat-fps { "–" } span.s #stat-flows {} }
            div.stat { span.k { "Receiving now" } span.v #stat-now { "–" } span.s #stat-exporters {} }
        }
        div.grid.hide-when-empty {
            section.card.wide {
                div.card-head {
                    h2 { "Throughput by protocol" }
                    div.seg role="group" aria-label="Unit" {
                        button type="button" data-unit="bps" aria-pressed="true" { "bits/s" }
                        button type="button" data-unit="pps" aria-pressed="false" { "packets/s" }
                    }
                }
                div.body.chart #chart-throughput {}
            }
            section.card.wide #advisories-card hidden {
                div.card-head {
                    h2 { "Advisories" }
                    div #advisory-counts .counts {}
                    a href="/advisories" { "All advisories →" }
                }
                div.body #advisories {}
            }
            (card("Top sources", "top-src", ""))
            (card("Top destinations", "top-dst", ""))
            (card("Protocols", "protocols", ""))
            (card("Top destination ports", "ports", ""))
            (card("Top source countries", "countries", ""))
            (card("Top destination countries", "dst-countries", ""))
        }
    };
    html_page(
        StatusCode::OK,
        page(
            &Frame {
                nav: "/",
                title: "Dashboard",
                script: Some("dashboard.js"),
                charts: true,
            },
            body,
        ),
    )
}

pub async fn ips(q: RawQuery) -> Response {
    let v = view(q);
    let search = v.get("q").unwrap_or("").to_string();
    let body = html! {
        (heading("IP addresses", Some("Every address seen as source or destination in the range. Click a column to sort, an address for its page.")))
        (controls(&v, true, html! {
            label.search {
                span.lbl { "Search" }
                input #q name="q" type="search" value=(search) placeholder="Address or network (10.1.0.0/24)"
                    autocomplete="off" spellcheck="false";
            }
        }))
        section.card.wide {
            div.card-head { h2 #ips-title { "Addresses" } div.pager #pager {} }
            div.body #ips { div.loading { "Loading…" } }
        }
    };
    html_page(
        StatusCode::OK,
        page(
            &Frame {
                nav: "/ips",
                title: "IP addresses",
                script: Some("ips.js"),
                charts: false,
            },
            body,
        ),
    )
}

pub async fn ip(Path(addr): Path<String>, q: RawQuery) -> Response {
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return not_found_with(
            "Not an IP address",
            &format!(
                "\u{201c}{}\u{201d} is not an IPv4 or IPv6 address.",
                addr.chars().take(64).collect::<String>()
            ),
        );
    };
    let ip = ip.to_canonical().to_string();
    let v = view(q);
    let body = html! {
        div.heading {
            p.crumbs { a href="/ips" { "IP addresses" } " / " }
            h1 #ip data-ip=(ip) { (ip) }
            p.sub #ip-where {}
            p.sub {
                a #ip-flows href={ "/flows?filter=host+" (ip) } { "Flows" } " · "
                a #ip-live href={ "/live?filter=host+" (ip) } { "Live" } " · "
                a href={ "/explore?filter=host+" (ip) "&dims=dst_port" } { "Explore" }
            }
        }
        (controls(&v, true, html! {}))
        div #stats .stats {
            div.stat { span.k { "Sent" } span.v #stat-out { "–" } }
            div.stat { span.k { "Received" } span.v #stat-in { "–" } }
            div.stat { span.k { "Packets" } span.v #stat-packets { "–" } }
            div.stat { span.k { "Flows" } span.v #stat-flows { "–" } }
        }
        div.grid {
            section.card.wide {
                h2 { "Traffic in and out" }
                div.body.chart #chart-io {}
            }
            (card("Behaves like", "behaviour", ""))
            (card("Peers", "peers", ""))
            (card("Protocols", "protocols", ""))
            (card("Destination ports", "ports", ""))
            (card("Peer countries", "countries", ""))
            (card("Recent flows", "recent", "wide"))
        }
    };
    html_page(
        StatusCode::OK,
        page(
            &Frame {
                nav: "/ips",
                title: &ip,
                script: Some("ip.js"),
                charts: true,
            },
            body,
        ),
    )
}

pub async fn flows(q: RawQuery) -> Response {
    let v = view(q);
    let body = html! {
        (heading("Flows", Some("Every stored flow matching the filter, newest first. Choose columns, page through, download.")))
        (controls(&v, true, html! {
            label.range {
                span.lbl { "Order" }
                select #order name="order" {
                    @for (value, label) in [("time", "Newest first"), ("+time", "Oldest first"), ("bytes", "Most bytes"), ("packets", "Most packets")] {
                        option value=(value) selected[v.get("order") == Some(value)] { (label) }
                    }
                }
            }
        }))
        section.card.wide {
            div.card-head {
                h2 #flows-title { "Flows" }
                div.tools {
                    details.menu #columns {
                        summary { "Columns" }
                        div.menu-body #column-list {}
                    }
                    button #dl-csv type="button" { "CSV" }
                    button #dl-json type="button" { "JSON" }
                }
            }
            div.body #flows { div.loading { "Loading…" } }
            div.pager.bottom #pager {}
        }
    };
    html_page(
        StatusCode::OK,
        page(
            &Frame {
                nav: "/flows",
                title: "Flows",
                script: Some("flows.js"),
                charts: false,
            },
            body,
        ),
    )
}

pub async fn live(q: RawQuery) -> Response {
    let v = view(q);
    let body = html! {
        (heading("Live flows", Some("Flows as they are decoded, before they are stored; the filter applies on the server.")))
        (controls(&v, false, html! {}))
        div.live-bar {
            button #pause type="button" { "Pause" }
            span.state #live-state { "Connecting…" }
            span.rate { span #live-rate { "0" } " flows/s shown" }
            span.rate { span #live-total { "0" } " received" }
            span.rate.dim { "keeps the latest " span #live-keep {} }
        }
        section.card.wide {
            div.body #live { div.loading { "Waiting for flows…" } }
        }
    };
    html_page(
        StatusCode::OK,
        page(
            &Frame {
                nav: "/live",
                title: "Live flows",
                script: Some("live.js"),
                charts: false,
            },
            body,
        ),
    )
}

pub async fn bad_ips(q: RawQuery) -> Response {
    let v = view(q);
    let min = v.get("min_attempts").unwrap_or("10").to_string();
    let body = html! {
        (heading("Bad IPs", Some("Sources with repeated attempts that never got an answer: TCP SYN without reply, or no reverse flow. Scanners, dead services, misconfigured clients.")))
        (controls(&v, true, html! {
            label.range {
                span.lbl { "At least" }
                input #min-attempts name="min_attempts" type="number" min="1" value=(min) aria-label="Minimum attempts";
                span.lbl { "attempts" }
            }
        }))
        section.card.wide {
            div.body #bad-ips { div.loading { "Loading…" } }
        }
    };
    html_page(
        StatusCode::OK,
        page(
            &Frame {
                nav: "/bad-ips",
                title: "Bad IPs",
                script: Some("bad-ips.js"),
                charts: false,
            },
            body,
        ),
    )
}

/// Dimensions offered by the explorer: (API name, label).
pub const DIMENSIONS: &[(&str, &str)] = &[
    ("src_addr", "Source IP"),
    ("dst_addr", "Destination IP"),
    ("proto", "Protocol"),
    ("src_port", "Source port"),
    ("dst_port", "Destination port"),
    ("src_as", "Source AS"),
    ("dst_as", "Destination AS"),
    ("src_country", "Source country"),
    ("dst_country", "Destination country"),
    ("exporter", "Exporter"),
    ("in_if", "Input interface"),
    ("out_if", "Output interface"),
    ("ip_version", "IP version"),
    ("src_net", "Source network"),
    ("dst_net", "Destination network"),
    ("src_env", "Source environment"),
    ("dst_env", "Destination environment"),
    ("src_dc", "Source datacenter"),
    ("dst_dc", "Destination datacenter"),
];

pub async fn explore(q: RawQuery) -> Response {
    let v = view(q);
    let dims: Vec<&str> = v
        .get("dims")
        .unwrap_or("proto")
        .split(',')
        .filter(|d| !d.is_empty())
        .collect();
    let metric = v.get("metric").unwrap_or("bytes");
    let chart = v.get("chart").unwrap_or("area");
    let limit = v.get("limit").unwrap_or("10");
    let body = html! {
        (heading("Explore", Some("Pick dimensions, a metric and a chart. Stacked area, lines and the table split by the first dimension; Sankey follows 2 to 4.")))
        (controls(&v, true, html! {
            fieldset.dims {
                legend.lbl { "Dimensions" }
                input #dims name="dims" type="hidden" value=(dims.join(","));
                div.chips #dim-chips {
                    @for (name, label) in DIMENSIONS {
                        button.chip type="button" data-dim=(name) aria-pressed=(if dims.contains(name) { "true" } else { "false" }) { (label) }
                    }
                }
            }
            label.range {
                span.lbl { "Metric" }
                select #metric name="metric" {
                    @for (value, label) in [("bytes", "Bytes (bits/s)"), ("packets", "Packets"), ("flows", "Flows")] {
                        option value=(value) selected[metric == value] { (label) }
                    }
                }
            }
            label.range {
                span.lbl { "Chart" }
                select #chart name="chart" {
                    @for (value, label) in [("area", "Stacked area"), ("lines", "Lines"), ("table", "Top-N table"), ("sankey", "Sankey")] {
                        option value=(value) selected[chart == value] { (label) }
                    }
                }
            }
            label.range {
                span.lbl { "Top" }
                select #limit name="limit" {
                    @for n in ["5", "10", "20", "50"] {
                        option value=(n) selected[limit == n] { (n) }
                    }
                }
            }
        }))
        section.card.wide {
            div.card-head { h2 #explore-title { "Traffic" } }
            div.body.chart.tall #explore-chart {}
            div.body #explore-table {}
        }
    };
    html_page(
        StatusCode::OK,
        page(
            &Frame {
                nav: "/explore",
                title: "Explore",
                script: Some("explore.js"),
                charts: true,
            },
            body,
        ),
    )
}

pub async fn exporters(State(s): State<Arc<AppState>>, q: RawQuery) -> Response {
    let v = view(q);
    let body = html! {
        (heading("Exporters", Some("Routers and switches sending flows: rates, templates, errors and sequence gaps. Click one for its interfaces.")))
        (controls(&v, true, html! {}))
        (empty_state(&s))
        section.card.wide.hide-when-empty {
            div.body #exporters { div.loading { "Loading…" } }
        }
        section.card.wide #detail hidden {
            div.card-head { h2 #detail-title { "Interfaces" } }
            div.body #interfaces {}
        }
    };
    html_page(
        StatusCode::OK,
        page(
            &Frame {
                nav: "/exporters",
                title: "Exporters",
                script: Some("exporters.js"),
                charts: false,
            },
            body,
        ),
    )
}

/// Bytes under `dir`, walked without following links; bounded by what the
/// store keeps there (a few hundred files).
fn dir_size(dir: &FsPath) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

pub async fn about(State(s): State<Arc<AppState>>) -> Response {
    let c = &s.status.config;
    let settings = crate::config::settings(c);
    let data_dir = c.storage.data_dir.clone();
    let size = tokio::task::spawn_blocking(move || dir_size(&data_dir))
        .await
        .unwrap_or(0);
    let r = &c.storage.retention;
    let body = html! {
        (heading("About", None))
        div.grid {
            section.card {
                h2 { "FlowLens" }
                dl.kv {
                    dt { "Version" } dd #version { (env!("CARGO_PKG_VERSION")) }
                    dt { "Uptime" } dd #uptime { "–" }
                    dt { "Memory (RSS)" } dd #rss { "–" }
                    dt { "Flows received" } dd #flows-received { "–" }
                    dt { "Flow rate" } dd #flow-rate { "–" }
                    dt { "Live clients" } dd #ws-clients { "–" }
                    dt { "API" } dd { a href="/api/docs" { "/api/docs" } " (OpenAPI)" }
                }
            }
            section.card {
                h2 { "Storage" }
                dl.kv {
                    dt { "Data directory" } dd { code { (c.storage.data_dir.display()) } }
                    dt { "Size on disk" } dd #disk data-bytes=(size) { (size) " bytes" }
                    dt { "Disk budget" } dd { (c.storage.max_disk_bytes.map(|b| b.to_string()).unwrap_or_else(|| "none".into())) }
                    dt { "Raw flows kept" } dd { (r.raw.to_string()) }
                    dt { "1-minute rollups kept" } dd { (r.rollup_1m.to_string()) }
                    dt { "5-minute rollups kept" } dd { (r.rollup_5m.to_string()) }
                    dt { "1-hour rollups kept" } dd { (r.rollup_1h.to_string()) }
                    dt { "Writer flushes" } dd #flushes { "–" }
                }
            }
            (card("Drops by reason", "drops", ""))
            (card("Listeners", "listeners", ""))
            section.card.wide {
                h2 { "Configuration in effect" }
                p.hint { "Defaults, the configuration file, FLOWLENS_* variables and flags combined; secrets are masked. "
                         code { "flowlens config print" } " shows where each value came from." }
                div.body {
                    table.data.config {
                        thead { tr { th { "Setting" } th { "Value" } } }
                        tbody {
                            @for (k, val) in &settings {
                                tr { td { code { (k) } } td { code { (val) } } }
                            }
                        }
                    }
                }
            }
            section.card.wide {
                h2 { "Third-party software" }
                p { "Charts by Apache ECharts (Apache-2.0). FlowLens is licensed Apache-2.0 OR MIT." }
            }
        }
    };
    html_page(
        StatusCode::OK,
        page(
            &Frame {
                nav: "/about",
                title: "About",
                script: Some("about.js"),
                charts: false,
            },
            body,
        ),
    )
}

fn not_found_with(title: &str, message: &str) -> Response {
    let body = html! {
        (heading(title, None))
        section.card.wide {
            p { (message) }
            p { "Go to the " a href="/" { "dashboard" } ", or search the " a href="/ips" { "IP table" } "." }
        }
    };
    html_page(
        StatusCode::NOT_FOUND,
        page(
            &Frame {
                nav: "",
                title,
                script: None,
                charts: false,
            },
            body,
        ),
    )
}

/// A refusal (403, 503) as a page: the reason, and where to go instead.
pub fn denied(status: StatusCode, message: &str) -> Response {
    let title = if status == StatusCode::FORBIDDEN {
        "Not allowed"
    } else {
        "Unavailable"
    };
    let body = html! {
        (heading(title, None))
        section.card.wide {
            p { (message) }
            p { "Go to the " a href="/" { "dashboard" } ", or " a href="/account" { "your account" } "." }
        }
    };
    html_page(
        status,
        page(
            &Frame {
                nav: "",
                title,
                script: None,
                charts: false,
            },
            body,
        ),
    )
}

pub fn not_found(path: &str) -> Response {
    not_found_with(
        "Page not found",
        &format!("There is no page at {}.", path.chars().take(200).collect::<String>()),
    )
}
