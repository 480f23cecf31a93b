//! Sign-in and sign-out. `POST /login` takes a plain form (no script
//! needed), checks the throttle before it hashes anything, and answers
//! every failure with the same words; `POST /logout` ends the session on
//! the server.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde_json::json;

use super::html_page;
use super::layout::bare;
use crate::auth::limits::MAX_LOGIN_BODY;
use crate::auth::{password, peer, Caller, Via};
use crate::serve::http::AppState;

/// Where to go after signing in: a path on this site only. Browsers drop
/// tabs and newlines from URLs and read `\` as `/`, so `/\t/evil` or
/// `/\evil` would leave the site: anything but plain printable ASCII goes
/// to the dashboard.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() < 2_048
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n.into()
        }
        _ => "/".into(),
    }
}

fn form_page(status: StatusCode, next: &str, user: &str, error: Option<&str>) -> Response {
    let body: Markup = html! {
        section.card.login {
            h1 { "Sign in" }
            @if let Some(e) = error {
                p.error #login-error role="alert" { (e) }
            }
            form method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                label {
                    span.lbl { "User" }
                    input #user name="user" autocomplete="username" required autofocus[user.is_empty()] value=(user);
                }
                label {
                    span.lbl { "Password" }
                    input #password name="password" type="password" autocomplete="current-password" required autofocus[!user.is_empty()];
                }
                button.primary #sign-in type="submit" { "Sign in" }
            }
            p.hint { "No account? An administrator adds one with " code { "flowlens user add" } " or on the Users page." }
        }
    };
    html_page(status, bare("Sign in", body))
}

pub async fn form(State(s): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    if !s.auth.enabled {
        return Redirect::to("/").into_response();
    }
    let next = form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned());
    form_page(StatusCode::OK, &safe_next(next.as_deref()), "", None)
}

pub async fn submit(State(s): State<Arc<AppState>>, req: Request) -> Response {
    let source: IpAddr = peer(req.extensions());
    let headers = req.headers().clone();
    let Ok(body) = to_bytes(req.into_body(), MAX_LOGIN_BODY).await else {
        return form_page(StatusCode::PAYLOAD_TOO_LARGE, "/", "", Some("The form is too large."));
    };
    let mut user = String::new();
    let mut pass = String::new();
    let mut next = None;
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "user" => user = v.trim().chars().take(crate::auth::limits::MAX_USER_NAME).collect(),
            "password" => pass = v.into_owned(),
            "next" => next = Some(v.into_owned()),
            _ => {}
        }
    }
    let next = safe_next(next.as_deref());
    if !s.auth.enabled {
        return Redirect::to(&next).into_response();
    }
    if s.auth.same_origin(&headers, source) == Some(false) {
        s.auth.audit(
            "-",
            &source.to_string(),
            "login",
            &user,
            "denied",
            "cross-origin sign-in form",
        );
        return form_page(
            StatusCode::FORBIDDEN,
            &next,
            "",
            Some("Sign in from this site's own page."),
        );
    }
    let now = crate::api::now_unix();
    if let Err(r) = s.auth.throttle.check(&user, source, now as u64) {
        let mins = r.retry_after.as_secs().div_ceil(60);
        s.auth
            .audit(&user, &source.to_string(), "login", &user, "denied", "throttled");
        let mut resp = form_page(
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &user,
            Some(&format!(
                "Too many failed sign-ins. Try again in {mins} minute{}.",
                if mins == 1 { "" } else { "s" }
            )),
        );
        if let Ok(v) = HeaderValue::from_str(&r.retry_after.as_secs().to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return resp;
    }
    let Ok(_permit) = s.auth.hashing.acquire().await else {
        return form_page(
            StatusCode::SERVICE_UNAVAILABLE,
            &next,
            &user,
            Some("The service is stopping."),
        );
    };
    let auth = s.auth.clone();
    let name = user.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let u = auth.accounts.user_by_name(&name)?;
        match u {
            Some(u) if password::verify(&u.password_hash, &pass) => {
                if password::needs_rehash(&u.password_hash) {
                    let mut v = u.clone();
                    v.password_hash = password::hash(&pass);
                    let _ = auth.accounts.update_user(&v, false);
                }
                Ok(Some(u))
            }
            Some(_) => Ok(None),
            None => {
                password::verify_nothing(&pass);
                Ok(None)
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err(flowlens_store::StoreError::Meta("task failed".into())));
    let src = source.to_string();
    match checked {
        Ok(Some(u)) => {
            s.auth.throttle.succeeded(&user);
            let id = match s.auth.start_session(&u, source, now) {
                Ok(id) => id,
                Err(e) => {
                    tracing::error!(error = %e, "a session could not be stored");
                    return form_page(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &next,
                        &user,
                        Some("Signing in failed on the server; the log has the reason."),
                    );
                }
            };
            s.auth.audit(&u.name, &src, "login", &u.name, "ok", "");
            let mut r = Redirect::to(&next).into_response();
            let https = s.auth.origin_of(&headers, source).starts_with("https:");
            if let Ok(v) = HeaderValue::from_str(&s.auth.session_cookie(&id, https)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Ok(None) => {
            s.auth.throttle.failed(&user, source, now as u64);
            s.auth
                .audit(&user, &src, "login", &user, "failed", "wrong user name or password");
            form_page(
                StatusCode::UNAUTHORIZED,
                &next,
                &user,
                Some("Wrong user name or password."),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "the accounts database could not be read");
            form_page(
                StatusCode::SERVICE_UNAVAILABLE,
                &next,
                &user,
                Some("Signing in failed on the server; the log has the reason."),
            )
        }
    }
}

pub async fn logout(State(s): State<Arc<AppState>>, Caller(p): Caller) -> Response {
    if let Via::Session { digest, .. } = &p.via {
        let _ = s.auth.accounts.delete_session(digest);
        s.auth
            .audit(&p.actor(), &p.source.to_string(), "logout", &p.name, "ok", "");
    }
    let mut r = (StatusCode::OK, axum::Json(json!({ "signed_out": true }))).into_response();
    if let Ok(v) = HeaderValue::from_str(&s.auth.clear_cookie()) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_of_this_site_are_followed() {
        assert_eq!(
            safe_next(Some("/flows?since=1h&filter=proto%20tcp")),
            "/flows?since=1h&filter=proto%20tcp"
        );
        for bad in [
            "//evil.test/",
            "/\\evil.test",
            "/\t/evil.test",
            "https://evil.test/",
            "/\n/x",
            "/ /x",
            "evil",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
