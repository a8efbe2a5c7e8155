use super::*;
use proptest::prelude::*;

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "sim-large",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn usage(i: u64, o: u64) -> Usage {
    Usage {
        input_tokens: i,
        output_tokens: o,
    }
}

#[test]
fn text_then_a_tool_call_makes_two_blocks() {
    let mut t = Events::new("call_1", None);
    let mut ev = Vec::new();
    for c in [
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Let me look."}), None),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": ""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"id\":"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"7\"}"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
        json!({"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}),
    ] {
        ev.extend(t.events(&c));
    }
    ev.extend(t.end(usage(9, 4)));
    let names: Vec<&str> = ev.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(ev[0].1["message"]["id"], "chatcmpl-1");
    assert_eq!(ev[0].1["message"]["model"], "sim-large");
    assert_eq!(
        ev[4].1["content_block"],
        json!({"type": "tool_use", "id": "call_a", "name": "lookup", "input": {}})
    );
    assert_eq!(ev[4].1["index"], 1);
    assert_eq!(
        ev[8].1,
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"input_tokens": 9, "output_tokens": 4}})
    );
}

#[test]
fn a_rewritten_model_a_stop_sequence_and_framing() {
    let mut t = Events::new("call_1", Some("chat".into()));
    let mut bytes = t.chunk(&json!({"model": "upstream-x", "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop", "stop_reason": "END"}]}));
    bytes.extend(t.finish(usage(1, 1)));
    let text: String = bytes
        .iter()
        .map(|b| std::str::from_utf8(b).unwrap())
        .collect();
    assert!(text.starts_with("event: message_start\ndata: {"), "{text}");
    let events: Vec<(String, Value)> = text
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (name, data) = e.split_once('\n').unwrap();
            (
                name.strip_prefix("event: ").unwrap().to_string(),
                serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(events[0].1["message"]["model"], "chat");
    assert_eq!(events[0].1["message"]["id"], "call_1", "no upstream id");
    let delta = &events[events.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "stop_sequence");
    assert_eq!(delta["delta"]["stop_sequence"], "END");
    for (name, data) in &events {
        assert_eq!(data["type"], name.as_str());
    }
}

#[test]
fn arguments_that_come_back_to_an_earlier_call_go_to_its_block() {
    let mut t = Events::new("call_1", None);
    let call = |i: u64, name: Option<&str>, args: &str| {
        let mut f = json!({"arguments": args});
        if let Some(n) = name {
            f["name"] = json!(n);
        }
        chunk(json!({"tool_calls": [{"index": i, "function": f}]}), None)
    };
    let mut ev = t.events(&call(0, Some("a"), "{\"x\":"));
    ev.extend(t.events(&call(1, Some("b"), "{}")));
    ev.extend(t.events(&call(0, None, "1}")));
    let last = ev.last().unwrap();
    assert_eq!(last.1["index"], 0);
    assert_eq!(last.1["delta"]["partial_json"], "1}");
}

#[test]
fn an_empty_stream_is_still_a_message() {
    let mut t = Events::new("call_1", None);
    let ev = t.end(usage(3, 0));
    let names: Vec<&str> = ev.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["message_start", "message_delta", "message_stop"]);
    assert_eq!(ev[1].1["delta"]["stop_reason"], "end_turn");
}

/// What an OpenAI stream carries, piece by piece.
#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    /// A new tool call, with its name.
    Call(String),
    /// More arguments of the latest call.
    Args(String),
    /// A chunk with nothing the client sees (the role chunk, an empty delta).
    Nothing,
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        4 => "\\PC{0,12}".prop_map(Piece::Text),
        1 => "[a-z_]{1,8}".prop_map(Piece::Call),
        3 => "\\PC{0,10}".prop_map(Piece::Args),
        1 => Just(Piece::Nothing),
    ]
}

