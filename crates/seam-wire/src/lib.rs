//! The OpenAI wire shapes Seam speaks to clients: request bodies, error bodies, usage, SSE
//! framing.

mod body;
mod canonical;
mod embedding;
pub mod json;
mod usage;

pub use body::{BodyError, RequestBody};
pub use canonical::canonical_json;
pub use embedding::cosine;
pub use usage::{Usage, UsageReport};

use bytes::Bytes;
use serde::Serialize;
use std::borrow::Cow;

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    /// `type`: Seam's own, or a provider's relayed as it said it.
    pub kind: Cow<'static, str>,
    pub code: Option<String>,
    pub message: String,
    pub param: Option<String>,
    /// Seam's context for a provider's error relayed as it was (`error.seam`), so that its
    /// `code` stays the provider's.
    pub seam: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seam: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind: Cow::Borrowed(kind),
            code: None,
            message: message.into(),
            param: None,
            seam: None,
        }
    }

    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request_error", message)
    }

    pub fn to_json(&self) -> Bytes {
        let env = ErrorEnvelope {
            error: ErrorBody {
                message: &self.message,
                kind: &self.kind,
                param: self.param.as_deref(),
                code: self.code.as_deref(),
                seam: self.seam.as_ref(),
            },
        };
        Bytes::from(serde_json::to_vec(&env).unwrap_or_default())
    }

    /// The same error as one SSE event, as OpenAI sends it inside a failing stream.
    pub fn to_sse(&self) -> Bytes {
        sse_data(&self.to_json())
    }
}

/// `v.pointer("/a/0/b")` for a path of literal segments (no `~` escapes): the same lookup
/// (an array's segment is a decimal index without leading zeros), without the string
/// `pointer` allocates for every segment.
pub fn at<'v>(v: &'v serde_json::Value, path: &[&str]) -> Option<&'v serde_json::Value> {
    use serde_json::Value;
    path.iter().try_fold(v, |v, seg| match v {
        Value::Object(o) => o.get(*seg),
        Value::Array(a) => index(seg).and_then(|i| a.get(i)),
        _ => None,
    })
}

/// [`at`] as a method, for chains: `v.at(&["delta", "content"])`.
pub trait At {
    fn at(&self, path: &[&str]) -> Option<&serde_json::Value>;
}

impl At for serde_json::Value {
    fn at(&self, path: &[&str]) -> Option<&serde_json::Value> {
        at(self, path)
    }
}

/// An array index as a JSON pointer spells it: `0`, or digits not starting with `0`.
fn index(seg: &str) -> Option<usize> {
    if seg.starts_with('+') || (seg.starts_with('0') && seg.len() > 1) {
        return None;
    }
    seg.parse().ok()
}

/// Frames one JSON payload as an SSE `data:` event.
pub fn sse_data(json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(json.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// The terminating event of an OpenAI stream.
pub const SSE_DONE: &[u8] = b"data: [DONE]\n\n";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn error_body_has_openai_shape() {
        let e = ApiError::new(404, "invalid_request_error", "no route `x`")
            .code("model_not_found")
            .param("model");
        let v: Value = serde_json::from_slice(&e.to_json()).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["code"], "model_not_found");
        assert_eq!(v["error"]["param"], "model");
        assert_eq!(v["error"]["message"], "no route `x`");
    }

    #[test]
    fn at_finds_what_pointer_finds() {
        let v = serde_json::json!({"a": [{"b": 1}, {"b": [2, 3]}], "01": "x", "": {"": 4}});
        for (path, segs) in [
            ("/a/0/b", &["a", "0", "b"][..]),
            ("/a/1/b/1", &["a", "1", "b", "1"]),
            ("/a/01/b", &["a", "01", "b"]),
            ("/a/+1/b", &["a", "+1", "b"]),
            ("/a/2", &["a", "2"]),
            ("/01", &["01"]),
            ("//", &["", ""]),
            ("/a/0/b/c", &["a", "0", "b", "c"]),
            ("", &[]),
        ] {
            assert_eq!(at(&v, segs), v.pointer(path), "{path}");
            assert_eq!(v.at(segs), v.pointer(path), "{path}");
        }
        assert_eq!(at(&v, &["a", "1", "b", "1"]), Some(&serde_json::json!(3)));
    }
}
