//! A complete (non-streamed) OpenAI-shaped answer, with what Seam reads out of it.

use crate::{AttemptError, ErrorClass, Served};
use bytes::Bytes;
use seam_wire::UsageReport;
use serde::de::IgnoredAny;
use serde_json::Value;

/// A complete OpenAI-shaped response body, with what Seam needs read out of it.
#[derive(Debug, Clone)]
pub struct Complete {
    /// The JSON body; for OpenAI-native providers, the bytes exactly as received.
    pub body: Bytes,
    /// The usage the body reports, however odd: an answer with unreadable usage is still an
    /// answer (the gateway estimates what to bill).
    pub usage: UsageReport,
    pub served: Served,
    /// The headers of the response a client may read (`x-request-id`, ...).
    pub passed: crate::Passed,
}

/// The few fields Seam reads from a response; the rest is scanned, not built.
#[derive(serde::Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    model: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    system_fingerprint: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    usage: UsageReport,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

impl Complete {
    /// Reads usage and the served model from an OpenAI-shaped body that came with a success
    /// status. A body that is not JSON, or that is an error (`{"error": {...}}`, as a stream
    /// can also end), is a failed attempt.
    pub fn from_openai_bytes(body: Bytes, provider: &str) -> Result<Complete, AttemptError> {
        let peek: Peek<'_> = seam_wire::json::from_slice(&body).map_err(|e| {
            AttemptError::new(
                ErrorClass::BadResponse,
                format!("provider `{provider}` sent a body that is not JSON: {e}"),
            )
        })?;
        if peek.error.is_some() {
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            return Err(AttemptError::error_body(provider, 200, &value, &body));
        }
        let usage = peek.usage;
        let served = Served {
            model: peek.model.map(|m| m.into_owned()),
            fingerprint: peek.system_fingerprint.map(|f| f.into_owned()),
        };
        Ok(Complete {
            body,
            usage,
            served,
            passed: crate::Passed::default(),
        })
    }

    /// The body as a JSON document, for the rare caller that must change it.
    pub fn to_value(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_wire::Usage;

    fn read(text: &str) -> Result<Complete, AttemptError> {
        Complete::from_openai_bytes(Bytes::from(text.to_string()), "up")
    }

    #[test]
    fn an_answer_with_odd_usage_is_kept() {
        let c = read(r#"{"model": "m", "choices": [], "usage": {"prompt_tokens": -3}}"#).unwrap();
        assert_eq!(c.usage, UsageReport::Malformed);
        assert_eq!(c.served.model.as_deref(), Some("m"));
        let c = read(r#"{"choices": [], "usage": "many"}"#).unwrap();
        assert_eq!(c.usage, UsageReport::Malformed);
        let c = read(r#"{"choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 1}}"#)
            .unwrap();
        assert_eq!(
            c.usage,
            UsageReport::Reported(Usage {
                input_tokens: 2,
                output_tokens: 1
            })
        );
        assert_eq!(
            read(r#"{"error": null}"#).unwrap().usage,
            UsageReport::Missing
        );
    }

    #[test]
    fn an_error_body_or_no_json_is_a_failed_attempt() {
        let e =
            read(r#"{"error": {"message": "overloaded", "type": "server_error"}}"#).unwrap_err();
        assert_eq!((e.class, e.status), (ErrorClass::BadResponse, Some(200)));
        assert!(
            e.message.contains("answered 200 with an error: overloaded"),
            "{}",
            e.message
        );
        assert!(e.body.as_deref().unwrap().contains("overloaded"));
        let e = read("<html>").unwrap_err();
        assert_eq!(e.class, ErrorClass::BadResponse);
        assert!(e.message.contains("not JSON"), "{}", e.message);
    }
}
