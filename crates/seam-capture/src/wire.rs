//! Content from OpenAI chat bodies: the request, a complete answer, a stream's chunks.
//! Whatever the shape, nothing here panics: a field of the wrong type is left out.

use crate::content::{Answer, Blob, Content, Message, Part, Tool, ToolCall};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// JSON nested deeper than this is not serialized again (serde_json recurses); its parse
/// already refused more than 128 levels, so only a value built in code gets here.
const MAX_DEPTH: usize = 128;

mod typed;

impl Content {
    /// The content of a chat request (`POST /v1/chat/completions`). A `prompt:` call's
    /// release id is the caller's to set (`release`).
    pub fn from_request(body: &Value) -> Content {
        let messages = array(body, "messages").iter().map(message).collect();
        let tools = array(body, "tools").iter().filter_map(tool).collect();
        Content {
            messages,
            tools,
            variables: body.get("seam_variables").and_then(json_text),
            ..Content::default()
        }
    }

    /// As [`Content::from_request`], from the body's bytes; a body that is not JSON (invalid
    /// UTF-8, nested beyond serde_json's limit) is kept as text, at most `max_bytes` of it.
    pub fn from_request_bytes(bytes: &[u8], max_bytes: usize) -> Content {
        if let Some(content) = typed::request(bytes) {
            return content;
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => Content::from_request(&v),
            Err(_) => Content {
                unparsed: Some(
                    String::from_utf8_lossy(&bytes[..bytes.len().min(max_bytes)]).into_owned(),
                ),
                truncated: bytes.len() > max_bytes,
                ..Content::default()
            },
        }
    }
}

impl Answer {
    /// As [`Answer::from_response`], from the body's bytes; `None` when they are not JSON.
    pub fn from_response_bytes(bytes: &[u8]) -> Option<Answer> {
        typed::response(bytes)
            .or_else(|| Some(Answer::from_response(&serde_json::from_slice(bytes).ok()?)))
    }

    /// The first choice of a chat completion.
    pub fn from_response(body: &Value) -> Answer {
        let choice = array(body, "choices").first();
        let message = choice.and_then(|c| c.get("message"));
        Answer {
            text: message.and_then(|m| m.get("content")).and_then(text_of),
            refusal: message.and_then(|m| str_at(m, "refusal")),
            tool_calls: message
                .map(|m| array(m, "tool_calls").iter().map(tool_call).collect())
                .unwrap_or_default(),
            finish_reason: choice.and_then(|c| str_at(c, "finish_reason")),
            client_closed: false,
        }
    }
}

/// A stream's answer assembled from its chunks (first choice), holding at most `max_bytes`
/// of text so that a stream without end costs bounded memory.
#[derive(Debug, Clone, Default)]
pub struct StreamAnswer {
    answer: Answer,
    /// Tool calls by their `index` in the deltas.
    indexes: Vec<u64>,
    room: usize,
    cut: bool,
}

impl StreamAnswer {
    pub fn new(max_bytes: usize) -> StreamAnswer {
        StreamAnswer {
            room: max_bytes,
            ..StreamAnswer::default()
        }
    }

    /// One `chat.completion.chunk`.
    pub fn push(&mut self, chunk: &Value) {
        let Some(choice) = array(chunk, "choices")
            .iter()
            .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
        else {
            return;
        };
        if let Some(r) = str_at(choice, "finish_reason") {
            self.answer.finish_reason = Some(r);
        }
        let Some(delta) = choice.get("delta") else {
            return;
        };
        if let Some(t) = delta.get("content").and_then(Value::as_str) {
            let text = self.answer.text.get_or_insert_with(String::new);
            append(text, t, &mut self.room, &mut self.cut);
        }
        if let Some(t) = delta.get("refusal").and_then(Value::as_str) {
            let text = self.answer.refusal.get_or_insert_with(String::new);
            append(text, t, &mut self.room, &mut self.cut);
        }
        for d in array(delta, "tool_calls") {
            let index = d.get("index").and_then(Value::as_u64).unwrap_or(0);
            let at = match self.indexes.iter().position(|i| *i == index) {
                Some(at) => at,
                None => {
                    self.indexes.push(index);
                    self.answer.tool_calls.push(ToolCall::default());
                    self.answer.tool_calls.len() - 1
                }
            };
            let call = &mut self.answer.tool_calls[at];
            if let Some(id) = str_at(d, "id") {
                call.id = Some(id);
            }
            if let Some(f) = d.get("function") {
                if let Some(n) = f.get("name").and_then(Value::as_str) {
                    append(&mut call.name, n, &mut self.room, &mut self.cut);
                }
                if let Some(a) = f.get("arguments").and_then(Value::as_str) {
                    append(&mut call.arguments, a, &mut self.room, &mut self.cut);
                }
            }
        }
    }

