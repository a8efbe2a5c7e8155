//! The targets' bodies. Each takes any bytes; it returns quietly on input its parser refuses
//! and asserts what Seam relies on for input it accepts. A panic is a finding.

use bytes::Bytes;
use seam_prompts::{Message, Prompt};
use seam_providers::StreamEvent;
use seam_providers::anthropic::{ChunkTranslator, to_chat_completion, to_messages_request};
use seam_wire::{BodyError, RequestBody};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The fuel the `render` and `prompt_file` targets give a render: a tenth of the default
/// `[prompts] render_fuel`, so that one input stays quick while loops and output still run
/// out of it.
pub const FUEL: u64 = 10_000;

/// `seam_wire::RequestBody`, the request-body field splitter: it must accept the JSON objects
/// and refuse what is not JSON, and each field's text must be the value a full parse of the
/// body gives. It skips values without building them, so it also takes the few bodies
/// [`known_gap`] describes, which a full parse (and so `to_map`) refuses.
pub fn request_body(data: &[u8]) {
    let whole = serde_json::from_slice::<Value>(data);
    let body = match RequestBody::parse(Bytes::copy_from_slice(data)) {
        Ok(body) => body,
        Err(BodyError::NotAnObject) => {
            assert!(
                !matches!(&whole, Ok(v) if v.is_object()),
                "an object refused as not an object"
            );
            return;
        }
        Err(BodyError::Malformed(_)) => {
            assert!(whole.is_err(), "refused as malformed, but it is JSON");
            return;
        }
    };
    let map = match whole {
        Ok(Value::Object(map)) => map,
        Ok(other) => panic!("accepted, but it is not an object: {other}"),
        Err(e) => {
            assert!(known_gap(&e), "accepted, but a full parse says: {e}");
            return;
        }
    };
    assert_eq!(
        body.to_map(),
        map,
        "to_map differs from a full parse of the body"
    );
    let keys: Vec<&str> = body.fields().map(|(k, _)| k).collect();
    let want: Vec<&str> = map.keys().map(String::as_str).collect();
    assert_eq!(keys, want, "the fields are not the body's keys, in order");
    for (key, text) in body.fields() {
        let v: Value = serde_json::from_str(text).unwrap_or_else(|e| {
            panic!("field `{key}` is not JSON on its own: {e}");
        });
        assert_eq!(map.get(key), Some(&v), "field `{key}`'s text");
        assert_eq!(body.raw_field(key), Some(text));
        assert_eq!(body.has(key), !v.is_null());
    }
    // What the gateway reads out of every body.
    let _ = body.get::<String>("model");
    let _ = body.get::<bool>("stream");
}

/// What serde_json takes when it skips a value (as the splitter does) but refuses when it
/// builds one: `\u` escapes of lone surrogates, numbers beyond f64's range, and nesting past
/// its recursion limit. `to_map` gives an empty map for such a body (see docs/testing.md,
/// "Known gaps").
pub fn known_gap(e: &serde_json::Error) -> bool {
    let m = e.to_string();
    [
        "surrogate",
        "hex escape",
        "unicode code point",
        "number out of range",
        "recursion limit",
    ]
    .iter()
    .any(|k| m.contains(k))
}

/// `anthropic::to_messages_request`: the first byte chooses `stream`, the rest is the client's
/// body. What it builds must be a Messages request Anthropic takes: turns alternating between
/// `user` and `assistant`, none empty, and a `max_tokens`.
pub fn anthropic_request(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let stream = flags & 1 == 1;
    let Ok(body) = RequestBody::parse(Bytes::copy_from_slice(rest)) else {
        return;
    };
    let Ok(req) = to_messages_request(&body.to_map(), "claude-fuzz", stream) else {
        return;
    };
    assert!(serde_json::to_vec(&req).is_ok());
    assert!(
        req["max_tokens"].is_u64(),
        "max_tokens: {}",
        req["max_tokens"]
    );
    assert_eq!(req.get("stream").is_some(), stream);
    let Some(messages) = req["messages"].as_array() else {
        panic!("messages is not an array")
    };
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or("");
        assert!(role == "user" || role == "assistant", "messages[{i}].role");
        assert!(
            m["content"].as_array().is_some_and(|c| !c.is_empty()),
            "messages[{i}] has no content blocks"
        );
    }
    for (i, w) in messages.windows(2).enumerate() {
        assert_ne!(
            w[0]["role"], w[1]["role"],
            "messages[{i}] and the next share a role"
        );
    }
}

