//! The OpenAI wire format, as the sim speaks it.

use crate::engine::{Body, ChatInput, Decision, Finish, Plan, Reply, Sim, UsageOut, count_words};
use crate::output::Output;
use bytes::Bytes;
use seam_wire::{SSE_DONE, sse_data};
use serde_json::{Value, json};

pub fn chat(sim: &Sim, req: &Value) -> (std::time::Duration, Output) {
    let (input, stream, include_usage) = match parse_chat(req) {
        Ok(p) => p,
        Err(msg) => {
            return (
                Default::default(),
                error(400, "invalid_request_error", &msg),
            );
        }
    };
    let Decision { delay, plan } = sim.plan(&input);
    (delay, render(plan, stream, include_usage))
}

fn parse_chat(req: &Value) -> Result<(ChatInput, bool, bool), String> {
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .ok_or("you must provide a model parameter")?;
    let messages = req
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("missing required parameter: 'messages'")?;
    let mut input = ChatInput {
        model: model.to_string(),
        ..Default::default()
    };
    let mut turns = Vec::with_capacity(messages.len());
    for m in messages {
        let text = content_text(m.get("content").unwrap_or(&Value::Null));
        input.input_words += count_words(&text);
        match m.get("role").and_then(Value::as_str) {
            Some("user") => turns.push((true, text)),
            Some("assistant") => turns.push((false, text)),
            _ => {}
        }
    }
    input.take_turns(turns);
    if let Some(last) = messages.last()
        && last.get("role").and_then(Value::as_str) == Some("tool")
    {
        input.tool_result = Some(content_text(last.get("content").unwrap_or(&Value::Null)));
    }
    input.max_tokens = req
        .get("max_completion_tokens")
        .or_else(|| req.get("max_tokens"))
        .and_then(Value::as_u64);
    if let Some(tools) = req.get("tools").and_then(Value::as_array) {
        input.tools = tools
            .iter()
            .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
    }
    input.stop = match req.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let include_usage = req
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok((input, stream, include_usage))
}

pub(crate) fn content_text(c: &Value) -> String {
    match c {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

pub(crate) fn render(plan: Plan, stream: bool, include_usage: bool) -> Output {
    match plan {
        Plan::Fail {
            status,
            message,
            code,
            error_type,
            param,
            headers: extra,
            retry_after_secs,
            retry_after_ms,
            usage_input_tokens,
            location,
        } => {
            let kind = match status {
                429 => "rate_limit_error",
                400..=499 => "invalid_request_error",
                _ => "server_error",
            };
            let kind = error_type.as_deref().unwrap_or(kind);
            let mut body =
                json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
            if let Some(n) = usage_input_tokens {
                body["usage"] =
                    json!({"prompt_tokens": n, "completion_tokens": 0, "total_tokens": n});
            }
            let mut out = Output::json(status, &body);
            if let Output::Json { headers, .. } = &mut out {
                headers.extend(extra);
                if let Some(s) = retry_after_secs {
                    headers.push(("retry-after".into(), s.to_string()));
                }
                if let Some(ms) = retry_after_ms {
                    headers.push(("retry-after-ms".into(), ms.to_string()));
                }
                if let Some(l) = location {
                    headers.push(("location".into(), l));
                }
            }
            out
        }
        Plan::Hang(d) => Output::Hang(d),
        Plan::Reset => Output::Reset,
        Plan::Reply(r) if stream => stream_reply(&r, include_usage),
        Plan::Reply(r) => {
            let mut out = Output::json(200, &completion(&r));
            if let Output::Json { cut, .. } = &mut out {
                *cut = r.cut_after_chunks.is_some();
            }
            out
        }
    }
}

pub fn error(status: u16, kind: &str, message: &str) -> Output {
    Output::json(
        status,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": null}}),
    )
}

pub(crate) fn finish_reason(f: Finish) -> &'static str {
    match f {
        Finish::Stop => "stop",
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
    }
}

pub(crate) fn usage(r: &Reply) -> Option<Value> {
    match &r.usage {
        UsageOut::Counts => Some(json!({
            "prompt_tokens": r.input_tokens,
            "completion_tokens": r.output_tokens,
            "total_tokens": r.input_tokens.saturating_add(r.output_tokens),
        })),
        UsageOut::Omit => None,
        UsageOut::Raw(v) => Some(v.clone()),
    }
}

fn completion(r: &Reply) -> Value {
    let message = match &r.body {
        Body::Text(tokens) => {
            json!({"role": "assistant", "content": tokens.concat(), "refusal": null})
        }
        Body::Tool {
            id,
            name,
            arguments,
        } => json!({
            "role": "assistant",
            "content": null,
            "refusal": null,
            "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}],
        }),
    };
    let mut out = json!({
        "id": format!("chatcmpl-sim-{}", r.seq),
        "object": "chat.completion",
        "created": now(),
        "model": r.served_model,
        "system_fingerprint": r.fingerprint,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason(r.finish)}],
    });
    if let Some(u) = usage(r) {
        out["usage"] = u;
    }
    out
}

