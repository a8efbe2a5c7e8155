//! Phase 5, dispatch: makes a call's upstream attempts. Each target of the route gets up to
//! `max_attempts` tries, spaced by jittered backoff or the upstream's `Retry-After`, every
//! retry paid for from the retry budget; then the next target is tried. Failed attempts are
//! recorded and priced as they happen.
//!
//! A streamed answer is held until its first event arrives, so that a failure before any
//! byte reaches the client is still retryable; after that, the relay owns the stream.

use crate::App;
use crate::account;
use crate::budget::backoff;
use crate::call::{AttemptEnd, CallCtx, ms};
use crate::errors::GatewayError;
use crate::resolve::{RouteState, TargetState};
use futures_util::StreamExt;
use seam_providers::{
    AttemptError, ChunkStream, Complete, ErrorClass, Reply, Served, StreamEvent, UpstreamRequest,
};
use seam_wire::{RequestBody, Usage};
use std::time::{Duration, Instant};

pub enum Answer {
    Complete(Complete),
    Stream {
        /// The events up to and including the first that carries content; nothing has
        /// reached the client yet.
        head: Vec<StreamEvent>,
        rest: ChunkStream,
    },
}

/// Events without content (the role chunk) held back at most, waiting for content.
const MAX_HEAD_EVENTS: usize = 16;

/// Whether an event gives the client something of the answer: content, a tool call, a
/// finish reason, usage, or the end of the stream.
fn carries_content(e: &StreamEvent) -> bool {
    let StreamEvent::Chunk { value, .. } = e else {
        return true;
    };
    if value.get("usage").is_some_and(|u| !u.is_null()) {
        return true;
    }
    value
        .get("choices")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
        .any(|c| {
            c.pointer("/delta/content")
                .and_then(|t| t.as_str())
                .is_some_and(|t| !t.is_empty())
                || c.pointer("/delta/tool_calls").is_some()
                || c.get("finish_reason").is_some_and(|f| !f.is_null())
        })
}

/// A successful attempt, still open: the caller records it once usage is known.
pub struct Dispatched {
    pub provider: String,
    pub model: String,
    pub started: Instant,
    pub ttfb_ms: Option<f64>,
    pub timeout: Duration,
    pub answer: Answer,
}

pub async fn dispatch(
    app: &App,
    ctx: &mut CallCtx,
    state: &RouteState,
    body: &RequestBody,
) -> Result<Dispatched, GatewayError> {
    let policy = &state.route.retry;
    let deadline = tokio::time::Instant::now() + policy.deadline;
    let mut last: Option<AttemptError> = None;
    let mut tokens: Option<(u64, u64)> = None;
    'targets: for target in &state.targets {
        for n in 1..=policy.max_attempts {
            if n == 1 {
                target.budget.deposit();
            } else {
                let Some(prev) = &last else { break 'targets };
                let wait = match prev.retry_after {
                    // Waiting longer than the cap helps nobody: try the next target.
                    Some(ra) if ra > policy.retry_after_cap => continue 'targets,
                    Some(ra) => ra,
                    None => backoff(policy.backoff_base, policy.backoff_max, n - 1),
                };
                if tokio::time::Instant::now() + wait >= deadline {
                    break 'targets;
                }
                if policy.budget && !target.budget.try_withdraw() {
                    ctx.budget_exhausted = true;
                    app.metrics
                        .budget_refusal(&ctx.route, &target.provider_name);
                    break 'targets;
                }
                app.metrics.retry(&ctx.route, &target.provider_name);
                tokio::time::sleep(wait).await;
            }
            let limiter = &app.limiter;
            let limits = &ctx.live.config.limits;
            if limiter.applies(limits, &ctx.caller, &ctx.trace_limits) {
                let trace = ctx.trace_key().to_string();
                let est = estimate(
                    &ctx.live.config,
                    limiter,
                    &ctx.caller,
                    &ctx.trace_limits,
                    body,
                    ctx.pinned_model.as_deref().unwrap_or(&target.model),
                    &mut tokens,
                );
                match limiter
                    .reserve(
                        &ctx.live.config.limits,
                        &ctx.caller,
                        &trace,
                        &ctx.trace_limits,
                        est,
                        crate::now_ms(),
                    )
                    .await
                {
                    Ok(r) => ctx.reservation = Some(r),
                    Err(r) => return Err(GatewayError::Refused(r)),
                }
            }
            match attempt(app, ctx, target, body).await {
                Ok(d) => return Ok(d),
                Err(e) => {
                    let retryable = policy.retries(e.class.as_str());
                    last = Some(e);
                    if !retryable {
                        break 'targets;
                    }
                }
            }
        }
    }
    Err(GatewayError::Upstream(last.unwrap_or_else(|| {
        AttemptError::new(
            ErrorClass::Timeout,
            "the call's deadline passed before any attempt",
        )
    })))
}

/// How many completions a call asks for, each of them billed: `n`, or `best_of` when larger
/// (the provider generates that many and returns `n`). On a call held to a token or cost
/// limit, more than `max_n` (`limits.max_n`) is refused: a 400 naming the field.
pub fn completions(body: &RequestBody, max_n: u64) -> Result<u64, GatewayError> {
    let mut most = 1;
    for field in ["n", "best_of"] {
        if !body.has(field) {
            continue;
        }
        let v = match body.get::<u64>(field) {
            Some(Ok(v)) if v >= 1 => v,
            _ => {
                return Err(GatewayError::InvalidField {
                    field,
                    reason: "must be a whole number, 1 or more.".into(),
                });
            }
        };
        if v > max_n {
            return Err(GatewayError::InvalidField {
                field,
                reason: format!(
                    "{v} completions asked for; every one is billed, and this gateway allows at most {max_n} per call under a token or cost limit (limits.max_n)."
                ),
            });
        }
        most = most.max(v);
    }
    Ok(most)
}

