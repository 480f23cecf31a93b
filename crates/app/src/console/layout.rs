//! The frame every page shares: head, navigation, theme toggle, the time
//! range and filter controls. Everything here is rendered by maud, which
//! escapes every interpolated string.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::assets::url;
use super::View;
use crate::auth::{Access, Principal, Role, Via};

/// The navigation, in order: (path, label).
pub const NAV: &[(&str, &str)] = &[
    ("/", "Dashboard"),
    ("/ips", "IPs"),
    ("/flows", "Flows"),
    ("/live", "Live"),
    ("/explore", "Explore"),
    ("/advisories", "Advisories"),
    ("/alerts", "Alerts"),
    ("/bad-ips", "Bad IPs"),
    ("/exporters", "Exporters"),
    ("/about", "About"),
];

/// The time ranges of the picker: (value of `since`, label).
pub const RANGES: &[(&str, &str)] = &[
    ("15m", "Last 15 minutes"),
    ("1h", "Last hour"),
    ("6h", "Last 6 hours"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
];

/// Filters offered as examples under the filter box.
pub const FILTER_EXAMPLES: &[&str] = &[
    "proto tcp and dst port 443",
    "src net 10.0.0.0/8 and not dst net 10.0.0.0/8",
    "host 192.0.2.10",
    "dst port in [22 23 3389]",
    "proto udp and bytes > 1M",
    "flags S and not flags A",
    "src internal and dst external",
    "dst env prod and not src env prod",
];

/// What a page puts in the frame.
pub struct Frame<'a> {
    /// The navigation entry to mark (a path of [`NAV`]).
    pub nav: &'a str,
    pub title: &'a str,
    /// Page script (an asset name) run after `app.js`.
    pub script: Option<&'a str>,
    /// Whether the page draws charts (loads ECharts).
    pub charts: bool,
}

/// Who may open each console page (from [`super::pages`], read once).
fn access_of(path: &str) -> Access {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static T: OnceLock<HashMap<&'static str, Access>> = OnceLock::new();
    T.get_or_init(|| super::pages().into_iter().map(|p| (p.path, p.access)).collect())
        .get(path)
        .copied()
        .unwrap_or(Access::Admin)
}

/// The signed-in account's corner: name and role, its links, sign-out.
fn account(p: &Principal) -> Markup {
    html! {
        div.account {
            @match p.via {
                Via::Open => {
                    span.who title="auth.enabled is false: the console is open to anyone who can reach it (loopback only)" { "No sign-in" }
                }
                _ => {
                    a.who href="/account" title=(format!("{} · {}", p.name, p.role.as_str())) { (p.name) }
                    span.role { (p.role.as_str()) @if p.scope.is_some() { " · scoped" } }
                }
            }
            @if p.role == Role::Admin && p.scope.is_none() {
                a href="/users" { "Users" }
                a href="/audit" { "Audit" }
            }
            @if matches!(p.via, Via::Session { .. }) {
                button #logout .link type="button" { "Sign out" }
            }
        }
    }
}

pub fn page(f: &Frame, body: Markup) -> Markup {
    let who = crate::auth::current();
    let csrf = who.as_ref().and_then(|p| match &p.via {
        Via::Session { csrf, .. } => Some(csrf.clone()),
        _ => None,
    });
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(f.title, csrf.as_deref(), f.charts, f.script))
            body {
                header.top {
                    a.brand href="/" aria-label="FlowLens home" {
                        (PreEscaped(LOGO)) span { "FlowLens" }
                    }
                    nav.main aria-label="Main" {
                        @for (path, label) in NAV.iter().filter(|(p, _)| who.as_ref().is_none_or(|w| access_of(p).allows(w))) {
                            @if *path == f.nav {
                                a.active href=(path) aria-current="page" { (label) }
                            } @else {
                                a href=(path) { (label) }
                            }
                        }
                    }
                    @if let Some(p) = &who {
                        (account(p))
                    }
                    (THEME_TOGGLE)
                }
                main #page {
                    div #banner .banner role="alert" hidden {}
                    (body)
                }
            }
        }
    }
}

