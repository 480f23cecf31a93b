//! The console's static files, embedded in the binary. Pages link them as
//! `/static/NAME?v=HASH`: with the current hash the answer is cached for a
//! year (`immutable`); without it, revalidated by ETag. A new build changes
//! the hash, so a browser never mixes old scripts with new pages.

use std::sync::OnceLock;

use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub struct Asset {
    pub name: &'static str,
    pub mime: &'static str,
    pub body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($name:literal, $mime:expr) => {
        Asset {
            name: $name,
            mime: $mime,
            body: include_bytes!(concat!("static/", $name)),
        }
    };
}

/// Every file under `/static/`.
pub const ASSETS: &[Asset] = &[
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("theme.js", JS),
    asset!("app.js", JS),
    asset!("dashboard.js", JS),
    asset!("ips.js", JS),
    asset!("ip.js", JS),
    asset!("flows.js", JS),
    asset!("live.js", JS),
    asset!("bad-ips.js", JS),
    asset!("advisories.js", JS),
    asset!("alerts.js", JS),
    asset!("account.js", JS),
    asset!("users.js", JS),
    asset!("audit.js", JS),
    asset!("explore.js", JS),
    asset!("exporters.js", JS),
    asset!("about.js", JS),
    asset!("echarts.min.js", JS),
];

/// FNV-1a, 64 bits: a content hash for cache busting (not security).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn hashes() -> &'static [String] {
    static H: OnceLock<Vec<String>> = OnceLock::new();
    H.get_or_init(|| ASSETS.iter().map(|a| format!("{:016x}", fnv(a.body))).collect())
}

fn find(name: &str) -> Option<(usize, &'static Asset)> {
    ASSETS.iter().enumerate().find(|(_, a)| a.name == name)
}

/// The versioned address of an asset. Panics on a name not in [`ASSETS`]
/// (a programming error, caught by the console tests on every page).
pub fn url(name: &str) -> String {
    let (i, _) = find(name).unwrap_or_else(|| panic!("no static asset {name}"));
    format!("/static/{name}?v={}", &hashes()[i][..12])
}

pub async fn serve(Path(name): Path<String>, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    let Some((i, asset)) = find(&name) else {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    let hash = &hashes()[i];
    let etag = format!("\"{hash}\"");
    let versioned = q.as_deref().is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "v" && hash.starts_with(v.as_ref()) && v.len() >= 12)
    });
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut r = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.mime)], asset.body).into_response()
    };
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    r
}
