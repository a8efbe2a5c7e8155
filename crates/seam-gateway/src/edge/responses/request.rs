//! Responses API request -> OpenAI chat request, for a target that does not speak the
//! Responses API.
//!
//! Translated: `model`, `instructions` (a system message first), `input` as a string or as
//! items (messages with `input_text`, `output_text` and `input_image` parts, `function_call`,
//! `function_call_output`), function `tools`, `tool_choice`, `text.format` (`json_schema`,
//! `json_object`) as `response_format`, `max_output_tokens` as `max_tokens`, `temperature`,
//! `top_p`, `parallel_tool_calls`, `user`, `stream`. Dropped: `reasoning` items of earlier
//! turns, and fields with no chat equivalent that change nothing a client reads (`store`,
//! `include`, `truncation`, `reasoning`, `metadata`, ...). Refused with a 400 naming it: what
//! needs state or tools only OpenAI has (`previous_response_id`, `conversation`, `prompt`,
//! `background`, built-in tools, file inputs, item references).

use crate::errors::GatewayError;
use seam_wire::RequestBody;
use serde_json::{Map, Value, json};

/// Fields copied as the client wrote them.
const SAME: [&str; 7] = [
    "model",
    "stream",
    "temperature",
    "top_p",
    "parallel_tool_calls",
    "user",
    "seam_variables",
];

/// Fields that need what only a provider speaking the Responses API has.
const STATEFUL: [&str; 4] = [
    "previous_response_id",
    "conversation",
    "prompt",
    "background",
];

/// The client's body as the chat body a target without the Responses API takes.
pub fn to_chat_body(body: &RequestBody) -> Result<RequestBody, GatewayError> {
    crate::edge::translated_body(&to_chat_request(&body.to_map())?)
}

pub fn to_chat_request(req: &Map<String, Value>) -> Result<Map<String, Value>, GatewayError> {
    for key in STATEFUL {
        if req
            .get(key)
            .is_some_and(|v| !v.is_null() && v != &Value::Bool(false))
        {
            return Err(invalid(
                key,
                format!(
                    "`{key}` needs a provider that speaks the Responses API; this route's target is translated to chat completions"
                ),
            ));
        }
    }
    let mut out = Map::new();
    for key in SAME {
        if let Some(v) = req.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(n) = req.get("max_output_tokens").filter(|v| !v.is_null()) {
        out.insert("max_tokens".into(), n.clone());
    }
    let mut messages = Vec::new();
    match req.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::String(s)) => messages.push(json!({"role": "system", "content": s})),
        Some(_) => return Err(invalid("instructions", "must be a string".into())),
    }
    match req.get("input") {
        None | Some(Value::Null) => return Err(GatewayError::MissingField("input")),
        Some(Value::String(s)) => messages.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                translate_item(i, item, &mut messages)?;
            }
        }
        Some(_) => {
            return Err(invalid(
                "input",
                "must be a string or an array of input items".into(),
            ));
        }
    }
    out.insert("messages".into(), Value::Array(messages));
    if let Some(tools) = req.get("tools").filter(|v| !v.is_null()) {
        let tools = translate_tools(tools)?;
        if !tools.is_empty() {
            out.insert("tools".into(), Value::Array(tools));
        }
    }
    if let Some(choice) = req.get("tool_choice").filter(|v| !v.is_null()) {
        out.insert("tool_choice".into(), translate_tool_choice(choice)?);
    }
    if let Some(format) = req
        .get("text")
        .and_then(|t| t.get("format"))
        .filter(|v| !v.is_null())
        && let Some(rf) = response_format(format)?
    {
        out.insert("response_format".into(), rf);
    }
    Ok(out)
}

fn invalid(field: &'static str, reason: String) -> GatewayError {
    GatewayError::InvalidField { field, reason }
}

fn item_error(i: usize, reason: impl std::fmt::Display) -> GatewayError {
    invalid("input", format!("input[{i}]: {reason}"))
}

fn kind(v: &Value) -> Option<&str> {
    v.get("type").and_then(Value::as_str)
}

