//! Who may use what, through the real router with accounts on: every
//! route against a table kept here (a new route without an entry fails),
//! scoped accounts on every flow route, accounts over the API (sign-in,
//! sessions and CSRF are in `sign_in.rs`).

use super::*;
use crate::auth::manage::{self, Actor, NewUser};
use crate::auth::{Permission, Role, Scope};

/// Every route and who may use it, written out independently of the
/// route list: the router must agree, and a route added without a line
/// here fails `every_route_is_in_the_access_table`.
const TABLE: &[(&str, &str, &str)] = &[
    ("get", "/healthz", "public"),
    ("get", "/readyz", "public"),
    ("get", "/api/openapi.json", "public"),
    ("get", "/api/docs", "public"),
    ("get", "/login", "public"),
    ("post", "/login", "public"),
    ("get", "/static/{name}", "public"),
    ("post", "/logout", "account"),
    ("get", "/api/v1/me", "account"),
    ("post", "/api/v1/me/password", "account"),
    ("get", "/api/v1/tokens", "account"),
    ("post", "/api/v1/tokens", "account"),
    ("delete", "/api/v1/tokens/{id}", "account"),
    ("get", "/account", "account"),
    ("get", "/api/v1/flows", "read"),
    ("get", "/api/v1/series", "read"),
    ("get", "/api/v1/top", "read"),
    ("get", "/api/v1/sankey", "read"),
    ("get", "/api/v1/ips", "read"),
    ("get", "/api/v1/ips/{ip}", "read"),
    ("get", "/api/v1/ips/{ip}/peers", "read"),
    ("get", "/api/v1/ips/{ip}/protocols", "read"),
    ("get", "/api/v1/ips/{ip}/ports", "read"),
    ("get", "/api/v1/ips/{ip}/behaviour", "read"),
    ("get", "/api/v1/bad-ips", "read"),
    ("get", "/api/v1/exporters", "read"),
    ("get", "/api/v1/exporters/{addr}", "read"),
    ("get", "/api/v1/ws/flows", "read"),
    ("get", "/", "read"),
    ("get", "/ips", "read"),
    ("get", "/ips/{ip}", "read"),
    ("get", "/flows", "read"),
    ("get", "/live", "read"),
    ("get", "/explore", "read"),
    ("get", "/bad-ips", "read"),
    ("get", "/exporters", "read"),
    ("get", "/api/v1/status", "read-all"),
    ("get", "/api/v1/advisories", "read"),
    ("get", "/api/v1/advisories/{id}", "read"),
    ("get", "/api/v1/alert-rules", "read-all"),
    ("get", "/api/v1/alerts", "read-all"),
    ("get", "/api/v1/classification-rules", "read-all"),
    ("get", "/api/v1/classification-rules/classify/{ip}", "read-all"),
    ("get", "/api/v1/ws/events", "read-all"),
    ("get", "/advisories", "read"),
    ("get", "/alerts", "read-all"),
    ("get", "/about", "read-all"),
    ("post", "/api/v1/alert-rules", "write"),
    ("patch", "/api/v1/alert-rules/{id}", "write"),
    ("delete", "/api/v1/alert-rules/{id}", "write"),
    ("post", "/api/v1/classification-rules", "write"),
    ("patch", "/api/v1/classification-rules/{id}", "write"),
    ("delete", "/api/v1/classification-rules/{id}", "write"),
    ("get", "/api/v1/users", "admin"),
    ("post", "/api/v1/users", "admin"),
    ("patch", "/api/v1/users/{id}", "admin"),
    ("delete", "/api/v1/users/{id}", "admin"),
    ("get", "/api/v1/audit", "admin"),
    ("get", "/users", "admin"),
    ("get", "/audit", "admin"),
    ("post", "/ingest", "ingest"),
    ("get", "/metrics", "metrics"),
];

pub(super) fn by() -> Actor {
    Actor {
        name: "test".into(),
        source: "test".into(),
    }
}

pub(super) const PASSWORD: &str = "a long enough password";

