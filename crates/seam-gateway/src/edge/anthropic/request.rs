//! Anthropic Messages request -> OpenAI chat request, the shape every provider takes.
//!
//! Translated: `model`, `system`, `messages` (text, image, plain-text document, tool_use and
//! tool_result blocks), `tools` (client tools), `tool_choice` (with
//! `disable_parallel_tool_use`), `max_tokens`, `stop_sequences`, `temperature`, `top_p`,
//! `top_k` (passed as is: the anthropic provider honours it), `metadata.user_id`, `stream`,
//! and Seam's own `seam_variables`. Dropped: `thinking` blocks of earlier turns,
//! `cache_control`, `is_error` of a tool result, and every other top-level field (`thinking`,
//! `service_tier`, ...). Refused with a 400 naming the block: content a chat request cannot
//! carry (PDF documents, server tools' blocks, ...).

use crate::errors::GatewayError;
use seam_wire::RequestBody;
use serde_json::{Map, Value, json};

/// Fields copied as the client wrote them.
const SAME: [&str; 7] = [
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stream",
    "seam_variables",
];

/// The client's body as the OpenAI-shaped body the rest of the call runs on.
pub fn to_chat_body(body: &RequestBody) -> Result<RequestBody, GatewayError> {
    crate::edge::translated_body(&to_chat_request(&body.to_map())?)
}

pub fn to_chat_request(req: &Map<String, Value>) -> Result<Map<String, Value>, GatewayError> {
    let mut out = Map::new();
    for key in SAME {
        if let Some(v) = req.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    let mut messages = Vec::new();
    if let Some(system) = req.get("system").filter(|v| !v.is_null()) {
        let content = system_content(system)?;
        if !is_empty(&content) {
            messages.push(json!({"role": "system", "content": content}));
        }
    }
    match req.get("messages") {
        // Left out: the request check names the missing field.
        None | Some(Value::Null) => {}
        Some(Value::Array(turns)) => {
            for (i, turn) in turns.iter().enumerate() {
                translate_turn(i, turn, &mut messages)?;
            }
            out.insert("messages".into(), Value::Array(messages));
        }
        Some(_) => return Err(invalid("messages", "must be an array of messages".into())),
    }
    match req.get("stop_sequences") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            if !a.is_empty() {
                out.insert("stop".into(), Value::Array(a.clone()));
            }
        }
        Some(_) => {
            return Err(invalid(
                "stop_sequences",
                "must be an array of strings".into(),
            ));
        }
    }
    if let Some(user) = req
        .get("metadata")
        .and_then(|m| m.get("user_id"))
        .and_then(Value::as_str)
    {
        out.insert("user".into(), Value::String(user.into()));
    }
    if let Some(tools) = req.get("tools").filter(|v| !v.is_null()) {
        out.insert("tools".into(), translate_tools(tools)?);
    }
    if let Some(choice) = req.get("tool_choice").filter(|v| !v.is_null()) {
        let (choice, parallel) = translate_tool_choice(choice)?;
        out.insert("tool_choice".into(), choice);
        if !parallel {
            out.insert("parallel_tool_calls".into(), Value::Bool(false));
        }
    }
    Ok(out)
}

fn invalid(field: &'static str, reason: String) -> GatewayError {
    GatewayError::InvalidField { field, reason }
}

fn is_empty(content: &Value) -> bool {
    match content {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => true,
    }
}

/// Text parts as OpenAI content: one part as a plain string (what every OpenAI-compatible
/// server takes), several as an array of text parts (so none is merged into another).
fn text_content(parts: Vec<Value>) -> Value {
    if let [only] = parts.as_slice()
        && only.get("type").and_then(Value::as_str) == Some("text")
        && let Some(t) = only.get("text").and_then(Value::as_str)
    {
        return Value::String(t.to_string());
    }
    Value::Array(parts)
}

fn system_content(system: &Value) -> Result<Value, GatewayError> {
    match system {
        Value::String(s) => Ok(Value::String(s.clone())),
        Value::Array(blocks) => {
            let mut parts = Vec::new();
            for (j, b) in blocks.iter().enumerate() {
                match (block_type(b), b.get("text").and_then(Value::as_str)) {
                    (Some("text"), Some(t)) => parts.push(json!({"type": "text", "text": t})),
                    _ => {
                        return Err(invalid(
                            "system",
                            format!("system[{j}] must be a text block"),
                        ));
                    }
                }
            }
            Ok(text_content(parts))
        }
        _ => Err(invalid(
            "system",
            "must be a string or an array of text blocks".into(),
        )),
    }
}

fn block_type(b: &Value) -> Option<&str> {
    b.get("type").and_then(Value::as_str)
}

