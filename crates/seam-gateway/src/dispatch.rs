//! Phase 6 of [`crate::pipeline`], dispatch: makes a call's upstream attempts. Each target of the route gets up to
//! `max_attempts` tries, spaced by jittered backoff or the upstream's `Retry-After`, every
//! retry paid for from the retry budget; then the next target is tried. Failed attempts are
//! recorded and priced as they happen.
//!
//! A streamed answer is held until its first event arrives, so that a failure before any
//! byte reaches the client is still retryable; after that, the relay owns the stream.

use crate::account;
use crate::admit::{Limiter, Subject};
use crate::budget::backoff;
use crate::call::{AttemptEnd, CallCtx, Upstream, ms};
use crate::errors::GatewayError;
use crate::observe::Metrics;
use crate::resolve::{RouteState, TargetState};
use futures_util::StreamExt;
use seam_providers::{
    AttemptError, ChunkStream, Complete, Endpoint, ErrorClass, Passed, Reply, Served, StreamEvent,
    Text, UpstreamRequest,
};
use seam_wire::RequestBody;
use std::sync::Arc;
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
fn carries_content(e: &StreamEvent, endpoint: Endpoint) -> bool {
    let StreamEvent::Chunk(chunk) = e else {
        return true;
    };
    if endpoint == Endpoint::Responses {
        return crate::edge::responses::stream::carries_content(chunk.value());
    }
    let view = chunk.view();
    view.has_usage()
        || view.choices.iter().any(|c| {
            // A delta's `content`, when there, is read instead of a legacy `text`.
            let text = match &c.delta.content {
                Text::Absent => &c.text,
                content => content,
            };
            text.as_str().is_some_and(|t| !t.is_empty())
                || c.delta.tool_calls.is_some()
                || c.finish_reason.is_set()
        })
}

/// Makes the call's attempts until one answers (returned still open: the relay records it
/// once its usage is known) or none is left to try.
pub async fn dispatch(
    metrics: &Metrics,
    limiter: &Arc<Limiter>,
    ctx: &mut CallCtx,
    state: &RouteState,
    body: &RequestBody,
) -> Result<(Upstream, Answer), GatewayError> {
    let policy = &state.route.retry;
    let deadline = tokio::time::Instant::now() + policy.deadline;
    let mut last: Option<AttemptError> = None;
    let mut tokens: Option<(u64, u64)> = None;
    // A Responses API call's chat translation, for targets without the Responses API.
    let translated = ctx.translated.take();
    let mut skipped = false;
    // The last failure's wait was longer than Seam waits: the client's waiting may help.
    let mut not_waited = false;
    'targets: for target in &state.targets {
        let (endpoint, body) = match (&translated, ctx.endpoint) {
            (Some(t), Endpoint::Responses) if !target.provider.responses() => match t {
                Ok(chat) => (Endpoint::ChatCompletions, chat),
                Err(_) => {
                    skipped = true;
                    continue 'targets;
                }
            },
            (_, endpoint) => (endpoint, body),
        };
        for n in 1..=policy.max_attempts {
            if n == 1 {
                target.budget.deposit();
            } else {
                let Some(prev) = &last else { break 'targets };
                let wait = match prev.retry_after {
                    // Waiting longer than the cap helps nobody: try the next target.
                    Some(ra) if ra > policy.retry_after_cap => {
                        not_waited = true;
                        continue 'targets;
                    }
                    Some(ra) => ra,
                    None => backoff(policy.backoff_base, policy.backoff_max, n - 1),
                };
                if tokio::time::Instant::now() + wait >= deadline {
                    break 'targets;
                }
                if policy.budget && !target.budget.try_withdraw() {
                    ctx.budget_exhausted = true;
                    metrics.budget_refusal(&ctx.route, &target.provider_name);
                    break 'targets;
                }
                metrics.retry(&ctx.route, &target.provider_name);
                tokio::time::sleep(wait).await;
            }
            // Borrowed from the context, not copied: most calls have no limits at all.
            let who = Subject {
                config: &ctx.live.config,
                caller: &ctx.caller,
                trace: ctx.trace_key(),
                trace_limits: &ctx.trace_limits,
            };
            let model = ctx.pinned_model.as_deref().unwrap_or(&target.model);
            let reserved = limiter
                .reserve_attempt(&who, body, model, &mut tokens)
                .await;
            ctx.reservation = reserved.map_err(GatewayError::Refused)?;
            not_waited = false;
            match attempt(metrics, ctx, target, endpoint, body).await {
                Ok(d) => return Ok(d),
                Err(e) => {
                    let code = e.upstream.as_ref().and_then(|u| u.code.as_deref());
                    let retryable = policy.retries_failure(e.class.as_str(), e.status, code);
                    last = Some(e);
                    if !retryable {
                        break 'targets;
                    }
                }
            }
        }
    }
    // No target could take the call: why it cannot be translated is the answer.
    if let (None, true, Some(Err(e))) = (&last, skipped, translated) {
        return Err(e);
    }
    // Whether the client's retrying would help: not when Seam retried, its budget is
    // spent, it gave up on a class it retries, or no retry can fix what the upstream said.
    ctx.retry_futile = ctx.budget_exhausted
        || ctx.attempts.len() > 1
        || last.as_ref().is_some_and(|e| {
            let code = e.upstream.as_ref().and_then(|u| u.code.as_deref());
            (policy.retries(e.class.as_str()) && !not_waited)
                || e.status == Some(401)
                || code.is_some_and(|c| policy.never_retries(c))
        });
    Err(GatewayError::Upstream(last.unwrap_or_else(|| {
        AttemptError::new(
            ErrorClass::Timeout,
            "the call's deadline passed before any attempt",
        )
    })))
}

