//! Accounts over the API: who am I, my password and tokens; users and the
//! audit log for admins. Every change is written to the audit log by
//! [`crate::auth::manage`].

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use flowlens_store::accounts::{AuditQuery, TokenRow, UserRow};
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::{json, Value};

use super::openapi::{schema, Param, P};
use super::{blocking, parse_query, ApiError, Doc, Route};
use crate::auth::limits::MAX_AUDIT_PAGE;
use crate::auth::manage::{self, NewUser, Refusal, UserChange};
use crate::auth::{password, Access, Caller, Permission, Principal, Role, Scope, Via};
use crate::serve::http::AppState;

/// Largest body of an account change.
const MAX_BODY: usize = 64 * 1024;

const AUDIT_PARAMS: &[Param] = &[P::LIMIT, P::BEFORE, P::ACTOR, P::ACTION];

pub fn routes() -> Vec<Route> {
    let doc = Doc::plain;
    let r = |method, path, access, doc, handler| Route {
        method,
        path,
        access,
        doc,
        handler,
    };
    vec![
        r(
            "get",
            "/api/v1/me",
            Access::Account,
            doc(
                "Who am I",
                "The account asking: name, role, scope, and how it signed in.",
                &[],
                schema::me,
                None,
            ),
            get(me),
        ),
        r(
            "post",
            "/api/v1/me/password",
            Access::Account,
            doc(
                "Change my password",
                "With the current password; every other session of the account ends.",
                &[],
                schema::me,
                Some(schema::password_body),
            ),
            post(change_password).layer(DefaultBodyLimit::max(MAX_BODY)),
        ),
        r(
            "get",
            "/api/v1/tokens",
            Access::Account,
            doc(
                "API tokens",
                "The account's tokens (an admin's `all=true`: everyone's), never their secrets.",
                &[P::ALL],
                schema::tokens,
                None,
            ),
            get(tokens),
        ),
        r(
            "post",
            "/api/v1/tokens",
            Access::Account,
            doc(
                "Add an API token",
                "A bearer token with the account's role and scope, plus `ingest` (POST /ingest; analysts and \
                 admins) or `metrics` (the Prometheus scrape) if asked. The secret is in this answer only.",
                &[],
                schema::token_created,
                Some(schema::token_body),
            ),
            post(add_token).layer(DefaultBodyLimit::max(MAX_BODY)),
        ),
        r(
            "delete",
            "/api/v1/tokens/{id}",
            Access::Account,
            doc(
                "Revoke an API token",
                "Its next use is refused.",
                &[P::ID],
                schema::deleted,
                None,
            ),
            delete(revoke_token),
        ),
        r(
            "get",
            "/api/v1/users",
            Access::Admin,
            doc(
                "Users",
                "Every account with its role, scope, sessions and tokens.",
                &[],
                schema::users,
                None,
            ),
            get(users),
        ),
        r(
            "post",
            "/api/v1/users",
            Access::Admin,
            doc(
                "Add a user",
                "Name, role (viewer, analyst, admin), optional scope (exporters and/or networks) and password; \
                 without a password one is generated and returned once.",
                &[],
                schema::user_created,
                Some(schema::user_body),
            ),
            post(add_user).layer(DefaultBodyLimit::max(MAX_BODY)),
        ),
        r(
            "patch",
            "/api/v1/users/{id}",
            Access::Admin,
            doc(
                "Change a user",
                "Role, scope (`null` removes it) or password; a new password or a narrower role or scope ends \
                 the user's sessions.",
                &[P::ID],
                schema::user,
                Some(schema::user_patch),
            ),
            patch(change_user).layer(DefaultBodyLimit::max(MAX_BODY)),
        ),
        r(
            "delete",
            "/api/v1/users/{id}",
            Access::Admin,
            doc(
                "Delete a user",
                "With the user's sessions and tokens; never the last admin or yourself.",
                &[P::ID],
                schema::deleted,
                None,
            ),
            delete(delete_user),
        ),
        r(
            "get",
            "/api/v1/audit",
            Access::Admin,
            doc(
                "Audit log",
                "Sign-ins (and failures), user, token, rule and configuration changes: who, when, from where, \
                 what; newest first, `before` an id for the next page.",
                AUDIT_PARAMS,
                schema::audit,
                None,
            ),
            get(audit),
        ),
    ]
}

fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::Bad(m) => ApiError::bad("bad_account", m),
        Refusal::NotFound(m) => ApiError::not_found(m),
        Refusal::Conflict(m) => ApiError {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: m,
        },
        Refusal::Store(m) => {
            tracing::error!(error = %m, "the accounts database failed");
            ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "store_meta",
                message: "the accounts database failed; the server log has the reason".into(),
            }
        }
    }
}

fn user_json(u: &UserRow, sessions: i64, tokens: usize) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "role": u.role,
        "scope": Scope::load(&u.scope),
        "created": u.created_unix,
        "updated": u.updated_unix,
        "sessions": sessions,
        "tokens": tokens,
    })
}

fn token_json(t: &TokenRow) -> Value {
    json!({
        "id": t.id,
        "user": t.user_name,
        "name": t.name,
        "prefix": t.prefix,
        "permissions": t.permissions.split(',').filter(|p| !p.is_empty()).collect::<Vec<_>>(),
        "created": t.created_unix,
        "last_used": t.last_used_unix,
    })
}

/// A JSON object body, with the field named in an error.
fn parse<T: for<'de> Deserialize<'de>>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "body_too_large",
                message: format!("the body is over {MAX_BODY} bytes"),
            }
        } else {
            ApiError::bad("bad_body", e.body_text())
        }
    })?;
    let de = &mut serde_json::Deserializer::from_slice(&body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ApiError::bad(
            "bad_body",
            if path == "." {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            },
        )
    })
}

fn id_of(s: &str, what: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|&i| i > 0)
        .ok_or_else(|| ApiError::not_found(format!("no {what} {s}")))
}

fn fail(e: ApiError) -> Response {
    e.into_response()
}

async fn me(State(s): State<Arc<AppState>>, Caller(p): Caller) -> Response {
    Json(json!({
        "name": p.name,
        "role": p.role.as_str(),
        "scope": p.scope,
        "via": match &p.via {
            Via::Session { .. } => "session",
            Via::Token { .. } => "token",
            Via::Proxy => "proxy",
            Via::Open => "open",
            Via::Allowed => "address",
        },
        "auth_enabled": s.auth.enabled,
    }))
    .into_response()
}

use axum::Json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current: String,
    new: String,
}

async fn change_password(
    State(s): State<Arc<AppState>>,
    Caller(p): Caller,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let https = s.auth.origin_of(&headers, p.source).starts_with("https:");
    let b: PasswordBody = match parse(body) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let Some(uid) = p.user_id.filter(|_| !matches!(p.via, Via::Proxy)) else {
        return fail(ApiError::bad(
            "no_account",
            "this sign-in has no local password (auth off, or a proxy signs in)".into(),
        ));
    };
    let now = crate::api::now_unix();
    if let Err(r) = s.auth.throttle.check(&p.name, p.source, now as u64) {
        return fail(ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "throttled",
            message: format!("too many wrong passwords; try again in {} s", r.retry_after.as_secs()),
        });
    }
    let Ok(_permit) = s.auth.hashing.acquire().await else {
        return fail(ApiError::bad("stopping", "the service is stopping".into()));
    };
    let st = s.clone();
    let who = p.clone();
    let r = tokio::task::spawn_blocking(move || -> Result<Option<String>, ApiError> {
        let a = &st.auth.accounts;
        let u = a
            .user(uid)
            .map_err(|e| refusal(e.into()))?
            .ok_or_else(|| ApiError::not_found("the account is gone".into()))?;
        if !password::verify(&u.password_hash, &b.current) {
            st.auth.throttle.failed(&who.name, who.source, now as u64);
            manage::audit(
                a,
                &who.by(),
                "password.change",
                &who.name,
                "failed",
                "wrong current password",
            );
            return Err(ApiError {
                status: StatusCode::FORBIDDEN,
                code: "wrong_password",
                message: "current: not the account's password".into(),
            });
        }
        manage::change_user(
            a,
            uid,
            UserChange {
                password: Some(b.new),
                ..UserChange::default()
            },
            &who.by(),
        )
        .map_err(refusal)?;
        // This browser stays signed in with a fresh session.
        match &who.via {
            Via::Session { .. } => Ok(Some(
                st.auth
                    .start_session(&u, who.source, now)
                    .map_err(|e| refusal(e.into()))?,
            )),
            _ => Ok(None),
        }
    })
    .await
    .unwrap_or_else(|_| Err(refusal(Refusal::Store("task failed".into()))));
    match r {
        Ok(session) => {
            let mut resp = Json(json!({
                "name": p.name,
                "role": p.role.as_str(),
                "scope": p.scope,
                "via": if session.is_some() { "session" } else { "token" },
                "auth_enabled": s.auth.enabled,
            }))
            .into_response();
            if let Some(id) = session {
                if let Ok(v) = HeaderValue::from_str(&s.auth.session_cookie(&id, https)) {
                    resp.headers_mut().insert(header::SET_COOKIE, v);
                }
            }
            resp
        }
        Err(e) => fail(e),
    }
}

