//! The sequence of a call's phases, in lifecycle order, and the only place that runs them:
//!
//! 1. authenticate (`authenticate.rs`): the key, its tenant and its limits;
//! 2. request (`request.rs`, `edge/`): the body read, split and checked, translated from the
//!    client's format;
//! 3. render (`render.rs`, `session.rs`): a prompt release, the one its session is pinned to;
//! 4. resolve (`resolve.rs`): the route and its targets;
//! 5. admit (`admit/`): the call against its limits;
//! 6. dispatch (`dispatch.rs`): attempts until one answers, each reserved by admit, each
//!    failed one charged by account; then the release's pinned model (`pinned.rs`);
//! 7. relay (`relay/`): the answer or the stream to the client;
//! 8. account (`account.rs`, through `CallCtx::charge`): what the answering attempt is billed;
//! 9. record and observe (`finish.rs`): metrics, detectors, spans and the records.
//!
//! Phases take what they need (a handle, a value), never the gateway; none calls back here.
//! A failure at any phase ends the call through [`failed`], recorded like any other.

use crate::App;
use crate::admit::Subject;
use crate::call::{CallCtx, CallEnd};
use crate::dispatch::{Answer, dispatch};
use crate::edge::{Edge, respond, respond_told};
use crate::errors::{GatewayError, Told};
use crate::finish::{set_release, with_call_headers};
use crate::relay::Relay;
use crate::resolve::resolve;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use seam_config::ResponseModel;
use seam_providers::Endpoint;
use seam_vocab::{Outcome, Purpose};
use seam_wire::RequestBody;
use std::sync::Arc;

/// Runs one call to `endpoint` from a client speaking `edge`.
pub async fn call(app: Arc<App>, req: Request, endpoint: Endpoint, edge: Edge) -> Response {
    let (parts, body) = req.into_parts();
    let (mut ctx, bad_header) = CallCtx::new(app.live(), endpoint, &parts.headers);
    ctx.edge = edge;
    match authenticate(&app, &parts.headers, &ctx.live).await {
        Ok(c) => {
            ctx.caller = c;
            ctx.caller.purpose = ctx.purpose;
        }
        Err(e) => {
            // Unauthenticated requests are counted, never recorded: they have no tenant.
            return with_call_headers(respond(edge, &e, &ctx.id), &ctx.id, 0, None);
        }
    }
    if let Some(e) = bad_header {
        return failed(&app, ctx, e).await;
    }
    // Only an Anthropic client is told the call id again (as `request-id`).
    let call_id = (edge != Edge::OpenAi).then(|| ctx.id.clone());
    match run(&app, ctx, body).await {
        Ok(mut resp) => {
            if let Some(id) = call_id {
                crate::edge::decorate(edge, &mut resp, &id);
            }
            resp
        }
        Err((ctx, e)) => failed(&app, ctx, e).await,
    }
}

type Failed = (CallCtx, GatewayError);

/// Phase 1: the caller, from the request's key (or the keyless tenant); a failure is counted,
/// never recorded (it has no tenant).
pub async fn authenticate(
    app: &App,
    headers: &http::HeaderMap,
    live: &crate::Live,
) -> Result<crate::authenticate::Caller, GatewayError> {
    let caller = crate::authenticate::authenticate(
        headers,
        &app.keys,
        live.config.server.keyless_tenant.as_deref(),
        app.store.as_ref(),
        &app.metrics,
    )
    .await;
    if caller.is_err() {
        app.metrics.auth_failures.inc();
    }
    caller
}

