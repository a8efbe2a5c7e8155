//! OpenAI chat request -> Anthropic Messages request.

use seam_wire::At;
use serde_json::{Map, Value, json};

/// Anthropic requires `max_tokens`; this is what Seam asks for when the client gave none.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

pub fn to_messages_request(
    body: &Map<String, Value>,
    model: &str,
    stream: bool,
) -> Result<Value, String> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("messages must be an array")?;
    let mut system: Vec<String> = Vec::new();
    let mut out: Vec<Value> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let content = m.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => system.push(plain_text(content)),
            "user" => push(&mut out, "user", user_blocks(content)?),
            "assistant" => {
                let mut blocks = text_blocks(content);
                for call in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let args = call
                        .at(&["function", "arguments"])
                        .and_then(Value::as_str)
                        .unwrap_or("{}");
                    let input: Value = serde_json::from_str(args).map_err(|_| {
                        format!("messages[{i}].tool_calls: arguments are not a JSON object")
                    })?;
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": call.get("id").cloned().unwrap_or(Value::Null),
                        "name": call.at(&["function", "name"]).cloned().unwrap_or(Value::Null),
                        "input": input,
                    }));
                }
                push(&mut out, "assistant", blocks);
            }
            "tool" | "function" => {
                let id = m
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .ok_or(format!("messages[{i}]: a tool message needs tool_call_id"))?;
                push(
                    &mut out,
                    "user",
                    vec![
                        json!({"type": "tool_result", "tool_use_id": id, "content": plain_text(content)}),
                    ],
                );
            }
            other => return Err(format!("messages[{i}]: unknown role `{other}`")),
        }
    }
    let max_tokens = body
        .get("max_completion_tokens")
        .or_else(|| body.get("max_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let mut req = json!({"model": model, "max_tokens": max_tokens, "messages": out});
    let r = req.as_object_mut().ok_or("internal")?;
    if !system.is_empty() {
        r.insert("system".into(), Value::String(system.join("\n\n")));
    }
    for key in ["temperature", "top_p", "top_k"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            r.insert(key.into(), v.clone());
        }
    }
    match body.get("stop") {
        Some(Value::String(s)) => {
            r.insert("stop_sequences".into(), json!([s]));
        }
        Some(Value::Array(a)) => {
            r.insert("stop_sequences".into(), Value::Array(a.clone()));
        }
        _ => {}
    }
    if let Some(u) = body.get("user").and_then(Value::as_str) {
        r.insert("metadata".into(), json!({"user_id": u}));
    }
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        let tools: Vec<Value> = tools
            .iter()
            .filter_map(|t| t.get("function"))
            .map(|f| {
                let mut t = json!({
                    "name": f.get("name").cloned().unwrap_or(Value::Null),
                    "input_schema": f.get("parameters").cloned().unwrap_or(json!({"type": "object"})),
                });
                if let Some(d) = f.get("description") {
                    t["description"] = d.clone();
                }
                t
            })
            .collect();
        r.insert("tools".into(), Value::Array(tools));
    }
    let parallel_off = body.get("parallel_tool_calls") == Some(&Value::Bool(false));
    let choice = match body.get("tool_choice") {
        Some(Value::String(s)) if s == "none" => Some(json!({"type": "none"})),
        Some(Value::String(s)) if s == "required" => Some(json!({"type": "any"})),
        Some(Value::String(s)) if s == "auto" => Some(json!({"type": "auto"})),
        Some(Value::Object(o)) => o
            .get("function")
            .and_then(|f| f.get("name"))
            .map(|n| json!({"type": "tool", "name": n})),
        _ if parallel_off => Some(json!({"type": "auto"})),
        _ => None,
    };
    if let Some(mut c) = choice {
        if parallel_off && c["type"] != "none" {
            c["disable_parallel_tool_use"] = Value::Bool(true);
        }
        r.insert("tool_choice".into(), c);
    }
    if stream {
        r.insert("stream".into(), Value::Bool(true));
    }
    Ok(req)
}

/// Appends blocks, merging into the previous message when the role repeats (Anthropic
/// requires user and assistant turns to alternate).
fn push(out: &mut Vec<Value>, role: &str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = out.last_mut()
        && last["role"] == role
        && let Some(existing) = last["content"].as_array_mut()
    {
        existing.extend(blocks);
        return;
    }
    out.push(json!({"role": role, "content": blocks}));
}

fn plain_text(c: &Value) -> String {
    match c {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn text_blocks(c: &Value) -> Vec<Value> {
    let t = plain_text(c);
    if t.is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "text", "text": t})]
    }
}

fn user_blocks(c: &Value) -> Result<Vec<Value>, String> {
    let Value::Array(parts) = c else {
        return Ok(text_blocks(c));
    };
    let mut blocks = Vec::new();
    for p in parts {
        match p.get("type").and_then(Value::as_str) {
            Some("text") => blocks.push(
                json!({"type": "text", "text": p.get("text").cloned().unwrap_or(Value::Null)}),
            ),
            Some("image_url") => {
                let url = p
                    .at(&["image_url", "url"])
                    .and_then(Value::as_str)
                    .ok_or("image_url part without a url")?;
                let source = match url
                    .strip_prefix("data:")
                    .and_then(|r| r.split_once(";base64,"))
                {
                    Some((media, data)) => {
                        json!({"type": "base64", "media_type": media, "data": data})
                    }
                    None => json!({"type": "url", "url": url}),
                };
                blocks.push(json!({"type": "image", "source": source}));
            }
            other => {
                return Err(format!(
                    "content part type {other:?} has no Anthropic equivalent"
                ));
            }
        }
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn system_tools_and_tool_round_trip() {
        let body = obj(json!({
            "model": "chat",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Find invoice 7"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "lookup_invoice", "arguments": "{\"id\":\"7\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "paid"},
                {"role": "user", "content": "Thanks"}
            ],
            "tools": [{"type": "function", "function": {"name": "lookup_invoice", "description": "Find", "parameters": {"type": "object"}}}],
            "tool_choice": "required",
            "stop": "END",
            "max_tokens": 50
        }));
        let r = to_messages_request(&body, "claude-x", false).unwrap();
        assert_eq!(r["system"], "Be brief.");
        assert_eq!(r["max_tokens"], 50);
        assert_eq!(r["stop_sequences"], json!(["END"]));
        assert_eq!(r["tool_choice"], json!({"type": "any"}));
        assert_eq!(r["tools"][0]["input_schema"], json!({"type": "object"}));
        let msgs = r["messages"].as_array().unwrap();
        assert_eq!(
            msgs.len(),
            3,
            "tool result and the next user turn merge: {msgs:?}"
        );
        assert_eq!(msgs[1]["content"][0]["type"], "tool_use");
        assert_eq!(msgs[1]["content"][0]["input"], json!({"id": "7"}));
        assert_eq!(msgs[2]["content"][0]["type"], "tool_result");
        assert_eq!(msgs[2]["content"][1]["text"], "Thanks");
    }

    #[test]
    fn default_max_tokens_and_bad_arguments() {
        let body = obj(json!({"messages": [{"role": "user", "content": "hi"}]}));
        let r = to_messages_request(&body, "m", true).unwrap();
        assert_eq!(r["max_tokens"], DEFAULT_MAX_TOKENS);
        assert_eq!(r["stream"], true);
        let bad = obj(
            json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "x", "function": {"name": "f", "arguments": "{oops"}}]}]}),
        );
        assert!(
            to_messages_request(&bad, "m", false)
                .unwrap_err()
                .contains("messages[0]")
        );
    }
}