/// `anthropic::to_chat_completion`: an Anthropic message becomes an OpenAI chat completion
/// that the gateway can read back.
pub fn anthropic_response(data: &[u8]) {
    let Ok(msg) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(c) = to_chat_completion(&msg) else {
        return;
    };
    assert_eq!(c["object"], "chat.completion");
    assert_eq!(c["choices"][0]["message"]["role"], "assistant");
    // Usage passes on as Anthropic gave it; none is never turned into zeros (issue 19).
    // (Usage that is there but malformed passes on too, for the gateway to bill by estimate.)
    if matches!(msg.get("usage"), None | Some(Value::Null)) {
        assert!(
            c.get("usage").is_none(),
            "a message without usage became a completion with some"
        );
    }
    // The fields the upstream chose (id, model) pass as they came, whatever their type.
    let bytes = serde_json::to_vec(&c).unwrap_or_default();
    // (Not compared with `c`: serde_json reads floats back to the nearest, not the same, f64.)
    assert!(serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| v.is_object()));
}

/// `anthropic::ChunkTranslator`: a stream of Anthropic events, one per block of the input
/// (blocks end at a blank line; a block's first line names the event, the rest is its data,
/// with or without SSE's `event:` and `data:` prefixes), becomes OpenAI chunks.
pub fn anthropic_stream(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut t = ChunkTranslator::new("fuzz".into());
    for block in text.split("\n\n") {
        let (event, data) = block.split_once('\n').unwrap_or(("", block));
        let event = event.strip_prefix("event:").unwrap_or(event).trim();
        let data = data.strip_prefix("data:").unwrap_or(data).trim_start();
        let Ok(events) = t.translate(event, data) else {
            // An error ends the stream.
            return;
        };
        for e in events {
            if let StreamEvent::Chunk(c) = e {
                let value = c.value();
                assert_eq!(value["object"], "chat.completion.chunk");
                assert!(value["choices"].is_array());
            }
        }
    }
}

/// A secret no input contains: errors must never show it.
const SECRET: &str = "fuzz-secret-\u{2603}-7f3a";

/// `seam_config::parse`: the config file, parsed and validated. A refusal names at least one
/// problem and never shows a secret.
pub fn config(data: &[u8]) {
    // The file is read as UTF-8 before it is parsed: nothing else reaches the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |_: &str| Some(SECRET.to_string());
    match seam_config::parse(text, Path::new("fuzz/seam.toml"), &env) {
        Ok(cfg) => {
            let _ = seam_config::redact_url(&cfg.store.url);
        }
        Err(e) => {
            assert!(!e.problems.is_empty(), "a refusal names no problem");
            assert!(!e.to_string().contains(SECRET), "an error shows a secret");
        }
    }
}

/// `seam_prompts::parse`, then what Seam does with a prompt file: lint it; store a release of
/// it as JSON, which the gateway must parse back to serve it; render it with fuel, each
/// declared variable given a value of its type.
pub fn prompt_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(prompt) = seam_prompts::parse(text, Path::new("prompts/fuzz.toml")) else {
        return;
    };
    let clean = seam_prompts::lint(&prompt)
        .iter()
        .all(|f| f.severity != seam_prompts::Severity::Error);
    if clean {
        // seam_control::create_release stores this; the gateway's ReleaseCache reads it back.
        let content = serde_json::to_string(&prompt).unwrap_or_default();
        let back = serde_json::from_str::<Prompt>(&content);
        assert!(
            back.is_ok(),
            "a prompt that lints clean makes a release the gateway cannot parse: {back:?}"
        );
    }
    let vars: Map<String, Value> = prompt
        .variables
        .iter()
        .map(|(name, kind)| (name.clone(), sample(kind)))
        .collect();
    render_bounded(&prompt, &vars, data.len());
}

