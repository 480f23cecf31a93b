//! Users and the audit log over the API (admins): list, add, change,
//! delete, and the log's pages. The routes are declared with the rest of
//! the account routes in [`super::accounts`].

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use flowlens_store::accounts::AuditQuery;
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::json;

use super::accounts::{fail, id_of, parse, refusal, user_json};
use super::{blocking, parse_query, ApiError};
use crate::auth::limits::MAX_AUDIT_PAGE;
use crate::auth::manage::{self, NewUser, UserChange};
use crate::auth::{Caller, Role, Scope};
use crate::serve::http::AppState;

pub async fn users(State(s): State<Arc<AppState>>) -> Response {
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

pub async fn add_user(
    State(s): State<Arc<AppState>>,
    Caller(p): Caller,
    body: Result<Bytes, BytesRejection>,
) -> Response {
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

pub async fn change_user(
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

pub async fn delete_user(State(s): State<Arc<AppState>>, Caller(p): Caller, Path(id): Path<String>) -> Response {
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

pub async fn audit(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
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