/// One HTTP try against one target.
async fn attempt(
    metrics: &Metrics,
    ctx: &mut CallCtx,
    target: &TargetState,
    endpoint: Endpoint,
    body: &RequestBody,
) -> Result<(Upstream, Answer), AttemptError> {
    let name = &target.provider_name;
    let timeout = target.timeout;
    // A prompt release pins its model on every target of its route.
    let model = ctx
        .pinned_model
        .clone()
        .unwrap_or_else(|| target.model.clone());
    let req = UpstreamRequest {
        endpoint,
        model: &model,
        body,
        stream: ctx.stream,
    };
    let started = Instant::now();
    let result = match tokio::time::timeout(timeout, target.provider.send(req)).await {
        Ok(r) => r,
        Err(_) => Err(timed_out(name, timeout)),
    };
    let mut passed = Passed::default();
    let answer = match result {
        Ok(Reply::Complete(c)) => {
            passed = c.passed.clone();
            Ok(Answer::Complete(c))
        }
        Ok(Reply::Stream(mut rest, p)) => {
            passed = p;
            // Retrying is only possible while nothing has reached the client: hold the
            // stream until its first content.
            let mut head = Vec::new();
            loop {
                match tokio::time::timeout(timeout, rest.next()).await {
                    Ok(Some(Ok(ev))) => {
                        let done =
                            carries_content(&ev, endpoint) || head.len() + 1 >= MAX_HEAD_EVENTS;
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
    metrics.attempt_ttfb(&mut ctx.metrics, &ctx.route, name, ttfb / 1000.0);
    let ok = answer.is_ok();
    if let Err(e) = &answer
        && passed == Passed::default()
    {
        passed = e.passed.clone();
    }
    let up = Upstream {
        provider: name.clone(),
        model,
        started,
        ttfb_ms: ok.then_some(ttfb),
        idle_timeout: timeout,
        endpoint,
        passed,
    };
    match answer {
        Ok(answer) => Ok((up, answer)),
        Err(e) => {
            charge_failed(metrics, ctx, &up, &e, body);
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

/// Charges a failed attempt: from the usage the provider reported; else, when it likely
/// billed the input, from an estimate of the input (marked estimated); else nothing (a
/// refused connection, a 429, a 4xx, a redirect). See [`account::bill`].
fn charge_failed(
    metrics: &Metrics,
    ctx: &mut CallCtx,
    up: &Upstream,
    e: &AttemptError,
    body: &RequestBody,
) {
    crate::throttle::upstream_failure(&up.provider, &ctx.id, e);
    let fallback = if likely_billed(e.class) {
        account::Fallback::Input
    } else {
        account::Fallback::Nothing
    };
    ctx.charge(
        metrics,
        up,
        body,
        AttemptEnd {
            served: &Served::default(),
            report: e.usage,
            fallback,
            error: Some(e),
        },
    );
}
