//! What a limit refusal says, and how much of a metric an estimate or a bill is: the words
//! and amounts every backend (`local`, `redis`) refuses with.

use super::{Estimate, Refusal, Scope, refusal_code, window_of};
use seam_config::{Metric, TenantLimit};
use seam_vocab::RefusalCode;
use std::time::Duration;

/// How much of a metric an estimate (or a bill) is.
pub(super) fn amount(metric: Metric, e: &Estimate) -> f64 {
    match metric {
        Metric::Requests | Metric::Attempts => 0.0,
        Metric::InputTokens => e.input_tokens as f64,
        Metric::OutputTokens => e.output_tokens as f64,
        Metric::Tokens => e.tokens() as f64,
        Metric::Cost => e.cost,
    }
}

fn fmt_amount(metric: Metric, v: f64) -> String {
    match metric {
        Metric::Cost => format!("${v:.4}"),
        _ => format!("{}", v.round() as i64),
    }
}

pub(super) fn scope_refusal(
    scope: &Scope<'_>,
    l: &TenantLimit,
    used: f64,
    reserved: f64,
    now_ms: i64,
) -> Refusal {
    let (_, end) = window_of(l.window, now_ms);
    let wait = Duration::from_millis((end - now_ms).max(0) as u64);
    let who = &scope.who;
    Refusal {
        status: 429,
        code: refusal_code(l.metric, scope.key),
        message: format!(
            "Seam limit reached: {who} may use {} {} per {}; it has used {} (and {} is reserved by calls in flight or held by gateways). The window resets in {}s.",
            fmt_amount(l.metric, l.max),
            l.metric.as_str().replace('_', " "),
            l.window.as_str(),
            fmt_amount(l.metric, used),
            fmt_amount(l.metric, reserved),
            wait.as_secs().max(1)
        ),
        retry_after: Some(wait),
    }
}

pub(super) fn trace_refusal(code: RefusalCode, trace: &str, usage: String) -> Refusal {
    Refusal {
        status: 429,
        code,
        message: format!(
            "Seam limit reached: trace `{trace}` has used {usage} allowed per trace ({code}). A trace is one user request and every call it fans out into."
        ),
        retry_after: None,
    }
}
