use super::*;

fn translate(v: Value) -> Result<Value, String> {
    to_chat_request(v.as_object().unwrap())
        .map(Value::Object)
        .map_err(|e| e.to_api().message)
}

#[test]
fn a_tool_conversation_becomes_a_chat_request() {
    let out = translate(json!({
        "model": "chat",
        "max_tokens": 200,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "Find invoice 7"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "s"},
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "tu_1", "name": "lookup", "input": {"id": "7"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "tu_1", "content": [{"type": "text", "text": "paid"}], "is_error": false},
                {"type": "text", "text": "And invoice 8?"}
            ]}
        ],
        "tools": [{"name": "lookup", "description": "Finds an invoice", "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "stop_sequences": ["END"],
        "temperature": 0.2,
        "top_k": 5,
        "metadata": {"user_id": "u-1"},
        "stream": true,
        "thinking": {"type": "enabled", "budget_tokens": 1024}
    }))
    .unwrap();
    assert_eq!(
        out,
        json!({
            "model": "chat",
            "max_tokens": 200,
            "temperature": 0.2,
            "top_k": 5,
            "stream": true,
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Find invoice 7"},
                {"role": "assistant", "content": "Looking.", "tool_calls": [
                    {"id": "tu_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"id\":\"7\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "tu_1", "content": "paid"},
                {"role": "user", "content": "And invoice 8?"}
            ],
            "stop": ["END"],
            "user": "u-1",
            "tools": [{"type": "function", "function": {"name": "lookup", "description": "Finds an invoice", "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}],
            "tool_choice": "required",
            "parallel_tool_calls": false
        })
    );
}

#[test]
fn images_and_several_blocks_keep_their_parts() {
    let out = translate(json!({"model": "m", "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "one"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
        ]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "shot", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [
            {"type": "text", "text": "taken"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "BBBB"}}
        ]}]}
    ]}))
    .unwrap();
    let m = &out["messages"];
    assert_eq!(m[0]["content"][0], json!({"type": "text", "text": "one"}));
    assert_eq!(
        m[0]["content"][1]["image_url"]["url"],
        "data:image/png;base64,AAAA"
    );
    assert_eq!(
        m[0]["content"][2]["image_url"]["url"],
        "https://example.com/a.png"
    );
    assert_eq!(m[1]["content"], Value::Null);
    assert_eq!(m[1]["tool_calls"][0]["function"]["arguments"], "{}");
    assert_eq!(
        m[2],
        json!({"role": "tool", "tool_call_id": "t", "content": "taken"})
    );
    assert_eq!(
        m[3]["content"][0]["image_url"]["url"], "data:image/jpeg;base64,BBBB",
        "a tool result's image follows it in a user message"
    );
}

#[test]
fn plain_text_documents_are_text() {
    let doc = json!({"type": "document", "title": "notes.txt", "source": {"type": "text", "media_type": "text/plain", "data": "line one"}});
    let out = translate(json!({"model": "m", "messages": [
        {"role": "user", "content": [doc]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "read", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [doc, {"type": "text", "text": "done"}]}]}
    ]}))
    .unwrap();
    assert_eq!(out["messages"][0]["content"], "notes.txt\nline one");
    assert_eq!(out["messages"][2]["content"], "notes.txt\nline one\ndone");
}

#[test]
fn tool_choices_translate() {
    let choice = |c: Value| translate(json!({"model": "m", "messages": [], "tool_choice": c}));
    assert_eq!(
        choice(json!({"type": "auto"})).unwrap()["tool_choice"],
        "auto"
    );
    assert_eq!(
        choice(json!({"type": "none"})).unwrap()["tool_choice"],
        "none"
    );
    let named = choice(json!({"type": "tool", "name": "lookup"})).unwrap();
    assert_eq!(named["tool_choice"]["function"]["name"], "lookup");
    assert!(named.get("parallel_tool_calls").is_none());
    assert!(
        choice(json!({"type": "tool"}))
            .unwrap_err()
            .contains("name")
    );
}

#[test]
fn what_cannot_be_translated_is_refused_by_name() {
    let err = |v: Value| translate(v).unwrap_err();
    let e = err(
        json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}}]}]}),
    );
    assert!(
        e.contains("messages[0].content[0]") && e.contains("`base64`"),
        "{e}"
    );
    let e = err(
        json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "search_result"}]}]}),
    );
    assert!(e.contains("`search_result`"), "{e}");
    let e = err(
        json!({"model": "m", "messages": [], "tools": [{"type": "web_search_20250305", "name": "web_search"}]}),
    );
    assert!(
        e.contains("tools[0]") && e.contains("web_search_20250305"),
        "{e}"
    );
    let e = err(json!({"model": "m", "messages": [{"role": "system", "content": "x"}]}));
    assert!(e.contains("messages[0].role"), "{e}");
    let e = err(json!({"model": "m", "messages": "hi"}));
    assert!(e.contains("'messages'"), "{e}");
    let e = err(json!({"model": "m", "messages": [], "stop_sequences": "END"}));
    assert!(e.contains("'stop_sequences'"), "{e}");
    let e = err(
        json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}),
    );
    assert!(e.contains("tool_use_id"), "{e}");
}

#[test]
fn a_missing_messages_field_is_left_for_the_request_check() {
    let out = translate(json!({"model": "m", "system": "s"})).unwrap();
    assert!(out.get("messages").is_none());
}