/// A page without navigation (sign-in): brand, theme toggle, the body.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, None, false, None))
            body.bare {
                header.top {
                    span.brand { (PreEscaped(LOGO)) span { "FlowLens" } }
                    (THEME_TOGGLE)
                }
                main #page { (body) }
            }
        }
    }
}

/// Every page's `<head>`: the session's CSRF token when signed in with a
/// cookie, ECharts when the page draws, its own script after `app.js`.
fn head(title: &str, csrf: Option<&str>, charts: bool, script: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · FlowLens" }
            @if let Some(t) = csrf {
                meta name="csrf-token" content=(t);
            }
            link rel="icon" type="image/svg+xml" href=(url("favicon.svg"));
            link rel="stylesheet" href=(url("console.css"));
            // Sets the saved theme before the first paint (no flash).
            script src=(url("theme.js")) {}
            @if charts {
                script defer src=(url("echarts.min.js")) {}
            }
            script defer src=(url("app.js")) {}
            @if let Some(script) = script {
                script defer src=(url(script)) {}
            }
        }
    }
}

const THEME_TOGGLE: PreEscaped<&str> = PreEscaped(
    r#"<button id="theme-toggle" class="icon" type="button" title="Switch light/dark mode" aria-label="Switch light/dark mode"><span class="sun">☀</span><span class="moon">☾</span></button>"#,
);

const LOGO: &str = r#"<svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true"><path d="M2 17c3-6 5-10 8-10s3 8 6 8 4-5 6-8" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round"/><circle cx="10" cy="7" r="1.6" fill="currentColor"/><circle cx="16" cy="15" r="1.6" fill="currentColor"/></svg>"#;

/// The page heading with an optional subtitle.
pub fn heading(title: &str, sub: Option<&str>) -> Markup {
    html! {
        div.heading {
            h1 { (title) }
            @if let Some(s) = sub { p.sub { (s) } }
        }
    }
}

/// The range picker and filter box; `extra` goes inside the same form
/// (page options that belong in the URL too).
pub fn controls(v: &View, with_range: bool, extra: Markup) -> Markup {
    let known = RANGES.iter().any(|(r, _)| *r == v.since);
    html! {
        form #controls .controls method="get" data-keep="cols,unit,sort,direction,exporter" {
            @if with_range {
                label.range {
                    span.lbl { "Range" }
                    select #since name="since" {
                        @for (value, label) in RANGES {
                            option value=(value) selected[*value == v.since] { (label) }
                        }
                        option value="custom" selected[!known] { "Custom…" }
                    }
                }
                span #custom-range .custom hidden[known] {
                    input #from type="datetime-local" step="1" aria-label="From";
                    span { "–" }
                    input #to type="datetime-local" step="1" aria-label="To";
                }
                @if !known {
                    input #since-raw type="hidden" value=(v.since);
                }
                @if !v.until.is_empty() {
                    input #until name="until" type="hidden" value=(v.until);
                }
            }
            (extra)
            div.filter {
                input #filter name="filter" type="search" value=(v.filter) autocomplete="off" spellcheck="false"
                    placeholder="Filter, e.g. proto tcp and dst port 443" aria-label="Filter";
                button.primary type="submit" { "Apply" }
            }
            div #filter-error .filter-error role="alert" hidden {}
            details.examples {
                summary { "Filter examples" }
                ul {
                    @for e in FILTER_EXAMPLES {
                        li { button.link.example type="button" data-filter=(e) { code { (e) } } }
                    }
                }
                p.hint {
                    "Terms: " code { "[src|dst] host|net|port|as|country" } ", " code { "proto" } ", "
                    code { "[in|out] if" } ", " code { "flags" } ", " code { "bytes" } ", " code { "packets" } ", "
                    code { "exporter" } ", " code { "[src|dst] netname|env|dc|location" } ", " code { "internal" } ", "
                    code { "external" } "; combine with " code { "and" } ", " code { "or" } ", " code { "not" }
                    " and parentheses."
                }
            }
        }
    }
}

/// A card: a titled panel; `id` is where the page script renders.
pub fn card(title: &str, id: &str, class: &str) -> Markup {
    html! {
        section class=(format!("card {class}").trim_end()) {
            h2 { (title) }
            div.body id=(id) { div.loading { "Loading…" } }
        }
    }
}