async fn tokens(State(s): State<Arc<AppState>>, Caller(p): Caller, RawQuery(q): RawQuery) -> Response {
    let params = match parse_query(q, crate::serve::now()).and_then(|x| x.only(&["all"]).map(|()| x)) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let all = match params.flag("all") {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    if all && !crate::auth::Access::Admin.allows(&p) {
        return fail(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: "all=true lists everyone's tokens: admins only".into(),
        });
    }
    let owner = if all { None } else { p.user_id.or(Some(-1)) };
    blocking(move || {
        let t = s.auth.accounts.tokens(owner).map_err(|e| refusal(e.into()))?;
        Ok(json!({ "tokens": t.iter().map(token_json).collect::<Vec<_>>() }))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    name: String,
    #[serde(default)]
    permissions: Vec<Permission>,
}

fn own_account(s: &AppState, p: &Principal) -> Result<UserRow, ApiError> {
    let id = p
        .user_id
        .filter(|_| !matches!(p.via, Via::Proxy | Via::Open))
        .ok_or_else(|| {
            ApiError::bad(
            "no_account",
            "tokens belong to local accounts; with auth off or behind a proxy, add a user with `flowlens user add` \
             first"
                .into(),
        )
        })?;
    s.auth
        .accounts
        .user(id)
        .map_err(|e| refusal(e.into()))?
        .ok_or_else(|| ApiError::not_found("the account is gone".into()))
}

async fn add_token(State(s): State<Arc<AppState>>, Caller(p): Caller, body: Result<Bytes, BytesRejection>) -> Response {
    let b: TokenBody = match parse(body) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    blocking(move || {
        let u = own_account(&s, &p)?;
        let (row, secret) =
            manage::add_token(&s.auth.accounts, &u, &b.name, &b.permissions, &p.by()).map_err(refusal)?;
        let mut v = token_json(&row);
        v["token"] = json!(secret);
        Ok(v)
    })
    .await
}

async fn revoke_token(State(s): State<Arc<AppState>>, Caller(p): Caller, Path(id): Path<String>) -> Response {
    let id = match id_of(&id, "token") {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    blocking(move || {
        // Admins revoke anyone's; others their own.
        let owner = if Access::Admin.allows(&p) {
            None
        } else {
            Some(p.user_id.unwrap_or(-1))
        };
        manage::revoke_token(&s.auth.accounts, id, owner, &p.by()).map_err(refusal)?;
        Ok(json!({ "deleted": id.to_string() }))
    })
    .await
}

async fn users(State(s): State<Arc<AppState>>) -> Response {
    blocking(move || {
        let a = &s.auth.accounts;
        let err = |e: flowlens_store::StoreError| refusal(e.into());
        let users = a.users().map_err(err)?;
        let sessions: std::collections::HashMap<i64, i64> = a.session_counts().map_err(err)?.into_iter().collect();
        let mut tokens = std::collections::HashMap::<i64, usize>::new();
        for t in a.tokens(None).map_err(err)? {
            *tokens.entry(t.user_id).or_default() += 1;
        }
        Ok(json!({
            "users": users
                .iter()
                .map(|u| user_json(u, sessions.get(&u.id).copied().unwrap_or(0), tokens.get(&u.id).copied().unwrap_or(0)))
                .collect::<Vec<_>>(),
        }))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeBody {
    #[serde(default)]
    exporters: Vec<IpAddr>,
    #[serde(default)]
    networks: Vec<IpNet>,
}

impl From<ScopeBody> for Scope {
    fn from(b: ScopeBody) -> Scope {
        Scope {
            exporters: b.exporters,
            networks: b.networks,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserBody {
    name: String,
    role: Role,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    scope: Option<ScopeBody>,
}

async fn add_user(State(s): State<Arc<AppState>>, Caller(p): Caller, body: Result<Bytes, BytesRejection>) -> Response {
    let b: UserBody = match parse(body) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let auth = s.auth.clone();
    let Ok(_permit) = auth.hashing.acquire().await else {
        return fail(ApiError::bad("stopping", "the service is stopping".into()));
    };
    blocking(move || {
        let (u, generated) = manage::add_user(
            &s.auth.accounts,
            NewUser {
                name: b.name,
                role: b.role,
                password: b.password,
                scope: b.scope.map(Scope::from),
            },
            &p.by(),
        )
        .map_err(refusal)?;
        let mut v = user_json(&u, 0, 0);
        v["password"] = json!(generated);
        Ok(v)
    })
    .await
}

/// `scope: null` removes the scope; absent keeps it.
fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<ScopeBody>>, D::Error> {
    Option::<ScopeBody>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default, deserialize_with = "double_option")]
    scope: Option<Option<ScopeBody>>,
    #[serde(default)]
    password: Option<String>,
}

async fn change_user(
    State(s): State<Arc<AppState>>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = match id_of(&id, "user") {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    let b: UserPatch = match parse(body) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let auth = s.auth.clone();
    let Ok(_permit) = auth.hashing.acquire().await else {
        return fail(ApiError::bad("stopping", "the service is stopping".into()));
    };
    blocking(move || {
        let a = &s.auth.accounts;
        let u = manage::change_user(
            a,
            id,
            UserChange {
                role: b.role,
                scope: b.scope.map(|o| o.map(Scope::from)),
                password: b.password,
            },
            &p.by(),
        )
        .map_err(refusal)?;
        let sessions = a
            .session_counts()
            .map_err(|e| refusal(e.into()))?
            .into_iter()
            .find(|(i, _)| *i == id)
            .map_or(0, |(_, n)| n);
        let tokens = a.tokens(Some(id)).map_err(|e| refusal(e.into()))?.len();
        Ok(user_json(&u, sessions, tokens))
    })
    .await
}

async fn delete_user(State(s): State<Arc<AppState>>, Caller(p): Caller, Path(id): Path<String>) -> Response {
    let id = match id_of(&id, "user") {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    blocking(move || {
        manage::delete_user(&s.auth.accounts, id, &p.by(), p.user_id).map_err(refusal)?;
        Ok(json!({ "deleted": id.to_string() }))
    })
    .await
}

async fn audit(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let params = match parse_query(q, crate::serve::now())
        .and_then(|x| x.only(&["limit", "before", "actor", "action"]).map(|()| x))
    {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let query = (|| -> Result<AuditQuery, ApiError> {
        Ok(AuditQuery {
            before: match params.get("before") {
                Some(_) => Some(params.number("before", 1, 1, i64::MAX as u64)? as i64),
                None => None,
            },
            limit: params.number("limit", 100, 1, MAX_AUDIT_PAGE as u64)? as usize,
            actor: params.get("actor").map(str::to_string),
            action: params.get("action").map(str::to_string),
        })
    })();
    let query = match query {
        Ok(q) => q,
        Err(e) => return fail(e),
    };
    blocking(move || {
        let rows = s.auth.accounts.audit_log(&query).map_err(|e| refusal(e.into()))?;
        let next = if rows.len() == query.limit {
            rows.last().map(|r| r.id)
        } else {
            None
        };
        Ok(json!({
            "entries": rows.iter().map(|r| json!({
                "id": r.id,
                "at": r.at_unix,
                "actor": r.actor,
                "source": r.source,
                "action": r.action,
                "target": r.target,
                "outcome": r.outcome,
                "detail": r.detail,
            })).collect::<Vec<_>>(),
            "next": next,
        }))
    })
    .await
}
