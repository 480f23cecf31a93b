//! Signing in through the router: sessions and their expiry, CSRF and
//! Origin checks, sign-out, throttling, and the proxies whose headers are
//! believed.

use super::access::{account, with_auth, PASSWORD};
use super::*;
use crate::auth::Role;

/// Signs in through the form; the cookie and the page's CSRF token.
async fn sign_in(f: &Fixture, user: &str, password: &str) -> (StatusCode, Option<String>) {
    let body = format!("user={user}&password={}&next=%2Fflows", password.replace(' ', "+"));
    let req = Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "flowlens.test")
        .header("origin", "http://flowlens.test")
        .body(Body::from(body))
        .unwrap();
    let (s, h, _) = call(f, req).await;
    let cookie = h
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
    (s, cookie)
}

fn csrf_of(page: &[u8]) -> String {
    let html = String::from_utf8_lossy(page);
    let at = html
        .find("name=\"csrf-token\" content=\"")
        .expect("the page carries the CSRF token")
        + 27;
    html[at..at + 64].to_string()
}

#[test]
fn sessions_csrf_origin_and_sign_out() {
    let f = with_auth("access-session");
    account(&f, "ana", Role::Analyst, None, &[]);
    rt().block_on(async {
        let (s, cookie) = sign_in(&f, "ana", PASSWORD).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let cookie = cookie.expect("a session cookie");
        assert!(cookie.starts_with("flowlens_session="), "{cookie}");
        let page = |uri: &str| {
            Request::get(uri)
                .header("cookie", &cookie)
                .header("host", "flowlens.test")
                .body(Body::empty())
                .unwrap()
        };
        let (s, _, body) = call(&f, page("/alerts")).await;
        assert_eq!(s, StatusCode::OK);
        let csrf = csrf_of(&body);
        let change = |token: Option<&str>, origin: &str| {
            let mut r = Request::post("/api/v1/alert-rules")
                .header("cookie", &cookie)
                .header("host", "flowlens.test")
                .header("origin", origin)
                .header("content-type", "application/json");
            if let Some(t) = token {
                r = r.header("x-csrf-token", t);
            }
            r.body(Body::from(
                r#"{"name":"x","metric":"flows_per_second","op":">","threshold":1,"severity":"info"}"#,
            ))
            .unwrap()
        };
        // Without the token, with a wrong one, or from another origin: refused
        // before the handler.
        for (token, origin) in [
            (None, "http://flowlens.test"),
            (Some("0".repeat(64)), "http://flowlens.test"),
            (Some(csrf.clone()), "http://evil.test"),
        ] {
            let (s, _, b) = call(&f, change(token.as_deref(), origin)).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&b));
            assert!(
                String::from_utf8_lossy(&b).contains("CSRF"),
                "{}",
                String::from_utf8_lossy(&b)
            );
        }
        let (s, _, b) = call(&f, change(Some(&csrf), "http://flowlens.test")).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
        // A WebSocket upgrade with the cookie from another origin is refused.
        let ws = Request::get("/api/v1/ws/flows")
            .header("cookie", &cookie)
            .header("host", "flowlens.test")
            .header("origin", "http://evil.test")
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(Body::empty())
            .unwrap();
        let (s, _, _) = call(&f, ws).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // Sign-out ends the session on the server: the same cookie is nobody.
        let out = Request::post("/logout")
            .header("cookie", &cookie)
            .header("host", "flowlens.test")
            .header("x-csrf-token", &csrf)
            .body(Body::empty())
            .unwrap();
        let (s, h, _) = call(&f, out).await;
        assert_eq!(s, StatusCode::OK);
        assert!(h["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
        let (s, h, _) = call(&f, page("/alerts")).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(h["location"], "/login?next=%2Falerts");
        // The audit log has the sign-in, the refused requests, the rule and
        // the sign-out.
        let log = f.state.auth.accounts.audit_log(&Default::default()).unwrap();
        let _ = log;
        let log = f
            .state
            .auth
            .accounts
            .audit_log(&flowlens_store::accounts::AuditQuery {
                limit: 100,
                ..Default::default()
            })
            .unwrap();
        let actions: Vec<(&str, &str)> = log.iter().map(|e| (e.action.as_str(), e.outcome.as_str())).collect();
        for want in [
            ("login", "ok"),
            ("csrf.rejected", "denied"),
            ("alert_rule.add", "ok"),
            ("logout", "ok"),
        ] {
            assert!(actions.contains(&want), "{want:?} not in {actions:?}");
        }
    });
}

