//! OpenAI chat completion -> Anthropic Message.

use seam_wire::At;
use seam_wire::Usage;
use serde_json::{Value, json};

/// Anthropic's `stop_reason` (and `stop_sequence`) for an OpenAI `finish_reason`. Which stop
/// sequence ended an answer is known only when the upstream says so in the choice's
/// `stop_reason` (as vLLM does, and Seam's anthropic provider passes on); OpenAI itself says
/// only `stop`, which reads as `end_turn`.
pub fn stop_reason(finish: Option<&str>, matched: Option<&str>) -> (&'static str, Option<String>) {
    match finish {
        Some("stop") => match matched {
            Some(s) => ("stop_sequence", Some(s.to_string())),
            None => ("end_turn", None),
        },
        Some("length") => ("max_tokens", None),
        Some("tool_calls" | "function_call") => ("tool_use", None),
        Some("content_filter") => ("refusal", None),
        _ => ("end_turn", None),
    }
}

/// The matched stop sequence an OpenAI choice names, if any.
pub fn matched_stop(choice: &Value) -> Option<&str> {
    choice.get("stop_reason").and_then(Value::as_str)
}

/// A tool call's `arguments` as a tool_use `input`: the JSON they hold (`{}` for none), or,
/// when the model wrote something that is not JSON, that text as a string, as it came.
pub fn tool_input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_string()))
}

/// `usage` as Anthropic reports it: what Seam billed for the attempt (the provider's counts,
/// or Seam's estimate when it reported none it could believe).
pub fn usage_json(u: Usage) -> Value {
    json!({"input_tokens": u.input_tokens, "output_tokens": u.output_tokens})
}

/// The Message for a complete answer: its first choice (Anthropic has no `n`), with the
/// usage Seam billed. `id` stands in when the upstream gave none.
pub fn to_message(completion: &Value, usage: Usage, id: &str) -> Value {
    let choice = completion.at(&["choices", "0"]).unwrap_or(&Value::Null);
    let message = choice.get("message").unwrap_or(&Value::Null);
    let mut content = Vec::new();
    let text = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    };
    let refusal = message.get("refusal").and_then(Value::as_str);
    match refusal {
        Some(r) if text.is_empty() => content.push(json!({"type": "text", "text": r})),
        _ if !text.is_empty() => content.push(json!({"type": "text", "text": text})),
        _ => {}
    }
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let f = call.get("function").unwrap_or(&Value::Null);
        content.push(json!({
            "type": "tool_use",
            "id": call.get("id").and_then(Value::as_str).unwrap_or_default(),
            "name": f.get("name").and_then(Value::as_str).unwrap_or_default(),
            "input": tool_input(f.get("arguments").and_then(Value::as_str).unwrap_or_default()),
        }));
    }
    let finish = choice.get("finish_reason").and_then(Value::as_str);
    let (stop, sequence) = match (finish, refusal) {
        (None | Some("stop"), Some(_)) if text.is_empty() => ("refusal", None),
        _ => stop_reason(finish, matched_stop(choice)),
    };
    json!({
        "id": completion.get("id").and_then(Value::as_str).unwrap_or(id),
        "type": "message",
        "role": "assistant",
        "model": completion.get("model").cloned().unwrap_or(Value::Null),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": sequence,
        "usage": usage_json(usage),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage() -> Usage {
        Usage {
            input_tokens: 12,
            output_tokens: 7,
        }
    }

    #[test]
    fn text_and_tool_calls_become_content_blocks() {
        let c = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "sim-large",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Looking it up.",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"id\": \"7\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}}
                ]
            }}],
            "usage": {"prompt_tokens": 99, "completion_tokens": 99}
        });
        assert_eq!(
            to_message(&c, usage(), "call_x"),
            json!({
                "id": "chatcmpl-1", "type": "message", "role": "assistant", "model": "sim-large",
                "content": [
                    {"type": "text", "text": "Looking it up."},
                    {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"id": "7"}},
                    {"type": "tool_use", "id": "call_2", "name": "now", "input": {}}
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": 7}
            })
        );
    }

    #[test]
    fn stop_reasons_map() {
        let stop = |finish: Value, matched: Value| {
            let c = json!({"choices": [{"finish_reason": finish, "stop_reason": matched, "message": {"content": "x"}}]});
            let m = to_message(&c, usage(), "call_x");
            (m["stop_reason"].clone(), m["stop_sequence"].clone())
        };
        assert_eq!(
            stop(json!("stop"), Value::Null),
            (json!("end_turn"), Value::Null)
        );
        assert_eq!(
            stop(json!("stop"), json!("END")),
            (json!("stop_sequence"), json!("END"))
        );
        assert_eq!(
            stop(json!("stop"), json!(42)),
            (json!("end_turn"), Value::Null),
            "a token id is no sequence"
        );
        assert_eq!(stop(json!("length"), Value::Null).0, "max_tokens");
        assert_eq!(stop(json!("tool_calls"), Value::Null).0, "tool_use");
        assert_eq!(stop(json!("content_filter"), Value::Null).0, "refusal");
        assert_eq!(stop(Value::Null, Value::Null).0, "end_turn");
    }

    #[test]
    fn odd_answers_still_make_a_message() {
        let m = to_message(&json!({}), usage(), "call_x");
        assert_eq!(m["id"], "call_x");
        assert_eq!(m["content"], json!([]));
        let c = json!({"choices": [{"finish_reason": "stop", "message": {"content": null, "refusal": "I can't help with that."}}]});
        let m = to_message(&c, usage(), "call_x");
        assert_eq!(m["content"][0]["text"], "I can't help with that.");
        assert_eq!(m["stop_reason"], "refusal");
        let c = json!({"choices": [{"message": {"content": null, "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{not json"}}]}}]});
        assert_eq!(
            to_message(&c, usage(), "call_x")["content"][0]["input"],
            "{not json",
            "arguments that are not JSON are carried as they came"
        );
    }
}
