//! Advisories, alert rules, alerts and host behaviour: what the analysis
//! engine found and what users asked it to watch.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{delete, get, patch, post};
use flowlens_store::query::{FlowQuery, Order};
use flowlens_store::{Filter, Store};
use serde_json::{json, Map, Value};

use super::classification::{body_object, fail};
use super::json::{parse_ip, range_json};
use super::limits::MAX_RULE_BODY;
use super::openapi::{schema, P};
use super::params::Params;
use super::{answer, known, now_unix, ApiError, Doc, Route};
use crate::analysis::rules::RuleSpec;
use crate::analysis::{
    behaviour, limits::MAX_ALERT_RULES, Advisory, Engine, Severity, ADVISORY_DOC, ALERT_DOC, RULE_DOC,
};
use crate::auth::{Access, Caller};
use crate::serve::http::AppState;

const RULES: &str = "/api/v1/alert-rules";

pub fn routes() -> Vec<Route> {
    let doc = Doc::plain;
    vec![
        Route {
            method: "get",
            path: "/api/v1/advisories",
            access: Access::Read,
            doc: doc(
                "Advisories",
                "What the analyzers found: open ones (most severe first) or resolved ones (newest first, kept \
                 across restarts), each with a sentence, the numbers, a suggested action and a console link to \
                 the evidence; `counts` are the open ones per severity.",
                &[P::STATE, P::SEVERITY, P::ANALYZER, P::LIMIT],
                schema::advisories,
                None,
            ),
            handler: get(advisories),
        },
        Route {
            method: "get",
            path: "/api/v1/advisories/{id}",
            access: Access::Read,
            doc: doc(
                "One advisory",
                "An advisory, open or resolved.",
                &[P::ID],
                schema::advisory,
                None,
            ),
            handler: get(advisory),
        },
        Route {
            method: "get",
            path: RULES,
            access: Access::ReadAll,
            doc: doc(
                "Alert rules",
                "Every alert rule, and the webhook names rules can notify.",
                &[],
                schema::alert_rules,
                None,
            ),
            handler: get(list_rules),
        },
        Route {
            method: "post",
            path: RULES,
            access: Access::Write,
            doc: doc(
                "Add an alert rule",
                "A filter, a metric (bytes, bits, packets or flows per second, unique peers or ports) over a \
                 window, per subject (`by`), compared with a threshold for a duration (`for`). Applies within \
                 10 seconds.",
                &[],
                schema::alert_rule,
                Some(schema::alert_rule_body),
            ),
            handler: post(create_rule).layer(DefaultBodyLimit::max(MAX_RULE_BODY)),
        },
        Route {
            method: "patch",
            path: "/api/v1/alert-rules/{id}",
            access: Access::Write,
            doc: doc(
                "Change an alert rule",
                "The fields given replace the rule's; a changed rule starts its evaluation afresh.",
                &[P::ID],
                schema::alert_rule,
                Some(schema::alert_rule_patch),
            ),
            handler: patch(update_rule).layer(DefaultBodyLimit::max(MAX_RULE_BODY)),
        },
        Route {
            method: "delete",
            path: "/api/v1/alert-rules/{id}",
            access: Access::Write,
            doc: doc(
                "Delete an alert rule",
                "Its alerts stay in the history.",
                &[P::ID],
                schema::deleted,
                None,
            ),
            handler: delete(remove_rule),
        },
        Route {
            method: "get",
            path: "/api/v1/alerts",
            access: Access::ReadAll,
            doc: doc(
                "Alerts",
                "Alerts the rules fired: firing ones first, then the history (kept across restarts).",
                &[P::STATE, P::LIMIT],
                schema::alerts,
                None,
            ),
            handler: get(alerts),
        },
        Route {
            method: "get",
            path: "/api/v1/ips/{ip}/behaviour",
            access: Access::Read,
            doc: doc(
                "Behaviour of one IP",
                "What the address behaves like from its flows in the range (default the last hour): server, \
                 workstation, database, load balancer or router, with a confidence and the evidence.",
                &[P::IP, P::SINCE, P::UNTIL],
                schema::behaviour,
                None,
            ),
            handler: get(ip_behaviour),
        },
    ]
}

fn engine(s: &AppState) -> Arc<Engine> {
    s.sinks.analysis.clone()
}

fn limit(p: &Params, default: usize, max: usize) -> Result<usize, ApiError> {
    match p.get("limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::bad("bad_limit", format!("limit must be 1 to {max}"))),
    }
}

/// Stored documents of a kind, parsed; unreadable ones are skipped.
fn stored(store: &Store, kind: &str, n: usize) -> Result<Vec<Value>, ApiError> {
    Ok(store
        .docs(kind, n)
        .map_err(ApiError::from_store)?
        .into_iter()
        .filter_map(|(_, b)| serde_json::from_str(&b).ok())
        .collect())
}

