//! The analysis pages: advisories (what the analyzers found) and alerts
//! (the user's rules, their alerts, the rule editor).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::layout::{heading, page, Frame};
use super::{html_page, view};
use crate::serve::http::AppState;

pub async fn advisories(q: RawQuery) -> Response {
    let v = view(q);
    let state = v.get("state").unwrap_or("active").to_string();
    let severity = v.get("severity").unwrap_or("").to_string();
    let body = html! {
        (heading("Advisories", Some("What the analyzers found in recent traffic, most severe first: each with the numbers, what to do, and a link to the flows behind it.")))
        form.controls #advisory-controls role="search" {
            label {
                span.lbl { "Show" }
                select #state name="state" aria-label="Which advisories" {
                    @for (value, label) in [("active", "Open"), ("resolved", "Resolved"), ("all", "All")] {
                        option value=(value) selected[state == value] { (label) }
                    }
                }
            }
            label {
                span.lbl { "Severity" }
                select #severity name="severity" aria-label="Lowest severity" {
                    @for (value, label) in [("", "Any"), ("warning", "Warning and up"), ("critical", "Critical")] {
                        option value=(value) selected[severity == value] { (label) }
                    }
                }
            }
        }
        div #advisory-list .advisories { div.loading { "Loading…" } }
    };
    html_page(
        StatusCode::OK,
        page(
            &Frame {
                nav: "/advisories",
                title: "Advisories",
                script: Some("advisories.js"),
                charts: false,
            },
            body,
        ),
    )
}

pub async fn alerts(State(s): State<Arc<AppState>>) -> Response {
    let hooks = s.sinks.analysis.webhook_names();
    let body = html! {
        (heading("Alerts", Some("Your rules: a filter, a metric over a window, a threshold held for a while. Alerts notify the live events stream and the webhooks a rule names; after a resolution a cool-down keeps a flapping condition to one message.")))
        section.card.wide {
            div.card-head { h2 { "Alerts" } }
            div.body #alert-list { div.loading { "Loading…" } }
        }
        section.card.wide {
            div.card-head { h2 { "Rules" } }
            div.body #rule-list { div.loading { "Loading…" } }
        }
        section.card.wide {
            div.card-head { h2 #rule-form-title { "New rule" } }
            form.body.rule-form #rule-form {
                input type="hidden" name="id" value="";
                label { span.lbl { "Name" } input name="name" required maxlength="100" placeholder="DNS flood from one host"; }
                label.wide { span.lbl { "Filter" } input name="filter" maxlength="2000" placeholder="dst port 53 (empty: all traffic)"; }
                label { span.lbl { "Metric" }
                    select name="metric" {
                        option value="bits_per_second" { "bits/s" }
                        option value="packets_per_second" { "packets/s" }
                        option value="flows_per_second" { "flows/s" }
                        option value="unique_peers" { "unique peers" }
                        option value="unique_ports" { "unique destination ports" }
                    }
                }
                label { span.lbl { "Per" }
                    select name="by" {
                        option value="none" { "all matching traffic" }
                        option value="src_addr" { "source address" }
                        option value="dst_addr" { "destination address" }
                        option value="exporter" { "exporter" }
                    }
                }
                label { span.lbl { "Condition" }
                    span.inline {
                        select name="op" aria-label="Comparison" {
                            option value=">" { ">" } option value=">=" { "≥" } option value="<" { "<" } option value="<=" { "≤" }
                        }
                        input name="threshold" type="number" min="0" step="any" required value="1000" aria-label="Threshold";
                    }
                }
                label { span.lbl { "Window" } input name="window" value="1m" pattern="[0-9]+[smh]" title="10s to 60m, e.g. 30s, 1m, 5m"; }
                label { span.lbl { "For" } input name="for" value="0s" pattern="[0-9]+[smhd]" title="how long the condition must hold, e.g. 2m"; }
                label { span.lbl { "Severity" }
                    select name="severity" { option value="warning" { "warning" } option value="critical" { "critical" } option value="info" { "info" } }
                }
                label { span.lbl { "Cool-down" } input name="cooldown" value="10m" pattern="[0-9]+[smhd]"; }
                fieldset.wide {
                    legend { "Webhooks" }
                    @if hooks.is_empty() {
                        span.muted { "None configured (notifications.webhooks); alerts still reach the events stream and this page." }
                    }
                    @for h in &hooks {
                        label.check { input type="checkbox" name="webhooks" value=(h); (h) }
                    }
                }
                label.check { input type="checkbox" name="enabled" checked; "Enabled" }
                div.wide.actions {
                    button type="submit" #rule-save { "Add rule" }
                    button type="button" #rule-cancel hidden { "Cancel" }
                    span #rule-error .error-text role="alert" {}
                }
            }
        }
    };
    html_page(
        StatusCode::OK,
        page(
            &Frame {
                nav: "/alerts",
                title: "Alerts",
                script: Some("alerts.js"),
                charts: false,
            },
            body,
        ),
    )
}