/// What an attempt will likely be billed: input from the offline tokenizer, output from the
/// request's `max_tokens` (or the configured default) for each completion it asks for;
/// tokens are counted once per call.
fn estimate(
    config: &seam_config::Config,
    limiter: &crate::admit::Limiter,
    caller: &crate::authenticate::Caller,
    trace_limits: &seam_config::TraceLimits,
    body: &RequestBody,
    model: &str,
    tokens: &mut Option<(u64, u64)>,
) -> crate::admit::Estimate {
    if !limiter.needs_estimate(&config.limits, caller, trace_limits) {
        return crate::admit::Estimate::default();
    }
    let (input, output) = *tokens.get_or_insert_with(|| {
        let each = ["max_completion_tokens", "max_tokens"]
            .iter()
            .find_map(|k| body.get::<u64>(k).and_then(Result::ok))
            .unwrap_or_else(|| limiter.default_output_tokens(&config.limits));
        // Admission refused a count above the cap already.
        let n = completions(body, config.limits.max_n).unwrap_or(1);
        (account::estimate_input(body), each.saturating_mul(n))
    });
    let usage = Usage {
        input_tokens: input,
        output_tokens: output,
    };
    crate::admit::Estimate {
        input_tokens: input,
        output_tokens: output,
        cost: account::cost(config, None, model, usage),
    }
}

/// One HTTP try against one target.
async fn attempt(
    app: &App,
    ctx: &mut CallCtx,
    target: &TargetState,
    body: &RequestBody,
) -> Result<Dispatched, AttemptError> {
    let name = &target.provider_name;
    let timeout = target.timeout;
    // A prompt release pins its model on every target of its route.
    let model = ctx
        .pinned_model
        .clone()
        .unwrap_or_else(|| target.model.clone());
    let req = UpstreamRequest {
        endpoint: ctx.endpoint,
        model: &model,
        body,
        stream: ctx.stream,
    };
    let started = Instant::now();
    let result = match tokio::time::timeout(timeout, target.provider.send(req)).await {
        Ok(r) => r,
        Err(_) => Err(timed_out(name, timeout)),
    };
    let answer = match result {
        Ok(Reply::Complete(c)) => Ok(Answer::Complete(c)),
        Ok(Reply::Stream(mut rest)) => {
            // Retrying is only possible while nothing has reached the client: hold the
            // stream until its first content.
            let mut head = Vec::new();
            loop {
                match tokio::time::timeout(timeout, rest.next()).await {
                    Ok(Some(Ok(ev))) => {
                        let done = carries_content(&ev) || head.len() + 1 >= MAX_HEAD_EVENTS;
                        head.push(ev);
                        if done {
                            break Ok(Answer::Stream { head, rest });
                        }
                    }
                    Ok(Some(Err(e))) => break Err(e),
                    Ok(None) => {
                        break Err(AttemptError::new(
                            ErrorClass::StreamCut,
                            format!("provider `{name}` ended the stream before any content"),
                        ));
                    }
                    Err(_) => break Err(timed_out(name, timeout)),
                }
            }
        }
        Err(e) => Err(e),
    };
    let ttfb = ms(started);
    app.metrics
        .attempt_ttfb(&mut ctx.metrics, &ctx.route, name, ttfb / 1000.0);
    match answer {
        Ok(answer) => Ok(Dispatched {
            provider: name.clone(),
            model: model.clone(),
            started,
            ttfb_ms: Some(ttfb),
            timeout,
            answer,
        }),
        Err(e) => {
            record_failed_attempt(app, ctx, name, &model, started, &e, body);
            Err(e)
        }
    }
}

fn timed_out(provider: &str, after: Duration) -> AttemptError {
    AttemptError::new(
        ErrorClass::Timeout,
        format!(
            "provider `{provider}` did not answer within {:.1}s",
            after.as_secs_f64()
        ),
    )
}

/// Whether a failed attempt was probably billed for its input although no usage came back:
/// the request reached the provider and was (or may have been) processed.
fn likely_billed(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::Timeout
            | ErrorClass::Status5xx
            | ErrorClass::Reset
            | ErrorClass::StreamCut
            | ErrorClass::BadResponse
    )
}

/// Prices a failed attempt: from the usage the provider reported; else, when it likely
/// billed the input, from an estimate of the input (marked estimated); else nothing (a
/// refused connection, a 429, a 4xx, a redirect). See [`account::bill`].
pub fn record_failed_attempt(
    app: &App,
    ctx: &mut CallCtx,
    provider: &str,
    model: &str,
    started: Instant,
    e: &AttemptError,
    body: &RequestBody,
) {
    let fallback = if likely_billed(e.class) {
        account::Fallback::Input
    } else {
        account::Fallback::Nothing
    };
    let bill = account::bill(
        &app.metrics,
        &ctx.live.config,
        account::Billed {
            provider,
            model,
            served: None,
            request: body,
        },
        e.usage,
        fallback,
    );
    ctx.push_attempt(
        &app.metrics,
        AttemptEnd {
            provider,
            model,
            started,
            ttfb_ms: None,
            served: &Served::default(),
            bill,
            error: Some(e),
        },
    );
}