fn stream_reply(r: &Reply, include_usage: bool) -> Output {
    let id = format!("chatcmpl-sim-{}", r.seq);
    let created = now();
    let chunk = |delta: Value, finish: Option<&str>| {
        let mut c = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": r.served_model,
            "system_fingerprint": r.fingerprint,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        sse_data(&serde_json::to_vec(&c).unwrap_or_default())
    };
    let mut events = Vec::new();
    match &r.body {
        Body::Text(tokens) => {
            events.push(chunk(json!({"role": "assistant", "content": ""}), None));
            for piece in tokens.chunks(r.tokens_per_chunk) {
                events.push(chunk(json!({"content": piece.concat()}), None));
            }
        }
        Body::Tool {
            id: call_id,
            name,
            arguments,
        } => {
            events.push(chunk(
                json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
                None,
            ));
            let chars: Vec<char> = arguments.chars().collect();
            for piece in chars.chunks(4 * r.tokens_per_chunk) {
                let s: String = piece.iter().collect();
                events.push(chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": s}}]}),
                    None,
                ));
            }
        }
    }
    events.push(chunk(json!({}), Some(finish_reason(r.finish))));
    if let Some(usage) = usage(r).filter(|_| include_usage) {
        let c = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": r.served_model,
            "system_fingerprint": r.fingerprint,
            "choices": [],
            "usage": usage,
        });
        events.push(sse_data(&serde_json::to_vec(&c).unwrap_or_default()));
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

/// Dimensions without `dimensions`: enough that hashed words and trigrams rarely collide.
const DEFAULT_DIMS: u64 = 256;

