//! One dataset case from one captured call (docs/datasets.md): the input in OpenAI's chat
//! format, the recorded answer as `expected` (pending review), where it came from.

use seam_capture::{Answer, Blob, Message, Part, Tool, ToolCall};
use seam_store::CallRecord;
use serde_json::{Map, Value, json};

/// A case's id: stable, so that adding the same call twice is noticed.
pub fn case_id(call_id: &str) -> String {
    format!("call:{call_id}")
}

/// The case of `call`, whose content is `c` (captured at `captured_ms`). `tags` are the
/// user's; the marks of what the case lacks are added after them.
pub fn build(
    call: &CallRecord,
    c: &seam_capture::Content,
    captured_ms: i64,
    truncated: bool,
    tags: &[String],
) -> Value {
    let mut input = Map::new();
    input.insert(
        "messages".into(),
        c.messages.iter().map(message).collect::<Vec<_>>().into(),
    );
    input.insert(
        "tools".into(),
        c.tools.iter().map(tool).collect::<Vec<_>>().into(),
    );
    let release = c.release.clone().or_else(|| call.release_id.clone());
    if let Some(v) = &c.variables {
        input.insert("variables".into(), json_or_text(v));
    }
    if let Some(r) = &release {
        input.insert("release".into(), r.clone().into());
    }

    let mut tags: Vec<String> = tags.to_vec();
    let mut mark = |t: &str| {
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    };
    if truncated {
        mark("truncated");
    }
    if c.messages
        .iter()
        .any(|m| m.parts.iter().any(|p| matches!(p, Part::Blob(_))))
    {
        mark("omitted-parts");
    }
    match &c.answer {
        None => mark("no-answer"),
        Some(a) if a.client_closed => mark("client-closed"),
        Some(_) => {}
    }

    json!({
        "id": case_id(&call.id),
        "input": input,
        "expected": expected(c.answer.as_ref()),
        "tags": tags,
        "source": {
            "call_id": call.id,
            "trace_id": call.trace_id,
            "route": call.route,
            "release_id": release,
            "captured_ms": captured_ms,
        },
    })
}

/// A message as a client sends it: `content` a string when it is one text, an array of parts
/// otherwise, null when there is none (an assistant turn of tool calls only).
fn message(m: &Message) -> Value {
    let mut o = Map::new();
    o.insert("role".into(), m.role.clone().into());
    let content = match m.parts.as_slice() {
        [] => Value::Null,
        [Part::Text { text }] => text.clone().into(),
        parts => parts.iter().map(part).collect::<Vec<_>>().into(),
    };
    o.insert("content".into(), content);
    if let Some(n) = &m.name {
        o.insert("name".into(), n.clone().into());
    }
    if !m.tool_calls.is_empty() {
        o.insert(
            "tool_calls".into(),
            m.tool_calls
                .iter()
                .map(tool_call)
                .collect::<Vec<_>>()
                .into(),
        );
    }
    if let Some(id) = &m.tool_call_id {
        o.insert("tool_call_id".into(), id.clone().into());
    }
    o.into()
}

/// A text part, or a part capture did not keep, said as such: its type, size and hash,
/// never bytes made up to stand in for it.
fn part(p: &Part) -> Value {
    match p {
        Part::Text { text } => json!({"type": "text", "text": text}),
        Part::Blob(Blob {
            kind,
            media,
            bytes,
            sha256,
        }) => json!({
            "type": "omitted",
            "part": kind,
            "media": media,
            "bytes": bytes,
            "sha256": sha256,
        }),
    }
}

fn tool(t: &Tool) -> Value {
    let mut f = Map::new();
    f.insert("name".into(), t.name.clone().into());
    if let Some(d) = &t.description {
        f.insert("description".into(), d.clone().into());
    }
    if let Some(p) = &t.parameters {
        f.insert("parameters".into(), json_or_text(p));
    }
    json!({"type": "function", "function": f})
}

fn tool_call(c: &ToolCall) -> Value {
    let mut o = Map::new();
    if let Some(id) = &c.id {
        o.insert("id".into(), id.clone().into());
    }
    o.insert("type".into(), "function".into());
    o.insert(
        "function".into(),
        json!({"name": c.name, "arguments": c.arguments}),
    );
    o.into()
}

/// The answer as recorded, marked for review: a model's answer is not yet a right one.
fn expected(a: Option<&Answer>) -> Value {
    let mut o = Map::new();
    if let Some(a) = a {
        if let Some(t) = &a.text {
            o.insert("text".into(), t.clone().into());
        }
        if let Some(r) = &a.refusal {
            o.insert("refusal".into(), r.clone().into());
        }
        if !a.tool_calls.is_empty() {
            o.insert(
                "tool_calls".into(),
                a.tool_calls
                    .iter()
                    .map(tool_call)
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        if let Some(f) = &a.finish_reason {
            o.insert("finish_reason".into(), f.clone().into());
        }
    }
    o.insert("review".into(), "pending".into());
    o.into()
}

/// JSON text kept by capture (variables, a tool's parameters) as the JSON it was; as text
/// when it no longer parses (cut by truncation).
fn json_or_text(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| s.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_and_its_answer_become_a_case_in_chat_format() {
        let request = json!({
            "model": "prompt:support@production",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "t1", "type": "function", "function": {"name": "look", "arguments": "{}"}},
                ]},
                {"role": "tool", "tool_call_id": "t1", "content": "a cat"},
            ],
            "tools": [{"type": "function", "function": {
                "name": "look", "parameters": {"type": "object"}}}],
            "seam_variables": {"customer": "Ann"},
        });
        let mut c = seam_capture::Content::from_request(&request);
        c.release = Some("rel_1".into());
        c.answer = Some(Answer::from_response(&json!({"choices": [{
            "message": {"role": "assistant", "content": "A cat."},
            "finish_reason": "stop"}]})));
        let mut call = seam_store::conformance::sample_call("call_1", 5, "acme");
        call.trace_id = Some("tr_1".into());
        let case = build(&call, &c, 5, false, &["smoke".into()]);
        assert_eq!(case["id"], "call:call_1");
        let messages = &case["input"]["messages"];
        assert_eq!(
            messages[0]["content"][0],
            json!({"type": "text", "text": "what is this?"})
        );
        let image = &messages[0]["content"][1];
        assert_eq!(image["type"], "omitted");
        assert_eq!(image["part"], "image_url");
        assert_eq!(image["media"], "image/png");
        assert_eq!(image["bytes"], "data:image/png;base64,AAAA".len());
        assert_eq!(image["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(messages[1]["content"], Value::Null);
        assert_eq!(messages[1]["tool_calls"][0]["function"]["name"], "look");
        assert_eq!(
            messages[2],
            json!({"role": "tool", "content": "a cat", "tool_call_id": "t1"})
        );
        assert_eq!(
            case["input"]["tools"][0]["function"]["parameters"],
            json!({"type": "object"})
        );
        assert_eq!(case["input"]["variables"], json!({"customer": "Ann"}));
        assert_eq!(case["input"]["release"], "rel_1");
        assert_eq!(
            case["expected"],
            json!({"text": "A cat.", "finish_reason": "stop", "review": "pending"})
        );
        assert_eq!(case["tags"], json!(["smoke", "omitted-parts"]));
        assert_eq!(case["source"]["trace_id"], "tr_1");
        assert_eq!(case["source"]["release_id"], "rel_1");
    }
}
