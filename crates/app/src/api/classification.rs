//! `/api/v1/classification-rules`: the rules that name networks. The
//! configuration file's rules are listed (read-only, ids `config-N`); rules
//! added here live in `meta.sqlite` and apply to new flows at once.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::Json;
use serde_json::{json, Map, Value};

use super::limits::MAX_RULE_BODY;
use super::openapi::{schema, P};
use super::{now_unix, ApiError, Doc, Route};
use crate::auth::{Access, Caller};
use crate::config::{ClassRule, Environment};
use crate::enrich::classify::{check_rule, Origin, Rule};
use crate::enrich::limits::MAX_RULES;
use crate::serve::http::AppState;

const BASE: &str = "/api/v1/classification-rules";

pub fn routes() -> Vec<Route> {
    let doc = Doc::plain;
    vec![
        Route {
            method: "get",
            path: BASE,
            access: Access::ReadAll,
            doc: doc(
                "Classification rules",
                "Every rule in force: the configuration file's (read-only, ids `config-N`) and those added here.",
                &[],
                schema::rules,
                None,
            ),
            handler: get(list),
        },
        Route {
            method: "post",
            path: BASE,
            access: Access::Write,
            doc: doc(
                "Add a classification rule",
                "A network and what it is (name, environment, datacenter, location, internal); applies to new \
                 flows at once. The most specific network wins, then the lower priority.",
                &[],
                schema::rule,
                Some(schema::rule_body),
            ),
            handler: post(create).layer(DefaultBodyLimit::max(MAX_RULE_BODY)),
        },
        Route {
            method: "patch",
            path: "/api/v1/classification-rules/{id}",
            access: Access::Write,
            doc: doc(
                "Change a classification rule",
                "The fields given replace the rule's (null clears one); applies to new flows at once.",
                &[P::RULE_ID],
                schema::rule,
                Some(schema::rule_patch),
            ),
            handler: patch(update).layer(DefaultBodyLimit::max(MAX_RULE_BODY)),
        },
        Route {
            method: "delete",
            path: "/api/v1/classification-rules/{id}",
            access: Access::Write,
            doc: doc(
                "Delete a classification rule",
                "Flows stored already keep the classification they got.",
                &[P::RULE_ID],
                schema::deleted,
                None,
            ),
            handler: delete(remove),
        },
        Route {
            method: "get",
            path: "/api/v1/classification-rules/classify/{ip}",
            access: Access::ReadAll,
            doc: doc(
                "Classify an address",
                "What the rules say of one address, and the rule that decides it.",
                &[P::IP],
                schema::classified,
                None,
            ),
            handler: get(classify),
        },
    ]
}

fn rule_json(r: &Rule) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

pub(super) fn fail(e: ApiError) -> Response {
    e.into_response()
}

async fn list(State(s): State<Arc<AppState>>) -> Response {
    let rules = s.sinks.enrich.classes.current();
    Json(json!({ "rules": rules.rules().iter().map(rule_json).collect::<Vec<_>>() })).into_response()
}

async fn classify(State(s): State<Arc<AppState>>, Path(ip): Path<String>) -> Response {
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return fail(ApiError::bad(
            "bad_ip",
            format!("\"{ip}\" is not an IPv4 or IPv6 address"),
        ));
    };
    let rules = s.sinks.enrich.classes.current();
    let rule = rules.rule_for(ip);
    Json(json!({
        "ip": ip.to_canonical().to_string(),
        "class": rule.map(|r| {
            let c = r.class();
            json!({ "name": c.name, "environment": c.env, "datacenter": c.datacenter,
                    "location": c.location, "internal": c.internal })
        }),
        "rule": rule.map(rule_json),
    }))
    .into_response()
}

/// The JSON body as an object, or a clear 400/413.
pub(super) fn body_object(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ApiError> {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "body_too_large",
                message: format!("a rule is at most {MAX_RULE_BODY} bytes of JSON"),
            })
        }
        Err(e) => return Err(ApiError::bad("bad_body", e.body_text())),
    };
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad("bad_body", "the body must be one JSON object".into())),
        Err(e) => Err(ApiError::bad("bad_body", format!("not JSON: {e}"))),
    }
}

