//! Responses API streams at the edge.
//!
//! From a target that speaks the Responses API the events pass through as they came (framed
//! `event: TYPE`, `data: ...`; the route's model written into the Response they carry when
//! the route says so), and [`watch`] reads what Seam needs of them. From a chat target,
//! [`Events`] makes the events out of chat chunks: `response.created` and
//! `response.in_progress` with the first chunk; text as a `message` item
//! (`response.output_item.added`, `response.content_part.added`, `response.output_text.delta`
//! ...), each tool call as a `function_call` item (`response.function_call_arguments.delta`
//! ...); an item is done when the next begins; and when the upstream is done,
//! `response.completed` (or `response.incomplete`) with the whole Response and the usage Seam
//! billed. Every event carries its `sequence_number`.

use super::response::{Echo, function_call_item, message_item, now, response_id, status};
use crate::edge::anthropic::stream::frame;
use bytes::Bytes;
use seam_wire::At;
use seam_wire::{Usage, UsageReport};
use serde_json::{Value, json};

/// What Seam reads of one event from a target that speaks the Responses API.
#[derive(Debug, Default, PartialEq)]
pub struct Watched<'a> {
    pub usage: UsageReport,
    pub model: Option<&'a str>,
    /// Text or function-call arguments the event adds.
    pub content: Option<&'a str>,
    /// `response.failed`'s error message.
    pub failed: Option<String>,
}

pub fn watch(event: &Value) -> Watched<'_> {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    let response = event.get("response");
    let mut w = Watched {
        model: response
            .and_then(|r| r.get("model"))
            .and_then(Value::as_str),
        ..Watched::default()
    };
    match kind {
        "response.output_text.delta"
        | "response.function_call_arguments.delta"
        | "response.refusal.delta" => {
            w.content = event.get("delta").and_then(Value::as_str);
        }
        "response.completed" | "response.incomplete" | "response.failed" => {
            w.usage = UsageReport::from_responses(response.and_then(|r| r.get("usage")));
            if kind == "response.failed" {
                let message = response
                    .and_then(|r| r.at(&["error", "message"]))
                    .and_then(Value::as_str)
                    .unwrap_or("no message");
                w.failed = Some(message.to_string());
            }
        }
        _ => {}
    }
    w
}

/// Whether an event gives the client something of the answer (dispatch holds a stream
/// until one does, so that a failure before it can still be retried).
pub fn carries_content(event: &Value) -> bool {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    kind.ends_with(".delta")
        || kind.ends_with(".done")
        || seam_providers::responses::is_terminal(kind)
}

/// A passed-through event as the client gets it; with `rewrite`, the model of the Response
/// it carries is the route's.
pub fn pass_through(raw: Option<Bytes>, mut event: Value, rewrite: Option<&str>) -> Bytes {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
        .to_string();
    let carries_model = event.at(&["response", "model"]).is_some();
    match (raw, rewrite) {
        (Some(raw), None) => frame(&kind, &raw),
        (Some(raw), Some(_)) if !carries_model => frame(&kind, &raw),
        (_, rewrite) => {
            if let (Some(name), Some(m)) = (rewrite, event.pointer_mut("/response/model")) {
                *m = Value::String(name.to_string());
            }
            frame(&kind, &serde_json::to_vec(&event).unwrap_or_default())
        }
    }
}

/// The `error` event that ends a failing stream: `{"type": "error", "code", "message",
/// "param", "sequence_number"}`.
pub fn error_event(api: &seam_wire::ApiError, sequence_number: u64) -> Bytes {
    let v = json!({
        "type": "error",
        "code": api.code.as_deref().unwrap_or(&api.kind),
        "message": api.message,
        "param": api.param,
        "sequence_number": sequence_number,
    });
    frame("error", &serde_json::to_vec(&v).unwrap_or_default())
}

enum Open {
    Text { index: usize, text: String },
    Tool { index: usize, tool: usize },
}

struct ToolCall {
    chat_index: u64,
    call_id: String,
    name: String,
    arguments: String,
    output_index: usize,
}

/// One chat stream's translation state.
pub struct Events {
    id: String,
    created_at: u64,
    /// The route's model when the route rewrites it, else the upstream's.
    model: Option<String>,
    rewrite: bool,
    echo: Echo,
    seq: u64,
    started: bool,
    open: Option<Open>,
    /// Finished output items, in order.
    output: Vec<Value>,
    tools: Vec<ToolCall>,
    finish: Option<String>,
    refusal: String,
}

impl Events {
    pub fn new(call_id: &str, rewrite: Option<String>, echo: Echo) -> Events {
        Events {
            id: response_id(call_id),
            created_at: now(),
            rewrite: rewrite.is_some(),
            model: rewrite,
            echo,
            seq: 0,
            started: false,
            open: None,
            output: Vec::new(),
            tools: Vec::new(),
            finish: None,
            refusal: String::new(),
        }
    }

    /// The sequence number the next event gets (an error event ends the stream with it).
    pub fn next_sequence(&self) -> u64 {
        self.seq
    }