/// A value of a declared variable type (anything for an unknown type: the render refuses it).
fn sample(kind: &str) -> Value {
    match kind {
        "string" => Value::from("fuzz <b>&amp;</b> \u{e9}"),
        "number" => Value::from(2.5),
        "integer" => Value::from(-7),
        "boolean" => Value::from(true),
        "array" => serde_json::json!([1, "two", [3], {"four": 4}]),
        "object" => serde_json::json!({"a": 1, "b": [true, null], "c": {"d": "e"}}),
        _ => Value::Null,
    }
}

/// `seam_prompts::render` with fuel: the input is a template, then (after a NUL byte) a JSON
/// object of variables, each declared with the type of its value. However the template loops
/// or grows strings, the render stops at its fuel: its output stays within 64 bytes per fuel.
pub fn render(data: &[u8]) {
    let (template, vars) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let mut vars = match serde_json::from_slice::<Value>(vars) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    vars.retain(|_, v| !v.is_null());
    let variables: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.clone(), type_of(v).to_string()))
        .collect();
    let prompt = Prompt {
        name: "fuzz".into(),
        owners: vec!["fuzz".into()],
        description: None,
        route: "chat".into(),
        model: "sim-large-2026-01".into(),
        params: BTreeMap::new(),
        variables,
        on_model_change: Default::default(),
        messages: vec![Message {
            role: "user".into(),
            content: String::from_utf8_lossy(template).into_owned(),
        }],
        tools: Vec::new(),
        response_format: None,
        gate: None,
        failure_cost_usd: None,
        file: Default::default(),
    };
    render_bounded(&prompt, &vars, data.len());
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::Bool(_) => "boolean",
        Value::Array(_) => "array",
        _ => "object",
    }
}

/// Renders with [`FUEL`]; what comes out is at most 64 bytes per fuel, beyond the bytes the
/// input itself brought.
fn render_bounded(prompt: &Prompt, vars: &Map<String, Value>, input_len: usize) {
    let Ok(messages) = seam_prompts::render(prompt, vars, FUEL) else {
        return;
    };
    let out: usize = messages
        .iter()
        .map(|m| m["content"].as_str().map_or(0, str::len))
        .sum();
    let bound = 64 * FUEL as usize + input_len;
    assert!(
        out <= bound,
        "a render made {out} bytes with {FUEL} fuel (bound {bound})"
    );
}

/// `seam_providers::SseDecoder`: however the input is cut into chunks (at each 0xff byte,
/// which SSE text never holds as such), it gives the same events, or fails at the same event,
/// as in one piece; no event is over its limit; and it reads each byte a bounded number of
/// times (the old decoder re-scanned its whole buffer per chunk).
pub fn sse_decoder(data: &[u8]) {
    use seam_providers::SseDecoder;
    const LIMIT: usize = 4096;
    let whole: Vec<u8> = data.iter().copied().filter(|b| *b != 0xff).collect();
    let mut one = SseDecoder::new(LIMIT);
    let mut expected = Vec::new();
    let one_result = one.push(&whole, &mut expected);
    let mut d = SseDecoder::new(LIMIT);
    let mut got = Vec::new();
    let mut result = Ok(());
    for chunk in data.split(|b| *b == 0xff) {
        result = d.push(chunk, &mut got);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(got, expected, "chunking changed the events");
    assert_eq!(
        result.is_err(),
        one_result.is_err(),
        "chunking changed the failure"
    );
    // The limit is on the bytes received; bytes that are not UTF-8 become U+FFFD (three
    // bytes) in the event, so count characters: each is at least one byte received.
    for e in &got {
        let chars = e.data.chars().count();
        assert!(chars <= LIMIT, "an event of {chars} characters passed");
    }
    assert!(
        d.bytes_scanned() <= 2 * data.len() as u64 + 16,
        "{} bytes scanned for {}",
        d.bytes_scanned(),
        data.len()
    );
}