/// Applies the fields of `m` to `r` (null clears); unknown fields are errors.
fn apply(r: &mut ClassRule, m: &Map<String, Value>) -> Result<(), ApiError> {
    let bad = |m: String| ApiError::bad("bad_rule", m);
    let text = |k: &str, v: &Value| -> Result<Option<String>, ApiError> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(bad(format!("{k} must be a string or null"))),
        }
    };
    for (k, v) in m {
        match k.as_str() {
            "cidr" => {
                let s = v
                    .as_str()
                    .ok_or_else(|| bad("cidr must be a network such as 10.0.0.0/8".into()))?;
                r.cidr = s.parse::<ipnet::IpNet>().map(|n| n.trunc()).map_err(|_| {
                    bad(format!(
                        "cidr \"{s}\" is not a network such as 10.0.0.0/8 or 2001:db8::/32"
                    ))
                })?;
            }
            "name" => r.name = text(k, v)?,
            "datacenter" => r.datacenter = text(k, v)?,
            "location" => r.location = text(k, v)?,
            "environment" => {
                r.environment =
                    match text(k, v)? {
                        None => None,
                        Some(e) => Some(Environment::parse(&e).ok_or_else(|| {
                            bad(format!("environment \"{e}\" is not one of prod, uat, qa, test, dev"))
                        })?),
                    }
            }
            "internal" => {
                r.internal = match v {
                    Value::Null => None,
                    Value::Bool(b) => Some(*b),
                    _ => return Err(bad("internal must be true, false or null".into())),
                }
            }
            "priority" => {
                r.priority = match v {
                    Value::Null => ClassRule::DEFAULT_PRIORITY,
                    v => v
                        .as_i64()
                        .ok_or_else(|| bad("priority must be a whole number, 0 to 1000000 (lower wins)".into()))?,
                }
            }
            "id" | "origin" => {}
            other => {
                return Err(bad(format!(
                    "unknown field \"{other}\": use cidr, name, environment, datacenter, location, internal, priority"
                )))
            }
        }
    }
    check_rule(r).map_err(bad)
}

/// Runs a change of the stored rules off the async threads, then rebuilds
/// the rules in force so the next flows use it; answers its JSON.
/// The change is recorded in the audit log as `action` by `who`.
async fn change(
    s: Arc<AppState>,
    who: Arc<crate::auth::Principal>,
    action: &'static str,
    f: impl FnOnce(&AppState) -> Result<Value, ApiError> + Send + 'static,
) -> Response {
    super::blocking(move || {
        let v = f(&s)?;
        s.sinks.enrich.classes.reload(&s.store).map_err(ApiError::from_store)?;
        super::audit_change(&s, &who, action, &v);
        Ok(v)
    })
    .await
}

async fn create(State(s): State<Arc<AppState>>, Caller(c): Caller, body: Result<Bytes, BytesRejection>) -> Response {
    let m = match body_object(body) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    if !m.contains_key("cidr") {
        return fail(ApiError::bad(
            "bad_rule",
            "a rule needs a cidr, e.g. \"10.20.0.0/16\"".into(),
        ));
    }
    let mut r = ClassRule {
        cidr: ipnet::IpNet::default(),
        name: None,
        environment: None,
        datacenter: None,
        location: None,
        internal: None,
        priority: ClassRule::DEFAULT_PRIORITY,
    };
    if let Err(e) = apply(&mut r, &m) {
        return fail(e);
    }
    change(s, c, "classification_rule.add", move |st| {
        if st.sinks.enrich.classes.current().rules().len() >= MAX_RULES {
            return Err(ApiError::bad(
                "too_many_rules",
                format!("{MAX_RULES} rules are in force already; delete some or merge networks"),
            ));
        }
        let rule = Rule::from_config(0, &r);
        let id = st
            .store
            .insert_rule(&rule.to_row(0, now_unix()))
            .map_err(ApiError::from_store)?;
        Ok(rule_json(&Rule {
            id: id.to_string(),
            origin: Origin::Api,
            ..rule
        }))
    })
    .await
}

/// A stored rule's id, or the answer for anything else.
fn stored_id(id: &str) -> Result<i64, ApiError> {
    if id.starts_with("config-") {
        return Err(ApiError {
            status: StatusCode::CONFLICT,
            code: "rule_in_config",
            message: format!("rule {id} comes from the configuration file (classification.rules): change it there"),
        });
    }
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found(format!("no classification rule {id}")))
}

async fn update(
    State(s): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = match stored_id(&id) {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    let m = match body_object(body) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    change(s, c, "classification_rule.change", move |st| {
        let rows = st.store.rules().map_err(ApiError::from_store)?;
        let row = rows
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| ApiError::not_found(format!("no classification rule {id}")))?;
        let old = Rule::from_row(row).ok_or_else(|| ApiError::not_found(format!("rule {id} is not valid")))?;
        let mut r = ClassRule {
            cidr: old.cidr,
            name: old.name.clone(),
            environment: old.environment.and_then(Environment::parse),
            datacenter: old.datacenter.clone(),
            location: old.location.clone(),
            internal: old.internal,
            priority: old.priority,
        };
        apply(&mut r, &m)?;
        let rule = Rule {
            id: id.to_string(),
            origin: Origin::Api,
            ..Rule::from_config(0, &r)
        };
        if !st
            .store
            .update_rule(&rule.to_row(id, now_unix()))
            .map_err(ApiError::from_store)?
        {
            return Err(ApiError::not_found(format!("no classification rule {id}")));
        }
        Ok(rule_json(&rule))
    })
    .await
}

async fn remove(State(s): State<Arc<AppState>>, Caller(c): Caller, Path(id): Path<String>) -> Response {
    let id = match stored_id(&id) {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    change(s, c, "classification_rule.delete", move |st| {
        if !st.store.delete_rule(id).map_err(ApiError::from_store)? {
            return Err(ApiError::not_found(format!("no classification rule {id}")));
        }
        Ok(json!({ "deleted": id.to_string() }))
    })
    .await
}
