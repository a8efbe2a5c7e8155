//! OpenAI's Responses API at Seam's edge (`POST /v1/responses`, and `GET`/`DELETE
//! /v1/responses/{id}` passed to the providers that store responses), for the OpenAI SDKs'
//! `responses` client, the Agents SDK and the Vercel AI SDK's default provider.
//!
//! A target that speaks the Responses API gets the client's body as it is (the target's
//! model in it) and its answer or events pass through; any other target gets the call
//! translated into a chat request ([`request`]), and its answer becomes a Response
//! ([`response`]), its chunks the Responses events ([`stream`]). Either way the call runs the
//! same lifecycle as chat: limits, retries, records (endpoint `responses`), prices, stream
//! telemetry. Errors keep OpenAI's shape; a stream that fails ends with an `error` event.

pub mod request;
pub mod response;
pub mod stream;

use crate::errors::GatewayError;
use axum::body::Body;
use axum::response::Response;
use seam_wire::{ApiError, RequestBody};

/// A call's body for a target without the Responses API: the chat translation, or why there
/// is none (such targets are then skipped; with no other target, that is the call's error).
pub type Translated = Result<RequestBody, GatewayError>;

/// The body as each kind of target takes it.
pub fn translate(body: &RequestBody) -> Translated {
    request::to_chat_body(body)
}

/// `GET`/`DELETE /v1/responses/{id}`: asked of each provider that speaks the Responses API,
/// in config order, until one knows the id (Seam does not keep which provider made which
/// response; with one such provider, as usual, that is the one asked). A response made by
/// translation to chat was stored nowhere.
pub async fn stored(live: &crate::Live, method: http::Method, id_and_query: &str) -> Response {
    let providers = live
        .config
        .providers
        .iter()
        .filter_map(|p| live.registry.get(&p.name))
        .filter(|p| p.responses());
    let mut answer = None;
    let mut failed = None;
    for p in providers {
        match p.stored_response(method.clone(), id_and_query).await {
            Ok(s) if s.status == 404 => answer = Some(s),
            Ok(s) => return json(s.status, s.body),
            Err(e) => failed = Some(e),
        }
    }
    match (answer, failed) {
        (Some(s), _) => json(s.status, s.body),
        (None, Some(e)) => crate::errors::respond(&GatewayError::Upstream(e)),
        (None, None) => {
            let api = ApiError::new(
                404,
                "invalid_request_error",
                "No provider of this gateway stores responses: responses made by translation to chat completions are not kept, and none of its providers speaks the Responses API.",
            )
            .code("not_found");
            json(404, api.to_json())
        }
    }
}

fn json(status: u16, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}
