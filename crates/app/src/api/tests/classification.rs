//! The classification rules API: its lifecycle and what it refuses.

use super::*;

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
