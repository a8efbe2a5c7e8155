//! Anthropic's Messages API wire format, as the sim speaks it.

use crate::engine::{Body, ChatInput, Decision, Finish, Plan, Reply, Sim, UsageOut, count_words};
use crate::output::Output;
use bytes::Bytes;
use serde_json::{Value, json};

pub fn messages(sim: &Sim, req: &Value) -> (std::time::Duration, Output) {
    let (input, stream) = match parse(req) {
        Ok(p) => p,
        Err(msg) => return (Default::default(), error(400, &msg)),
    };
    let Decision { delay, plan } = sim.plan(&input);
    (delay, render(plan, stream))
}

fn parse(req: &Value) -> Result<(ChatInput, bool), String> {
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .ok_or("model: Field required")?;
    let messages = req
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("messages: Field required")?;
    let max_tokens = req
        .get("max_tokens")
        .and_then(Value::as_u64)
        .ok_or("max_tokens: Field required")?;
    let mut input = ChatInput {
        model: model.to_string(),
        max_tokens: Some(max_tokens),
        ..Default::default()
    };
    if let Some(system) = req.get("system") {
        input.input_words += count_words(&blocks_text(system));
    }
    let mut turns = Vec::with_capacity(messages.len());
    for m in messages {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if role != "user" && role != "assistant" {
            return Err(format!(
                "messages: Unexpected role \"{role}\"; use the top-level system parameter for a system prompt"
            ));
        }
        let text = blocks_text(m.get("content").unwrap_or(&Value::Null));
        input.input_words += count_words(&text);
        // An empty user turn (tool results without text) is not what the sim echoes.
        if role == "assistant" || !text.is_empty() {
            turns.push((role == "user", text));
        }
    }
    input.take_turns(turns);
    let ends_with_result = messages.last().is_some_and(|m| {
        m.get("content").and_then(Value::as_array).is_some_and(|b| {
            b.iter()
                .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        })
    });
    if ends_with_result && let Some(m) = messages.last() {
        input.tool_result = Some(blocks_text(m.get("content").unwrap_or(&Value::Null)));
    }
    if let Some(tools) = req.get("tools").and_then(Value::as_array) {
        input.tools = tools
            .iter()
            .filter_map(|t| t.get("name").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
    }
    input.stop = req
        .get("stop_sequences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    Ok((input, stream))
}

/// Text of a string or of content blocks (text blocks, and tool results' text).
fn blocks_text(c: &Value) -> String {
    match c {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => b.get("text").and_then(Value::as_str).map(str::to_string),
                Some("tool_result") => Some(blocks_text(b.get("content").unwrap_or(&Value::Null))),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

pub fn error(status: u16, message: &str) -> Output {
    let kind = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    Output::json(
        status,
        &json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

fn render(plan: Plan, stream: bool) -> Output {
    match plan {
        Plan::Fail {
            status,
            message,
            error_type,
            headers: extra,
            retry_after_secs,
            location,
            ..
        } => {
            let mut out = error(status, &message);
            if let (Some(t), Output::Json { body, .. }) = (error_type, &mut out) {
                let v = json!({"type": "error", "error": {"type": t, "message": message}});
                *body = serde_json::to_vec(&v).unwrap_or_default().into();
            }
            if let Output::Json { headers, .. } = &mut out {
                headers.extend(extra);
                if let Some(s) = retry_after_secs {
                    headers.push(("retry-after".into(), s.to_string()));
                }
                if let Some(l) = location {
                    headers.push(("location".into(), l));
                }
            }
            out
        }
        Plan::Hang(d) => Output::Hang(d),
        Plan::Reset => Output::Reset,
        Plan::Reply(r) if stream => stream_reply(&r),
        Plan::Reply(r) => {
            let mut out = Output::json(200, &message(&r));
            if let Output::Json { cut, .. } = &mut out {
                *cut = r.cut_after_chunks.is_some();
            }
            out
        }
    }
}

fn stop_reason(r: &Reply) -> &'static str {
    match r.finish {
        Finish::Stop if r.stop_sequence.is_some() => "stop_sequence",
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ToolCalls => "tool_use",
    }
}

/// The usage object of a message (`output_tokens`: the count to report there), if any.
fn usage(r: &Reply, output_tokens: u64) -> Option<Value> {
    match &r.usage {
        UsageOut::Counts => {
            Some(json!({"input_tokens": r.input_tokens, "output_tokens": output_tokens}))
        }
        UsageOut::Omit => None,
        UsageOut::Raw(v) => Some(v.clone()),
    }
}

/// `v` with `usage` set, when there is one.
fn with_usage(mut v: Value, usage: Option<Value>) -> Value {
    if let Some(u) = usage {
        v["usage"] = u;
    }
    v
}

fn message(r: &Reply) -> Value {
    let content = match &r.body {
        Body::Text(t) => json!([{"type": "text", "text": t.concat()}]),
        Body::Tool {
            id,
            name,
            arguments,
        } => {
            let input: Value = serde_json::from_str(arguments).unwrap_or(json!({}));
            json!([{"type": "tool_use", "id": id, "name": name, "input": input}])
        }
    };
    let m = json!({
        "id": format!("msg_sim_{}", r.seq),
        "type": "message",
        "role": "assistant",
        "model": r.served_model,
        "content": content,
        "stop_reason": stop_reason(r),
        "stop_sequence": r.stop_sequence,
    });
    with_usage(m, usage(r, r.output_tokens))
}

fn event(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

fn stream_reply(r: &Reply) -> Output {
    let start = json!({
        "id": format!("msg_sim_{}", r.seq), "type": "message", "role": "assistant",
        "model": r.served_model, "content": [], "stop_reason": null, "stop_sequence": null,
    });
    let mut events = vec![event(
        "message_start",
        &json!({"type": "message_start", "message": with_usage(start, usage(r, 1))}),
    )];
    match &r.body {
        Body::Text(tokens) => {
            events.push(event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ));
            events.push(event("ping", &json!({"type": "ping"})));
            for piece in tokens.chunks(r.tokens_per_chunk) {
                events.push(event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece.concat()}}),
                ));
            }
        }
        Body::Tool {
            id,
            name,
            arguments,
        } => {
            events.push(event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
            ));
            let chars: Vec<char> = arguments.chars().collect();
            for piece in chars.chunks(4 * r.tokens_per_chunk) {
                let s: String = piece.iter().collect();
                events.push(event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": s}}),
                ));
            }
        }
    }
    events.push(event(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    let delta = json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(r), "stop_sequence": r.stop_sequence}});
    let delta_usage = match &r.usage {
        UsageOut::Counts => Some(json!({"output_tokens": r.output_tokens})),
        _ => usage(r, r.output_tokens),
    };
    events.push(event("message_delta", &with_usage(delta, delta_usage)));
    events.push(event("message_stop", &json!({"type": "message_stop"})));
    Output::Sse {
        events,
        interval: r.interval,
        together: r.together,
        cut_after: r.cut_after_chunks,
        huge_line: r.huge_line,
    }
}
