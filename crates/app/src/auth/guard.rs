//! The check in front of every route: who is asking ([`Auth::identify`]),
//! may they ([`Access::allows`]), CSRF and Origin on changes made with a
//! cookie, and the principal handed to the handler ([`Caller`],
//! [`current`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use flowlens_store::accounts::UserRow;

use super::limits::{MAX_USER_NAME, SESSION_TOUCH_EVERY};
use super::{secret, Access, Auth, Permission, Principal, Role, Scope, Via, CSRF_HEADER};

impl Auth {
    /// Finds who is asking. `Ok(None)`: nobody (no or unknown
    /// credentials); `Err`: a refusal with its answer.
    fn identify(&self, headers: &HeaderMap, source: IpAddr, now: i64) -> Result<Option<Principal>, Denied> {
        if !self.enabled {
            if let Some(h) = &self.proxy_header {
                let Some(name) = headers.get(h).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()) else {
                    return Ok(None);
                };
                if !self.trusted_proxies.iter().any(|n| n.contains(&source)) {
                    return Err(Denied::Forbidden(format!(
                        "{h} is only believed from auth.trusted_proxies; {source} is not one of them"
                    )));
                }
                let local = self.accounts.user_by_name(name).map_err(Denied::store)?;
                return Ok(Some(Principal {
                    name: name.chars().take(MAX_USER_NAME).collect(),
                    user_id: local.as_ref().map(|u| u.id),
                    role: local
                        .as_ref()
                        .and_then(|u| Role::parse(&u.role).ok())
                        .unwrap_or(self.proxy_role),
                    scope: local.as_ref().and_then(|u| Scope::load(&u.scope)),
                    via: Via::Proxy,
                    source,
                }));
            }
            return Ok(Some(Principal {
                name: "anonymous".into(),
                user_id: None,
                role: Role::Admin,
                scope: None,
                via: Via::Open,
                source,
            }));
        }
        if let Some(v) = headers.get(header::AUTHORIZATION) {
            let v = v.to_str().unwrap_or("");
            let Some(token) = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")) else {
                return Err(Denied::Unauthorized(
                    "the Authorization header must be `Bearer <token>`".into(),
                ));
            };
            let Some((t, u)) = self
                .accounts
                .token(&secret::digest(token.trim()))
                .map_err(Denied::store)?
            else {
                return Err(Denied::Unauthorized("unknown or revoked token".into()));
            };
            if t.last_used_unix
                .is_none_or(|l| now - l >= SESSION_TOUCH_EVERY.as_secs() as i64)
            {
                let _ = self.accounts.touch_token(t.id, now);
            }
            let permissions = t
                .permissions
                .split(',')
                .filter_map(|p| match p {
                    "ingest" => Some(Permission::Ingest),
                    "metrics" => Some(Permission::Metrics),
                    _ => None,
                })
                .collect();
            return Ok(Some(principal_of(&u, Via::Token { id: t.id, permissions }, source)));
        }
        let Some(id) = cookie(headers, self.cookie_name()) else {
            return Ok(None);
        };
        let digest = secret::digest(id);
        let Some(s) = self.accounts.session(&digest).map_err(Denied::store)? else {
            return Ok(None);
        };
        if now - s.created_unix >= self.max_age as i64 || now - s.last_unix >= self.idle as i64 {
            let _ = self.accounts.delete_session(&digest);
            return Ok(None);
        }
        if now - s.last_unix >= SESSION_TOUCH_EVERY.as_secs() as i64 {
            let _ = self.accounts.touch_session(&digest, now);
        }
        Ok(Some(principal_of(
            &s.user,
            Via::Session { digest, csrf: s.csrf },
            source,
        )))
    }
}

fn principal_of(u: &UserRow, via: Via, source: IpAddr) -> Principal {
    Principal {
        name: u.name.clone(),
        user_id: Some(u.id),
        // A role this version does not know grants the least.
        role: Role::parse(&u.role).unwrap_or(Role::Viewer),
        scope: Scope::load(&u.scope),
        via,
        source,
    }
}

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

enum Denied {
    Unauthorized(String),
    Forbidden(String),
    Unavailable,
}

impl Denied {
    fn store(e: flowlens_store::StoreError) -> Denied {
        tracing::error!(error = %e, "the accounts database could not be read");
        Denied::Unavailable
    }
}

/// The peer's address (the router is served with connect info; a request
/// without it — tests — counts as from nowhere in particular).
pub fn peer(req_ext: &axum::http::Extensions) -> IpAddr {
    req_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

impl Auth {
    /// The origin the browser addressed: this listener's scheme and the
    /// `Host`, or what a proxy in `auth.trusted_proxies` says it was
    /// (`X-Forwarded-Proto`, `X-Forwarded-Host`) when it terminates TLS.
    pub fn origin_of(&self, headers: &HeaderMap, peer: IpAddr) -> String {
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or("").trim())
        };
        let proxied = self.trusted_proxies.iter().any(|n| n.contains(&peer));
        let scheme = match h("x-forwarded-proto").filter(|_| proxied) {
            Some(p) if p.eq_ignore_ascii_case("https") => "https",
            Some(p) if p.eq_ignore_ascii_case("http") => "http",
            _ if self.tls => "https",
            _ => "http",
        };
        let host = h("x-forwarded-host")
            .filter(|_| proxied)
            .or_else(|| h("host"))
            .unwrap_or("");
        format!("{scheme}://{host}")
    }

    /// Whether the request's `Origin` (when a browser sent one) is this
    /// service's own ([`Auth::origin_of`]).
    pub fn same_origin(&self, headers: &HeaderMap, peer: IpAddr) -> Option<bool> {
        let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
        Some(origin == self.origin_of(headers, peer))
    }
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/ingest" || path == "/logout"
}

