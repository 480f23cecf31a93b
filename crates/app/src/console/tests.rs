//! The console's pages without a browser: every page answers with the
//! security headers, escapes what the URL brings, links only assets that
//! exist; assets are cached by version. (The browser tests in
//! `tests/cli/browser.rs` drive Chromium against `flowlens demo`.)

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use super::assets::{url, ASSETS};
use super::NAV;
use crate::api::tests::{call, fixture};

fn html_get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn every_page_answers_with_security_headers_and_known_assets() {
    let f = fixture("console-pages");
    let mut pages: Vec<&str> = NAV.iter().map(|(p, _)| *p).collect();
    pages.push("/ips/10.0.0.1");
    pages.push("/ips/2001:db8::2");
    for p in pages {
        let (s, h, body) = call(&f, html_get(p)).await;
        assert_eq!(s, StatusCode::OK, "{p}");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self';"), "{p}: {csp}");
        assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"));
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        let body = String::from_utf8(body).unwrap();
        assert!(body.starts_with("<!DOCTYPE html>"), "{p}");
        // No inline script: every <script> has a src.
        for tag in body.split("<script").skip(1) {
            assert!(
                tag.starts_with(" src=") || tag.starts_with(" defer src="),
                "{p}: inline script {tag:.60}"
            );
        }
        // Every linked asset exists with its current version.
        for part in body.split("/static/").skip(1) {
            let link = &part[..part.find('"').unwrap()];
            let (name, _) = link.split_once('?').unwrap();
            let (s, _, _) = call(&f, html_get(&format!("/static/{link}"))).await;
            assert_eq!(s, StatusCode::OK, "{p} links {name}");
            assert_eq!(format!("/static/{link}"), url(name).replace("&amp;", "&"));
        }
        assert!(body.contains("aria-current=\"page\""), "{p}: navigation marks the page");
    }
}

#[tokio::test]
async fn the_empty_state_says_where_to_send_flows() {
    let f = fixture("console-empty");
    let (_, _, body) = call(&f, html_get("/")).await;
    let body = String::from_utf8(body).unwrap();
    // The fixture has no UDP listener; the page says so instead of a port.
    assert!(body.contains("No flows yet"), "{body}");
    assert!(body.contains("no UDP listener is configured"));
    assert!(body.contains("flowlens simulate"));
}

#[tokio::test]
async fn what_the_url_brings_is_escaped() {
    let f = fixture("console-escape");
    let hostile = "%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E";
    for p in ["/", "/ips", "/flows", "/explore", "/bad-ips"] {
        let uri = format!("{p}?filter={hostile}&since={hostile}&until={hostile}&q={hostile}&dims={hostile}");
        let (s, _, body) = call(&f, html_get(&uri)).await;
        assert_eq!(s, StatusCode::OK, "{p}");
        let body = String::from_utf8(body).unwrap();
        assert!(!body.contains("<script>alert"), "{p}");
        assert!(!body.contains("<img src=x"), "{p}");
        assert!(body.contains("&quot;&gt;&lt;script&gt;alert(1)"), "{p}: shown, escaped");
    }
    // A path that is not an address: a 404 page, the text escaped.
    let (s, _, body) = call(&f, html_get("/ips/%3Cb%3Enot-an-ip")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("&lt;b&gt;not-an-ip") && !body.contains("<b>not-an-ip"));
}

#[tokio::test]
async fn unknown_paths_are_a_page_for_browsers_and_json_for_the_api() {
    let f = fixture("console-404");
    let (s, h, body) = call(&f, html_get("/no/such/page")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(h[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(String::from_utf8(body).unwrap().contains("Page not found"));
    let (s, h, _) = call(&f, html_get("/api/v1/nothing")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(h[header::CONTENT_TYPE], "application/json");
    let (s, h, _) = call(&f, Request::get("/nothing").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(h[header::CONTENT_TYPE], "application/json");
}

#[tokio::test]
async fn assets_are_cached_by_version_and_revalidated_without_it() {
    let f = fixture("console-assets");
    for a in ASSETS {
        let (s, h, body) = call(&f, html_get(&url(a.name))).await;
        assert_eq!(s, StatusCode::OK, "{}", a.name);
        assert_eq!(body, a.body, "{}", a.name);
        assert_eq!(h[header::CONTENT_TYPE], a.mime);
        assert!(h[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
        let etag = h[header::ETAG].to_str().unwrap().to_string();
        let (s, h, _) = call(&f, html_get(&format!("/static/{}", a.name))).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h[header::CACHE_CONTROL], "no-cache");
        let req = Request::get(format!("/static/{}?v=0000000000000", a.name))
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap();
        let (s, h, body) = call(&f, req).await;
        assert_eq!(s, StatusCode::NOT_MODIFIED, "{}", a.name);
        assert_eq!(
            h[header::CACHE_CONTROL],
            "no-cache",
            "a wrong version is not cached for a year"
        );
        assert!(body.is_empty());
    }
    let (s, _, _) = call(&f, html_get("/static/..%2Fmod.rs")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
