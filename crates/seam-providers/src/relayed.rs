//! What of an upstream's answer is relayed to the client as the provider said it: the error
//! body's `type`, `code`, `param` and message (in OpenAI's terms, Anthropic's mapped), and
//! the headers clients read (`x-request-id`, `x-ratelimit-*`, `anthropic-ratelimit-*`, `openai-processing-ms`).

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// An upstream's error in OpenAI's shape, as an OpenAI client should see it: the status to
/// answer with and the body's fields. Its message is scrubbed of the provider's key.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderError {
    pub status: u16,
    pub kind: String,
    pub code: Option<String>,
    pub param: Option<String>,
    pub message: String,
}

impl ProviderError {
    /// `{"error": {"message", "type", "param", "code"}}` from an OpenAI-compatible provider;
    /// `None` for a body without an error message.
    pub fn from_openai(status: u16, body: &Value) -> Option<ProviderError> {
        let e = body.get("error")?;
        let text = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
        // Some servers (vLLM, llama.cpp) send `code` as the status number.
        let code =
            text("code").or_else(|| e.get("code").and_then(Value::as_i64).map(|n| n.to_string()));
        Some(ProviderError {
            status,
            kind: text("type").unwrap_or_else(|| default_type(status).to_string()),
            code,
            param: text("param"),
            message: text("message")?,
        })
    }

    /// `{"type": "error", "error": {"type", "message"}}` from Anthropic, mapped to what
    /// OpenAI answers for the same failure, so an OpenAI client branches as it would there.
    pub fn from_anthropic(status: u16, body: &Value) -> Option<ProviderError> {
        let e = body.get("error")?;
        let message = e.get("message").and_then(Value::as_str)?.to_string();
        let kind = e.get("type").and_then(Value::as_str).unwrap_or("");
        let (status, kind, code) = match kind {
            "invalid_request_error" if context_length(&message) => (
                400,
                "invalid_request_error",
                Some("context_length_exceeded"),
            ),
            "invalid_request_error" => (status, "invalid_request_error", None),
            "authentication_error" => (401, "invalid_request_error", Some("invalid_api_key")),
            "permission_error" => (403, "permission_error", None),
            "not_found_error" => (404, "invalid_request_error", None),
            "request_too_large" => (413, "invalid_request_error", Some("request_too_large")),
            // Out of credit: OpenAI's answer for that is a 429 `insufficient_quota`.
            "billing_error" => (429, "insufficient_quota", Some("insufficient_quota")),
            "rate_limit_error" => (429, "rate_limit_error", Some("rate_limit_exceeded")),
            // 529 is Anthropic's own; clients know 503.
            "overloaded_error" => (503, "server_error", None),
            "timeout_error" => (504, "server_error", None),
            "api_error" => (500, "server_error", None),
            _ => (status, default_type(status), None),
        };
        Some(ProviderError {
            status,
            kind: kind.to_string(),
            code: code.map(str::to_string),
            param: None,
            message,
        })
    }
}

fn default_type(status: u16) -> &'static str {
    match status {
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "server_error",
    }
}

/// Whether an `invalid_request_error`'s message says the prompt is over the context window.
fn context_length(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "prompt is too long",
        "context window",
        "context length",
        "too many tokens",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// The headers of an upstream answer that a client may read, passed through as they came.
/// Boxed, and none at all without them: it rides in every attempt's error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Passed(Option<Box<PassedHeaders>>);

#[derive(Debug, Clone, PartialEq)]
struct PassedHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
    request_id: Option<String>,
}

const PASSED: [&str; 2] = ["x-request-id", "openai-processing-ms"];
/// Rate-limit headers: OpenAI's, and Anthropic's (which its SDK reads).
const PASSED_PREFIXES: [&str; 2] = ["x-ratelimit-", "anthropic-ratelimit-"];

/// A copy of `v` in its own allocation. hyper's header values are slices of the connection's
/// read buffer (8 KiB and more): a clone kept for a whole stream would keep that buffer too,
/// and make hyper allocate another for its next read (bench/results/2026-12-06-streams.md).
fn owned(v: &HeaderValue) -> HeaderValue {
    match HeaderValue::from_bytes(v.as_bytes()) {
        Ok(mut copy) => {
            copy.set_sensitive(v.is_sensitive());
            copy
        }
        // It was a valid value; were it not, the shared one is still right.
        Err(_) => v.clone(),
    }
}