fn translate_item(i: usize, item: &Value, out: &mut Vec<Value>) -> Result<(), GatewayError> {
    match kind(item) {
        None | Some("message") => message(i, item, out),
        Some("function_call") => {
            let (Some(call_id), Some(name)) = (
                item.get("call_id").and_then(Value::as_str),
                item.get("name").and_then(Value::as_str),
            ) else {
                return Err(item_error(i, "a function_call needs call_id and name"));
            };
            let arguments = match item.get("arguments") {
                Some(Value::String(s)) => s.clone(),
                None | Some(Value::Null) => "{}".to_string(),
                Some(other) => other.to_string(),
            };
            let call = json!({"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}});
            // Calls of one turn go in one assistant message, after its text if it had any.
            match out.last_mut() {
                Some(last)
                    if last["role"] == "assistant"
                        && (last.get("tool_calls").is_some() || item_follows_text(last)) =>
                {
                    match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
                        Some(calls) => calls.push(call),
                        None => last["tool_calls"] = json!([call]),
                    }
                }
                _ => out.push(json!({"role": "assistant", "content": null, "tool_calls": [call]})),
            }
            Ok(())
        }
        Some("function_call_output") => {
            let Some(call_id) = item.get("call_id").and_then(Value::as_str) else {
                return Err(item_error(i, "a function_call_output needs call_id"));
            };
            let content = match item.get("output") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
                None | Some(Value::Null) => String::new(),
                Some(other) => other.to_string(),
            };
            out.push(json!({"role": "tool", "tool_call_id": call_id, "content": content}));
            Ok(())
        }
        // Earlier turns' reasoning has no place in a chat request.
        Some("reasoning") => Ok(()),
        Some(other) => Err(item_error(
            i,
            format!(
                "items of type `{other}` are not translated by Seam (messages, function_call and function_call_output are)"
            ),
        )),
    }
}

/// Whether an assistant message was made from a message item (so that the function calls
/// right after it belong to the same turn).
fn item_follows_text(m: &Value) -> bool {
    m.get("content").is_some_and(|c| !c.is_null())
}

fn message(i: usize, item: &Value, out: &mut Vec<Value>) -> Result<(), GatewayError> {
    let role = match item.get("role").and_then(Value::as_str) {
        Some(r @ ("user" | "assistant" | "system")) => r,
        // A chat provider that is not OpenAI may not know `developer`.
        Some("developer") => "system",
        other => {
            return Err(item_error(
                i,
                format!("role must be user, assistant, system or developer, not {other:?}"),
            ));
        }
    };
    let content = match item.get("content") {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(Value::Array(parts)) => {
            let mut out_parts = Vec::with_capacity(parts.len());
            for (j, p) in parts.iter().enumerate() {
                out_parts.push(part(i, j, p)?);
            }
            match out_parts.as_slice() {
                [only] if only["type"] == "text" => only["text"].clone(),
                _ => Value::Array(out_parts),
            }
        }
        _ => {
            return Err(item_error(
                i,
                "content must be a string or an array of content parts",
            ));
        }
    };
    out.push(json!({"role": role, "content": content}));
    Ok(())
}

fn part(i: usize, j: usize, p: &Value) -> Result<Value, GatewayError> {
    match kind(p) {
        Some("input_text" | "output_text" | "text") => {
            let text = p.get("text").and_then(Value::as_str).unwrap_or_default();
            Ok(json!({"type": "text", "text": text}))
        }
        Some("refusal") => {
            let text = p.get("refusal").and_then(Value::as_str).unwrap_or_default();
            Ok(json!({"type": "text", "text": text}))
        }
        Some("input_image") => match p.get("image_url").and_then(Value::as_str) {
            Some(url) => {
                let mut image = json!({"url": url});
                if let Some(d) = p.get("detail").filter(|d| !d.is_null()) {
                    image["detail"] = d.clone();
                }
                Ok(json!({"type": "image_url", "image_url": image}))
            }
            None => Err(item_error(
                i,
                format!(
                    "content[{j}]: an input_image is translated from its image_url only (not a file_id)"
                ),
            )),
        },
        other => Err(item_error(
            i,
            format!(
                "content[{j}]: parts of type {} are not translated by Seam (input_text, output_text and input_image are)",
                other.map_or_else(|| "(none)".to_string(), |k| format!("`{k}`"))
            ),
        )),
    }
}

/// Function tools as chat tools; the built-in tools run inside OpenAI: refused by type.
fn translate_tools(tools: &Value) -> Result<Vec<Value>, GatewayError> {
    let Value::Array(tools) = tools else {
        return Err(invalid("tools", "must be an array of tools".into()));
    };
    let mut out = Vec::with_capacity(tools.len());
    for (k, t) in tools.iter().enumerate() {
        match kind(t) {
            Some("function") => {}
            other => {
                return Err(invalid(
                    "tools",
                    format!(
                        "tools[{k}] is of type {}, which Seam does not translate to chat completions; only function tools are",
                        other.map_or_else(|| "(none)".to_string(), |k| format!("`{k}`"))
                    ),
                ));
            }
        }
        let Some(name) = t.get("name").and_then(Value::as_str) else {
            return Err(invalid("tools", format!("tools[{k}] needs a name")));
        };
        let mut f = json!({"name": name});
        for key in ["description", "parameters", "strict"] {
            if let Some(v) = t.get(key).filter(|v| !v.is_null()) {
                f[key] = v.clone();
            }
        }
        out.push(json!({"type": "function", "function": f}));
    }
    Ok(out)
}