    /// Text from a stream that is not chat chunks (a Responses API stream's output text).
    pub fn push_text(&mut self, text: &str) {
        let to = self.answer.text.get_or_insert_with(String::new);
        append(to, text, &mut self.room, &mut self.cut);
    }

    /// The answer, and whether text was cut at `max_bytes`. `client_closed`: the client left
    /// before the stream's end, so this is the part it was sent.
    pub fn finish(mut self, client_closed: bool) -> (Answer, bool) {
        self.answer.client_closed = client_closed;
        (self.answer, self.cut)
    }
}

fn append(to: &mut String, text: &str, room: &mut usize, cut: &mut bool) {
    let take = if text.len() <= *room {
        text.len()
    } else {
        *cut = true;
        text.floor_char_boundary(*room)
    };
    to.push_str(&text[..take]);
    *room -= take;
}

fn array<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn str_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A content field: a string, or the text parts of an array joined.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
        ),
        _ => None,
    }
}

fn message(m: &Value) -> Message {
    let parts = match m.get("content") {
        Some(Value::String(s)) => vec![Part::Text { text: s.clone() }],
        Some(Value::Array(parts)) => parts.iter().map(part).collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![blob("unknown", None, other)],
    };
    Message {
        role: str_at(m, "role").unwrap_or_default(),
        name: str_at(m, "name"),
        parts,
        tool_calls: array(m, "tool_calls").iter().map(tool_call).collect(),
        tool_call_id: str_at(m, "tool_call_id"),
    }
}

fn part(p: &Value) -> Part {
    let kind = p.get("type").and_then(Value::as_str).unwrap_or("unknown");
    let text_key = match kind {
        "text" | "input_text" => Some("text"),
        "refusal" => Some("refusal"),
        _ => None,
    };
    if let Some(text) = text_key.and_then(|k| p.get(k)).and_then(Value::as_str) {
        return Part::Text {
            text: text.to_string(),
        };
    }
    let inner = p.get(kind);
    let payload = match kind {
        "image_url" => inner.and_then(|i| i.get("url")).or(inner),
        "input_audio" => inner.and_then(|i| i.get("data")),
        "file" => inner.and_then(|i| i.get("file_data").or_else(|| i.get("file_id"))),
        _ => None,
    };
    let media = match kind {
        "input_audio" => inner.and_then(|i| str_at(i, "format")),
        _ => payload
            .and_then(Value::as_str)
            .and_then(|u| u.strip_prefix("data:"))
            .and_then(|u| u.split([';', ',']).next())
            .filter(|m| !m.is_empty())
            .map(str::to_string),
    };
    blob(kind, media, payload.unwrap_or(p))
}

/// A non-text part described by the bytes it was sent as.
fn blob(kind: &str, media: Option<String>, payload: &Value) -> Part {
    let bytes = match payload {
        Value::String(s) => s.as_bytes().to_vec(),
        other => json_text(other).unwrap_or_default().into_bytes(),
    };
    Part::Blob(Blob {
        kind: kind.to_string(),
        media,
        bytes: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}

fn tool(t: &Value) -> Option<Tool> {
    let f = t.get("function").unwrap_or(t);
    let name = str_at(f, "name").or_else(|| str_at(t, "type"))?;
    Some(Tool {
        name,
        description: str_at(f, "description"),
        parameters: f.get("parameters").and_then(json_text),
    })
}

fn tool_call(c: &Value) -> ToolCall {
    let f = c.get("function");
    ToolCall {
        id: str_at(c, "id"),
        name: f.and_then(|f| str_at(f, "name")).unwrap_or_default(),
        arguments: f
            .and_then(|f| f.get("arguments"))
            .and_then(|a| match a {
                Value::String(s) => Some(s.clone()),
                other => json_text(other),
            })
            .unwrap_or_default(),
    }
}

/// Compact JSON text, or `None` for a value nested deeper than [`MAX_DEPTH`].
fn json_text(v: &Value) -> Option<String> {
    let mut stack = vec![(v, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return None;
        }
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, depth + 1))),
            Value::Object(o) => stack.extend(o.values().map(|x| (x, depth + 1))),
            _ => {}
        }
    }
    serde_json::to_string(v).ok()
}

#[cfg(test)]
mod tests;
