//! Anthropic stream events -> OpenAI chat completion chunks.

use super::response::{
    Count, finish_reason, input_tokens, matched_stop, now, openai_usage, output_tokens,
};
use crate::{AttemptError, Chunk, ErrorClass, StreamEvent};
use seam_wire::At;
use serde_json::{Value, json};

/// Holds what later chunks need from earlier events: the message id and model, which
/// content blocks are tool calls, and the usage so far.
pub struct ChunkTranslator {
    provider: String,
    id: Value,
    model: Value,
    created: u64,
    /// Anthropic block index -> OpenAI tool_calls index.
    tool_index: Vec<(u64, usize)>,
    input_tokens: Count,
    output_tokens: Count,
}

impl ChunkTranslator {
    pub fn new(provider: String) -> ChunkTranslator {
        ChunkTranslator {
            provider,
            id: Value::Null,
            model: Value::Null,
            created: now(),
            tool_index: Vec::new(),
            input_tokens: Ok(None),
            output_tokens: Ok(None),
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> StreamEvent {
        StreamEvent::Chunk(Chunk::from_value(json!({
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "system_fingerprint": null,
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        })))
    }

    /// Translates one SSE event; most give one chunk, some none, `message_stop` two.
    pub fn translate(&mut self, event: &str, data: &str) -> Result<Vec<StreamEvent>, AttemptError> {
        let v: Value = serde_json::from_str(data).map_err(|e| {
            AttemptError::new(
                ErrorClass::BadResponse,
                format!(
                    "provider `{}` sent a stream event that is not JSON: {e}",
                    self.provider
                ),
            )
        })?;
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(event);
        Ok(match kind {
            "message_start" => {
                let m = v.get("message").cloned().unwrap_or(Value::Null);
                self.id = m.get("id").cloned().unwrap_or(Value::Null);
                self.model = m.get("model").cloned().unwrap_or(Value::Null);
                if let Some(u) = m.get("usage").filter(|u| !u.is_null()) {
                    self.input_tokens = input_tokens(u);
                    self.output_tokens = output_tokens(u);
                }
                vec![self.chunk(json!({"role": "assistant", "content": ""}), None)]
            }
            "content_block_start" => {
                let block = v.get("content_block").cloned().unwrap_or(Value::Null);
                if block.get("type").and_then(Value::as_str) != Some("tool_use") {
                    return Ok(Vec::new());
                }
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                let tool = self.tool_index.len();
                self.tool_index.push((index, tool));
                vec![self.chunk(
                    json!({"tool_calls": [{"index": tool, "id": block.get("id"), "type": "function",
                        "function": {"name": block.get("name"), "arguments": ""}}]}),
                    None,
                )]
            }
            "content_block_delta" => {
                let d = v.get("delta").cloned().unwrap_or(Value::Null);
                match d.get("type").and_then(Value::as_str) {
                    Some("text_delta") => vec![self.chunk(json!({"content": d.get("text")}), None)],
                    Some("input_json_delta") => {
                        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                        let tool = self
                            .tool_index
                            .iter()
                            .find(|(b, _)| *b == index)
                            .map(|(_, t)| *t)
                            .unwrap_or(0);
                        vec![self.chunk(
                            json!({"tool_calls": [{"index": tool, "function": {"arguments": d.get("partial_json")}}]}),
                            None,
                        )]
                    }
                    _ => Vec::new(),
                }
            }
            "message_delta" => {
                if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
                    // The delta's counts are cumulative; one it leaves out (or gives as 0,
                    // for input) keeps what message_start said.
                    let o = output_tokens(u);
                    if o != Ok(None) {
                        self.output_tokens = o;
                    }
                    let i = input_tokens(u);
                    if !matches!(i, Ok(None) | Ok(Some(0))) {
                        self.input_tokens = i;
                    }
                }
                match v.at(&["delta", "stop_reason"]).and_then(Value::as_str) {
                    Some(stop) => {
                        let mut chunk = self.chunk(json!({}), Some(finish_reason(stop)));
                        if let (Some(s), StreamEvent::Chunk(c)) = (
                            matched_stop(stop, v.at(&["delta", "stop_sequence"])),
                            &mut chunk,
                        ) {
                            c.value_mut()["choices"][0]["stop_reason"] = s;
                        }
                        vec![chunk]
                    }
                    None => Vec::new(),
                }
            }
            "message_stop" => {
                // No usage chunk when Anthropic reported none: zeros would pass for counts.
                let usage = openai_usage(&self.input_tokens, &self.output_tokens);
                let mut out = Vec::with_capacity(2);
                if let Some(usage) = usage {
                    out.push(StreamEvent::Chunk(Chunk::from_value(json!({
                        "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                        "model": self.model, "system_fingerprint": null, "choices": [],
                        "usage": usage,
                    }))));
                }
                out.push(StreamEvent::Done);
                out
            }
            "error" => {
                let msg = v
                    .at(&["error", "message"])
                    .and_then(Value::as_str)
                    .unwrap_or("error");
                let mut e = AttemptError::new(
                    ErrorClass::StreamCut,
                    format!("provider `{}` failed mid-stream: {msg}", self.provider),
                );
                e.body = Some(data.to_string());
                return Err(e);
            }
            _ => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(events: Vec<StreamEvent>) -> Vec<Value> {
        events
            .into_iter()
            .map(|e| match e {
                StreamEvent::Chunk(c) => c.into_value(),
                StreamEvent::Done => json!("DONE"),
            })
            .collect()
    }

    #[test]
    fn a_tool_call_stream_becomes_openai_chunks() {
        let mut t = ChunkTranslator::new("a".into());
        let mut out = Vec::new();
        for (ev, data) in [
            (
                "message_start",
                r#"{"type":"message_start","message":{"id":"msg_1","model":"claude-x","usage":{"input_tokens":12,"output_tokens":1}}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"tu_1","name":"lookup","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"id\":"}}"#,
            ),
            ("ping", r#"{"type":"ping"}"#),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ] {
            out.extend(values(t.translate(ev, data).unwrap()));
        }
        assert_eq!(out[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(out[1]["choices"][0]["delta"]["content"], "Hi");
        assert_eq!(out[2]["choices"][0]["delta"]["tool_calls"][0]["id"], "tu_1");
        assert_eq!(
            out[3]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
            "{\"id\":"
        );
        assert_eq!(out[4]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(out[5]["usage"]["prompt_tokens"], 12);
        assert_eq!(out[5]["usage"]["completion_tokens"], 9);
        assert_eq!(out[6], json!("DONE"));
    }

    #[test]
    fn a_stream_without_usage_ends_without_a_usage_chunk() {
        let mut t = ChunkTranslator::new("a".into());
        let mut out = Vec::new();
        for (ev, data) in [
            (
                "message_start",
                r#"{"type":"message_start","message":{"id":"m","model":"c"}}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ] {
            out.extend(values(t.translate(ev, data).unwrap()));
        }
        assert!(out.iter().all(|c| c.get("usage").is_none()), "{out:?}");
        assert_eq!(out.last(), Some(&json!("DONE")));
        let mut t = ChunkTranslator::new("a".into());
        t.translate(
            "message_start",
            r#"{"type":"message_start","message":{"usage":{"input_tokens":-4,"output_tokens":1}}}"#,
        )
        .unwrap();
        let out = values(
            t.translate("message_stop", "{\"type\":\"message_stop\"}")
                .unwrap(),
        );
        assert_eq!(out[0]["usage"]["prompt_tokens"], -4, "carried as it came");
    }

    #[test]
    fn a_stop_sequence_is_kept_in_the_finishing_chunk() {
        let mut t = ChunkTranslator::new("a".into());
        let out = values(
            t.translate(
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"END"}}"#,
            )
            .unwrap(),
        );
        assert_eq!(out[0]["choices"][0]["finish_reason"], "stop");
        assert_eq!(out[0]["choices"][0]["stop_reason"], "END");
    }

    #[test]
    fn an_error_event_fails_the_stream() {
        let mut t = ChunkTranslator::new("a".into());
        let e = t
            .translate(
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            )
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::StreamCut);
        assert!(e.message.contains("Overloaded"));
    }
}