fn translate_tool_choice(choice: &Value) -> Result<Value, GatewayError> {
    match choice {
        Value::String(s) if matches!(s.as_str(), "auto" | "none" | "required") => {
            Ok(choice.clone())
        }
        Value::Object(_) if kind(choice) == Some("function") => {
            match choice.get("name").and_then(Value::as_str) {
                Some(name) => Ok(json!({"type": "function", "function": {"name": name}})),
                None => Err(invalid(
                    "tool_choice",
                    "a function tool_choice needs the function's name".into(),
                )),
            }
        }
        _ => Err(invalid(
            "tool_choice",
            "must be auto, none, required or a function by name to translate to chat completions"
                .into(),
        )),
    }
}

/// `text.format` as chat's `response_format` (none for plain text).
fn response_format(format: &Value) -> Result<Option<Value>, GatewayError> {
    match kind(format) {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({"type": "json_object"}))),
        Some("json_schema") => {
            let Some(name) = format.get("name").and_then(Value::as_str) else {
                return Err(invalid(
                    "text",
                    "text.format of type json_schema needs a name".into(),
                ));
            };
            let mut schema = json!({"name": name});
            for key in ["schema", "strict", "description"] {
                if let Some(v) = format.get(key).filter(|v| !v.is_null()) {
                    schema[key] = v.clone();
                }
            }
            Ok(Some(json!({"type": "json_schema", "json_schema": schema})))
        }
        other => Err(invalid(
            "text",
            format!(
                "text.format of type {other:?} is not translated (text, json_object and json_schema are)"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translate(v: Value) -> Result<Value, String> {
        to_chat_request(v.as_object().unwrap())
            .map(Value::Object)
            .map_err(|e| e.to_api().message)
    }

    #[test]
    fn a_tool_conversation_becomes_a_chat_request() {
        let out = translate(json!({
            "model": "chat",
            "instructions": "Be brief.",
            "input": [
                {"role": "developer", "content": "Use tools."},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Find invoice 7"}]},
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{\"id\":\"7\"}"},
                {"type": "function_call", "call_id": "call_2", "name": "lookup", "arguments": "{\"id\":\"8\"}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "paid"},
                {"type": "function_call_output", "call_id": "call_2", "output": "open"},
                {"role": "assistant", "content": [{"type": "output_text", "text": "7 is paid."}]},
                {"role": "user", "content": "And 9?"}
            ],
            "tools": [{"type": "function", "name": "lookup", "description": "Finds an invoice", "parameters": {"type": "object"}, "strict": true}],
            "tool_choice": {"type": "function", "name": "lookup"},
            "text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": true}},
            "max_output_tokens": 64,
            "temperature": 0.2,
            "store": true,
            "stream": true
        }))
        .unwrap();
        assert_eq!(
            out,
            json!({
                "model": "chat",
                "stream": true,
                "temperature": 0.2,
                "max_tokens": 64,
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "system", "content": "Use tools."},
                    {"role": "user", "content": "Find invoice 7"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"id\":\"7\"}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "lookup", "arguments": "{\"id\":\"8\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "paid"},
                    {"role": "tool", "tool_call_id": "call_2", "content": "open"},
                    {"role": "assistant", "content": "7 is paid."},
                    {"role": "user", "content": "And 9?"}
                ],
                "tools": [{"type": "function", "function": {"name": "lookup", "description": "Finds an invoice", "parameters": {"type": "object"}, "strict": true}}],
                "tool_choice": {"type": "function", "function": {"name": "lookup"}},
                "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}}
            })
        );
    }

    #[test]
    fn a_string_input_and_images() {
        let out = translate(json!({"model": "m", "input": "hi"})).unwrap();
        assert_eq!(out["messages"], json!([{"role": "user", "content": "hi"}]));
        let out = translate(json!({"model": "m", "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "what is this?"},
            {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "low"}
        ]}], "text": {"format": {"type": "text"}}}))
        .unwrap();
        assert_eq!(
            out["messages"][0]["content"][1],
            json!({"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}})
        );
        assert!(out.get("response_format").is_none());
        let text_then_call = translate(json!({"model": "m", "input": [
            {"role": "assistant", "content": "Looking."},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}
        ]}))
        .unwrap();
        assert_eq!(text_then_call["messages"].as_array().unwrap().len(), 1);
        assert_eq!(text_then_call["messages"][0]["tool_calls"][0]["id"], "c");
    }

    #[test]
    fn what_cannot_be_translated_is_refused_by_name() {
        let err = |v: Value| translate(v).unwrap_err();
        let e = err(json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}));
        assert!(e.contains("previous_response_id"), "{e}");
        let e = err(json!({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}));
        assert!(e.contains("tools[0]") && e.contains("`web_search`"), "{e}");
        let e = err(json!({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}));
        assert!(
            e.contains("input[0]") && e.contains("`item_reference`"),
            "{e}"
        );
        let e = err(
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}),
        );
        assert!(e.contains("`input_file`"), "{e}");
        let e = err(json!({"model": "m"}));
        assert!(e.contains("input"), "{e}");
        let e = err(json!({"model": "m", "input": 3}));
        assert!(e.contains("'input'"), "{e}");
    }
}