/// Whether the caller's scope covers an advisory (as JSON).
fn in_scope(scope: Option<&crate::auth::Scope>, a: &Value) -> bool {
    scope.is_none_or(|sc| {
        sc.sees_subject(
            a["subject"]["kind"].as_str().unwrap_or(""),
            a["subject"]["id"].as_str().unwrap_or(""),
        )
    })
}

async fn advisories(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery, Caller(c): Caller) -> Response {
    let e = engine(&s);
    let scope = c.scope.clone();
    answer(s, &c, q, known("/api/v1/advisories"), move |store, p| {
        let state = p.get("state").unwrap_or("active");
        let min = match p.get("severity") {
            None => Severity::Info,
            Some(v) => Severity::parse(v).ok_or_else(|| {
                ApiError::bad(
                    "bad_severity",
                    format!("severity \"{v}\": use info, warning or critical"),
                )
            })?,
        };
        let analyzer = p.get("analyzer");
        let n = limit(p, 200, 1_000)?;
        let keep = |a: &Value| {
            a["severity"]
                .as_str()
                .and_then(Severity::parse)
                .is_some_and(|s| s >= min)
                && analyzer.is_none_or(|x| a["analyzer"] == x)
                && in_scope(scope.as_ref(), a)
        };
        let mut out: Vec<Value> = Vec::new();
        if matches!(state, "active" | "all") {
            out.extend(e.advisories().iter().map(|a: &Advisory| json!(a)).filter(keep));
        }
        if matches!(state, "resolved" | "all") {
            out.extend(
                stored(store, ADVISORY_DOC, 10_000)?
                    .into_iter()
                    .filter(|a| !a["resolved"].is_null())
                    .filter(keep),
            );
        }
        if !matches!(state, "active" | "resolved" | "all") {
            return Err(ApiError::bad(
                "bad_state",
                format!("state \"{state}\": use active, resolved or all"),
            ));
        }
        out.truncate(n);
        // Open advisories per severity, of those the caller may see.
        let counts = if scope.is_none() {
            json!(e.counts())
        } else {
            let mut c = std::collections::BTreeMap::<String, usize>::new();
            for a in e
                .advisories()
                .iter()
                .map(|a| json!(a))
                .filter(|a| in_scope(scope.as_ref(), a))
            {
                *c.entry(a["severity"].as_str().unwrap_or("").to_string()).or_default() += 1;
            }
            json!(c)
        };
        Ok(json!({ "advisories": out, "counts": counts }))
    })
    .await
}

fn id_of(id: &str, what: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found(format!("no {what} {id}")))
}

async fn advisory(State(s): State<Arc<AppState>>, Path(id): Path<String>, Caller(c): Caller) -> Response {
    let e = engine(&s);
    let scope = c.scope.clone();
    answer(s, &c, None, &[], move |store, _| {
        let id = id_of(&id, "advisory")?;
        let found = match e.advisory(id as u64) {
            Some(a) => Some(json!(a)),
            None => stored(store, ADVISORY_DOC, 10_000)?.into_iter().find(|a| a["id"] == id),
        };
        // Outside the caller's scope is as good as not there.
        found
            .filter(|a| in_scope(scope.as_ref(), a))
            .ok_or_else(|| ApiError::not_found(format!("no advisory {id}")))
    })
    .await
}

fn rule_json(id: i64, spec: &RuleSpec) -> Value {
    let mut v = json!(spec);
    v["id"] = json!(id);
    v
}

async fn list_rules(State(s): State<Arc<AppState>>, Caller(c): Caller) -> Response {
    let e = engine(&s);
    answer(s, &c, None, &[], move |store, _| {
        let rules: Vec<Value> = store
            .docs(RULE_DOC, MAX_ALERT_RULES)
            .map_err(ApiError::from_store)?
            .into_iter()
            .rev()
            .filter_map(|(id, b)| serde_json::from_str::<RuleSpec>(&b).ok().map(|r| rule_json(id, &r)))
            .collect();
        Ok(json!({ "rules": rules, "webhooks": e.webhook_names() }))
    })
    .await
}

/// A rule from a JSON object, checked; the reasons when it is not valid.
fn parse_rule(m: Map<String, Value>, hooks: &[String]) -> Result<RuleSpec, ApiError> {
    let mut m = m;
    m.remove("id");
    let spec: RuleSpec = serde_path_to_error::deserialize(Value::Object(m)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ApiError::bad(
            "bad_rule",
            if path == "." {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            },
        )
    })?;
    spec.check(hooks).map_err(|e| ApiError::bad("bad_rule", e))?;
    Ok(spec)
}

/// Runs a rule change off the async threads, then reloads the rules.
/// The change is recorded in the audit log as `action` by `who`.
async fn change(
    s: Arc<AppState>,
    who: Arc<crate::auth::Principal>,
    action: &'static str,
    f: impl FnOnce(&Store, &Engine) -> Result<Value, ApiError> + Send + 'static,
) -> Response {
    let e = engine(&s);
    let store = s.store.clone();
    super::blocking(move || {
        let v = f(&store, &e)?;
        e.reload_rules().map_err(ApiError::from_store)?;
        super::audit_change(&s, &who, action, &v);
        Ok(v)
    })
    .await
}

