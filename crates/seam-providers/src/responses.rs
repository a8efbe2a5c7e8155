//! What providers share about OpenAI's Responses API: its usage and served model, and how
//! its stream of typed events ends (a terminal event, then the body's end; no `[DONE]`).

use crate::{AttemptError, Complete, ErrorClass, Served, StreamEvent};
use bytes::Bytes;
use seam_wire::At;
use seam_wire::UsageReport;
use serde_json::Value;

/// A stored response's answer (`GET`/`DELETE /responses/{id}`), as the provider gave it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub status: u16,
    pub body: Bytes,
}

/// The events after which a Responses stream has no more to say.
pub fn is_terminal(kind: &str) -> bool {
    matches!(
        kind,
        "response.completed" | "response.incomplete" | "response.failed"
    )
}

/// A Responses body (`{"object": "response", ...}`) as a complete answer: usage is
/// `input_tokens`/`output_tokens`, the served model `model`. A body that is not JSON, or whose
/// `error` is set, is a failed attempt.
pub fn complete(body: Bytes, provider: &str) -> Result<Complete, AttemptError> {
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        AttemptError::new(
            ErrorClass::BadResponse,
            format!("provider `{provider}` sent a body that is not JSON: {e}"),
        )
    })?;
    if value.get("error").is_some_and(|e| !e.is_null()) {
        return Err(AttemptError::error_body(provider, 200, &value, &body));
    }
    Ok(Complete {
        usage: UsageReport::from_responses(value.get("usage")),
        served: Served {
            model: value
                .get("model")
                .and_then(Value::as_str)
                .map(str::to_string),
            fingerprint: None,
        },
        body,
        passed: Default::default(),
    })
}

/// One event of a Responses stream as stream events: an `error` event fails the attempt
/// (`stream_cut`, as an error chunk does in chat), a terminal event is followed by
/// [`StreamEvent::Done`].
pub fn stream_events(data: &str, provider: &str) -> Result<Vec<StreamEvent>, AttemptError> {
    let value: Value = serde_json::from_str(data).map_err(|e| {
        AttemptError::new(
            ErrorClass::BadResponse,
            format!("provider `{provider}` sent a stream event that is not JSON: {e}"),
        )
    })?;
    let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
    if kind == "error" || (kind.is_empty() && value.get("error").is_some()) {
        let message = value
            .get("message")
            .or_else(|| value.at(&["error", "message"]))
            .and_then(Value::as_str)
            .unwrap_or("error");
        let mut e = AttemptError::new(
            ErrorClass::StreamCut,
            format!("provider `{provider}` failed mid-stream: {message}"),
        );
        e.body = Some(data.to_string());
        return Err(e);
    }
    let terminal = is_terminal(kind);
    let mut out = vec![StreamEvent::Chunk(crate::Chunk::new(
        Some(Bytes::copy_from_slice(data.as_bytes())),
        value,
    ))];
    if terminal {
        out.push(StreamEvent::Done);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_event_ends_the_stream_and_an_error_event_fails_it() {
        let ev = stream_events(
            r#"{"type":"response.output_text.delta","delta":"hi"}"#,
            "up",
        )
        .unwrap();
        assert_eq!(ev.len(), 1);
        let ev = stream_events(
            r#"{"type":"response.completed","response":{"usage":{"input_tokens":1,"output_tokens":2}}}"#,
            "up",
        )
        .unwrap();
        assert!(matches!(
            ev.as_slice(),
            [StreamEvent::Chunk(_), StreamEvent::Done]
        ));
        let e = stream_events(
            r#"{"type":"error","code":"server_error","message":"boom","sequence_number":3}"#,
            "up",
        )
        .unwrap_err();
        assert_eq!(e.class, ErrorClass::StreamCut);
        assert!(e.message.contains("boom"), "{}", e.message);
        assert!(stream_events("nope", "up").is_err());
    }

    #[test]
    fn a_complete_response_reads_its_usage_and_model() {
        let c = complete(
            Bytes::from_static(
                br#"{"id":"resp_1","object":"response","model":"gpt-x","error":null,"usage":{"input_tokens":4,"output_tokens":6,"total_tokens":10}}"#,
            ),
            "up",
        )
        .unwrap();
        assert_eq!(c.served.model.as_deref(), Some("gpt-x"));
        assert_eq!(c.usage.usage().map(|u| u.total()), Some(10));
        let e = complete(
            Bytes::from_static(
                br#"{"object":"response","error":{"code":"server_error","message":"no"}}"#,
            ),
            "up",
        )
        .unwrap_err();
        assert_eq!(e.class, ErrorClass::BadResponse);
    }
}
