//! The pages, one module each, and what they share. Each reads the store through
//! `seam-control`'s rules as the signed-in person (a viewer or operator sees only their
//! tenants' records); filters come from the query string, so a view's URL can be shared.

use crate::Ui;
use crate::format::{pct, since_ms, status_range, timestamp};
use crate::session::{Signed, signed};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};
use seam_control::ControlError;
use seam_store::{CallQuery, CallRecord};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

mod audit;
mod calls;
mod canaries;
mod charts;
mod coverage;
mod coverage_export;
mod evals;
mod forecasts;
mod home;
mod keys;
mod prompt_diff;
mod prompt_forms;
mod prompts;
mod reliability;
mod search;
mod streams;
mod timeline;
mod traces;
mod usage;
mod users;
mod value;

/// Every page's route (the sign-in, sign-out and stylesheet routes are in `lib.rs`).
pub(crate) fn routes() -> Router<Arc<Ui>> {
    Router::new()
        .route("/ui/", get(home::home))
        .route("/ui/timeline", get(timeline::timeline))
        .route("/ui/calls", get(calls::calls))
        .route("/ui/calls/{id}", get(calls::call))
        .route("/ui/traces/{id}", get(traces::trace))
        .route("/ui/usage", get(usage::usage))
        .route("/ui/keys", get(keys::keys).post(keys::create))
        .route("/ui/keys/revoke", post(keys::revoke))
        .route("/ui/users", get(users::users).post(users::create))
        .route("/ui/users/grant", post(users::grant))
        .route("/ui/audit", get(audit::audit))
        .route("/ui/evals", get(evals::evals))
        .route("/ui/evals/{run}", get(evals::eval))
        .route("/ui/canaries", get(canaries::canaries))
        .route("/ui/canaries/{name}", get(canaries::canary))
        .route("/ui/forecasts", get(forecasts::forecasts))
        .route("/ui/coverage", get(coverage::coverage))
        .route("/ui/coverage/export", post(coverage_export::export))
        .route("/ui/value", get(value::value))
        .route("/ui/value.csv", get(value::csv))
        .route("/ui/value.json", get(value::json_report))
        .route("/ui/reliability", get(reliability::reliability))
        .route("/ui/streams", get(streams::streams))
        .route("/ui/prompts", get(prompts::prompts))
        .route("/ui/prompts/{name}", get(prompts::prompt))
        .route("/ui/prompts/{name}/diff", get(prompt_diff::diff))
        .route(
            "/ui/prompts/{name}/approve",
            axum::routing::post(prompt_forms::approve),
        )
        .route(
            "/ui/prompts/{name}/deploy",
            axum::routing::post(prompt_forms::deploy),
        )
        .route(
            "/ui/prompts/{name}/rollback",
            axum::routing::post(prompt_forms::rollback),
        )
}

pub(crate) type Params = Query<HashMap<String, String>>;

pub(crate) const DAY_MS: i64 = 86_400_000;

/// A refusal or failure of `seam-control`, as a page.
pub(crate) fn control_error(ui: &Ui, who: &Signed, e: ControlError) -> Response {
    let status = match &e {
        ControlError::NotFound(_) => StatusCode::NOT_FOUND,
        ControlError::Forbidden(_) => StatusCode::FORBIDDEN,
        ControlError::Invalid(_) => StatusCode::BAD_REQUEST,
        ControlError::Store(e) => {
            tracing::error!(error = %e, "the dashboard could not read the store");
            return ui.message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The store could not be read; the gateway's log says why.",
                Some(who),
            );
        }
    };
    ui.message(status, &e.to_string(), Some(who))
}

/// A query-string value, blank treated as absent.
pub(crate) fn param<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// An event of the timeline as the pages list it (`seam changes`' columns).
pub(crate) fn event_row(e: &Value) -> Value {
    let text = |k: &str| e[k].as_str().unwrap_or("-").to_string();
    let mut what = text("message");
    if let Some(d) = e.get("drain") {
        let release = d["release"].as_str().unwrap_or("-");
        match (d["ended"]["at_ms"].as_i64(), d["sessions"].as_i64()) {
            (Some(at), _) => what.push_str(&format!(
                " [drain over: back on {release} since {} UTC]",
                timestamp(at)
            )),
            (None, Some(0) | None) => {
                what.push_str(&format!(" [drained: no session left on {release}]"))
            }
            (None, Some(n)) => what.push_str(&format!(" [draining: {n} still on {release}]")),
        }
    }
    json!({
        "time": timestamp(e["created_ms"].as_i64().unwrap_or(0)),
        "kind": text("kind"),
        "route": text("route"),
        "provider": text("provider"),
        "what": what,
    })
}

/// A value as one path segment of a link.
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn call_row(c: &CallRecord) -> Value {
    json!({
        "id": c.id,
        "segment": segment(&c.id),
        "time": timestamp(c.created_ms),
        "tenant": c.tenant,
        "route": if c.route.is_empty() { format!("({})", c.requested_model) } else { c.route.clone() },
        "stream": c.stream,
        "served_model": c.served_model.as_deref().unwrap_or("-"),
        "status": c.status,
        "outcome": match &c.error_class {
            Some(e) => format!("{} ({e})", c.outcome),
            None => c.outcome.to_string(),
        },
        "attempts": c.attempts,
        "latency_ms": format!("{:.1}", c.latency_ms),
        "tokens": format!("{}/{}{}", c.input_tokens, c.output_tokens, if c.tokens_estimated { "*" } else { "" }),
        "cost": format!("{:.6}{}", c.cost_usd, if c.unpriced { " +unpriced" } else { "" }),
        "trace": c.trace_id,
        "trace_segment": c.trace_id.as_deref().map(segment),
    })
}