impl Passed {
    /// `x-request-id`, `openai-processing-ms`, `x-ratelimit-*` and `anthropic-ratelimit-*` of
    /// `h`; the request id (Anthropic's `request-id` too) is kept for the record.
    pub fn from_headers(h: &HeaderMap) -> Passed {
        // One pass over the few headers an answer has, rather than lookups by name (each
        // parses the name and hashes it).
        let mut headers = Vec::new();
        let (mut x_request_id, mut request_id) = (None, None);
        for (n, v) in h {
            let name = n.as_str();
            match name {
                "x-request-id" => x_request_id = x_request_id.or(Some(v)),
                "request-id" => request_id = request_id.or(Some(v)),
                _ => {}
            }
            if PASSED.contains(&name) || PASSED_PREFIXES.iter().any(|p| name.starts_with(p)) {
                headers.push((n.clone(), owned(v)));
            }
        }
        let request_id = x_request_id
            .or(request_id)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect());
        if headers.is_empty() && request_id.is_none() {
            return Passed(None);
        }
        Passed(Some(Box::new(PassedHeaders {
            headers,
            request_id,
        })))
    }

    /// The upstream's id of the request, as its support asks for it.
    pub fn request_id(&self) -> Option<&str> {
        self.0.as_ref()?.request_id.as_deref()
    }

    /// Adds the headers to a response's (Seam's own are never among them).
    pub fn apply(&self, h: &mut HeaderMap) {
        for (n, v) in self.0.iter().flat_map(|p| &p.headers) {
            h.append(n.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openai_errors_keep_their_fields() {
        let e = ProviderError::from_openai(
            400,
            &json!({"error": {"message": "too long", "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}),
        )
        .unwrap();
        assert_eq!(
            (
                e.status,
                e.kind.as_str(),
                e.code.as_deref(),
                e.param.as_deref()
            ),
            (
                400,
                "invalid_request_error",
                Some("context_length_exceeded"),
                Some("messages")
            )
        );
        assert!(ProviderError::from_openai(500, &json!({"detail": "x"})).is_none());
    }

    #[test]
    fn anthropic_errors_map_to_openai_equivalents() {
        for (status, kind, message, want) in [
            (
                529,
                "overloaded_error",
                "Overloaded",
                (503, "server_error", None),
            ),
            (
                400,
                "invalid_request_error",
                "prompt is too long: 210000 tokens > 200000 maximum",
                (
                    400,
                    "invalid_request_error",
                    Some("context_length_exceeded"),
                ),
            ),
            (
                400,
                "invalid_request_error",
                "max_tokens: required",
                (400, "invalid_request_error", None),
            ),
            (
                429,
                "rate_limit_error",
                "slow down",
                (429, "rate_limit_error", Some("rate_limit_exceeded")),
            ),
            (
                401,
                "authentication_error",
                "invalid x-api-key",
                (401, "invalid_request_error", Some("invalid_api_key")),
            ),
            (
                403,
                "permission_error",
                "no",
                (403, "permission_error", None),
            ),
            (
                404,
                "not_found_error",
                "model: x",
                (404, "invalid_request_error", None),
            ),
            (500, "api_error", "oops", (500, "server_error", None)),
        ] {
            let e = ProviderError::from_anthropic(
                status,
                &json!({"type": "error", "error": {"type": kind, "message": message}}),
            )
            .unwrap();
            assert_eq!(
                (e.status, e.kind.as_str(), e.code.as_deref()),
                want,
                "{kind}"
            );
            assert_eq!(e.message, message);
        }
    }

    #[test]
    fn only_the_headers_clients_read_pass() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("x-request-id", "req_1"),
            ("x-ratelimit-remaining-requests", "9"),
            ("openai-processing-ms", "12"),
            ("set-cookie", "a=b"),
            ("server", "x"),
        ] {
            h.insert(n, HeaderValue::from_static(v));
        }
        let p = Passed::from_headers(&h);
        assert_eq!(p.request_id(), Some("req_1"));
        let mut out = HeaderMap::new();
        p.apply(&mut out);
        assert_eq!(out.len(), 3);
        assert!(out.get("set-cookie").is_none());
        let mut a = HeaderMap::new();
        a.insert("request-id", HeaderValue::from_static("req_ant"));
        let p = Passed::from_headers(&a);
        assert_eq!(p.request_id(), Some("req_ant"));
        let mut out = HeaderMap::new();
        p.apply(&mut out);
        assert!(out.is_empty());
        a.insert(
            "anthropic-ratelimit-requests-remaining",
            HeaderValue::from_static("49"),
        );
        let mut out = HeaderMap::new();
        Passed::from_headers(&a).apply(&mut out);
        assert_eq!(out["anthropic-ratelimit-requests-remaining"], "49");
        assert_eq!(
            out.len(),
            1,
            "request-id is kept for the record, not passed"
        );
    }

    /// A passed header is the upstream's value in an allocation of its own, not a slice of
    /// the buffer hyper read the response into: a stream keeps it to its end.
    #[test]
    fn a_passed_value_does_not_keep_the_read_buffer() {
        let buffer = bytes::Bytes::from(vec![b'7'; 8192]);
        let mut h = HeaderMap::new();
        let shared = HeaderValue::from_maybe_shared(buffer.slice(100..102)).unwrap();
        h.insert("x-ratelimit-remaining-tokens", shared);
        let mut out = HeaderMap::new();
        Passed::from_headers(&h).apply(&mut out);
        let v = &out["x-ratelimit-remaining-tokens"];
        assert_eq!(v, "77");
        let at = v.as_bytes().as_ptr() as usize;
        let range = buffer.as_ptr() as usize..buffer.as_ptr() as usize + buffer.len();
        assert!(
            !range.contains(&at),
            "the value still points into the read buffer"
        );
    }
}
