//! The OpenAI-compatible endpoints: each runs the lifecycle phases in order.

use crate::App;
use crate::account;
use crate::authenticate::authenticate;
use crate::call::{CallCtx, CallEnd};
use crate::dispatch::{Answer, dispatch};
use crate::edge::{Edge, respond};
use crate::errors::GatewayError;
use crate::record::Entry;
use crate::relay::Relay;
use crate::resolve::resolve;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, header};
use seam_config::ResponseModel;
use seam_providers::{Complete, Endpoint};
use seam_vocab::Outcome;
use seam_wire::{RequestBody, UsageReport};
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn chat_completions(State(app): State<Arc<App>>, req: Request) -> Response {
    generate(app, req, Endpoint::ChatCompletions, Edge::OpenAi).await
}

pub async fn embeddings(State(app): State<Arc<App>>, req: Request) -> Response {
    generate(app, req, Endpoint::Embeddings, Edge::OpenAi).await
}

/// Anthropic's Messages API: a chat call, translated at the edge (see [`crate::edge`]).
pub async fn messages(State(app): State<Arc<App>>, req: Request) -> Response {
    generate(app, req, Endpoint::ChatCompletions, Edge::Anthropic).await
}

/// The routes as models; in Anthropic's shape for a client that says `anthropic-version`
/// (Anthropic's SDKs always do, OpenAI's never).
pub async fn models(State(app): State<Arc<App>>, headers: http::HeaderMap) -> Response {
    let live = app.live();
    let anthropic = headers.contains_key("anthropic-version");
    if let Err(e) = authenticate(
        &headers,
        &app.keys,
        live.config.server.keyless_tenant.as_deref(),
        app.store.as_ref(),
        &app.metrics,
    )
    .await
    {
        app.metrics.auth_failures.inc();
        return if anthropic {
            crate::edge::anthropic::respond(&e, "")
        } else {
            crate::errors::respond(&e)
        };
    }
    if anthropic {
        let names = live.config.routes.iter().map(|r| r.name.as_str());
        return axum::Json(crate::edge::anthropic::models(names)).into_response();
    }
    let data: Vec<Value> = live
        .config
        .routes
        .iter()
        .map(|r| json!({"id": r.name, "object": "model", "created": 0, "owned_by": "seam"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

pub(crate) async fn generate(
    app: Arc<App>,
    req: Request,
    endpoint: Endpoint,
    edge: Edge,
) -> Response {
    let (parts, body) = req.into_parts();
    let (mut ctx, bad_header) = CallCtx::new(app.live(), endpoint, &parts.headers);
    ctx.edge = edge;
    match authenticate(
        &parts.headers,
        &app.keys,
        ctx.live.config.server.keyless_tenant.as_deref(),
        app.store.as_ref(),
        &app.metrics,
    )
    .await
    {
        Ok(c) => ctx.caller = c,
        Err(e) => {
            // Unauthenticated requests are counted, never recorded: they have no tenant.
            app.metrics.auth_failures.inc();
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

/// A call that failed before or instead of an answer: its error response, once it is recorded.
async fn failed(app: &Arc<App>, ctx: CallCtx, e: GatewayError) -> Response {
    let mut resp = with_call_headers(
        respond(ctx.edge, &e, &ctx.id),
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
    let api = e.to_api();
    let durable = finish(
        app,
        ctx,
        CallEnd {
            status: api.status,
            outcome,
            error_class: Some(e.class()),
            error_message: Some(api.message),
            ttfb_ms: None,
            stream: None,
        },
    );
    if let Some(d) = durable {
        let _ = d.await;
    }
    resp
}

type Failed = (CallCtx, GatewayError);

async fn run(app: &Arc<App>, mut ctx: CallCtx, body: Body) -> Result<Response, Failed> {
    let body = match crate::request::read(&mut ctx, body).await {
        Ok(b) => b,
        Err(e) => return Err((ctx, e)),
    };
    let (body, route_name) = match crate::render::target(&ctx.requested_model) {
        None => (body, ctx.requested_model.clone()),
        Some((name, channel)) => {
            let Some(current) = app.releases.get(name, channel) else {
                let e = GatewayError::NoRelease {
                    name: name.to_string(),
                    channel: channel.to_string(),
                };
                return Err((ctx, e));
            };
            let d = match ctx.session_id.clone() {
                None => current.deployed.clone(),
                Some(session) => {
                    match crate::session::pin(app, &ctx, &session, name, channel, &current).await {
                        Ok(d) => d,
                        Err(e) => return Err((ctx, e)),
                    }
                }
            };
            match crate::render::render(body, d.clone(), ctx.live.config.render_fuel).await {
                Ok(rendered) => {
                    ctx.release_id = Some(d.release_id.clone());
                    ctx.pinned_model = Some(d.prompt.model.clone());
                    ctx.model_policy = Some(d.prompt.on_model_change);
                    (rendered, d.prompt.route.clone())
                }
                Err(e) => return Err((ctx, e)),
            }
        }
    };
    let state = match resolve(&ctx.live.routes, &route_name) {
        Ok(r) => r,
        Err(e) => return Err((ctx, e)),
    };
    let route = &state.route;
    ctx.route = route.name.clone();
    let limiter = &app.limiter;
    let limits = &ctx.live.config.limits;
    ctx.trace_limits = limiter.trace_limits(limits, &ctx.caller.tenant, route.trace_limits);
    if limiter.applies(limits, &ctx.caller, &ctx.trace_limits) {
        // Each completion is billed: reserved for, and capped where a budget applies.
        if limiter.needs_estimate(limits, &ctx.caller, &ctx.trace_limits)
            && let Err(e) = crate::dispatch::completions(&body, limits.max_n)
        {
            return Err((ctx, e));
        }
        let trace = ctx.trace_key().to_string();
        if let Err(r) = limiter
            .admit_call(
                &ctx.live.config.limits,
                &ctx.caller,
                &trace,
                &ctx.trace_limits,
                crate::now_ms(),
            )
            .await
        {
            return Err((ctx, GatewayError::Refused(r)));
        }
    }
    let include_usage = crate::request::include_usage(&body);
    let rewrite = (route.response_model == ResponseModel::Route).then(|| route.name.clone());
    let d = match dispatch(app, &mut ctx, &state, &body).await {
        Ok(d) => d,
        Err(e) => return Err((ctx, e)),
    };
    let upstream = crate::relay::Upstream {
        provider: d.provider,
        model: d.model,
        started: d.started,
        ttfb_ms: d.ttfb_ms,
        idle_timeout: d.timeout,
    };
    if let Err(e) = check_served_model(app, &mut ctx, &upstream, &d.answer, &body) {
        return Err((ctx, e));
    }
    let release = ctx.release_id.clone();
    let mut resp = match d.answer {
        Answer::Complete(c) => {
            let (resp, durable) = complete(app, ctx, upstream, c, &body, rewrite);
            if let Some(d) = durable {
                let _ = d.await;
            }
            resp
        }
        Answer::Stream { head, rest } => Relay::new(
            app.clone(),
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

/// A prompt release pins its model; when the provider serves another, the release's
/// `on_model_change` decides: record (the drift event is enough), alert (an event per
/// release and served model), or refuse (the attempt is recorded and billed, the client gets
/// a 502 instead of an answer from a model its release was not tested against).
fn check_served_model(
    app: &App,
    ctx: &mut CallCtx,
    up: &crate::relay::Upstream,
    answer: &Answer,
    body: &RequestBody,
) -> Result<(), GatewayError> {
    let (Some(pinned), Some(policy), Some(release)) = (
        ctx.pinned_model.clone(),
        ctx.model_policy,
        ctx.release_id.clone(),
    ) else {
        return Ok(());
    };
    let (served, usage) = match answer {
        Answer::Complete(c) => (c.served.clone(), c.usage),
        Answer::Stream { head, .. } => (
            head.iter()
                .find_map(|e| match e {
                    seam_providers::StreamEvent::Chunk { value, .. } => {
                        Some(seam_providers::Served::from_openai(value))
                    }
                    _ => None,
                })
                .unwrap_or_default(),
            UsageReport::Missing,
        ),
    };
    let Some(served_model) = served.model.clone().filter(|m| *m != pinned) else {
        return Ok(());
    };
    match policy {
        seam_prompts::ModelChange::Record => Ok(()),
        seam_prompts::ModelChange::Alert => {
            app.model_alerts
                .alert(app, &release, &pinned, &served_model, &ctx.id);
            Ok(())
        }
        seam_prompts::ModelChange::Refuse => {
            // The answer is dropped, but it was produced: billed like one, or (a stream
            // given up after its first events) for its input.
            let text = || match answer {
                Answer::Complete(c) => output_tokens(c),
                Answer::Stream { .. } => 0,
            };
            let fallback = match answer {
                Answer::Complete(_) => account::Fallback::Answer {
                    finished: true,
                    output_tokens: &text,
                },
                Answer::Stream { .. } => account::Fallback::Input,
            };
            let bill = up.bill(app, ctx, &served, body, usage, fallback);
            ctx.push_attempt(&app.metrics, up.attempt_end(&served, bill, None));
            Err(GatewayError::ServedModelMismatch {
                release,
                pinned,
                served: served_model,
            })
        }
    }
}

/// `x-seam-release` on every answer to a prompt call.
fn set_release(resp: &mut Response, release: Option<&str>) {
    if let Some(v) = release.and_then(|r| HeaderValue::from_str(r).ok()) {
        resp.headers_mut().insert("x-seam-release", v);
    }
}

fn complete(
    app: &App,
    mut ctx: CallCtx,
    up: crate::relay::Upstream,
    c: Complete,
    request: &RequestBody,
    rewrite: Option<String>,
) -> (Response, Option<crate::record::Durable>) {
    let bill = up.bill(
        app,
        &ctx,
        &c.served,
        request,
        c.usage,
        account::Fallback::Answer {
            finished: true,
            output_tokens: &|| output_tokens(&c),
        },
    );
    ctx.push_attempt(&app.metrics, up.attempt_end(&c.served, bill, None));
    let body = match (rewrite, ctx.edge) {
        (None, Edge::OpenAi) => c.body,
        (rewrite, edge) => {
            let mut body = c.to_value();
            if let (Some(name), Some(o)) = (rewrite, body.as_object_mut()) {
                o.insert("model".into(), Value::String(name));
            }
            if edge == Edge::Anthropic {
                body = crate::edge::anthropic::response::to_message(&body, bill.usage, &ctx.id);
            }
            Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
        }
    };
    // Built directly: axum's tuple response would set a content type twice (octet-stream for
    // the bytes, then JSON over it).
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(header::CONTENT_TYPE, JSON);
    let resp = with_call_headers(resp, &ctx.id, ctx.attempts.len(), c.served.model.as_deref());
    let durable = finish(
        app,
        ctx,
        CallEnd {
            status: 200,
            outcome: Outcome::Ok,
            error_class: None,
            error_message: None,
            ttfb_ms: up.ttfb_ms,
            stream: None,
        },
    );
    (resp, durable)
}

/// Estimated output tokens of a complete answer: its messages' text.
fn output_tokens(c: &Complete) -> u64 {
    output_text(&c.to_value())
        .map(|t| account::count_tokens(&t))
        .unwrap_or(0)
}

fn output_text(body: &Value) -> Option<String> {
    let choices = body.get("choices")?.as_array()?;
    Some(
        choices
            .iter()
            .filter_map(|c| c.pointer("/message/content").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
    )
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const CALL_ID: HeaderName = HeaderName::from_static("x-seam-call-id");
const ATTEMPTS: HeaderName = HeaderName::from_static("x-seam-attempts");
const SERVED_MODEL: HeaderName = HeaderName::from_static("x-seam-served-model");

/// `x-seam-attempts` for the usual counts, without formatting a number per call.
const ATTEMPT_COUNTS: [HeaderValue; 6] = [
    HeaderValue::from_static("0"),
    HeaderValue::from_static("1"),
    HeaderValue::from_static("2"),
    HeaderValue::from_static("3"),
    HeaderValue::from_static("4"),
    HeaderValue::from_static("5"),
];

pub fn with_call_headers(
    mut resp: Response,
    call_id: &str,
    attempts: usize,
    served: Option<&str>,
) -> Response {
    let h = resp.headers_mut();
    h.reserve(3);
    if let Ok(v) = HeaderValue::from_str(call_id) {
        h.insert(CALL_ID, v);
    }
    let count = match ATTEMPT_COUNTS.get(attempts) {
        Some(v) => v.clone(),
        None => HeaderValue::from(attempts),
    };
    h.insert(ATTEMPTS, count);
    if let Some(v) = served.and_then(|s| HeaderValue::from_str(s).ok()) {
        h.insert(SERVED_MODEL, v);
    }
    resp
}

/// Counts the finished call and queues its records.
/// Ends a call: counts it, feeds the detectors and hands its records over. With
/// `durability = "acknowledged"` the returned [`crate::record::Durable`] resolves once they are
/// on disk, and the caller must not complete the response before.
#[must_use]
pub fn finish(app: &App, mut ctx: CallCtx, mut end: CallEnd) -> Option<crate::record::Durable> {
    let mut memo = ctx.metrics.take();
    let named = ctx.trace_named;
    let parent = ctx.parent;
    let live = ctx.live.clone();
    let stream = end.stream.take();
    let (call, attempts) = ctx.into_record(end);
    app.fan_out.call(
        &app.metrics,
        &call.tenant,
        call.trace_id.as_deref().unwrap_or(&call.id),
        named,
        attempts.len() as u64,
        call.created_ms,
    );
    app.metrics.call(
        &mut memo,
        &call.route,
        call.provider.as_deref().unwrap_or(""),
        call.outcome,
        call.status,
        call.latency_ms / 1000.0,
    );
    for a in attempts.iter().filter(|a| a.outcome == Outcome::Ok) {
        if let Some(served) = &a.served_model {
            app.drift.observe(
                app,
                &call.route,
                &a.provider,
                &a.model,
                served,
                a.system_fingerprint.as_deref().unwrap_or(""),
                &call.id,
            );
        }
    }
    if let Some(first) = attempts.first() {
        let first_ok = first.outcome == Outcome::Ok;
        app.metrics
            .first_attempt(&mut memo, &call.route, &first.provider, first_ok);
        app.divergence.observe(
            app,
            &live.config.divergence,
            &call.route,
            &first.provider,
            first_ok,
            call.outcome == Outcome::Ok,
        );
    }
    if let Some(otlp) = &app.otlp {
        otlp.export(&call, &attempts, parent, |provider| {
            live.registry.get(provider).map_or("unknown", |p| p.kind())
        });
    }
    app.recorder.record(Box::new(Entry {
        call,
        attempts,
        stream,
    }))
}
