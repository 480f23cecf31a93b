//! The web console: server-rendered pages (maud) that load their data from
//! the JSON API with small plain scripts, and ECharts for the charts — all
//! embedded in the binary.
//!
//! A page is a frame ([`layout::page`]) around its panels; the server fills
//! in what it knows without a query (controls from the URL, configuration,
//! the listeners), so a page answers in microseconds, and the page script
//! asks the API for the numbers. Every view lives in the query string, so
//! any view can be bookmarked. Strings from the network reach the page only
//! through maud (escaped) or the scripts' `textContent` (never parsed as
//! HTML); the Content-Security-Policy set in [`security_headers`] forbids
//! inline script.

mod account;
mod analysis;
mod assets;
mod layout;
mod login;
mod pages;

use std::sync::Arc;

use axum::extract::RawQuery;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::api::limits::{MAX_PARAMS, MAX_PARAM_LEN};
use crate::auth::Access;
use crate::serve::http::AppState;

pub use assets::ASSETS;
pub use layout::NAV;

/// A console route: pages, `/static/`, sign-in and sign-out (not in the
/// OpenAPI document, which is the API's).
pub struct Page {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub handler: MethodRouter<Arc<AppState>>,
}

/// Every console route with who may use it.
pub fn pages() -> Vec<Page> {
    let page = |path, access, handler| Page {
        method: "get",
        path,
        access,
        handler,
    };
    vec![
        page("/", Access::Read, get(pages::dashboard)),
        page("/ips", Access::Read, get(pages::ips)),
        page("/ips/{ip}", Access::Read, get(pages::ip)),
        page("/flows", Access::Read, get(pages::flows)),
        page("/live", Access::Read, get(pages::live)),
        page("/explore", Access::Read, get(pages::explore)),
        page("/bad-ips", Access::Read, get(pages::bad_ips)),
        page("/exporters", Access::Read, get(pages::exporters)),
        page("/advisories", Access::Read, get(analysis::advisories)),
        page("/alerts", Access::ReadAll, get(analysis::alerts)),
        page("/about", Access::ReadAll, get(pages::about)),
        page("/account", Access::Account, get(account::account)),
        page("/users", Access::Admin, get(account::users)),
        page("/audit", Access::Admin, get(account::audit)),
        page("/login", Access::Public, get(login::form)),
        Page {
            method: "post",
            path: "/login",
            access: Access::Public,
            handler: post(login::submit),
        },
        Page {
            method: "post",
            path: "/logout",
            access: Access::Account,
            handler: post(login::logout),
        },
        page("/static/{name}", Access::Public, get(assets::serve)),
    ]
}

/// The Content-Security-Policy of every answer: scripts and everything
/// else from this origin only (no inline script, no eval); inline styles
/// are allowed because the chart library positions its tooltips with them.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                       img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
                       base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers (CSP, no sniffing, no referrer across
/// origins, no framing) to every answer that does not set its own.
pub fn security_headers(r: axum::Router) -> axum::Router {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    r.layer(set(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
}

/// The view a page's URL asks for: time range and filter (the page scripts
/// read their own options from the URL).
#[derive(Debug, Clone, Default)]
pub struct View {
    pub since: String,
    pub until: String,
    pub filter: String,
    pub params: Vec<(String, String)>,
}

impl View {
    /// Parses a query string leniently: a page shows what it can and the
    /// API says what is wrong. Oversized or excess parameters are ignored.
    pub fn parse(q: Option<&str>) -> View {
        let mut v = View {
            since: "1h".into(),
            ..View::default()
        };
        for (k, val) in form_urlencoded::parse(q.unwrap_or("").as_bytes()).take(MAX_PARAMS) {
            if k.len() + val.len() > MAX_PARAM_LEN {
                continue;
            }
            match k.as_ref() {
                "since" if !val.is_empty() && val != "custom" => v.since = val.to_string(),
                "until" => v.until = val.to_string(),
                "filter" => v.filter = val.to_string(),
                _ => {}
            }
            v.params.push((k.into_owned(), val.into_owned()));
        }
        v
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

pub fn view(q: RawQuery) -> View {
    View::parse(q.0.as_deref())
}

/// An HTML answer with no caching (pages reflect live state).
pub fn html_page(status: StatusCode, m: maud::Markup) -> Response {
    let mut r = (status, Html(m.into_string())).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The 404 page for browsers (the API keeps its JSON 404).
pub fn not_found_page(path: &str) -> Response {
    pages::not_found(path)
}

/// A page refused (403) or unavailable, with the reason.
pub fn denied_page(status: StatusCode, message: &str) -> Response {
    pages::denied(status, message)
}

#[cfg(test)]
mod tests;