#[test]
fn sessions_expire_when_idle() {
    let f = fixture_with("access-expiry", |c| {
        c.auth.session_idle = crate::config::units::Dur::secs(1);
    });
    account(&f, "ana", Role::Viewer, None, &[]);
    rt().block_on(async {
        let (_, cookie) = sign_in(&f, "ana", PASSWORD).await;
        let cookie = cookie.unwrap();
        let me = || {
            Request::get("/api/v1/me")
                .header("cookie", &cookie)
                .body(Body::empty())
                .unwrap()
        };
        assert_eq!(call(&f, me()).await.0, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        assert_eq!(call(&f, me()).await.0, StatusCode::UNAUTHORIZED);
    });
}

/// A scripted brute force from one address: after the account's allowance
/// every try is refused before any hash — the right password too — and
/// the answers never say whether the account exists.
#[test]
fn sign_in_is_throttled_and_says_nothing_about_accounts() {
    use crate::auth::limits::MAX_FAILURES_PER_ACCOUNT;
    let f = with_auth("access-throttle");
    account(&f, "admin", Role::Admin, None, &[]);
    rt().block_on(async {
        let t = std::time::Instant::now();
        let mut codes = Vec::new();
        for i in 0..40 {
            codes.push(sign_in(&f, "admin", &format!("guess number {i}")).await.0);
        }
        let took = t.elapsed();
        let hashed = codes.iter().filter(|&&c| c == StatusCode::UNAUTHORIZED).count();
        assert_eq!(hashed, MAX_FAILURES_PER_ACCOUNT, "{codes:?}");
        assert!(codes[MAX_FAILURES_PER_ACCOUNT..]
            .iter()
            .all(|&c| c == StatusCode::TOO_MANY_REQUESTS));
        let (s, cookie) = sign_in(&f, "admin", PASSWORD).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "held even with the right password");
        assert!(cookie.is_none());
        eprintln!("40 guesses: {hashed} reached a hash, the rest refused; {took:?} in all");
        // An unknown name is answered like a wrong password.
        let req = Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("user=nobody&password=whatever+it+is"))
            .unwrap();
        let (s, _, b) = call(&f, req).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(String::from_utf8_lossy(&b).contains("Wrong user name or password."));
    });
}

fn as_user(who: Option<&str>, uri: &str) -> Request<Body> {
    let mut r = Request::get(uri);
    if let Some(w) = who {
        r = r.header("remote-user", w);
    }
    r.body(Body::empty()).unwrap()
}

async fn status(f: &Fixture, who: Option<&str>, uri: &str) -> StatusCode {
    call(f, as_user(who, uri)).await.0
}

/// Behind an authenticating proxy: its header names the user, believed
/// only from `auth.trusted_proxies`; a local account gives the role and
/// scope, others get `auth.proxy_role`.
#[test]
fn a_trusted_proxy_names_the_user() {
    // Requests here come from no address in particular (0.0.0.0).
    let trusted = fixture_with("access-proxy", |c| {
        c.auth.enabled = false;
        c.auth.trusted_proxy_header = Some("Remote-User".into());
        c.auth.trusted_proxies = vec!["0.0.0.0/32".parse().unwrap()];
    });
    account(&trusted, "carol", Role::Admin, None, &[]);
    let untrusted = fixture_with("access-proxy-untrusted", |c| {
        c.auth.enabled = false;
        c.auth.trusted_proxy_header = Some("Remote-User".into());
        c.auth.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    });
    rt().block_on(async {
        assert_eq!(status(&trusted, Some("bob"), "/api/v1/flows").await, StatusCode::OK);
        assert_eq!(
            status(&trusted, Some("bob"), "/api/v1/users").await,
            StatusCode::FORBIDDEN,
            "a viewer"
        );
        assert_eq!(
            status(&trusted, Some("carol"), "/api/v1/users").await,
            StatusCode::OK,
            "her local role"
        );
        assert_eq!(status(&trusted, None, "/api/v1/flows").await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(&untrusted, Some("carol"), "/api/v1/flows").await,
            StatusCode::FORBIDDEN
        );
        let (_, _, b) = call(&trusted, as_user(Some("bob"), "/api/v1/me")).await;
        let me: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(
            (me["name"].as_str(), me["role"].as_str(), me["via"].as_str()),
            (Some("bob"), Some("viewer"), Some("proxy"))
        );
    });
}

/// Behind a proxy that terminates TLS: its forwarded scheme and host are
/// the origin the browser sees (so the Origin check passes and the cookie
/// is `Secure`) — only when the proxy is trusted.
#[test]
fn a_tls_terminating_proxy_is_believed_only_when_trusted() {
    let login = |origin: &str| {
        Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "10.0.0.5:8080")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "flowlens.example")
            .header("origin", origin)
            .body(Body::from(format!("user=ana&password={}", PASSWORD.replace(' ', "+"))))
            .unwrap()
    };
    let trusted = fixture_with("access-forwarded", |c| {
        c.auth.trusted_proxies = vec!["0.0.0.0/32".parse().unwrap()];
    });
    account(&trusted, "ana", Role::Viewer, None, &[]);
    let untrusted = with_auth("access-forwarded-untrusted");
    account(&untrusted, "ana", Role::Viewer, None, &[]);
    rt().block_on(async {
        let (s, h, _) = call(&trusted, login("https://flowlens.example")).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let cookie = h["set-cookie"].to_str().unwrap();
        assert!(cookie.contains("; Secure"), "{cookie}");
        // Not believed from elsewhere: the browser's origin is foreign then.
        let (s, _, _) = call(&untrusted, login("https://flowlens.example")).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    });
}