    fn push(&mut self, out: &mut Vec<Bytes>, kind: &str, mut v: Value) {
        v["type"] = json!(kind);
        v["sequence_number"] = json!(self.seq);
        self.seq += 1;
        out.push(frame(kind, &serde_json::to_vec(&v).unwrap_or_default()));
    }

    fn response(&self, status: &str, output: Vec<Value>, usage: Option<Usage>) -> Value {
        let incomplete = super::response::status(self.finish.as_deref()).1;
        self.echo.response(
            &self.id,
            self.created_at,
            self.model.as_deref().unwrap_or_default(),
            (status, incomplete.filter(|_| status == "incomplete")),
            output,
            usage,
        )
    }

    fn item_id(&self, prefix: &str, index: usize) -> String {
        format!("{prefix}_{}_{index}", &self.id[5..])
    }

    /// The client's bytes for one chat chunk (none for a chunk that only reports usage).
    pub fn chunk(&mut self, chunk: &Value) -> Vec<Bytes> {
        let mut out = Vec::new();
        if !self.rewrite
            && let Some(m) = chunk.get("model").and_then(Value::as_str)
        {
            self.model = Some(m.to_string());
        }
        let Some(choice) = chunk.at(&["choices", "0"]) else {
            return out;
        };
        if !self.started {
            self.started = true;
            let r = self.response("in_progress", Vec::new(), None);
            self.push(&mut out, "response.created", json!({"response": r}));
            self.push(&mut out, "response.in_progress", json!({"response": r}));
        }
        if let Some(r) = choice.at(&["delta", "refusal"]).and_then(Value::as_str) {
            self.refusal.push_str(r);
        }
        if let Some(text) = choice
            .at(&["delta", "content"])
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            self.text(&mut out, text);
        }
        for call in choice
            .at(&["delta", "tool_calls"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.tool_call(&mut out, call);
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(f.to_string());
        }
        out
    }

    fn text(&mut self, out: &mut Vec<Bytes>, text: &str) {
        let index = match &self.open {
            Some(Open::Text { index, .. }) => *index,
            _ => {
                self.close(out);
                let index = self.output.len();
                let id = self.item_id("msg", index);
                let item = json!({"type": "message", "id": id, "status": "in_progress", "role": "assistant", "content": []});
                self.push(
                    out,
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                );
                self.push(
                    out,
                    "response.content_part.added",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
                );
                self.open = Some(Open::Text {
                    index,
                    text: String::new(),
                });
                index
            }
        };
        if let Some(Open::Text { text: t, .. }) = &mut self.open {
            t.push_str(text);
        }
        let id = self.item_id("msg", index);
        self.push(
            out,
            "response.output_text.delta",
            json!({"item_id": id, "output_index": index, "content_index": 0, "delta": text, "logprobs": []}),
        );
    }

    fn tool_call(&mut self, out: &mut Vec<Bytes>, call: &Value) {
        let chat_index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let known = self.tools.iter().position(|t| t.chat_index == chat_index);
        let tool = match known {
            Some(t) => t,
            None => {
                self.close(out);
                let output_index = self.output.len();
                let id = self.item_id("fc", output_index);
                let call_id = call.get("id").and_then(Value::as_str).unwrap_or_default();
                let name = call
                    .at(&["function", "name"])
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let mut item = function_call_item(&id, call_id, name, "");
                item["status"] = json!("in_progress");
                self.push(
                    out,
                    "response.output_item.added",
                    json!({"output_index": output_index, "item": item}),
                );
                self.tools.push(ToolCall {
                    chat_index,
                    call_id: call_id.to_string(),
                    name: name.to_string(),
                    arguments: String::new(),
                    output_index,
                });
                // Its place in the output, kept until it is done.
                self.output.push(Value::Null);
                let tool = self.tools.len() - 1;
                self.open = Some(Open::Tool {
                    index: output_index,
                    tool,
                });
                tool
            }
        };
        if let Some(a) = call
            .at(&["function", "arguments"])
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        {
            self.tools[tool].arguments.push_str(a);
            let index = self.tools[tool].output_index;
            let id = self.item_id("fc", index);
            self.push(
                out,
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": index, "delta": a}),
            );
        }
    }

