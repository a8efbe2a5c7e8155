//! Phase 2 of [`crate::pipeline`], request: reads a client's request body and checks the fields Seam itself needs; every other field
//! passes through untouched.

use crate::call::CallCtx;
use crate::edge::Edge;
use crate::errors::GatewayError;
use crate::untrusted::{MAX_MODEL_LEN, cap};
use axum::body::Body;
use seam_providers::Endpoint;
use seam_wire::{BodyError, RequestBody};
use serde_json::Value;

pub async fn read(ctx: &mut CallCtx, body: Body) -> Result<RequestBody, GatewayError> {
    let limit = ctx.live.config.server.max_body_bytes;
    let deadline = ctx.live.config.server.body_timeout;
    // A body that came with its head is read at once and never arms the timer.
    let read = tokio::time::timeout(deadline, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_| GatewayError::BodyTimeout { limit: deadline })?;
    let bytes = read.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            GatewayError::BodyTooLarge { limit }
        } else {
            GatewayError::BodyUnreadable
        }
    })?;
    let bytes = own_buffer(bytes);
    ctx.request_hash = request_hash(ctx.endpoint, &bytes);
    let body = RequestBody::parse(bytes).map_err(|e| match e {
        BodyError::Malformed(e) => {
            GatewayError::MalformedJson(format!("{e} (line {}, column {})", e.line(), e.column()))
        }
        BodyError::NotAnObject => GatewayError::NotAnObject,
    })?;
    let body = match ctx.edge {
        Edge::OpenAi | Edge::Responses => body,
        Edge::Anthropic => crate::edge::anthropic::request::to_chat_body(&body)?,
    };
    check(&body, ctx)?;
    Ok(body)
}

/// A body smaller than hyper's read buffer usually came in one read and is a slice of that
/// buffer (8 KiB and more): kept for the whole call (a stream's relay holds the request), it
/// would keep the buffer too, and hyper would allocate another for its next read. A copy of
/// the body costs less than the buffer it frees (bench/results/2026-12-06-streams.md). A
/// larger body usually came in several reads and was gathered into a buffer of its own.
fn own_buffer(bytes: bytes::Bytes) -> bytes::Bytes {
    if bytes.len() <= OWN_COPY_MAX {
        bytes::Bytes::copy_from_slice(&bytes)
    } else {
        bytes
    }
}

/// The largest body [`own_buffer`] copies (a loopback socket read brings at most about this).
const OWN_COPY_MAX: usize = 64 * 1024;

/// The xxh3-64 of a chat, messages (which runs as chat) or responses body as the client sent
/// it, in 16 lowercase hex characters: one allocation, of those 16 bytes. Other endpoints
/// (embeddings, legacy completions) have none: the failure signals read conversations only.
fn request_hash(endpoint: Endpoint, body: &[u8]) -> Option<String> {
    use std::fmt::Write;
    if !matches!(endpoint, Endpoint::ChatCompletions | Endpoint::Responses) {
        return None;
    }
    let mut hex = String::with_capacity(16);
    // Writing to a String cannot fail.
    let _ = write!(hex, "{:016x}", xxhash_rust::xxh3::xxh3_64(body));
    Some(hex)
}

fn check(body: &RequestBody, ctx: &mut CallCtx) -> Result<(), GatewayError> {
    ctx.requested_model = match body.get::<Option<String>>("model") {
        None | Some(Ok(None)) => return Err(GatewayError::MissingField("model")),
        Some(Ok(Some(m))) if m.len() > MAX_MODEL_LEN => {
            // The record keeps the start of it, so an operator can tell which client.
            ctx.requested_model = cap(&m, MAX_MODEL_LEN).to_string();
            return Err(GatewayError::InvalidField {
                field: "model",
                reason: format!(
                    "must be at most {MAX_MODEL_LEN} bytes; this one is {} bytes",
                    m.len()
                ),
            });
        }
        Some(Ok(Some(m))) if !m.is_empty() => m,
        _ => {
            return Err(GatewayError::InvalidField {
                field: "model",
                reason: "must be a non-empty string naming a route".into(),
            });
        }
    };
    match ctx.endpoint {
        Endpoint::ChatCompletions => {
            if !body.has("messages") {
                return Err(GatewayError::MissingField("messages"));
            }
            // The body parsed as JSON already: an array whose first token after `[` is not `]`
            // has an element, without reading the messages again.
            let non_empty_array = body.raw_field("messages").is_some_and(|v| {
                v.strip_prefix('[')
                    .is_some_and(|rest| !rest.trim_start().starts_with(']'))
            });
            if !non_empty_array {
                return Err(GatewayError::InvalidField {
                    field: "messages",
                    reason: "must be a non-empty array of messages".into(),
                });
            }
        }
        Endpoint::Completions => {
            if !body.has("prompt") {
                return Err(GatewayError::MissingField("prompt"));
            }
            if crate::render::renders(&ctx.requested_model) {
                return Err(GatewayError::InvalidField {
                    field: "model",
                    reason: "a prompt release renders chat messages: call it through /v1/chat/completions".into(),
                });
            }
        }
        Endpoint::Embeddings => {
            if !body.has("input") {
                return Err(GatewayError::MissingField("input"));
            }
        }
        // Passed through as written to a target that speaks the Responses API (whose own
        // checks apply); the translation for any other target checks what it needs.
        Endpoint::Responses => {}
    }
    ctx.stream = match body.get::<Option<bool>>("stream") {
        None | Some(Ok(None)) => false,
        Some(Ok(Some(b))) => b && ctx.endpoint != Endpoint::Embeddings,
        Some(Err(_)) => {
            return Err(GatewayError::InvalidField {
                field: "stream",
                reason: "must be true or false".into(),
            });
        }
    };
    Ok(())
}

/// Whether the client asked for the usage chunk of a stream.
pub fn include_usage(body: &RequestBody) -> bool {
    body.get::<Value>("stream_options")
        .and_then(Result::ok)
        .and_then(|o| o.get("include_usage").and_then(Value::as_bool))
        .unwrap_or(false)
}

#[cfg(test)]
mod buffer_tests {
    use super::*;

    fn inside(b: &bytes::Bytes, buffer: &bytes::Bytes) -> bool {
        let start = buffer.as_ptr() as usize;
        (start..start + buffer.len()).contains(&(b.as_ptr() as usize))
    }

    /// A small body read with its head is a slice of hyper's read buffer: the call keeps a
    /// copy instead, the same bytes; a large one is kept as it came.
    #[test]
    fn a_small_body_is_copied_out_of_the_read_buffer() {
        let buffer = bytes::Bytes::from(vec![b' '; 200_000]);
        let small = own_buffer(buffer.slice(300..800));
        assert_eq!(small.len(), 500);
        assert!(
            !inside(&small, &buffer),
            "the body still points into the buffer"
        );
        let large = own_buffer(buffer.slice(0..OWN_COPY_MAX + 1));
        assert!(inside(&large, &buffer), "a large body is not copied");
    }
}