/// Checks an event sequence is one well-formed Anthropic message and returns its text and
/// each tool_use block's (name, concatenated input JSON).
fn well_formed(ev: &[Event]) -> (String, Vec<(String, String)>) {
    assert_eq!(ev.first().map(|e| e.0), Some("message_start"));
    assert_eq!(ev.last().map(|e| e.0), Some("message_stop"));
    assert_eq!(ev[ev.len() - 2].0, "message_delta");
    let mut kinds: Vec<&str> = Vec::new();
    let mut stopped: Vec<bool> = Vec::new();
    let mut open: Option<usize> = None;
    let mut text = String::new();
    let mut tools: Vec<(String, String)> = Vec::new();
    for (name, data) in &ev[1..ev.len() - 2] {
        assert_eq!(data["type"], *name);
        match *name {
            "content_block_start" => {
                assert_eq!(open, None, "a block starts while another is open");
                let i = data["index"].as_u64().unwrap() as usize;
                assert_eq!(i, kinds.len(), "blocks are numbered in order");
                let kind = data["content_block"]["type"].as_str().unwrap();
                kinds.push(if kind == "text" { "text" } else { "tool_use" });
                stopped.push(false);
                if kind == "tool_use" {
                    tools.push((
                        data["content_block"]["name"].as_str().unwrap().to_string(),
                        String::new(),
                    ));
                }
                open = Some(i);
            }
            "content_block_delta" => {
                let i = data["index"].as_u64().unwrap() as usize;
                assert_eq!(open, Some(i), "a delta goes to the open block");
                match kinds[i] {
                    "text" => {
                        assert_eq!(data["delta"]["type"], "text_delta");
                        text.push_str(data["delta"]["text"].as_str().unwrap());
                    }
                    _ => {
                        assert_eq!(data["delta"]["type"], "input_json_delta");
                        let t = kinds[..=i].iter().filter(|k| **k == "tool_use").count() - 1;
                        tools[t]
                            .1
                            .push_str(data["delta"]["partial_json"].as_str().unwrap());
                    }
                }
            }
            "content_block_stop" => {
                let i = data["index"].as_u64().unwrap() as usize;
                assert_eq!(open, Some(i));
                stopped[i] = true;
                open = None;
            }
            other => panic!("unexpected event {other} inside the message"),
        }
    }
    assert_eq!(open, None, "every block is stopped before message_delta");
    assert!(stopped.iter().all(|s| *s));
    (text, tools)
}

proptest! {
    #[test]
    fn any_text_and_tool_call_stream_is_one_well_formed_message(
        pieces in proptest::collection::vec(piece(), 0..40),
        finish in prop_oneof![Just("stop"), Just("length"), Just("tool_calls")],
    ) {
        let mut t = Events::new("call_1", None);
        let mut ev = t.events(&chunk(json!({"role": "assistant", "content": ""}), None));
        let mut want_text = String::new();
        let mut want_tools: Vec<(String, String)> = Vec::new();
        // Whether the latest piece with content was a tool call's: as OpenAI streams them, a
        // call's arguments come before anything else.
        let mut in_call = false;
        for p in &pieces {
            let delta = match p {
                Piece::Text(s) => {
                    want_text.push_str(s);
                    in_call &= s.is_empty();
                    json!({"content": s})
                }
                Piece::Call(name) => {
                    want_tools.push((name.clone(), String::new()));
                    in_call = true;
                    json!({"tool_calls": [{"index": want_tools.len() - 1, "id": format!("call_{}", want_tools.len()), "type": "function", "function": {"name": name, "arguments": ""}}]})
                }
                Piece::Args(a) => match want_tools.last_mut() {
                    Some(last) if in_call => {
                        last.1.push_str(a);
                        json!({"tool_calls": [{"index": want_tools.len() - 1, "function": {"arguments": a}}]})
                    }
                    _ => json!({}),
                },
                Piece::Nothing => json!({}),
            };
            ev.extend(t.events(&chunk(delta, None)));
        }
        ev.extend(t.events(&chunk(json!({}), Some(finish))));
        ev.extend(t.events(&json!({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}})));
        ev.extend(t.end(usage(1, 2)));
        let (text, tools) = well_formed(&ev);
        prop_assert_eq!(text, want_text);
        prop_assert_eq!(tools, want_tools);
        let stop = &ev[ev.len() - 2].1["delta"]["stop_reason"];
        let want = match finish { "stop" => "end_turn", "length" => "max_tokens", _ => "tool_use" };
        prop_assert_eq!(stop, want);
    }
}