async fn create_rule(
    State(s): State<Arc<AppState>>,
    Caller(c): Caller,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let m = match body_object(body) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    change(s, c, "alert_rule.add", move |store, e| {
        let spec = parse_rule(m, &e.webhook_names())?;
        if store
            .docs(RULE_DOC, MAX_ALERT_RULES)
            .map_err(ApiError::from_store)?
            .len()
            >= MAX_ALERT_RULES
        {
            return Err(ApiError::bad(
                "too_many_rules",
                format!("{MAX_ALERT_RULES} alert rules exist already; delete some first"),
            ));
        }
        let id = store
            .insert_doc(RULE_DOC, &json!(spec).to_string(), now_unix())
            .map_err(ApiError::from_store)?;
        Ok(rule_json(id, &spec))
    })
    .await
}

async fn update_rule(
    State(s): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = match id_of(&id, "alert rule") {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    let m = match body_object(body) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    change(s, c, "alert_rule.change", move |store, e| {
        let (_, old) = store
            .docs(RULE_DOC, MAX_ALERT_RULES)
            .map_err(ApiError::from_store)?
            .into_iter()
            .find(|(i, _)| *i == id)
            .ok_or_else(|| ApiError::not_found(format!("no alert rule {id}")))?;
        let Ok(Value::Object(mut merged)) = serde_json::from_str::<Value>(&old) else {
            return Err(ApiError::not_found(format!("alert rule {id} is unreadable; delete it")));
        };
        merged.extend(m);
        let spec = parse_rule(merged, &e.webhook_names())?;
        store
            .put_doc(RULE_DOC, id, &json!(spec).to_string(), now_unix(), false)
            .map_err(ApiError::from_store)?;
        Ok(rule_json(id, &spec))
    })
    .await
}

async fn remove_rule(State(s): State<Arc<AppState>>, Caller(c): Caller, Path(id): Path<String>) -> Response {
    change(s, c, "alert_rule.delete", move |store, _| {
        let id = id_of(&id, "alert rule")?;
        if !store.delete_doc(RULE_DOC, id).map_err(ApiError::from_store)? {
            return Err(ApiError::not_found(format!("no alert rule {id}")));
        }
        Ok(json!({ "deleted": id.to_string() }))
    })
    .await
}

async fn alerts(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery, Caller(c): Caller) -> Response {
    let e = engine(&s);
    answer(s, &c, q, known("/api/v1/alerts"), move |store, p| {
        let state = p.get("state").unwrap_or("all");
        let n = limit(p, 200, 1_000)?;
        let mut out: Vec<Value> = e.alerts().iter().map(|a| json!(a)).collect();
        let have: std::collections::HashSet<i64> = out.iter().filter_map(|a| a["id"].as_i64()).collect();
        out.extend(
            stored(store, ALERT_DOC, 1_000)?
                .into_iter()
                .filter(|a| a["id"].as_i64().is_some_and(|i| !have.contains(&i))),
        );
        out.retain(|a| match state {
            "firing" | "active" => a["resolved"].is_null(),
            "resolved" => !a["resolved"].is_null(),
            _ => true,
        });
        if !matches!(state, "firing" | "active" | "resolved" | "all") {
            return Err(ApiError::bad(
                "bad_state",
                format!("state \"{state}\": use firing, resolved or all"),
            ));
        }
        out.sort_by(|a, b| {
            a["resolved"]
                .is_null()
                .cmp(&b["resolved"].is_null())
                .reverse()
                .then(b["started"].as_i64().cmp(&a["started"].as_i64()))
        });
        out.truncate(n);
        Ok(json!({ "alerts": out }))
    })
    .await
}

async fn ip_behaviour(
    State(s): State<Arc<AppState>>,
    Path(ip): Path<String>,
    RawQuery(q): RawQuery,
    Caller(c): Caller,
) -> Response {
    answer(s, &c, q, known("/api/v1/ips/{ip}/behaviour"), move |store, p| {
        let ip = parse_ip(&ip)?;
        let range = p.range()?;
        let filter = Filter::parse(&format!("host {ip}"))
            .map_err(|e| ApiError::bad(e.code(), e.to_string()))?
            .and(p.scope());
        let page = store
            .flows(&FlowQuery {
                range,
                filter,
                order: Order::TimeDesc,
                limit: flowlens_store::limits::MAX_QUERY_LIMIT,
                cursor: None,
            })
            .map_err(ApiError::from_store)?;
        let b = behaviour::classify(ip, &page.flows);
        let mut v = json!(b);
        v["ip"] = json!(ip.to_canonical().to_string());
        v["range"] = range_json(&range);
        Ok(v)
    })
    .await
}
