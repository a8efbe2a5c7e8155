//! OpenAI chat completion chunks -> Anthropic stream events.
//!
//! `message_start` goes out with the first chunk; text opens a `text` block and each tool
//! call a `tool_use` block (a block is stopped when the next one starts), their pieces
//! arriving as `text_delta` and `input_json_delta`; when the upstream stream is done,
//! `message_delta` carries the stop reason and the usage Seam billed, then `message_stop`.
//! `message_start` reports 0 tokens: an OpenAI-shaped stream tells its usage only at its end,
//! and `message_delta`'s counts are cumulative (Anthropic's SDKs take its `input_tokens` too).

use super::response::{matched_stop, stop_reason, usage_json};
use bytes::Bytes;
use seam_wire::Usage;
use serde_json::{Value, json};

/// One event: its name (the `event:` line) and its data.
pub type Event = (&'static str, Value);

/// Frames one event as Anthropic sends it: an `event:` line, then a `data:` line.
pub fn frame(name: &str, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(name.len() + data.len() + 16);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

fn framed(events: Vec<Event>) -> Vec<Bytes> {
    events
        .into_iter()
        .map(|(name, v)| frame(name, &serde_json::to_vec(&v).unwrap_or_default()))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Block {
    Text(u64),
    Tool(u64),
}

/// One stream's translation state.
pub struct Events {
    id: String,
    /// The model to name: the route's, when the route rewrites it, else the upstream's.
    model: Option<String>,
    started: bool,
    open: Option<Block>,
    /// Blocks started so far: the next block's index.
    blocks: u64,
    /// OpenAI tool call index -> its block's index.
    tools: Vec<(u64, u64)>,
    finish: Option<String>,
    matched: Option<String>,
}

impl Events {
    /// `id` stands in for a message id when the upstream's chunks carry none.
    pub fn new(id: &str, model: Option<String>) -> Events {
        Events {
            id: id.to_string(),
            model,
            started: false,
            open: None,
            blocks: 0,
            tools: Vec::new(),
            finish: None,
            matched: None,
        }
    }

    /// The client's bytes for one upstream chunk (none for a chunk that only reports usage).
    pub fn chunk(&mut self, chunk: &Value) -> Vec<Bytes> {
        framed(self.events(chunk))
    }

    /// The bytes that end a stream that ran to its end, with the usage Seam billed.
    pub fn finish(&mut self, usage: Usage) -> Vec<Bytes> {
        framed(self.end(usage))
    }

    pub fn events(&mut self, chunk: &Value) -> Vec<Event> {
        let mut out = Vec::new();
        // Anthropic has no `n`: the first choice is the answer.
        let choice = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| {
                c.iter()
                    .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
            });
        let usage_only = choice.is_none();
        if !self.started && !usage_only {
            self.start(Some(chunk), &mut out);
        }
        let Some(choice) = choice else {
            return out;
        };
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        if let Some(text) = delta
            .get("content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            self.text(text, &mut out);
        }
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.tool_call(call, &mut out);
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(f.to_string());
            self.matched = matched_stop(choice).map(str::to_string);
        }
        out
    }

    pub fn end(&mut self, usage: Usage) -> Vec<Event> {
        let mut out = Vec::new();
        if !self.started {
            self.start(None, &mut out);
        }
        self.close(&mut out);
        let (stop, sequence) = stop_reason(self.finish.as_deref(), self.matched.as_deref());
        out.push((
            "message_delta",
            json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": sequence},
                "usage": usage_json(usage),
            }),
        ));
        out.push(("message_stop", json!({"type": "message_stop"})));
        out
    }

    fn start(&mut self, chunk: Option<&Value>, out: &mut Vec<Event>) {
        self.started = true;
        let id = chunk
            .and_then(|c| c.get("id"))
            .and_then(Value::as_str)
            .unwrap_or(&self.id);
        let model = match &self.model {
            Some(m) => Value::String(m.clone()),
            None => chunk
                .and_then(|c| c.get("model"))
                .cloned()
                .unwrap_or(Value::Null),
        };
        out.push((
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }}),
        ));
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        if let Some(Block::Text(i) | Block::Tool(i)) = self.open.take() {
            out.push((
                "content_block_stop",
                json!({"type": "content_block_stop", "index": i}),
            ));
        }
    }

    fn open(&mut self, block: Value, out: &mut Vec<Event>) -> u64 {
        self.close(out);
        let index = self.blocks;
        self.blocks += 1;
        out.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
        index
    }

    fn text(&mut self, text: &str, out: &mut Vec<Event>) {
        let index = match self.open {
            Some(Block::Text(i)) => i,
            _ => {
                let i = self.open(json!({"type": "text", "text": ""}), out);
                self.open = Some(Block::Text(i));
                i
            }
        };
        out.push((
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}),
        ));
    }

    /// A tool call's first piece opens its block; its arguments go to that block. (OpenAI
    /// sends one call's pieces before the next call's; a piece that comes back to an earlier
    /// call still goes to that call's block, by its index.)
    fn tool_call(&mut self, call: &Value, out: &mut Vec<Event>) {
        let n = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let f = call.get("function").unwrap_or(&Value::Null);
        let index = match self.tools.iter().find(|(t, _)| *t == n) {
            Some((_, b)) => *b,
            None => {
                let block = json!({
                    "type": "tool_use",
                    "id": call.get("id").and_then(Value::as_str).unwrap_or_default(),
                    "name": f.get("name").and_then(Value::as_str).unwrap_or_default(),
                    "input": {},
                });
                let i = self.open(block, out);
                self.open = Some(Block::Tool(i));
                self.tools.push((n, i));
                i
            }
        };
        if let Some(args) = f
            .get("arguments")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        {
            out.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": args}}),
            ));
        }
    }
}

#[cfg(test)]
mod tests;
