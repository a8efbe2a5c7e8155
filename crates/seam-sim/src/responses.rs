//! OpenAI's Responses API (`POST /v1/responses`), as the sim speaks it: a Response object, or
//! its stream of typed events (`event: TYPE` and the event as data, ended by
//! `response.completed` or `response.incomplete`, no `[DONE]`). Responses are kept (unless
//! the request says `store: false`) for `GET` and `DELETE /v1/responses/{id}`.

use crate::engine::{Body, ChatInput, Decision, Finish, Plan, Reply, Sim, UsageOut, count_words};
use crate::openai::{content_text, now};
use crate::output::Output;
use bytes::Bytes;
use serde_json::{Value, json};

pub fn create(sim: &Sim, req: &Value) -> (std::time::Duration, Output) {
    let input = match parse(req) {
        Ok(i) => i,
        Err(msg) => {
            return (
                Default::default(),
                crate::openai::error(400, "invalid_request_error", &msg),
            );
        }
    };
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let store = req.get("store").and_then(Value::as_bool).unwrap_or(true);
    let Decision { delay, plan } = sim.plan(&input);
    let r = match plan {
        Plan::Reply(r) => r,
        other => return (delay, crate::openai::render(other, false, false)),
    };
    let n = next_id();
    let done = response(&r, req, "completed", n);
    if store {
        sim.keep_response(&response_id(n), done.clone());
    }
    if stream {
        return (delay, events(&r, req, done, n));
    }
    let mut out = Output::json(200, &done);
    if let Output::Json { cut, .. } = &mut out {
        *cut = r.cut_after_chunks.is_some();
    }
    (delay, out)
}

/// `GET` (or with `delete`, `DELETE`) `/v1/responses/{id}`.
pub fn stored(sim: &Sim, id: &str, delete: bool) -> Output {
    match sim.stored_response(id, delete) {
        Some(_) if delete => Output::json(
            200,
            &json!({"id": id, "object": "response", "deleted": true}),
        ),
        Some(r) => Output::json(200, &r),
        None => crate::openai::error(
            404,
            "invalid_request_error",
            &format!("No response found with id '{id}'."),
        ),
    }
}