/// Phases 2 to 9 of an authenticated call.
async fn run(app: &Arc<App>, mut ctx: CallCtx, body: Body) -> Result<Response, Failed> {
    let body = match crate::request::read(&mut ctx, body).await {
        Ok(b) => b,
        Err(e) => return Err((ctx, e)),
    };
    // Captured content keeps the client's own turns, not a release rendered in front of them.
    let client = ctx.live.capture.enabled().then(|| crate::capture::Request {
        bytes: body.raw().clone(),
        responses: ctx.edge == Edge::Responses,
    });
    let (body, route_name) = match render(app, &mut ctx, body, true).await {
        Ok(x) => x,
        Err(e) => return Err((ctx, e)),
    };
    let state = match resolve(&ctx.live.routes, &route_name) {
        Ok(r) => r,
        Err(e) => return Err((ctx, e)),
    };
    let route = &state.route;
    ctx.route = route.name.clone();
    if let Some(request) = client {
        ctx.capture =
            ctx.live
                .capture
                .decide(&ctx.caller.tenant, &ctx.route, ctx.trace_key(), request);
        if let Some(p) = ctx.capture.as_mut() {
            p.release.clone_from(&ctx.release_id);
        }
    }
    if ctx.edge == Edge::Responses && state.targets.iter().any(|t| !t.provider.responses()) {
        ctx.translated = Some(crate::edge::responses::translate(&body));
    }
    ctx.trace_limits = app.limiter.trace_limits(
        &ctx.live.config.limits,
        &ctx.caller.tenant,
        route.trace_limits,
    );
    let who = Subject {
        config: &ctx.live.config,
        caller: &ctx.caller,
        trace: ctx.trace_key(),
        trace_limits: &ctx.trace_limits,
    };
    let admitted = app.limiter.admit(&who, &body).await;
    if let Err(e) = admitted {
        return Err((ctx, e));
    }
    let include_usage = crate::request::include_usage(&body);
    let rewrite = (route.response_model == ResponseModel::Route).then(|| route.name.clone());
    let (upstream, answer) =
        match dispatch(&app.metrics, &app.limiter, &mut ctx, &state, &body).await {
            Ok(d) => d,
            Err(e) => return Err((ctx, e)),
        };
    if let Err(e) = app
        .alerts
        .check(&app.metrics, &mut ctx, &upstream, &answer, &body)
    {
        return Err((ctx, e));
    }
    let release = ctx.release_id.clone();
    let mut resp = match answer {
        Answer::Complete(c) => {
            let (resp, durable) =
                crate::relay::complete::complete(&app.end, ctx, upstream, c, &body, rewrite);
            if let Some(d) = durable {
                let _ = d.await;
            }
            resp
        }
        Answer::Stream { head, rest } => Relay::new(
            app.end.clone(),
            ctx,
            upstream,
            head,
            rest,
            body,
            include_usage,
            rewrite,
        )
        .into_response(),
    };
    set_release(&mut resp, release.as_deref());
    Ok(resp)
}

/// For `model: "prompt:NAME[@CHANNEL]"`: the release deployed there (or, with `pin`, the
/// one the call's session is pinned to) rendered in front of the call's turns; for an eval
/// call's `model: "release:ID"`, that stored release (no session pin). Returns the body to
/// send and the route to send it on.
async fn render(
    app: &App,
    ctx: &mut CallCtx,
    body: RequestBody,
    pin: bool,
) -> Result<(RequestBody, String), GatewayError> {
    let d = if let Some(id) = crate::render::release_target(&ctx.requested_model) {
        stored_release(app, ctx, id).await?
    } else if let Some((name, channel)) = crate::render::target(&ctx.requested_model) {
        let current = app
            .releases
            .get(name, channel)
            .ok_or_else(|| GatewayError::NoRelease {
                name: name.to_string(),
                channel: channel.to_string(),
            })?;
        match ctx.session_id.clone() {
            Some(session) if pin => app.pins.pin(ctx, &session, name, channel, &current).await?,
            _ => current.deployed.clone(),
        }
    } else {
        return Ok((body, ctx.requested_model.clone()));
    };
    let rendered =
        crate::render::render(body, d.clone(), ctx.live.config.render_fuel, ctx.edge).await?;
    ctx.release_id = Some(d.release_id.clone());
    ctx.pinned_model = Some(d.prompt.model.clone());
    ctx.model_policy = Some(d.prompt.on_model_change);
    Ok((rendered, d.prompt.route.clone()))
}

