//! Phase 5, dispatch: makes the upstream attempt for a call and records failed ones.
//!
//! A streamed answer is held until its first event arrives, so that a failure before any
//! byte reaches the client is still an ordinary HTTP error (and, with retries, retryable).

use crate::App;
use crate::account;
use crate::call::{AttemptEnd, CallCtx, ms};
use crate::errors::GatewayError;
use futures_util::StreamExt;
use seam_config::Route;
use seam_providers::{
    AttemptError, ChunkStream, Complete, ErrorClass, Reply, Served, StreamEvent, UpstreamRequest,
};
use seam_wire::RequestBody;
use std::time::{Duration, Instant};

pub enum Answer {
    Complete(Complete),
    Stream {
        first: StreamEvent,
        rest: ChunkStream,
    },
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
    route: &Route,
    body: &RequestBody,
) -> Result<Dispatched, GatewayError> {
    let target = route
        .targets
        .first()
        .ok_or_else(|| GatewayError::Internal(format!("route `{}` has no targets", route.name)))?;
    let provider = app.registry.get(&target.provider).ok_or_else(|| {
        GatewayError::Internal(format!("provider `{}` is not registered", target.provider))
    })?;
    let timeout = app
        .config
        .providers
        .iter()
        .find(|p| p.name == target.provider)
        .map(|p| p.timeout)
        .unwrap_or(Duration::from_secs(120));
    let req = UpstreamRequest {
        endpoint: ctx.endpoint,
        model: &target.model,
        body,
        stream: ctx.stream,
    };
    let started = Instant::now();
    let result = match tokio::time::timeout(timeout, provider.send(req)).await {
        Ok(r) => r,
        Err(_) => Err(timed_out(&target.provider, timeout)),
    };
    let answer = match result {
        Ok(Reply::Complete(c)) => Ok(Answer::Complete(c)),
        Ok(Reply::Stream(mut rest)) => match tokio::time::timeout(timeout, rest.next()).await {
            Ok(Some(Ok(first))) => Ok(Answer::Stream { first, rest }),
            Ok(Some(Err(e))) => Err(e),
            Ok(None) => Err(AttemptError::new(
                ErrorClass::StreamCut,
                format!(
                    "provider `{}` ended the stream before any event",
                    target.provider
                ),
            )),
            Err(_) => Err(timed_out(&target.provider, timeout)),
        },
        Err(e) => Err(e),
    };
    let ttfb = ms(started);
    app.metrics
        .attempt_ttfb(&route.name, &target.provider, ttfb / 1000.0);
    match answer {
        Ok(answer) => Ok(Dispatched {
            provider: target.provider.clone(),
            model: target.model.clone(),
            started,
            ttfb_ms: Some(ttfb),
            timeout,
            answer,
        }),
        Err(e) => {
            record_failed_attempt(app, ctx, &target.provider, &target.model, started, &e);
            Err(GatewayError::Upstream(e))
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

/// A failed attempt costs what the provider says it billed, if it says.
pub fn record_failed_attempt(
    app: &App,
    ctx: &mut CallCtx,
    provider: &str,
    model: &str,
    started: Instant,
    e: &AttemptError,
) {
    let usage = e.usage.unwrap_or_default();
    let cost = account::cost(&app.config, None, model, usage);
    app.metrics
        .attempt(&ctx.route, provider, Some(e.class.as_str()));
    ctx.push_attempt(AttemptEnd {
        provider,
        model,
        started,
        ttfb_ms: None,
        served: &Served::default(),
        usage,
        estimated: false,
        cost_usd: cost,
        error: Some(e),
    });
    app.metrics.usage(&ctx.route, provider, usage, false, cost);
}
