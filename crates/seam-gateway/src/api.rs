//! The OpenAI- and Anthropic-compatible endpoints: each hands its call to the sequencer
//! ([`crate::pipeline`]).

use crate::App;
use crate::edge::Edge;
use crate::errors::GatewayError;
use crate::untrusted::MAX_MODEL_LEN;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use seam_providers::Endpoint;
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn chat_completions(State(app): State<Arc<App>>, req: Request) -> Response {
    crate::pipeline::call(app, req, Endpoint::ChatCompletions, Edge::OpenAi).await
}

/// The legacy completions API: a call like chat, to providers that have the endpoint.
pub async fn completions(State(app): State<Arc<App>>, req: Request) -> Response {
    crate::pipeline::call(app, req, Endpoint::Completions, Edge::OpenAi).await
}

pub async fn embeddings(State(app): State<Arc<App>>, req: Request) -> Response {
    crate::pipeline::call(app, req, Endpoint::Embeddings, Edge::OpenAi).await
}

/// Anthropic's Messages API: a chat call, translated at the edge (see [`crate::edge`]).
pub async fn messages(State(app): State<Arc<App>>, req: Request) -> Response {
    crate::pipeline::call(app, req, Endpoint::ChatCompletions, Edge::Anthropic).await
}

/// OpenAI's Responses API: passed through or translated per target (see
/// [`crate::edge::responses`]).
pub async fn responses(State(app): State<Arc<App>>, req: Request) -> Response {
    crate::pipeline::call(app, req, Endpoint::Responses, Edge::Responses).await
}

/// `GET` and `DELETE /v1/responses/{id}`: asked of the providers that store responses.
pub async fn stored_response(
    State(app): State<Arc<App>>,
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
) -> Response {
    let live = app.live();
    if let Err(e) = crate::pipeline::authenticate(&app, &headers, &live).await {
        return crate::errors::respond(&e);
    }
    let path = uri
        .path()
        .strip_prefix("/v1/responses/")
        .unwrap_or_default();
    let id = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    crate::edge::responses::stored(&live, method, &id).await
}

/// `POST /v1/feedback` and `/api/feedback` (`crate::feedback`), with the tenant's key.
pub async fn feedback(
    State(app): State<Arc<App>>,
    headers: http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let live = app.live();
    let caller = match crate::pipeline::authenticate(&app, &headers, &live).await {
        Ok(c) => c,
        Err(e) => return crate::errors::respond(&e),
    };
    let parts = crate::feedback::Parts {
        store: app.store.as_ref(),
        limiter: &app.limiter,
        live: &live,
        caller: &caller,
    };
    crate::feedback::post(parts, &body).await
}

pub async fn count_tokens(State(app): State<Arc<App>>, req: Request) -> Response {
    crate::pipeline::count_tokens(app, req).await
}

/// The routes as models; in Anthropic's shape for a client that says `anthropic-version`
/// (Anthropic's SDKs always do, OpenAI's never).
pub async fn models(State(app): State<Arc<App>>, headers: http::HeaderMap) -> Response {
    let live = app.live();
    let anthropic = headers.contains_key("anthropic-version");
    if let Err(e) = crate::pipeline::authenticate(&app, &headers, &live).await {
        return error(anthropic, &e);
    }
    if anthropic {
        let names = live.config.routes.iter().map(|r| r.name.as_str());
        return axum::Json(crate::edge::anthropic::models(names)).into_response();
    }
    let data: Vec<Value> = live
        .config
        .routes
        .iter()
        .map(|r| openai_model(&r.name))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

/// `GET /v1/models/{id}`: one route as a model, in the client's shape; an unknown one is a
/// 404 `model_not_found`, as for a call.
pub async fn model(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: http::HeaderMap,
) -> Response {
    let live = app.live();
    let anthropic = headers.contains_key("anthropic-version");
    if let Err(e) = crate::pipeline::authenticate(&app, &headers, &live).await {
        return error(anthropic, &e);
    }
    let Some(route) = live.config.routes.iter().find(|r| r.name == id) else {
        let e = GatewayError::UnknownRoute(crate::untrusted::cap(&id, MAX_MODEL_LEN).to_string());
        return error(anthropic, &e);
    };
    if anthropic {
        return axum::Json(crate::edge::anthropic::model(&route.name)).into_response();
    }
    axum::Json(openai_model(&route.name)).into_response()
}

fn openai_model(name: &str) -> Value {
    json!({"id": name, "object": "model", "created": 0, "owned_by": "seam"})
}

fn error(anthropic: bool, e: &GatewayError) -> Response {
    if anthropic {
        crate::edge::anthropic::respond(e, "", &crate::errors::Told::default())
    } else {
        crate::errors::respond(e)
    }
}
