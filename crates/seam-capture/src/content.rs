//! What a captured call keeps, redacted, bounded and stored compressed.

use crate::redact::{Redactions, Redactor};
use serde::{Deserialize, Serialize};
use std::io::Read;

/// A captured call's content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Content {
    /// The client's messages (for a `prompt:` call, its own turns, not the release's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    /// A `prompt:` call's `seam_variables`, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<String>,
    /// A `prompt:` call's release id (its text is in the release, not kept again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The tools offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// The request body when it was not JSON, decoded lossily.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unparsed: Option<String>,
    /// Text was cut to fit `max_bytes`.
    #[serde(default)]
    pub truncated: bool,
    #[serde(default)]
    pub redactions: Redactions,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// A content part: text, or anything else as its type, size and hash, never its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text { text: String },
    Blob(Blob),
}

/// A part that is not text (image, audio, file), described, not kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blob {
    /// The part's type as sent (`image_url`, `input_audio`, `file`, ...).
    pub kind: String,
    /// The media type when the part says it (`image/png`, `wav`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<String>,
    /// Bytes of the part as sent (a data URL's or base64 text's length, a URL's length).
    pub bytes: u64,
    /// SHA-256 (hex) of the part as sent: the same image sent twice has the same hash.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The parameters' JSON Schema, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ToolCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    /// The arguments as the model wrote them (JSON text, not always valid).
    pub arguments: String,
}

/// What the model answered (the first choice), or of a stream what had arrived.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Answer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// The client left before the stream ended: this is the part it had been sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_closed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("stored content: unknown format {0}")]
    Format(u8),
    #[error("stored content: empty")]
    Empty,
    #[error("stored content: larger than {0} bytes uncompressed")]
    TooLarge(usize),
    #[error("stored content: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored content: {0}")]
    Json(#[from] serde_json::Error),
}

/// The first byte of stored content: JSON compressed with zstd, or (below
/// [`COMPRESS_FROM`]) JSON as it is.
const FORMAT_ZSTD_JSON: u8 = 1;
const FORMAT_JSON: u8 = 2;
/// Smaller JSON is stored uncompressed: zstd's fixed cost per frame (a few microseconds)
/// was a third of building a short chat's content, to save a few hundred bytes.
pub const COMPRESS_FROM: usize = 2048;
const ZSTD_LEVEL: i32 = 3;

thread_local! {
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}
/// Far above any `max_bytes` with its JSON overhead; a corrupt or hostile blob stops here.
pub const MAX_STORED_JSON: usize = 64 << 20;

impl Content {
    /// Redacts every text, then cuts text to `max_bytes` in all (redacting first, so that a
    /// secret is never kept half). The answer is kept before the messages, and of the
    /// messages the newest first.
    pub fn seal(&mut self, redactor: &Redactor, max_bytes: usize) {
        let mut counts = self.redactions;
        self.each_text(|field| redactor.redact_string(field, &mut counts));
        self.redactions = counts;
        let mut budget = max_bytes;
        let mut cut = false;
        self.each_text(|field| {
            if field.len() <= budget {
                budget -= field.len();
            } else {
                field.truncate(field.floor_char_boundary(budget));
                budget = 0;
                cut = true;
            }
        });
        self.truncated |= cut;
    }

    /// Calls `f` on every text, in the order they are kept when space runs out.
    fn each_text(&mut self, mut f: impl FnMut(&mut String)) {
        if let Some(a) = &mut self.answer {
            a.text.iter_mut().for_each(&mut f);
            a.refusal.iter_mut().for_each(&mut f);
            a.tool_calls.iter_mut().for_each(|c| f(&mut c.arguments));
        }
        for m in self.messages.iter_mut().rev() {
            for p in &mut m.parts {
                if let Part::Text { text } = p {
                    f(text);
                }
            }
            m.tool_calls.iter_mut().for_each(|c| f(&mut c.arguments));
        }
        self.variables.iter_mut().for_each(&mut f);
        for t in &mut self.tools {
            t.description.iter_mut().for_each(&mut f);
            t.parameters.iter_mut().for_each(&mut f);
        }
        self.unparsed.iter_mut().for_each(&mut f);
    }

    /// The stored form: a format byte, then the JSON compressed with zstd.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ContentError> {
        Ok(self.encode()?.0)
    }

    /// [`Content::to_bytes`], and the size of the JSON before compression.
    pub fn encode(&self) -> Result<(Vec<u8>, usize), ContentError> {
        let mut json = Vec::with_capacity(512);
        json.push(FORMAT_JSON);
        serde_json::to_writer(&mut json, self)?;
        let size = json.len() - 1;
        if size < COMPRESS_FROM {
            return Ok((json, size));
        }
        let json = &json[1..];
        // One compression context per thread, reused: making one allocates and clears about
        // a megabyte at this level, more than compressing a typical call's content costs.
        let compressed = COMPRESSOR.with(|c| {
            let mut c = c.borrow_mut();
            let c = match c.as_mut() {
                Some(c) => c,
                None => c.insert(zstd::bulk::Compressor::new(ZSTD_LEVEL)?),
            };
            c.compress(json)
        })?;
        let mut out = Vec::with_capacity(compressed.len() + 1);
        out.push(FORMAT_ZSTD_JSON);
        out.extend(compressed);
        Ok((out, size))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Content, ContentError> {
        let (&format, rest) = bytes.split_first().ok_or(ContentError::Empty)?;
        if format == FORMAT_JSON {
            if rest.len() > MAX_STORED_JSON {
                return Err(ContentError::TooLarge(MAX_STORED_JSON));
            }
            return Ok(serde_json::from_slice(rest)?);
        }
        if format != FORMAT_ZSTD_JSON {
            return Err(ContentError::Format(format));
        }
        let mut json = Vec::new();
        zstd::stream::read::Decoder::new(rest)?
            .take(MAX_STORED_JSON as u64 + 1)
            .read_to_end(&mut json)?;
        if json.len() > MAX_STORED_JSON {
            return Err(ContentError::TooLarge(MAX_STORED_JSON));
        }
        Ok(serde_json::from_slice(&json)?)
    }
}

#[cfg(test)]
mod tests;