/// The middleware in front of every route (see the module's text).
pub async fn authorize(
    State((auth, access, metrics_path)): State<(Arc<Auth>, Access, &'static str)>,
    mut req: Request,
    next: Next,
) -> Response {
    if access == Access::Public {
        return next.run(req).await;
    }
    let source = peer(req.extensions());
    let path = req.uri().path().to_string();
    let api = is_api(&path) || path == metrics_path;
    let now = crate::api::now_unix();
    let a = auth.clone();
    let headers = req.headers().clone();
    // A flood of requests waits here for a lookup slot rather than
    // growing the blocking pool.
    let Ok(slot) = auth.lookups.clone().acquire_owned().await else {
        return denied(Denied::Unavailable, api, &req);
    };
    let found = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        a.identify(&headers, source, now)
    })
    .await
    .unwrap_or(Err(Denied::Unavailable));
    let mut who = match found {
        Ok(p) => p,
        Err(d) => return denied(d, api, &req),
    };
    if who.is_none() && access == Access::Metrics && auth.metrics_allow.iter().any(|n| n.contains(&source)) {
        who = Some(Principal {
            name: format!("scraper {source}"),
            user_id: None,
            role: Role::Viewer,
            scope: None,
            via: Via::Allowed,
            source,
        });
    }
    let Some(who) = who else {
        let why = match access {
            Access::Ingest => "POST /ingest needs `Authorization: Bearer <token>` with the ingest permission",
            Access::Metrics => {
                "the metrics need a token with the metrics permission, or the scraper's address in metrics.allow"
            }
            _ => "sign in, or send `Authorization: Bearer <token>`",
        };
        return denied(Denied::Unauthorized(why.into()), api, &req);
    };
    if !access.allows(&who) {
        let why = match access {
            Access::Ingest => "this token lacks the ingest permission".to_string(),
            Access::Metrics => "this token lacks the metrics permission".to_string(),
            _ if who.scope.is_some() && access != Access::Admin && access != Access::Write => {
                "your account is limited to some exporters or networks, and this view covers all of them".into()
            }
            _ => format!("the {} role may not do this", who.role.as_str()),
        };
        return denied(Denied::Forbidden(why), api, &req);
    }
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let Via::Session { csrf, .. } = &who.via {
        let origin = auth.same_origin(req.headers(), source);
        if unsafe_method {
            let sent = req
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if origin == Some(false) || !secret::same(sent, csrf) {
                auth.audit(
                    &who.actor(),
                    &source.to_string(),
                    "csrf.rejected",
                    &format!("{} {path}", req.method()),
                    "denied",
                    if origin == Some(false) {
                        "cross-origin request"
                    } else {
                        "missing or wrong CSRF token"
                    },
                );
                return denied(
                    Denied::Forbidden(
                        "cross-site request refused: the CSRF token is missing or wrong (reload the page)".into(),
                    ),
                    true,
                    &req,
                );
            }
        }
        let upgrade = req
            .headers()
            .get(header::UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
        if upgrade && origin != Some(true) {
            return denied(
                Denied::Forbidden("a WebSocket opened with a session cookie must come from this origin".into()),
                true,
                &req,
            );
        }
    }
    req.extensions_mut().insert(Arc::new(who.clone()));
    CURRENT.scope(Arc::new(who), next.run(req)).await
}

tokio::task_local! {
    /// The principal of the request being handled (for the page frame).
    static CURRENT: Arc<Principal>;
}

/// The principal of the request this task is handling, if any.
pub fn current() -> Option<Arc<Principal>> {
    CURRENT.try_with(Arc::clone).ok()
}

fn denied(d: Denied, api: bool, req: &Request) -> Response {
    let (status, code, message) = match d {
        Denied::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthenticated", m),
        Denied::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m),
        Denied::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "accounts_unavailable",
            "the accounts database cannot be read; the server log has the reason".into(),
        ),
    };
    if !api && status == StatusCode::UNAUTHORIZED {
        let next = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        return Redirect::to(&format!("/login?{q}")).into_response();
    }
    if !api {
        return crate::console::denied_page(status, &message);
    }
    let mut r = crate::serve::http::error(status, code, &message);
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"flowlens\""),
        );
    }
    r
}

/// The principal the middleware found (a handler behind [`authorize`]).
pub struct Caller(pub Arc<Principal>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Caller, Response> {
        parts
            .extensions
            .get::<Arc<Principal>>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| {
                tracing::error!(path = %parts.uri.path(), "a route without the access check");
                crate::serve::http::error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "no principal")
            })
    }
}
