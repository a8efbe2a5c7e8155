//! One call read back in full, as `seam calls show` and `GET /api/calls/{id}` give it: the
//! call, its attempts, for a stream what the client saw of it, and its captured content.
//! Both build their JSON here, so that they say the same.

use crate::{Actor, ControlError, Result};
use seam_store::{AttemptRecord, CallRecord, ContentRecord, Records, StreamRecord};
use serde_json::{Value, json};

/// A call's captured content (issue 23): what was asked and answered, as stored (already
/// redacted and bounded), opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// When it was captured (the call's time).
    pub captured_ms: i64,
    /// The uncompressed body's size.
    pub bytes: i64,
    /// Capture cut text at its policy's `max_bytes`.
    pub truncated: bool,
    /// The body, or why it could not be read: a stored body that does not decode (corrupt,
    /// or of a format this build does not know) is shown as such, not as a failed read of
    /// the whole call.
    pub body: std::result::Result<seam_capture::Content, String>,
}

impl Content {
    /// Opens a stored body. Never fails: what does not decode becomes [`Content::body`]'s
    /// error.
    pub fn from_record(record: &ContentRecord) -> Content {
        let body = if record.format == ContentRecord::FORMAT {
            seam_capture::Content::from_bytes(&record.body).map_err(|e| e.to_string())
        } else {
            Err(format!("stored content: unknown format {}", record.format))
        };
        Content {
            captured_ms: record.created_ms,
            bytes: record.bytes,
            truncated: record.truncated || body.as_ref().is_ok_and(|c| c.truncated),
            body,
        }
    }

    /// `{"captured_ms", "bytes", "truncated", "redactions": {"email": 2, ...}, "messages",
    /// "variables", "release", "tools", "answer", "unparsed", "error": null}`, every key
    /// present (null or empty when the call had none); the nested values as seam-capture
    /// stores them. A body that did not decode: `{"captured_ms", "bytes", "truncated",
    /// "redactions": null, "error": "..."}`.
    pub fn to_json(&self) -> Value {
        match &self.body {
            Ok(c) => json!({
                "captured_ms": self.captured_ms,
                "bytes": self.bytes,
                "truncated": self.truncated,
                "redactions": c.redactions,
                "messages": c.messages,
                "variables": c.variables,
                "release": c.release,
                "tools": c.tools,
                "answer": c.answer,
                "unparsed": c.unparsed,
                "error": null,
            }),
            Err(e) => json!({
                "captured_ms": self.captured_ms,
                "bytes": self.bytes,
                "truncated": self.truncated,
                "redactions": null,
                "error": e,
            }),
        }
    }
}

/// A call, its attempts (oldest first), its stream telemetry and its captured content.
#[derive(Debug, Clone, PartialEq)]
pub struct CallView {
    pub call: CallRecord,
    pub attempts: Vec<AttemptRecord>,
    /// `None` for a call that did not stream.
    pub stream: Option<StreamRecord>,
    /// `None` for a call whose content was not captured (or is past retention).
    pub content: Option<Content>,
}

impl CallView {
    /// `{"call", "attempts", "stream", "content"}`: the records as stored, `stream` null when
    /// the call did not stream, `content` null when it was not captured (else
    /// [`Content::to_json`]).
    pub fn to_json(&self) -> Value {
        json!({
            "call": self.call,
            "attempts": self.attempts,
            "stream": self.stream,
            "content": self.content.as_ref().map(Content::to_json),
        })
    }
}

/// The call with this id, whoever's it is; the caller checks who may read it.
pub async fn read(store: &(impl Records + ?Sized), id: &str) -> Result<Option<CallView>> {
    let Some((call, attempts)) = store.get_call(id).await? else {
        return Ok(None);
    };
    let stream = store.get_stream(id).await?;
    let content = content(store, id).await?;
    Ok(Some(CallView {
        call,
        attempts,
        stream,
        content,
    }))
}

/// A call's captured content, opened; `None` when it was not captured.
pub async fn content(store: &(impl Records + ?Sized), id: &str) -> Result<Option<Content>> {
    Ok(store
        .get_content(id)
        .await?
        .as_ref()
        .map(Content::from_record))
}

/// The call with this id as `actor` may see it: a call of a tenant they have no role in is
/// not found, like one that does not exist, so that its id tells them nothing; someone
/// without any role is refused (as every read of records is).
pub async fn show(store: &(impl Records + ?Sized), actor: &Actor, id: &str) -> Result<CallView> {
    actor.read_scope("reading calls")?;
    match read(store, id).await? {
        Some(view) if actor.can_read(&view.call.tenant) => Ok(view),
        _ => Err(ControlError::NotFound(format!("no call `{id}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(body: Vec<u8>) -> ContentRecord {
        ContentRecord {
            call_id: "call_1".into(),
            created_ms: 5,
            format: ContentRecord::FORMAT,
            bytes: 10,
            truncated: false,
            redactions: 0,
            body,
        }
    }

    #[test]
    fn a_body_that_does_not_decode_is_an_error_note_not_a_failure() {
        for (body, want) in [
            (Vec::new(), "stored content: empty"),
            (vec![7, 1, 2], "stored content: unknown format 7"),
            (vec![1, 0xde, 0xad], "stored content: "),
        ] {
            let c = Content::from_record(&record(body));
            let v = c.to_json();
            let error = v["error"].as_str().expect("an error note");
            assert!(error.starts_with(want), "{error}");
            assert_eq!(v["redactions"], Value::Null);
            assert_eq!(v["captured_ms"], 5);
        }
        let mut r = record(seam_capture::Content::default().to_bytes().unwrap());
        r.format = 2;
        let v = Content::from_record(&r).to_json();
        assert_eq!(v["error"], "stored content: unknown format 2");
    }

    #[test]
    fn a_decoded_body_has_every_key_and_its_redactions_per_kind() {
        let key = format!("sk-{}", "a1".repeat(16));
        let body = json!({"messages": [{"role": "user", "content": format!("my key {key}")}]});
        let mut c = seam_capture::Content::from_request(&body);
        c.seal(&seam_capture::Redactor::new(&[]).unwrap(), 1 << 16);
        let v = Content::from_record(&record(c.to_bytes().unwrap())).to_json();
        assert_eq!(v["error"], Value::Null);
        assert_eq!(v["redactions"], json!({"key": 1}));
        assert_eq!(v["messages"][0]["parts"][0]["text"], "my key [key]");
        for key in ["variables", "release", "answer", "unparsed"] {
            assert_eq!(v[key], Value::Null, "{key}");
        }
        assert_eq!(v["tools"], json!([]));
        assert_eq!(v["truncated"], false);
    }
}