pub fn embeddings(sim: &Sim, req: &Value) -> (std::time::Duration, Output) {
    let Some(model) = req.get("model").and_then(Value::as_str) else {
        return (
            Default::default(),
            error(
                400,
                "invalid_request_error",
                "you must provide a model parameter",
            ),
        );
    };
    let inputs: Vec<String> = match req.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::Array(a)) => a.iter().map(|v| v.to_string()).collect(),
        _ => {
            return (
                Default::default(),
                error(
                    400,
                    "invalid_request_error",
                    "'input' must be a string or an array",
                ),
            );
        }
    };
    let dims = req
        .get("dimensions")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_DIMS)
        .clamp(1, 4096) as usize;
    // OpenAI's Node SDK asks for base64 unless told otherwise, and decodes what it gets.
    let base64 = match req.get("encoding_format") {
        None | Some(Value::Null) => false,
        Some(Value::String(f)) if f == "float" => false,
        Some(Value::String(f)) if f == "base64" => true,
        Some(other) => {
            return (
                Default::default(),
                error(
                    400,
                    "invalid_request_error",
                    &format!("{other} is not one of ['float', 'base64'] - 'encoding_format'"),
                ),
            );
        }
    };
    let input = ChatInput {
        model: model.to_string(),
        input_words: inputs.iter().map(|s| count_words(s).max(1)).sum(),
        ..Default::default()
    };
    let Decision { delay, plan } = sim.plan(&input);
    let r = match plan {
        Plan::Reply(r) => r,
        other => return (delay, render(other, false, false)),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let v = vector(s, dims);
            let embedding = if base64 {
                json!(to_base64(&v))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let mut body = json!({"object": "list", "data": data, "model": r.served_model});
    match &r.usage {
        UsageOut::Counts => {
            body["usage"] =
                json!({"prompt_tokens": r.input_tokens, "total_tokens": r.input_tokens});
        }
        UsageOut::Omit => {}
        UsageOut::Raw(v) => body["usage"] = v.clone(),
    }
    (delay, Output::json(200, &body))
}

/// A deterministic unit vector in which similar texts are close: the text's words and their
/// character trigrams, hashed (FNV-1a, then SplitMix64's finalizer) into `dims` signed slots,
/// L2-normalised. Texts sharing words or spellings have a high cosine ("cancel my
/// subscripton" and "cancell my subscription"), unrelated ones about 0, so tests of what
/// embeds (the `similar` grader, `[failures] embedding_route`) get meaningful numbers. Not a
/// model of meaning: a synonym shares no trigram. An empty text is the first axis.
fn vector(text: &str, dims: usize) -> Vec<f32> {
    let mut v = vec![0f32; dims];
    let lower = text.to_lowercase();
    for word in lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        add_feature(&mut v, b'w', word.as_bytes(), 1.0);
        let padded: Vec<char> = std::iter::once(' ')
            .chain(word.chars())
            .chain(std::iter::once(' '))
            .collect();
        let mut buf = [0u8; 12];
        for t in padded.windows(3) {
            let mut n = 0;
            for c in t {
                n += c.encode_utf8(&mut buf[n..]).len();
            }
            add_feature(&mut v, b't', &buf[..n], 0.5);
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    } else if let Some(first) = v.first_mut() {
        *first = 1.0;
    }
    v
}

fn add_feature(v: &mut [f32], tag: u8, feature: &[u8], weight: f32) {
    let mut h: u64 = 0xcbf29ce484222325 ^ u64::from(tag);
    for b in feature {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d049bb133111eb);
    h ^= h >> 31;
    let slot = (h % v.len() as u64) as usize;
    v[slot] += if h >> 63 == 1 { -weight } else { weight };
}

/// The vector as OpenAI's `encoding_format: "base64"` sends it: little-endian f32s, base64.
fn to_base64(v: &[f32]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn models(sim: &Sim) -> Output {
    let s = sim.scenario();
    let mut ids: Vec<String> = s.model.served.iter().cloned().collect();
    ids.extend(s.model.changes.iter().filter_map(|c| c.served.clone()));
    if ids.is_empty() {
        ids.push("sim".into());
    }
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "seam-sim"}))
        .collect();
    Output::json(200, &json!({"object": "list", "data": data}))
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
    use crate::Scenario;

    #[test]
    fn base64_is_little_endian_f32() {
        assert_eq!(to_base64(&[1.0]), "AACAPw==");
        assert_eq!(to_base64(&[1.0, -2.0]), "AACAPwAAAMA=");
        assert_eq!(to_base64(&[1.0, 0.0, 1.0]), "AACAPwAAAAAAAIA/");
    }

    #[test]
    fn embeddings_honour_encoding_format() {
        let sim = Sim::new(Scenario::from_toml("").unwrap());
        let body = |format: Value| {
            let mut req = json!({"model": "e", "input": "hello", "dimensions": 4});
            if !format.is_null() {
                req["encoding_format"] = format;
            }
            match embeddings(&sim, &req).1 {
                Output::Json { status, body, .. } => {
                    (status, serde_json::from_slice::<Value>(&body).unwrap())
                }
                _ => panic!("not JSON"),
            }
        };
        let (_, floats) = body(Value::Null);
        let v: Vec<f32> = serde_json::from_value(floats["data"][0]["embedding"].clone()).unwrap();
        assert_eq!(body(json!("float")).1["data"], floats["data"]);
        let (status, b64) = body(json!("base64"));
        assert_eq!(status, 200);
        assert_eq!(b64["data"][0]["embedding"], json!(to_base64(&v)));
        assert_eq!(body(json!("hex")).0, 400);
    }

    #[test]
    fn similar_texts_have_close_embeddings() {
        let cos = |a: &str, b: &str| -> f32 {
            let (x, y) = (vector(a, 256), vector(b, 256));
            x.iter().zip(&y).map(|(p, q)| p * q).sum()
        };
        assert!((cos("same text", "same text") - 1.0).abs() < 1e-5);
        let typo = cos(
            "how do I cancel my subscripton",
            "how can i cancell my subscription",
        );
        let unrelated = cos(
            "how do I cancel my subscription",
            "export the quarterly invoices as csv",
        );
        assert!(typo > 0.6, "{typo}");
        assert!(unrelated.abs() < 0.3, "{unrelated}");
        let e = vector("", 8);
        assert_eq!(e[0], 1.0);
    }
}