fn translate_turn(i: usize, turn: &Value, out: &mut Vec<Value>) -> Result<(), GatewayError> {
    let role = match turn.get("role").and_then(Value::as_str) {
        Some(r @ ("user" | "assistant")) => r,
        other => return Err(bad_role(i, other)),
    };
    match turn.get("content") {
        Some(Value::String(s)) => {
            out.push(json!({"role": role, "content": s}));
            Ok(())
        }
        Some(Value::Array(blocks)) if role == "user" => user_turn(i, blocks, out),
        Some(Value::Array(blocks)) => assistant_turn(i, blocks, out),
        _ => Err(invalid(
            "messages",
            format!("messages[{i}].content must be a string or an array of content blocks"),
        )),
    }
}

fn bad_role(i: usize, role: Option<&str>) -> GatewayError {
    invalid(
        "messages",
        format!("messages[{i}].role must be `user` or `assistant`, not {role:?}"),
    )
}

fn untranslated(i: usize, j: usize, kind: Option<&str>, role: &str) -> GatewayError {
    invalid(
        "messages",
        format!(
            "messages[{i}].content[{j}]: a {role} content block of type {} is not translated by Seam (it translates text, image, plain-text document, tool_use and tool_result blocks)",
            kind.map_or_else(|| "(none)".to_string(), |k| format!("`{k}`"))
        ),
    )
}

/// A user turn: each tool result becomes a `tool` message (OpenAI wants them right after the
/// assistant's tool calls, where Anthropic puts them first in the next user turn), then the
/// rest is one user message, with the images tool results carried (a `tool` message holds
/// text only).
fn user_turn(i: usize, blocks: &[Value], out: &mut Vec<Value>) -> Result<(), GatewayError> {
    let mut parts = Vec::new();
    let mut result_images = Vec::new();
    for (j, b) in blocks.iter().enumerate() {
        match block_type(b) {
            Some("text") => parts.push(text_part(i, j, b)?),
            Some("image") => parts.push(image_part(i, j, b)?),
            Some("document") => parts.push(document_part(i, j, b)?),
            Some("tool_result") => {
                let id = b
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        invalid(
                            "messages",
                            format!("messages[{i}].content[{j}]: a tool_result needs tool_use_id"),
                        )
                    })?;
                let text = tool_result_text(i, j, b.get("content"), &mut result_images)?;
                out.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
            }
            other => return Err(untranslated(i, j, other, "user")),
        }
    }
    parts.extend(result_images);
    if !parts.is_empty() {
        out.push(json!({"role": "user", "content": text_content(parts)}));
    }
    Ok(())
}

fn text_part(i: usize, j: usize, b: &Value) -> Result<Value, GatewayError> {
    match b.get("text").and_then(Value::as_str) {
        Some(t) => Ok(json!({"type": "text", "text": t})),
        None => Err(invalid(
            "messages",
            format!("messages[{i}].content[{j}]: a text block needs `text`"),
        )),
    }
}

/// A plain-text document as a text part (its title, if any, on the first line); documents of
/// other sources (PDF, files) are refused: a chat request has no portable way to carry them.
fn document_part(i: usize, j: usize, b: &Value) -> Result<Value, GatewayError> {
    let source = b.get("source").unwrap_or(&Value::Null);
    match (
        source.get("type").and_then(Value::as_str),
        source.get("data").and_then(Value::as_str),
    ) {
        (Some("text"), Some(data)) => {
            let text = match b.get("title").and_then(Value::as_str) {
                Some(title) => format!("{title}\n{data}"),
                None => data.to_string(),
            };
            Ok(json!({"type": "text", "text": text}))
        }
        (kind, _) => Err(invalid(
            "messages",
            format!(
                "messages[{i}].content[{j}]: documents of source type {} are not translated by Seam (plain-text documents are)",
                kind.map_or_else(|| "(none)".to_string(), |k| format!("`{k}`"))
            ),
        )),
    }
}

/// An image block as an `image_url` part: base64 data as a data URL, a URL as it is.
fn image_part(i: usize, j: usize, b: &Value) -> Result<Value, GatewayError> {
    let source = b.get("source").unwrap_or(&Value::Null);
    let url = match source.get("type").and_then(Value::as_str) {
        Some("base64") => match (
            source.get("media_type").and_then(Value::as_str),
            source.get("data").and_then(Value::as_str),
        ) {
            (Some(media), Some(data)) => format!("data:{media};base64,{data}"),
            _ => {
                return Err(invalid(
                    "messages",
                    format!("messages[{i}].content[{j}]: a base64 image needs media_type and data"),
                ));
            }
        },
        Some("url") => match source.get("url").and_then(Value::as_str) {
            Some(u) => u.to_string(),
            None => {
                return Err(invalid(
                    "messages",
                    format!("messages[{i}].content[{j}]: a url image needs `url`"),
                ));
            }
        },
        other => {
            return Err(invalid(
                "messages",
                format!(
                    "messages[{i}].content[{j}]: image sources of type {other:?} are not translated by Seam (base64 and url are)"
                ),
            ));
        }
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// A tool result's content as the text of a `tool` message (its text blocks, one per line);
/// its images go to `images`.
fn tool_result_text(
    i: usize,
    j: usize,
    content: Option<&Value>,
    images: &mut Vec<Value>,
) -> Result<String, GatewayError> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(blocks)) => {
            let mut texts: Vec<String> = Vec::new();
            for b in blocks {
                match block_type(b) {
                    Some("text") => texts.push(
                        b.get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    ),
                    Some("image") => images.push(image_part(i, j, b)?),
                    Some("document") => {
                        let part = document_part(i, j, b)?;
                        texts.push(part["text"].as_str().unwrap_or_default().to_string());
                    }
                    other => return Err(untranslated(i, j, other, "tool_result")),
                }
            }
            Ok(texts.join("\n"))
        }
        Some(_) => Err(invalid(
            "messages",
            format!(
                "messages[{i}].content[{j}]: tool_result content must be a string or an array of blocks"
            ),
        )),
    }
}