/// `release:ID`: the stored release of that id, deployed or not, for eval traffic only.
async fn stored_release(
    app: &App,
    ctx: &CallCtx,
    id: &str,
) -> Result<Arc<crate::render::Deployed>, GatewayError> {
    if ctx.purpose != Purpose::Eval {
        return Err(GatewayError::ReleaseNeedsEval);
    }
    app.releases
        .load(app.store.as_ref(), id)
        .await
        .map_err(|e| GatewayError::Internal(format!("the release could not be read: {e}")))?
        .ok_or_else(|| GatewayError::UnknownRelease { id: id.to_string() })
}

/// A call that failed before or instead of an answer: its error response, once it is recorded.
async fn failed(app: &App, ctx: CallCtx, e: GatewayError) -> Response {
    let told = Told {
        provider: ctx.attempts.last().map(|a| a.provider.clone()),
        attempts: ctx.attempts.len(),
        futile: ctx.retry_futile,
    };
    let mut resp = with_call_headers(
        respond_told(ctx.edge, &e, &ctx.id, &told),
        &ctx.id,
        ctx.attempts.len(),
        None,
    );
    set_release(&mut resp, ctx.release_id.as_deref());
    if ctx.budget_exhausted {
        resp.headers_mut()
            .insert("x-seam-retry-budget", HeaderValue::from_static("exhausted"));
    }
    let outcome = match e {
        GatewayError::Upstream(_) | GatewayError::ServedModelMismatch { .. } => Outcome::Error,
        GatewayError::Refused(_) => Outcome::Refused,
        _ => Outcome::Rejected,
    };
    let api = e.to_api_told(&told);
    let durable = app.end.finish(
        ctx,
        CallEnd {
            status: api.status,
            outcome,
            error_class: Some(e.class()),
            error_message: Some(api.message),
            ttfb_ms: None,
            stream: None,
            answer: None,
        },
    );
    if let Some(d) = durable {
        let _ = d.await;
    }
    resp
}

/// `POST /v1/messages/count_tokens`: authenticate, request, render and resolve, then Seam's
/// offline estimate of the input tokens (tiktoken `o200k_base` over the translated request,
/// as limits and billing estimate them; a prompt release's messages included), not the
/// upstream model's own count. Nothing is sent upstream, recorded or counted against limits.
pub async fn count_tokens(app: Arc<App>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let (mut ctx, bad_header) = CallCtx::new(app.live(), Endpoint::ChatCompletions, &parts.headers);
    ctx.edge = Edge::Anthropic;
    if let Err(e) = authenticate(&app, &parts.headers, &ctx.live).await {
        return respond(ctx.edge, &e, &ctx.id);
    }
    if let Some(e) = bad_header {
        return respond(ctx.edge, &e, &ctx.id);
    }
    match estimate(&app, &mut ctx, body).await {
        Ok(n) => crate::edge::anthropic::token_count(n, &ctx.id),
        Err(e) => respond(ctx.edge, &e, &ctx.id),
    }
}

async fn estimate(app: &App, ctx: &mut CallCtx, body: Body) -> Result<u64, GatewayError> {
    // The messages are required; `stream` means nothing here.
    let body = crate::request::read(ctx, body).await?;
    let prompt = crate::render::renders(&ctx.requested_model);
    let (body, route) = render(app, ctx, body, false).await?;
    if !prompt {
        resolve(&ctx.live.routes, &route)?;
    }
    // Counting a large request takes milliseconds: off the event loop.
    tokio::task::spawn_blocking(move || crate::account::estimate_input(&body))
        .await
        .map_err(|e| GatewayError::Internal(format!("counting tokens failed: {e}")))
}
