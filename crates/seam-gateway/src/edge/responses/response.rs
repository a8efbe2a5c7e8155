//! OpenAI chat completion -> a Responses API Response object, for a target that does not
//! speak the Responses API. The first choice becomes the output: its text a `message` item
//! (a refusal a `refusal` part), each tool call a `function_call` item. `usage` is what Seam
//! billed; a `length` finish is `incomplete` (`max_output_tokens`). Translated responses are
//! not stored anywhere (`store: false`).

use seam_wire::At;
use seam_wire::{RequestBody, Usage};
use serde_json::{Map, Value, json};

/// The Response's id for a call: `resp_` and the call's id.
pub fn response_id(call_id: &str) -> String {
    format!("resp_{}", call_id.strip_prefix("call_").unwrap_or(call_id))
}

pub fn usage_json(u: Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": u.total(),
    })
}

/// What a Response echoes of its request, as the client wrote it.
pub struct Echo {
    fields: Map<String, Value>,
}

impl Echo {
    pub fn new(request: &RequestBody) -> Echo {
        let req = request.to_map();
        let mut fields = Map::new();
        let mut copy = |k: &str, default: Value| {
            let v = req.get(k).cloned().unwrap_or(default);
            fields.insert(k.into(), v);
        };
        copy("instructions", Value::Null);
        copy("max_output_tokens", Value::Null);
        copy("metadata", json!({}));
        copy("parallel_tool_calls", json!(true));
        copy("temperature", json!(1.0));
        copy("text", json!({"format": {"type": "text"}}));
        copy("tool_choice", json!("auto"));
        copy("tools", json!([]));
        copy("top_p", json!(1.0));
        copy("user", Value::Null);
        Echo { fields }
    }

    /// The Response object: `status` (and why it is incomplete, if it is) and `output` as
    /// given, `usage` when it is known.
    pub fn response(
        &self,
        id: &str,
        created_at: u64,
        model: &str,
        (status, incomplete): (&str, Option<&str>),
        output: Vec<Value>,
        usage: Option<Usage>,
    ) -> Value {
        let mut r = json!({
            "id": id,
            "object": "response",
            "created_at": created_at,
            "status": status,
            "error": null,
            "incomplete_details": incomplete.map(|reason| json!({"reason": reason})),
            "model": model,
            "output": output,
            "previous_response_id": null,
            "reasoning": {"effort": null, "summary": null},
            "store": false,
            "truncation": "disabled",
            "usage": usage.map(usage_json),
        });
        if let Some(o) = r.as_object_mut() {
            for (k, v) in &self.fields {
                o.insert(k.clone(), v.clone());
            }
        }
        r
    }
}

/// The status and incomplete reason for a chat finish reason.
pub fn status(finish: Option<&str>) -> (&'static str, Option<&'static str>) {
    match finish {
        Some("length") => ("incomplete", Some("max_output_tokens")),
        Some("content_filter") => ("incomplete", Some("content_filter")),
        _ => ("completed", None),
    }
}

pub fn message_item(id: &str, text: &str, refusal: Option<&str>) -> Value {
    let mut content = Vec::new();
    if !text.is_empty() || refusal.is_none() {
        content
            .push(json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []}));
    }
    if let Some(r) = refusal {
        content.push(json!({"type": "refusal", "refusal": r}));
    }
    json!({"type": "message", "id": id, "status": "completed", "role": "assistant", "content": content})
}

pub fn function_call_item(id: &str, call_id: &str, name: &str, arguments: &str) -> Value {
    json!({"type": "function_call", "id": id, "call_id": call_id, "name": name, "arguments": arguments, "status": "completed"})
}

/// A chat completion as a Response object, `model` as the client is to see it.
pub fn from_chat(completion: &Value, usage: Usage, call_id: &str, echo: &Echo) -> Value {
    let id = response_id(call_id);
    let choice = completion.at(&["choices", "0"]).unwrap_or(&Value::Null);
    let message = choice.get("message").unwrap_or(&Value::Null);
    let mut output = Vec::new();
    let text = message.get("content").and_then(Value::as_str).unwrap_or("");
    let refusal = message.get("refusal").and_then(Value::as_str);
    let calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !text.is_empty() || refusal.is_some() || calls.is_empty() {
        output.push(message_item(&format!("msg_{}", &id[5..]), text, refusal));
    }
    for (k, c) in calls.iter().enumerate() {
        let call_id = c.get("id").and_then(Value::as_str).unwrap_or_default();
        let name = c
            .at(&["function", "name"])
            .and_then(Value::as_str)
            .unwrap_or_default();
        let arguments = c
            .at(&["function", "arguments"])
            .and_then(Value::as_str)
            .unwrap_or_default();
        output.push(function_call_item(
            &format!("fc_{}_{k}", &id[5..]),
            call_id,
            name,
            arguments,
        ));
    }
    let finish = choice.get("finish_reason").and_then(Value::as_str);
    echo.response(
        &id,
        completion
            .get("created")
            .and_then(Value::as_u64)
            .unwrap_or_else(now),
        completion
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        status(finish),
        output,
        Some(usage),
    )
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(v: Value) -> Echo {
        Echo::new(&RequestBody::parse(v.to_string().into()).unwrap())
    }

    #[test]
    fn text_and_tool_calls_become_output_items() {
        let chat = json!({"id": "chatcmpl-1", "created": 7, "model": "claude-x", "choices": [{"index": 0,
            "message": {"role": "assistant", "content": "Looking.", "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"id\":7}"}}
            ]}, "finish_reason": "tool_calls"}]});
        let usage = Usage {
            input_tokens: 5,
            output_tokens: 3,
        };
        let r = from_chat(
            &chat,
            usage,
            "call_abc",
            &echo(json!({"model": "chat", "input": "x", "instructions": "be brief"})),
        );
        assert_eq!(r["id"], "resp_abc");
        assert_eq!(r["object"], "response");
        assert_eq!(r["status"], "completed");
        assert_eq!(r["model"], "claude-x");
        assert_eq!(r["instructions"], "be brief");
        assert_eq!(r["output"][0]["content"][0]["text"], "Looking.");
        assert_eq!(
            r["output"][1],
            json!({"type": "function_call", "id": "fc_abc_0", "call_id": "toolu_1", "name": "lookup", "arguments": "{\"id\":7}", "status": "completed"})
        );
        assert_eq!(r["usage"]["input_tokens"], 5);
        assert_eq!(r["usage"]["total_tokens"], 8);
        let cut = json!({"model": "m", "choices": [{"message": {"content": "a b"}, "finish_reason": "length"}]});
        let r = from_chat(&cut, usage, "call_x", &echo(json!({"input": "x"})));
        assert_eq!(r["status"], "incomplete");
        assert_eq!(r["incomplete_details"]["reason"], "max_output_tokens");
    }
}