/// An assistant turn: its text, and its tool_use blocks as tool calls whose arguments are the
/// input as JSON text. Thinking blocks of earlier turns have no place in a chat request.
fn assistant_turn(i: usize, blocks: &[Value], out: &mut Vec<Value>) -> Result<(), GatewayError> {
    let mut parts = Vec::new();
    let mut calls = Vec::new();
    for (j, b) in blocks.iter().enumerate() {
        match block_type(b) {
            Some("text") => parts.push(text_part(i, j, b)?),
            Some("tool_use") => {
                let (Some(id), Some(name)) = (
                    b.get("id").and_then(Value::as_str),
                    b.get("name").and_then(Value::as_str),
                ) else {
                    return Err(invalid(
                        "messages",
                        format!("messages[{i}].content[{j}]: a tool_use block needs id and name"),
                    ));
                };
                let input = b.get("input").cloned().unwrap_or_else(|| json!({}));
                calls.push(json!({
                    "id": id,
                    "type": "function",
                    "function": {"name": name, "arguments": input.to_string()},
                }));
            }
            Some("thinking" | "redacted_thinking") => {}
            other => return Err(untranslated(i, j, other, "assistant")),
        }
    }
    let content = if parts.is_empty() {
        if calls.is_empty() {
            Value::String(String::new())
        } else {
            Value::Null
        }
    } else {
        text_content(parts)
    };
    let mut m = json!({"role": "assistant", "content": content});
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
    }
    out.push(m);
    Ok(())
}

/// Client tools as functions. Anthropic's server tools (`web_search_...`, `bash_...`, ...)
/// run inside Anthropic's API and have no chat-completions equivalent: refused by name.
fn translate_tools(tools: &Value) -> Result<Value, GatewayError> {
    let Value::Array(tools) = tools else {
        return Err(invalid("tools", "must be an array of tools".into()));
    };
    let mut out = Vec::with_capacity(tools.len());
    for (k, t) in tools.iter().enumerate() {
        if let Some(kind) = t.get("type").and_then(Value::as_str)
            && kind != "custom"
        {
            return Err(invalid(
                "tools",
                format!(
                    "tools[{k}] is a server tool (type `{kind}`), which Seam does not translate; only client tools (name, description, input_schema) are"
                ),
            ));
        }
        let Some(name) = t.get("name").and_then(Value::as_str) else {
            return Err(invalid("tools", format!("tools[{k}] needs a name")));
        };
        let mut f = json!({
            "name": name,
            "parameters": t.get("input_schema").cloned().unwrap_or_else(|| json!({"type": "object"})),
        });
        if let Some(d) = t.get("description").filter(|d| !d.is_null()) {
            f["description"] = d.clone();
        }
        out.push(json!({"type": "function", "function": f}));
    }
    Ok(Value::Array(out))
}

/// `tool_choice` as OpenAI's, and whether parallel tool calls stay allowed.
fn translate_tool_choice(choice: &Value) -> Result<(Value, bool), GatewayError> {
    let parallel = choice.get("disable_parallel_tool_use") != Some(&Value::Bool(true));
    let c = match choice.get("type").and_then(Value::as_str) {
        Some("auto") => json!("auto"),
        Some("any") => json!("required"),
        Some("none") => json!("none"),
        Some("tool") => match choice.get("name").and_then(Value::as_str) {
            Some(name) => json!({"type": "function", "function": {"name": name}}),
            None => {
                return Err(invalid(
                    "tool_choice",
                    "a tool_choice of type `tool` needs the tool's name".into(),
                ));
            }
        },
        other => {
            return Err(invalid(
                "tool_choice",
                format!("type must be auto, any, tool or none, not {other:?}"),
            ));
        }
    };
    Ok((c, parallel))
}

#[cfg(test)]
mod tests;