/// Adds a user and a token for it; the token.
pub(super) fn account(f: &Fixture, name: &str, role: Role, scope: Option<Scope>, permissions: &[Permission]) -> String {
    let a = &f.state.auth.accounts;
    let (u, _) = manage::add_user(
        a,
        NewUser {
            name: name.into(),
            role,
            password: Some(PASSWORD.into()),
            scope,
        },
        &by(),
    )
    .unwrap();
    manage::add_token(a, &u, "test", permissions, &by()).unwrap().1
}

pub(super) fn with_auth(name: &str) -> Fixture {
    fixture_with(name, |_| {})
}

pub(super) async fn send(
    f: &Fixture,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method.to_uppercase().as_str()).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    call(f, req.unwrap()).await
}

use axum::http::HeaderMap;

fn concrete(path: &str) -> String {
    path.replace("{ip}", "10.0.0.1")
        .replace("{addr}", "192.0.2.1")
        .replace("{id}", "999999")
        .replace("{name}", "app.js")
}

#[test]
fn every_route_is_in_the_access_table() {
    let routes = http::access_table("/metrics");
    for (m, p, a) in &routes {
        let want = TABLE.iter().find(|(tm, tp, _)| tm == m && tp == p);
        let Some((_, _, want)) = want else {
            panic!(
                "{} {p} is not in the access table of this test: add it with who may use it",
                m.to_uppercase()
            );
        };
        assert_eq!(a.as_str(), *want, "{} {p}", m.to_uppercase());
    }
    for (m, p, _) in TABLE {
        assert!(
            routes.iter().any(|(rm, rp, _)| rm == m && rp == p),
            "{} {p} is in the table but not served",
            m.to_uppercase()
        );
    }
}

