//! The account pages: your own account (password, API tokens), and for
//! admins the users and the audit log. The server renders the frame and
//! the forms; the page scripts talk to `/api/v1/me`, `/tokens`, `/users`
//! and `/audit`.

use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::layout::{heading, page, Frame};
use super::{html_page, view};
use crate::auth::{current, Via};

fn frame<'a>(nav: &'a str, title: &'a str, script: &'a str) -> Frame<'a> {
    Frame {
        nav,
        title,
        script: Some(script),
        charts: false,
    }
}

pub async fn account() -> Response {
    let who = current();
    let local = who
        .as_ref()
        .is_some_and(|p| p.user_id.is_some() && !matches!(p.via, Via::Proxy | Via::Open));
    let body = html! {
        (heading("Account", Some("Who you are signed in as, your password, and API tokens for scripts and scrapers.")))
        div.grid {
            section.card {
                h2 { "You" }
                div.body #me { div.loading { "Loading…" } }
            }
            @if local {
                section.card {
                    h2 { "Change password" }
                    form.body.stack #password-form {
                        label { span.lbl { "Current password" } input name="current" type="password" autocomplete="current-password" required; }
                        label { span.lbl { "New password" } input name="new" type="password" autocomplete="new-password" required minlength="10"; }
                        div.actions { button.primary type="submit" { "Change password" } span.note #password-note {} }
                    }
                }
            }
        }
        @if local {
            section.card.wide {
                div.card-head { h2 { "API tokens" } }
                p.sub { "A token acts as you (your role and scope) with " code { "Authorization: Bearer flt_…" } ". Its secret is shown once; FlowLens keeps only a digest." }
                div.body #token-list { div.loading { "Loading…" } }
                form.body.inline-form #token-form {
                    label { span.lbl { "Name" } input name="name" required maxlength="64" placeholder="grafana, nightly export…"; }
                    label.check { input type="checkbox" name="permissions" value="ingest"; "ingest (POST /ingest)" }
                    label.check { input type="checkbox" name="permissions" value="metrics"; "metrics (Prometheus)" }
                    button.primary type="submit" { "Create token" }
                }
                div.body #token-secret hidden {}
            }
        } @else {
            section.card.wide {
                p.body { "This sign-in has no local account (auth is off, or a reverse proxy signs you in): passwords and tokens belong to accounts made with " code { "flowlens user add" } "." }
            }
        }
    };
    html_page(StatusCode::OK, page(&frame("/account", "Account", "account.js"), body))
}

pub async fn users() -> Response {
    let body = html! {
        (heading("Users", Some("Accounts, their roles and scopes. Viewers read; analysts also manage alert and classification rules; admins also manage users and read the audit log. A scope limits an account to some exporters and/or networks everywhere.")))
        section.card.wide {
            div.body #user-list { div.loading { "Loading…" } }
        }
        section.card.wide {
            div.card-head { h2 #user-form-title { "New user" } }
            form.body.rule-form #user-form {
                input type="hidden" name="id" value="";
                label { span.lbl { "Name" } input name="name" required maxlength="64" pattern="[A-Za-z0-9._@-]+" title="letters, digits, . _ - @"; }
                label { span.lbl { "Role" }
                    select name="role" { option value="viewer" { "viewer" } option value="analyst" { "analyst" } option value="admin" { "admin" } }
                }
                label { span.lbl { "Password" } input name="password" type="password" autocomplete="new-password" minlength="10" placeholder="empty: generate one"; }
                label.wide { span.lbl { "Scope: exporters" } input name="exporters" placeholder="192.0.2.1 192.0.2.2 (empty: all)"; }
                label.wide { span.lbl { "Scope: networks" } input name="networks" placeholder="10.1.0.0/16 2001:db8::/48 (empty: all)"; }
                div.wide.actions {
                    button.primary type="submit" #user-save { "Add user" }
                    button type="button" #user-cancel hidden { "Cancel" }
                    span.note #user-note {}
                }
            }
        }
    };
    html_page(StatusCode::OK, page(&frame("/users", "Users", "users.js"), body))
}

pub async fn audit(q: RawQuery) -> Response {
    let v = view(q);
    let action = v.get("action").unwrap_or("").to_string();
    let actor = v.get("actor").unwrap_or("").to_string();
    let body = html! {
        (heading("Audit log", Some("Sign-ins and failed sign-ins, user and token changes, rule changes, refused cross-site requests: who, when, from where, what.")))
        form.controls #audit-controls role="search" {
            label { span.lbl { "Action" }
                select #action name="action" {
                    @for (value, label) in [("", "Any"), ("login", "Sign-ins"), ("logout", "Sign-outs"), ("user.", "Users"), ("token.", "Tokens"), ("password.", "Passwords"), ("alert_rule.", "Alert rules"), ("classification_rule.", "Classification rules"), ("csrf.", "Refused requests")] {
                        option value=(value) selected[action == value] { (label) }
                    }
                }
            }
            label { span.lbl { "Actor" } input #actor name="actor" value=(actor) placeholder="user name"; }
            button type="submit" { "Show" }
        }
        section.card.wide {
            div.body #audit-list { div.loading { "Loading…" } }
            div.actions { button #audit-more hidden { "Older entries" } }
        }
    };
    html_page(StatusCode::OK, page(&frame("/audit", "Audit log", "audit.js"), body))
}