    /// Ends the open item, if any.
    fn close(&mut self, out: &mut Vec<Bytes>) {
        match self.open.take() {
            None => {}
            Some(Open::Text { index, text }) => {
                let id = self.item_id("msg", index);
                self.push(
                    out,
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}),
                );
                self.push(
                    out,
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": {"type": "output_text", "text": text, "annotations": []}}),
                );
                let item = message_item(&id, &text, None);
                self.push(
                    out,
                    "response.output_item.done",
                    json!({"output_index": index, "item": item}),
                );
                self.output.push(item);
            }
            Some(Open::Tool { index, tool }) => {
                let id = self.item_id("fc", index);
                let t = &self.tools[tool];
                let item = function_call_item(&id, &t.call_id, &t.name, &t.arguments);
                let (name, arguments) = (t.name.clone(), t.arguments.clone());
                self.push(
                    out,
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": index, "name": name, "arguments": arguments}),
                );
                self.push(
                    out,
                    "response.output_item.done",
                    json!({"output_index": index, "item": item}),
                );
                if let Some(slot) = self.output.get_mut(index) {
                    *slot = item;
                }
            }
        }
    }

    /// The bytes that end a stream that ran to its end, with the usage Seam billed.
    pub fn finish(&mut self, usage: Usage) -> Vec<Bytes> {
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            let r = self.response("in_progress", Vec::new(), None);
            self.push(&mut out, "response.created", json!({"response": r}));
            self.push(&mut out, "response.in_progress", json!({"response": r}));
        }
        self.close(&mut out);
        if !self.refusal.is_empty() {
            let index = self.output.len();
            let item = message_item(&self.item_id("msg", index), "", Some(&self.refusal));
            self.push(
                &mut out,
                "response.output_item.added",
                json!({"output_index": index, "item": item}),
            );
            self.push(
                &mut out,
                "response.output_item.done",
                json!({"output_index": index, "item": item}),
            );
            self.output.push(item);
        }
        let (status, _) = status(self.finish.as_deref());
        let r = self.response(status, self.output.clone(), Some(usage));
        let kind = if status == "incomplete" {
            "response.incomplete"
        } else {
            "response.completed"
        };
        self.push(&mut out, kind, json!({"response": r}));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_wire::RequestBody;

    fn parse(bytes: &[Bytes]) -> Vec<Value> {
        bytes
            .iter()
            .map(|b| {
                let text = std::str::from_utf8(b).unwrap();
                let (head, data) = text.split_once("\ndata: ").unwrap();
                let v: Value = serde_json::from_str(data.trim_end()).unwrap();
                assert_eq!(head.strip_prefix("event: "), v["type"].as_str(), "{text}");
                v
            })
            .collect()
    }

    fn events() -> Events {
        let req =
            RequestBody::parse(json!({"model": "chat", "input": "x"}).to_string().into()).unwrap();
        Events::new("call_1", None, Echo::new(&req))
    }

    #[test]
    fn text_then_a_tool_call_become_two_items() {
        let mut e = events();
        let mut out = Vec::new();
        for chunk in [
            json!({"model": "up-1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
            json!({"model": "up-1", "choices": [{"index": 0, "delta": {"content": "Let me "}}]}),
            json!({"model": "up-1", "choices": [{"index": 0, "delta": {"content": "look."}}]}),
            json!({"model": "up-1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "t1", "type": "function", "function": {"name": "lookup", "arguments": ""}}]}}]}),
            json!({"model": "up-1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"id\":"}}]}}]}),
            json!({"model": "up-1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "7}"}}]}}]}),
            json!({"model": "up-1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
            json!({"model": "up-1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}),
        ] {
            out.extend(e.chunk(&chunk));
        }
        out.extend(e.finish(Usage {
            input_tokens: 3,
            output_tokens: 4,
        }));
        let evs = parse(&out);
        let kinds: Vec<&str> = evs.iter().map(|v| v["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (i, v) in evs.iter().enumerate() {
            assert_eq!(v["sequence_number"], i);
        }
        let done = &evs.last().unwrap()["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(done["model"], "up-1");
        assert_eq!(done["output"][0]["content"][0]["text"], "Let me look.");
        assert_eq!(done["output"][1]["arguments"], "{\"id\":7}");
        assert_eq!(done["output"][1]["call_id"], "t1");
        assert_eq!(done["usage"]["output_tokens"], 4);
    }

    #[test]
    fn native_events_are_watched_and_framed() {
        let done = json!({"type": "response.completed", "sequence_number": 9, "response": {"model": "gpt-x", "usage": {"input_tokens": 2, "output_tokens": 5}}});
        let w = watch(&done);
        assert_eq!(w.model, Some("gpt-x"));
        assert_eq!(w.usage.usage().map(|u| u.total()), Some(7));
        let failed = json!({"type": "response.failed", "response": {"model": "gpt-x",
            "error": {"code": "server_error", "message": "it broke"}, "usage": null}});
        assert_eq!(watch(&failed).failed.as_deref(), Some("it broke"));
        assert!(carries_content(&failed));
        let delta = json!({"type": "response.output_text.delta", "delta": "hi"});
        assert_eq!(watch(&delta).content, Some("hi"));
        assert!(carries_content(&delta) && !carries_content(&json!({"type": "response.created"})));
        let raw = Bytes::from(done.to_string());
        let framed = pass_through(Some(raw.clone()), done.clone(), None);
        assert_eq!(
            framed,
            Bytes::from(format!("event: response.completed\ndata: {done}\n\n"))
        );
        let renamed = parse(&[pass_through(Some(raw), done, Some("route"))]);
        assert_eq!(renamed[0]["response"]["model"], "route");
    }
}
