//! OpenAI's legacy completions (`POST /v1/completions`, `text_completion` objects), as the
//! sim speaks them: the same engine as chat, the prompt as the last user turn.

use crate::engine::{Body, ChatInput, Decision, Plan, Reply, Sim, count_words};
use crate::openai::{error, finish_reason, now, render, usage};
use crate::output::Output;
use bytes::Bytes;
use seam_wire::{SSE_DONE, sse_data};
use serde_json::{Value, json};

pub fn completions(sim: &Sim, req: &Value) -> (std::time::Duration, Output) {
    let (input, stream, include_usage) = match parse(req) {
        Ok(p) => p,
        Err(msg) => {
            return (
                Default::default(),
                error(400, "invalid_request_error", &msg),
            );
        }
    };
    let Decision { delay, plan } = sim.plan(&input);
    let out = match plan {
        Plan::Reply(r) if stream => stream_reply(&r, include_usage),
        Plan::Reply(r) => {
            let mut out = Output::json(200, &completion(&r));
            if let Output::Json { cut, .. } = &mut out {
                *cut = r.cut_after_chunks.is_some();
            }
            out
        }
        other => render(other, false, false),
    };
    (delay, out)
}

fn parse(req: &Value) -> Result<(ChatInput, bool, bool), String> {
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .ok_or("you must provide a model parameter")?;
    let prompt = match req.get("prompt") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        // Token arrays: the sim has no tokenizer, so only their count matters.
        Some(Value::Array(a)) => vec!["token"; a.len()].join(" "),
        _ => return Err("missing required parameter: 'prompt'".into()),
    };
    let input = ChatInput {
        model: model.to_string(),
        input_words: count_words(&prompt),
        last_user: prompt,
        max_tokens: req.get("max_tokens").and_then(Value::as_u64),
        stop: match req.get("stop") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        },
        ..Default::default()
    };
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let include_usage = req
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok((input, stream, include_usage))
}

/// The reply's text (a tool call, which a completion cannot make, as its arguments).
fn text(r: &Reply) -> Vec<String> {
    match &r.body {
        Body::Text(tokens) => tokens.clone(),
        Body::Tool { arguments, .. } => vec![arguments.clone()],
    }
}

fn completion(r: &Reply) -> Value {
    let mut out = json!({
        "id": format!("cmpl-sim-{}", r.seq),
        "object": "text_completion",
        "created": now(),
        "model": r.served_model,
        "system_fingerprint": r.fingerprint,
        "choices": [{"text": text(r).concat(), "index": 0, "logprobs": null, "finish_reason": finish_reason(r.finish)}],
    });
    if let Some(u) = usage(r) {
        out["usage"] = u;
    }
    out
}

fn stream_reply(r: &Reply, include_usage: bool) -> Output {
    let id = format!("cmpl-sim-{}", r.seq);
    let created = now();
    let chunk = |choices: Value, usage: Option<Value>| {
        let mut c = json!({
            "id": id,
            "object": "text_completion",
            "created": created,
            "model": r.served_model,
            "system_fingerprint": r.fingerprint,
            "choices": choices,
        });
        match usage {
            Some(u) => c["usage"] = u,
            None if include_usage => c["usage"] = Value::Null,
            None => {}
        }
        sse_data(&serde_json::to_vec(&c).unwrap_or_default())
    };
    let tokens = text(r);
    let mut events: Vec<Bytes> = tokens
        .chunks(r.tokens_per_chunk.max(1))
        .map(|piece| {
            let choice = json!([{"text": piece.concat(), "index": 0, "logprobs": null, "finish_reason": null}]);
            chunk(choice, None)
        })
        .collect();
    let last = json!([{"text": "", "index": 0, "logprobs": null, "finish_reason": finish_reason(r.finish)}]);
    events.push(chunk(last, None));
    if let Some(u) = usage(r).filter(|_| include_usage) {
        events.push(chunk(json!([]), Some(u)));
    }
    events.push(Bytes::from_static(SSE_DONE));
    Output::Sse {
        events,
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

    fn sim() -> Sim {
        Sim::new(Scenario::from_toml("[model]\nserved = \"sim-1\"\n").unwrap())
    }

    #[test]
    fn a_completion_is_a_text_completion_with_usage() {
        let (_, out) = completions(&sim(), &json!({"model": "m", "prompt": "Say hello"}));
        let Output::Json { status, body, .. } = out else {
            panic!("not JSON")
        };
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200);
        assert_eq!(v["object"], "text_completion");
        assert!(
            v["choices"][0]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        assert!(v["usage"]["prompt_tokens"].as_u64().is_some());
    }

    #[test]
    fn a_stream_ends_with_usage_when_asked_and_done() {
        let req = json!({"model": "m", "prompt": ["a", "b"], "stream": true, "stream_options": {"include_usage": true}});
        let (_, out) = completions(&sim(), &req);
        let Output::Sse { events, .. } = out else {
            panic!("not a stream")
        };
        assert_eq!(events.last().unwrap().as_ref(), SSE_DONE);
        let usage = String::from_utf8_lossy(&events[events.len() - 2]).into_owned();
        assert!(
            usage.contains("\"choices\":[]") && usage.contains("prompt_tokens"),
            "{usage}"
        );
    }

    #[test]
    fn a_request_without_prompt_is_400() {
        let (_, out) = completions(&sim(), &json!({"model": "m"}));
        assert!(matches!(out, Output::Json { status: 400, .. }));
    }
}