/// Each route, asked by nobody, by each role, by a scoped account and by
/// tokens with and without permissions: refused exactly where the table
/// says, with 401 (API) or a redirect to the sign-in page (pages) for
/// nobody and 403 for the wrong account.
#[test]
fn every_route_refuses_exactly_who_the_table_says() {
    let f = with_auth("access-routes");
    let viewer = account(&f, "viewer", Role::Viewer, None, &[Permission::Metrics]);
    let analyst = account(&f, "analyst", Role::Analyst, None, &[Permission::Ingest]);
    let admin = account(&f, "admin", Role::Admin, None, &[]);
    let scoped = account(
        &f,
        "scoped",
        Role::Analyst,
        Some(Scope {
            exporters: vec![],
            networks: vec!["10.0.0.0/24".parse().unwrap()],
        }),
        &[],
    );
    rt().block_on(async {
        for (method, path, access) in TABLE {
            let uri = concrete(path);
            let body = (*method != "get" && *method != "delete").then_some("{}");
            let page = !path.starts_with("/api/") && *path != "/ingest" && *path != "/metrics" && *path != "/logout";
            // Nobody.
            let (s, h, _) = send(&f, method, &uri, None, body).await;
            if *access == "public" {
                assert!(
                    s != StatusCode::FORBIDDEN && !h.contains_key("www-authenticate"),
                    "{method} {uri}: public, got {s}"
                );
                continue;
            }
            if page {
                assert_eq!(
                    s,
                    StatusCode::SEE_OTHER,
                    "{method} {uri}: a page sends nobody to sign in"
                );
                assert!(h["location"].to_str().unwrap().starts_with("/login?next="), "{uri}");
            } else {
                assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {uri}: nobody");
                assert!(h.contains_key("www-authenticate"), "{uri}");
            }
            // Each account: allowed ones get past the check (whatever the
            // handler then says), the others get 403.
            for (who, token, allowed) in [
                (
                    "viewer",
                    &viewer,
                    matches!(*access, "account" | "read" | "read-all" | "metrics"),
                ),
                (
                    "analyst",
                    &analyst,
                    matches!(*access, "account" | "read" | "read-all" | "write" | "ingest"),
                ),
                (
                    "admin",
                    &admin,
                    matches!(*access, "account" | "read" | "read-all" | "write" | "admin"),
                ),
                ("scoped analyst", &scoped, matches!(*access, "account" | "read")),
            ] {
                let (s, _, b) = send(&f, method, &uri, Some(token), body).await;
                let text = String::from_utf8_lossy(&b);
                if allowed {
                    assert!(
                        s != StatusCode::UNAUTHORIZED && s != StatusCode::FORBIDDEN,
                        "{method} {uri} as {who}: {s} {text}"
                    );
                } else {
                    assert_eq!(s, StatusCode::FORBIDDEN, "{method} {uri} as {who}: {text}");
                }
            }
        }
        // A revoked or made-up token is nobody.
        let (s, _, _) = send(&f, "get", "/api/v1/flows", Some("flt_0000"), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    });
}

/// A scoped account sees nothing outside its networks, by any route that
/// reads flows: search, series, top-N, Sankey, the IP table and pages,
/// no-response sources, behaviour, exporters, the live feed — and the
/// routes about everything refuse it.
#[test]
fn a_scoped_account_never_sees_beyond_its_scope() {
    let f = with_auth("access-scope");
    let admin = account(&f, "admin", Role::Admin, None, &[]);
    let scoped = account(
        &f,
        "office",
        Role::Viewer,
        Some(Scope {
            exporters: vec![],
            networks: vec!["10.0.0.0/24".parse().unwrap()],
        }),
        &[],
    );
    let scoped_total = 825_000u64;
    rt().block_on(async {
        let get = |uri: String, token: &String| {
            let token = token.clone();
            let f = &f;
            async move {
                let (s, _, b) = send(f, "get", &uri, Some(&token), None).await;
                let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
                assert_eq!(s, StatusCode::OK, "{uri}: {v}");
                v
            }
        };
        // Flow search: only the office's flows, also when the filter asks
        // for others.
        let v = get(format!("/api/v1/flows?{RANGE}&limit=1000"), &scoped).await;
        let flows = v["flows"].as_array().unwrap();
        assert_eq!(flows.len(), 150);
        assert!(flows.iter().all(|x| x["src_addr"] == "10.0.0.1"), "{v}");
        let v = get(format!("/api/v1/flows?{RANGE}&filter=dst%20port%2023"), &scoped).await;
        assert_eq!(v["flows"].as_array().unwrap().len(), 0, "the scanner is outside");
        let all = get(format!("/api/v1/flows?{RANGE}&limit=1000"), &admin).await;
        assert_eq!(all["flows"].as_array().unwrap().len(), 200);
        // Series and top-N totals.
        let v = get(format!("/api/v1/series?{RANGE}&step=60"), &scoped).await;
        let sum: u64 = v["series"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["values"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()))
            .sum();
        assert_eq!(sum, scoped_total, "{v}");
        let v = get(format!("/api/v1/top?{RANGE}&by=src_addr&limit=100"), &scoped).await;
        let keys: Vec<&Value> = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["key"]["src_addr"])
            .collect();
        assert_eq!(keys, [&serde_json::json!("10.0.0.1")], "{v}");
        assert_eq!(v["total"]["bytes"], scoped_total, "{v}");
        assert_eq!(v["other"]["bytes"], 0, "{v}");
        let v = get(format!("/api/v1/sankey?{RANGE}&by=src_addr,dst_port"), &scoped).await;
        let text = v.to_string();
        assert!(!text.contains("198.51.100.7") && !text.contains("2001:db8"), "{text}");
        // The IP table, one IP's page, peers, no-response sources.
        let v = get(format!("/api/v1/ips?{RANGE}&limit=1000"), &scoped).await;
        let text = v.to_string();
        assert!(
            text.contains("10.0.0.1") && !text.contains("198.51.100.7") && !text.contains("2001:db8"),
            "{text}"
        );
        let v = get(format!("/api/v1/ips/198.51.100.7?{RANGE}"), &scoped).await;
        assert_eq!(
            v["out"]["flows"].as_u64().unwrap_or(0) + v["in"]["flows"].as_u64().unwrap_or(0),
            0,
            "{v}"
        );
        let v = get(format!("/api/v1/ips/198.51.100.7/peers?{RANGE}"), &scoped).await;
        assert!(!v.to_string().contains("203.0.113."), "{v}");
        for part in ["ports", "protocols"] {
            let v = get(format!("/api/v1/ips/198.51.100.7/{part}?{RANGE}"), &scoped).await;
            assert!(
                !v.to_string().contains("\"23\"") && !v.to_string().contains(":23,"),
                "{part}: {v}"
            );
        }
        let v = get(format!("/api/v1/exporters/192.0.2.1?{RANGE}"), &scoped).await;
        assert_eq!(v["datagrams"], 0, "{v}");
        assert_eq!(v["traffic"]["bytes"], scoped_total, "{v}");
        let v = get(format!("/api/v1/bad-ips?{RANGE}"), &scoped).await;
        assert!(!v.to_string().contains("198.51.100.7"), "{v}");
        let v = get(format!("/api/v1/bad-ips?{RANGE}"), &admin).await;
        assert!(
            v.to_string().contains("198.51.100.7"),
            "the admin sees the scanner: {v}"
        );
        let v = get(format!("/api/v1/ips/198.51.100.7/behaviour?{RANGE}"), &scoped).await;
        assert!(!v.to_string().contains("203.0.113."), "{v}");
        // Exporters: no telemetry of exporters the scope does not name,
        // traffic within the scope only.
        let v = get(format!("/api/v1/exporters?{RANGE}"), &scoped).await;
        for e in v["exporters"].as_array().unwrap() {
            assert_eq!(e["datagrams"], 0, "{e}");
            assert!(e["traffic"]["bytes"].as_u64().unwrap() <= scoped_total, "{e}");
        }
        // Advisories: those about its hosts and networks only.
        let advisory = |id: u64, kind: &str, subject: &str| {
            serde_json::json!({
                "id": id, "analyzer": "scans", "severity": "warning",
                "subject": { "kind": kind, "id": subject },
                "title": format!("about {subject}"), "description": "", "action": "", "evidence": "",
                "numbers": {}, "first_seen": T0, "last_seen": T0, "resolved": T0 + 60, "seen": 1,
            })
        };
        for (id, kind, subject) in [
            (1, "host", "10.0.0.1"),
            (2, "host", "198.51.100.7"),
            (3, "subnet", "10.0.0.0/24"),
            (4, "subnet", "10.0.0.0/8"),
            (5, "exporter", "192.0.2.1"),
            (6, "protocol", "telnet"),
        ] {
            f.state
                .store
                .put_doc(
                    crate::analysis::ADVISORY_DOC,
                    id,
                    &advisory(id as u64, kind, subject).to_string(),
                    T0,
                    true,
                )
                .unwrap();
        }
        let ids = |v: Value| -> Vec<i64> {
            v["advisories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_i64().unwrap())
                .collect()
        };
        let mut seen = ids(get("/api/v1/advisories?state=resolved".into(), &scoped).await);
        seen.sort_unstable();
        assert_eq!(
            seen,
            [1, 3],
            "its host and its /24, not a wider net, an exporter or a protocol"
        );
        assert_eq!(
            ids(get("/api/v1/advisories?state=resolved".into(), &admin).await).len(),
            6
        );
        let (s, _, _) = send(&f, "get", "/api/v1/advisories/2", Some(&scoped), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        get("/api/v1/advisories/1".into(), &scoped).await;
        // The routes about everything refuse it.
        for uri in ["/api/v1/status", "/api/v1/alerts", "/metrics", "/api/v1/ws/events"] {
            let (s, _, _) = send(&f, "get", uri, Some(&scoped), None).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{uri}");
        }
        // It cannot mint a token that would see more.
        let (s, _, b) = send(
            &f,
            "post",
            "/api/v1/tokens",
            Some(&scoped),
            Some(r#"{"name":"m","permissions":["metrics"]}"#),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&b));
    });
    // The live feed over a socket: the scope applies to what is pushed.
    live_is_scoped(&f, &scoped);
}

fn live_is_scoped(f: &Fixture, token: &str) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    rt().block_on(async {
        let addr = listen(f).await;
        let mut req = format!("ws://{addr}/api/v1/ws/flows").into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let v = push_and_read(f, &mut ws).await;
        let a = v.as_array().unwrap();
        assert_eq!(a.len(), 150, "only the office's flows");
        assert!(a.iter().all(|x| x["src_addr"] == "10.0.0.1"));
    });
}

#[test]
fn accounts_over_the_api() {
    let f = with_auth("access-accounts");
    let admin = account(&f, "root", Role::Admin, None, &[]);
    rt().block_on(async {
        // Add a user with a generated password and a scope.
        let (s, _, b) = send(
            &f,
            "post",
            "/api/v1/users",
            Some(&admin),
            Some(r#"{"name":"noc","role":"viewer","scope":{"networks":["10.0.0.0/8"]}}"#),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["password"].as_str().unwrap().len(), 20);
        assert_eq!(v["scope"]["networks"][0], "10.0.0.0/8");
        let id = v["id"].as_i64().unwrap();
        // Refusals name the field.
        for (body, says) in [
            (r#"{"name":"a b","role":"viewer"}"#, "name:"),
            (r#"{"name":"x","role":"root"}"#, "role: unknown variant"),
            (
                r#"{"name":"x","role":"viewer","password":"short"}"#,
                "password: the password is shorter",
            ),
            (
                r#"{"name":"x","role":"admin","scope":{"networks":["10.0.0.0/8"]}}"#,
                "scope: an admin",
            ),
            (r#"{"name":"noc","role":"viewer"}"#, "exists already"),
        ] {
            let (s, _, b) = send(&f, "post", "/api/v1/users", Some(&admin), Some(body)).await;
            let text = String::from_utf8_lossy(&b);
            assert!(s.is_client_error() && text.contains(says), "{body}: {s} {text}");
        }
        // The last admin cannot go, nor lose the role.
        let root = f.state.auth.accounts.user_by_name("root").unwrap().unwrap();
        let (s, _, _) = send(
            &f,
            "patch",
            &format!("/api/v1/users/{}", root.id),
            Some(&admin),
            Some(r#"{"role":"viewer"}"#),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT);
        let (s, _, _) = send(&f, "delete", &format!("/api/v1/users/{}", root.id), Some(&admin), None).await;
        assert_eq!(s, StatusCode::CONFLICT);
        // Tokens: shown once, listed without the secret, revoked.
        let (s, _, b) = send(
            &f,
            "post",
            "/api/v1/tokens",
            Some(&admin),
            Some(r#"{"name":"grafana","permissions":["metrics"]}"#),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&b));
        let t: Value = serde_json::from_slice(&b).unwrap();
        let secret = t["token"].as_str().unwrap().to_string();
        let (s, _, _) = send(&f, "get", "/metrics", Some(&secret), None).await;
        assert_eq!(s, StatusCode::OK);
        let (_, _, b) = send(&f, "get", "/api/v1/tokens", Some(&admin), None).await;
        assert!(!String::from_utf8_lossy(&b).contains(&secret));
        let listed: Value = serde_json::from_slice(&b).unwrap();
        assert!(listed["tokens"][0]["last_used"].is_i64(), "{listed}");
        let (s, _, _) = send(&f, "delete", &format!("/api/v1/tokens/{}", t["id"]), Some(&admin), None).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = send(&f, "get", "/metrics", Some(&secret), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "revoked");
        // Deleting the user ends its tokens.
        let noc = f.state.auth.accounts.user(id).unwrap().unwrap();
        let (_, noc_token) = manage::add_token(&f.state.auth.accounts, &noc, "t", &[], &by()).unwrap();
        let (s, _, _) = send(&f, "delete", &format!("/api/v1/users/{id}"), Some(&admin), None).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = send(&f, "get", "/api/v1/flows", Some(&noc_token), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // The audit log, for admins, newest first.
        let (s, _, b) = send(&f, "get", "/api/v1/audit?action=user.&limit=10", Some(&admin), None).await;
        assert_eq!(s, StatusCode::OK);
        let v: Value = serde_json::from_slice(&b).unwrap();
        let actions: Vec<&str> = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions.first(), Some(&"user.delete"), "{v}");
        assert!(actions.contains(&"user.add"), "{v}");
    });
}
