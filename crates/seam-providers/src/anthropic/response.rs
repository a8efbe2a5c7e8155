//! Anthropic message -> OpenAI chat completion.

use serde_json::{Value, json};

pub fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
}

/// The stop sequence that ended an answer, for the choice's `stop_reason` (where vLLM puts
/// it: OpenAI's `finish_reason` says only `stop`), so that an Anthropic-format client of Seam
/// is told `stop_sequence` again.
pub(crate) fn matched_stop(stop_reason: &str, sequence: Option<&Value>) -> Option<Value> {
    sequence
        .filter(|s| stop_reason == "stop_sequence" && s.is_string())
        .cloned()
}

/// A token count as Anthropic reported it: `Ok(None)` when it reported none, `Err` with the
/// value as it came when that is not a whole, non-negative number (carried into the OpenAI
/// shape as it came, so the gateway sees it as malformed, as from any provider).
pub(crate) type Count = Result<Option<u64>, Value>;

fn count(v: Option<&Value>) -> Count {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| v.clone()),
    }
}

/// Input tokens as billed: fresh input plus cache writes and reads. A `usage` that is not an
/// object is malformed as a whole.
pub(crate) fn input_tokens(usage: &Value) -> Count {
    if !usage.is_object() {
        return Err(usage.clone());
    }
    let mut total: Option<u64> = None;
    for key in [
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ] {
        if let Some(n) = count(usage.get(key))? {
            total = Some(total.unwrap_or(0).saturating_add(n));
        }
    }
    Ok(total)
}

pub(crate) fn output_tokens(usage: &Value) -> Count {
    count(usage.get("output_tokens"))
}

/// The usage as an OpenAI `usage` object; `None` when Anthropic reported none, so that no
/// zeros pass for counts.
pub(crate) fn openai_usage(input: &Count, output: &Count) -> Option<Value> {
    if let (Ok(None), Ok(None)) = (input, output) {
        return None;
    }
    let shown = |c: &Count| match c {
        Ok(Some(n)) => Value::from(*n),
        Ok(None) => Value::Null,
        Err(v) => v.clone(),
    };
    let mut usage = json!({"prompt_tokens": shown(input), "completion_tokens": shown(output)});
    if let (Ok(Some(i)), Ok(o)) = (input, output) {
        usage["total_tokens"] = Value::from(i.saturating_add(o.unwrap_or(0)));
    }
    Some(usage)
}

pub fn to_chat_completion(msg: &Value) -> Result<Value, String> {
    let blocks = msg
        .get("content")
        .and_then(Value::as_array)
        .ok_or("no content array")?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for b in blocks {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(b.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => tool_calls.push(json!({
                "id": b.get("id").cloned().unwrap_or(Value::Null),
                "type": "function",
                "function": {
                    "name": b.get("name").cloned().unwrap_or(Value::Null),
                    "arguments": b.get("input").map(Value::to_string).unwrap_or_else(|| "{}".into()),
                },
            })),
            _ => {}
        }
    }
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !tool_calls.is_empty() { Value::Null } else { Value::String(text) },
        "refusal": null,
    });
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    let usage = match msg.get("usage") {
        None | Some(Value::Null) => None,
        Some(u) => openai_usage(&input_tokens(u), &output_tokens(u)),
    };
    let stop = msg
        .get("stop_reason")
        .and_then(Value::as_str)
        .unwrap_or("end_turn");
    let mut choice = json!({"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason(stop)});
    if let Some(s) = matched_stop(stop, msg.get("stop_sequence")) {
        choice["stop_reason"] = s;
    }
    let mut out = json!({
        "id": msg.get("id").cloned().unwrap_or(Value::Null),
        "object": "chat.completion",
        "created": now(),
        "model": msg.get("model").cloned().unwrap_or(Value::Null),
        "system_fingerprint": null,
        "choices": [choice],
    });
    if let Some(u) = usage {
        out["usage"] = u;
    }
    Ok(out)
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_sequence_that_ended_an_answer_is_kept_in_the_choice() {
        let msg = |stop: &str, seq: Value| {
            to_chat_completion(&json!({"content": [{"type": "text", "text": "hi"}], "stop_reason": stop, "stop_sequence": seq}))
                .unwrap()["choices"][0]
                .clone()
        };
        let c = msg("stop_sequence", json!("END"));
        assert_eq!(
            (&c["finish_reason"], &c["stop_reason"]),
            (&json!("stop"), &json!("END"))
        );
        assert!(msg("end_turn", Value::Null).get("stop_reason").is_none());
    }

    #[test]
    fn tool_use_and_cache_tokens() {
        let msg = json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [{"type": "text", "text": "Let me look."}, {"type": "tool_use", "id": "tu_1", "name": "lookup", "input": {"id": "7"}}],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 7}
        });
        let c = to_chat_completion(&msg).unwrap();
        assert_eq!(c["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(c["choices"][0]["message"]["content"], "Let me look.");
        assert_eq!(
            c["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{\"id\":\"7\"}"
        );
        assert_eq!(c["usage"]["prompt_tokens"], 15);
        assert_eq!(c["usage"]["completion_tokens"], 7);
        assert_eq!(c["model"], "claude-x");
    }

    #[test]
    fn missing_or_malformed_usage_is_not_turned_into_zeros() {
        let msg = |usage: Option<Value>| {
            let mut m = json!({"content": [{"type": "text", "text": "hi"}]});
            if let Some(u) = usage {
                m["usage"] = u;
            }
            to_chat_completion(&m).unwrap()
        };
        assert!(msg(None).get("usage").is_none());
        assert!(msg(Some(Value::Null)).get("usage").is_none());
        let u = &msg(Some(json!({"input_tokens": -5, "output_tokens": 3})))["usage"];
        assert_eq!(
            (&u["prompt_tokens"], &u["completion_tokens"]),
            (&json!(-5), &json!(3))
        );
        let u = &msg(Some(json!("lots")))["usage"];
        assert_eq!(u["prompt_tokens"], "lots");
        let u = &msg(Some(
            json!({"input_tokens": u64::MAX, "cache_read_input_tokens": 9}),
        ))["usage"];
        assert_eq!(
            u["prompt_tokens"],
            json!(u64::MAX),
            "summed without overflow"
        );
    }
}
