//! The wire format a client speaks at Seam's edge. Every call runs the same lifecycle on an
//! OpenAI-shaped request (providers take and give OpenAI shapes); a client that speaks
//! another format has its request translated on the way in and the answer, stream and errors
//! on the way out, here and nowhere else.

pub mod anthropic;
pub mod responses;

use crate::errors::{GatewayError, Told};
use axum::response::Response;
use seam_providers::Endpoint;

/// Which wire format the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Edge {
    /// `/v1/chat/completions`, `/v1/embeddings`: passed through as written.
    #[default]
    OpenAi,
    /// `/v1/messages`: Anthropic's Messages API.
    Anthropic,
    /// `/v1/responses`: OpenAI's Responses API, passed through or translated per target.
    Responses,
}

impl Edge {
    /// The endpoint a call's record names: what the client called, so an operator can tell
    /// Anthropic-format clients apart (`messages`) from OpenAI ones.
    pub fn recorded_endpoint(self, endpoint: Endpoint) -> &'static str {
        match self {
            Edge::OpenAi => endpoint.as_str(),
            Edge::Anthropic => "messages",
            Edge::Responses => "responses",
        }
    }
}

/// The error response for `err`, in the client's format (same status and `Retry-After`).
pub fn respond(edge: Edge, err: &GatewayError, call_id: &str) -> Response {
    respond_told(edge, err, call_id, &Told::default())
}

/// [`respond`] for a call that got as far as its attempts: what it tells beside the error.
pub fn respond_told(edge: Edge, err: &GatewayError, call_id: &str, told: &Told) -> Response {
    match edge {
        Edge::OpenAi | Edge::Responses => crate::errors::respond_told(err, told),
        Edge::Anthropic => anthropic::respond(err, call_id, told),
    }
}

/// Headers a client of this format expects on every answer.
pub fn decorate(edge: Edge, resp: &mut Response, call_id: &str) {
    if edge == Edge::Anthropic {
        anthropic::decorate(resp, call_id);
    }
}

/// A translated request as the chat body the rest of the call runs on.
fn translated_body(
    chat: &serde_json::Map<String, serde_json::Value>,
) -> Result<seam_wire::RequestBody, GatewayError> {
    let bytes = serde_json::to_vec(chat)
        .map_err(|e| GatewayError::Internal(format!("translating the request: {e}")))?;
    seam_wire::RequestBody::parse(bytes.into())
        .map_err(|_| GatewayError::Internal("the translated request does not parse".into()))
}