fn parse(req: &Value) -> Result<ChatInput, String> {
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .ok_or("you must provide a model parameter")?;
    let mut input = ChatInput {
        model: model.to_string(),
        ..Default::default()
    };
    if let Some(i) = req.get("instructions").and_then(Value::as_str) {
        input.input_words += count_words(i);
    }
    match req.get("input") {
        Some(Value::String(s)) => {
            input.input_words += count_words(s);
            input.last_user = s.clone();
        }
        Some(Value::Array(items)) => {
            let mut turns = Vec::with_capacity(items.len());
            for item in items {
                let text = match item.get("type").and_then(Value::as_str) {
                    None | Some("message") => {
                        content_text(item.get("content").unwrap_or(&Value::Null))
                    }
                    Some("function_call_output") => item
                        .get("output")
                        .map(|o| o.as_str().map_or_else(|| content_text(o), str::to_string))
                        .unwrap_or_default(),
                    Some("function_call") => item
                        .get("arguments")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    Some(_) => String::new(),
                };
                input.input_words += count_words(&text);
                match item.get("role").and_then(Value::as_str) {
                    Some("user") => turns.push((true, text)),
                    Some("assistant") => turns.push((false, text)),
                    _ => {}
                }
            }
            input.take_turns(turns);
            if let Some(last) = items.last()
                && last.get("type").and_then(Value::as_str) == Some("function_call_output")
            {
                input.tool_result = last
                    .get("output")
                    .map(|o| o.as_str().map_or_else(|| content_text(o), str::to_string));
            }
        }
        _ => return Err("missing required parameter: 'input'".into()),
    }
    input.max_tokens = req.get("max_output_tokens").and_then(Value::as_u64);
    if let Some(tools) = req.get("tools").and_then(Value::as_array) {
        input.tools = tools
            .iter()
            .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
            .filter_map(|t| t.get("name").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
    }
    Ok(input)
}

/// Ids stay unique for the process's life (a scenario swap restarts the request count).
static RESPONSES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn next_id() -> u64 {
    RESPONSES.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

fn response_id(n: u64) -> String {
    format!("resp_sim{n}")
}

fn item_id(r: &Reply, n: u64) -> String {
    match &r.body {
        Body::Text(_) => format!("msg_sim{n}"),
        Body::Tool { .. } => format!("fc_sim{n}"),
    }
}

fn usage(r: &Reply) -> Value {
    match &r.usage {
        UsageOut::Counts => json!({
            "input_tokens": r.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": r.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": r.input_tokens.saturating_add(r.output_tokens),
        }),
        UsageOut::Omit => Value::Null,
        UsageOut::Raw(v) => v.clone(),
    }
}

/// The output item, finished.
fn item(r: &Reply, n: u64) -> Value {
    match &r.body {
        Body::Text(tokens) => json!({
            "type": "message",
            "id": item_id(r, n),
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": tokens.concat(), "annotations": [], "logprobs": []}],
        }),
        Body::Tool {
            id,
            name,
            arguments,
        } => json!({
            "type": "function_call",
            "id": item_id(r, n),
            "call_id": id,
            "name": name,
            "arguments": arguments,
            "status": "completed",
        }),
    }
}

/// The Response object; `status` `in_progress` has no output or usage yet.
fn response(r: &Reply, req: &Value, status: &str, n: u64) -> Value {
    let done = status != "in_progress";
    let incomplete = done && r.finish == Finish::Length;
    let field = |k: &str, default: Value| req.get(k).cloned().unwrap_or(default);
    json!({
        "id": response_id(n),
        "object": "response",
        "created_at": now(),
        "status": if incomplete { "incomplete" } else { status },
        "error": null,
        "incomplete_details": if incomplete { json!({"reason": "max_output_tokens"}) } else { Value::Null },
        "instructions": field("instructions", Value::Null),
        "max_output_tokens": field("max_output_tokens", Value::Null),
        "model": r.served_model,
        "output": if done { json!([item(r, n)]) } else { json!([]) },
        "parallel_tool_calls": field("parallel_tool_calls", json!(true)),
        "previous_response_id": field("previous_response_id", Value::Null),
        "reasoning": {"effort": null, "summary": null},
        "store": field("store", json!(true)),
        "temperature": field("temperature", json!(1.0)),
        "text": field("text", json!({"format": {"type": "text"}})),
        "tool_choice": field("tool_choice", json!("auto")),
        "tools": field("tools", json!([])),
        "top_p": field("top_p", json!(1.0)),
        "truncation": "disabled",
        "usage": if done { usage(r) } else { Value::Null },
        "user": null,
        "metadata": field("metadata", json!({})),
    })
}

fn events(r: &Reply, req: &Value, done: Value, n: u64) -> Output {
    let mut out = Vec::new();
    let mut seq = 0u64;
    let mut push = |kind: &str, mut v: Value| {
        v["type"] = json!(kind);
        v["sequence_number"] = json!(seq);
        seq += 1;
        let data = serde_json::to_string(&v).unwrap_or_default();
        out.push(Bytes::from(format!("event: {kind}\ndata: {data}\n\n")));
    };
    let started = response(r, req, "in_progress", n);
    push("response.created", json!({"response": started}));
    push("response.in_progress", json!({"response": started}));
    let id = item_id(r, n);
    let finished = item(r, n);
    match &r.body {
        Body::Text(tokens) => {
            let mut open = finished.clone();
            open["status"] = json!("in_progress");
            open["content"] = json!([]);
            push(
                "response.output_item.added",
                json!({"output_index": 0, "item": open}),
            );
            let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
            push(
                "response.content_part.added",
                json!({"item_id": id, "output_index": 0, "content_index": 0, "part": part("")}),
            );
            for piece in tokens.chunks(r.tokens_per_chunk.max(1)) {
                push(
                    "response.output_text.delta",
                    json!({"item_id": id, "output_index": 0, "content_index": 0, "delta": piece.concat(), "logprobs": []}),
                );
            }
            let text = tokens.concat();
            push(
                "response.output_text.done",
                json!({"item_id": id, "output_index": 0, "content_index": 0, "text": text, "logprobs": []}),
            );
            push(
                "response.content_part.done",
                json!({"item_id": id, "output_index": 0, "content_index": 0, "part": part(&text)}),
            );
        }
        Body::Tool { arguments, .. } => {
            let mut open = finished.clone();
            open["status"] = json!("in_progress");
            open["arguments"] = json!("");
            push(
                "response.output_item.added",
                json!({"output_index": 0, "item": open}),
            );
            let chars: Vec<char> = arguments.chars().collect();
            for piece in chars.chunks(4 * r.tokens_per_chunk.max(1)) {
                let s: String = piece.iter().collect();
                push(
                    "response.function_call_arguments.delta",
                    json!({"item_id": id, "output_index": 0, "delta": s}),
                );
            }
            push(
                "response.function_call_arguments.done",
                json!({"item_id": id, "output_index": 0, "arguments": arguments}),
            );
        }
    }
    push(
        "response.output_item.done",
        json!({"output_index": 0, "item": finished}),
    );
    let end = if done["status"] == "incomplete" {
        "response.incomplete"
    } else {
        "response.completed"
    };
    push(end, json!({"response": done}));
    Output::Sse {
        events: out,
        interval: r.interval,
        together: r.together,
        cut_after: r.cut_after_chunks,
        huge_line: r.huge_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;

    fn events_of(out: &Output) -> Vec<Value> {
        let Output::Sse { events, .. } = out else {
            panic!("not a stream")
        };
        events
            .iter()
            .map(|e| {
                let text = std::str::from_utf8(e).unwrap();
                let (head, data) = text.split_once("\ndata: ").unwrap();
                let v: Value = serde_json::from_str(data.trim()).unwrap();
                assert_eq!(head.strip_prefix("event: "), v["type"].as_str());
                v
            })
            .collect()
    }

    #[test]
    fn a_response_echoes_and_is_kept() {
        let sim = Sim::new(Scenario::default());
        let (_, out) = create(
            &sim,
            &json!({"model": "m", "instructions": "be brief", "input": [{"role": "user", "content": [{"type": "input_text", "text": "ping pong"}]}]}),
        );
        let Output::Json { body, status, .. } = out else {
            panic!()
        };
        assert_eq!(status, 200);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["output"][0]["content"][0]["text"], "ping pong");
        assert_eq!(v["usage"]["input_tokens"], 4);
        let id = v["id"].as_str().unwrap();
        let Output::Json { body, .. } = stored(&sim, id, false) else {
            panic!()
        };
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["id"], id);
        let Output::Json { status, .. } = stored(&sim, id, true) else {
            panic!()
        };
        assert_eq!(status, 200);
        let Output::Json { status, .. } = stored(&sim, id, false) else {
            panic!()
        };
        assert_eq!(status, 404);
    }

    #[test]
    fn a_stream_is_typed_events_in_sequence() {
        let sim = Sim::new(Scenario::default());
        let (_, out) = create(
            &sim,
            &json!({"model": "m", "input": "a b c", "stream": true}),
        );
        let evs = events_of(&out);
        let kinds: Vec<&str> = evs.iter().filter_map(|e| e["type"].as_str()).collect();
        assert_eq!(kinds.first(), Some(&"response.created"));
        assert_eq!(kinds.last(), Some(&"response.completed"));
        assert!(kinds.contains(&"response.output_text.delta"));
        for (i, e) in evs.iter().enumerate() {
            assert_eq!(e["sequence_number"], i);
        }
        let text: String = evs
            .iter()
            .filter(|e| e["type"] == "response.output_text.delta")
            .filter_map(|e| e["delta"].as_str())
            .collect();
        assert_eq!(text, "a b c");
        assert_eq!(evs.last().unwrap()["response"]["usage"]["output_tokens"], 3);
    }
}
