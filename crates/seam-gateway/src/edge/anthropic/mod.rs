//! Anthropic's Messages API at Seam's edge (`POST /v1/messages`,
//! `POST /v1/messages/count_tokens`), for Anthropic SDK clients and coding agents pointed at
//! Seam with `ANTHROPIC_BASE_URL`.
//!
//! A call is translated into an OpenAI chat request ([`request`]) and runs the same lifecycle
//! as `/v1/chat/completions`, whichever provider its route names; the answer becomes a
//! Message ([`response`]), a stream becomes Anthropic's events ([`stream`]), and errors take
//! Anthropic's shape with Seam's statuses (here).

pub mod request;
pub mod response;
pub mod stream;

use crate::errors::{GatewayError, Told};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, header};
use seam_wire::ApiError;
use serde_json::json;

/// Anthropic's `error.type` for a status, as its API documents them.
pub fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        503 | 529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// `{"type": "error", "error": {"type", "message"}, "request_id"}`. Seam's own error code
/// (`model_not_found`, `trace_call_limit`, ...) has no place in Anthropic's shape; the message
/// says what was wrong, and the record keeps the code.
pub fn error_json(api: &ApiError, call_id: &str) -> Bytes {
    let mut v = json!({
        "type": "error",
        "error": {"type": error_type_of(api), "message": api.message},
    });
    if !call_id.is_empty() {
        v["request_id"] = json!(call_id);
    }
    Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
}

/// Anthropic's `error.type` for an error: by its status, but a spent quota (an upstream's
/// `insufficient_quota`, which is how Anthropic's own `billing_error` reaches OpenAI's terms)
/// is a `billing_error` again, whatever its status.
fn error_type_of(api: &ApiError) -> &'static str {
    match api.code.as_deref() {
        Some("insufficient_quota") => "billing_error",
        _ => error_type(api.status),
    }
}

/// The same error as the `error` event that ends a failing stream.
pub fn error_event(api: &ApiError, call_id: &str) -> Bytes {
    stream::frame("error", &error_json(api, call_id))
}

/// The error response: Seam's status and headers (`Retry-After`, ...), Anthropic's body.
pub fn respond(err: &GatewayError, call_id: &str, told: &Told) -> Response {
    let mut resp = crate::errors::respond_told(err, told);
    *resp.body_mut() = Body::from(error_json(&err.to_api(), call_id));
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    decorate(&mut resp, call_id);
    resp
}

/// A bug must not cost an Anthropic client its error shape either: a panic is a 500
/// `api_error`.
pub fn panic_response() -> Response {
    tracing::error!("a request handler panicked; answered 500");
    let api = ApiError::new(500, "server_error", "Seam hit an internal error.");
    let mut resp = Response::new(Body::from(error_json(&api, "")));
    *resp.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

/// `GET /v1/models` in Anthropic's shape: the routes, one page.
pub fn models<'a>(routes: impl Iterator<Item = &'a str>) -> serde_json::Value {
    let data: Vec<serde_json::Value> = routes.map(model).collect();
    let first = data.first().map(|m| m["id"].clone());
    let last = data.last().map(|m| m["id"].clone());
    json!({"data": data, "has_more": false, "first_id": first, "last_id": last})
}

/// One route as an Anthropic model object.
pub fn model(name: &str) -> serde_json::Value {
    json!({"type": "model", "id": name, "display_name": name,
        "created_at": "1970-01-01T00:00:00Z", "lifecycle": "active"})
}

/// `request-id`, which Anthropic's SDKs show as a response's `_request_id`: the call's id.
pub fn decorate(resp: &mut Response, call_id: &str) {
    if let Ok(v) = HeaderValue::from_str(call_id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
}

/// The answer to `POST /v1/messages/count_tokens` (see `pipeline::count_tokens`).
pub fn token_count(input_tokens: u64, call_id: &str) -> Response {
    let mut resp = Response::new(Body::from(
        serde_json::to_vec(&json!({"input_tokens": input_tokens})).unwrap_or_default(),
    ));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    decorate(&mut resp, call_id);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_take_anthropics_shape_and_types() {
        let api =
            ApiError::new(404, "invalid_request_error", "no route `x`").code("model_not_found");
        let v: serde_json::Value = serde_json::from_slice(&error_json(&api, "call_1")).unwrap();
        assert_eq!(
            v,
            json!({"type": "error", "error": {"type": "not_found_error", "message": "no route `x`"}, "request_id": "call_1"})
        );
        for (status, kind) in [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (413, "request_too_large"),
            (422, "invalid_request_error"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (502, "api_error"),
            (503, "overloaded_error"),
            (504, "timeout_error"),
        ] {
            assert_eq!(error_type(status), kind, "{status}");
        }
        let quota =
            ApiError::new(429, "insufficient_quota", "over quota").code("insufficient_quota");
        let v: serde_json::Value = serde_json::from_slice(&error_json(&quota, "")).unwrap();
        assert_eq!(v["error"]["type"], "billing_error");
        let e = error_event(&api, "call_1");
        let text = std::str::from_utf8(&e).unwrap();
        assert!(text.starts_with("event: error\ndata: {"), "{text}");
        assert!(text.ends_with("}\n\n"), "{text}");
    }
}
