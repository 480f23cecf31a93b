//! Accounts over the API: who am I, my password and tokens; users and the
//! audit log for admins. Every change is written to the audit log by
//! [`crate::auth::manage`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::Json;
use flowlens_store::accounts::{TokenRow, UserRow};
use serde::Deserialize;
use serde_json::{json, Value};

use super::openapi::{schema, Param, P};
use super::{blocking, parse_query, ApiError, Doc, Route};
use crate::auth::manage::{self, Refusal, UserChange};
use crate::auth::{password, Access, Caller, Permission, Principal, Scope, Via};
use crate::serve::http::AppState;

/// Largest body of an account change.
pub(super) const MAX_BODY: usize = 64 * 1024;

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
            get(super::users::users),
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
            post(super::users::add_user).layer(DefaultBodyLimit::max(MAX_BODY)),
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
            patch(super::users::change_user).layer(DefaultBodyLimit::max(MAX_BODY)),
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
            delete(super::users::delete_user),
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
            get(super::users::audit),
        ),
    ]
}

pub(super) fn refusal(r: Refusal) -> ApiError {
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

pub(super) fn user_json(u: &UserRow, sessions: i64, tokens: usize) -> Value {
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
pub(super) fn parse<T: for<'de> Deserialize<'de>>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
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

pub(super) fn id_of(s: &str, what: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|&i| i > 0)
        .ok_or_else(|| ApiError::not_found(format!("no {what} {s}")))
}

pub(super) fn fail(e: ApiError) -> Response {
    e.into_response()
}

/// Who is asking, as `/api/v1/me` shows it.
fn me_json(p: &Principal, auth_enabled: bool) -> Value {
    json!({
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
        "auth_enabled": auth_enabled,
    })
}

async fn me(State(s): State<Arc<AppState>>, Caller(p): Caller) -> Response {
    Json(me_json(&p, s.auth.enabled)).into_response()
}

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
            let mut resp = Json(me_json(&p, s.auth.enabled)).into_response();
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
