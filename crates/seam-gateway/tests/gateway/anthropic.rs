//! The anthropic provider against the sim's Messages API, over HTTP.

use crate::harness::{Harness, Options, call_id, sse_data};
use serde_json::{Value, json};

fn opts() -> Options<'static> {
    Options {
        provider_kind: "anthropic",
        ..Options::default()
    }
}

#[tokio::test]
async fn chat_is_translated_both_ways_with_the_2026_headers() {
    let h = Harness::start(opts()).await;
    let r = h
        .chat(json!({"model": "chat", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "second question"}
        ], "max_tokens": 50}))
        .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "second question");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 8);
    let stats = h.sim_stats().await;
    assert_eq!(stats["last_headers"]["auth"], "bearer");
    assert_eq!(stats["last_headers"]["anthropic_version"], "2026-10-21");
    let (call, _) = h.record(&id).await;
    assert_eq!((call.input_tokens, call.output_tokens), (8, 2));
}

#[tokio::test]
async fn tool_calls_and_streams_translate() {
    let h = Harness::start(opts()).await;
    h.set_scenario("[content]\nmode = \"tool_call\"\ntool = { name = \"lookup_invoice\", arguments = { id = \"inv_9\" } }\n").await;
    let tools = json!([{"type": "function", "function": {"name": "lookup_invoice", "parameters": {"type": "object"}}}]);
    let body: Value = h
        .chat(json!({"model": "chat", "messages": [{"role": "user", "content": "find it"}], "tools": tools}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "lookup_invoice");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"id": "inv_9"})
    );

    let r = h
        .chat(json!({"model": "chat", "messages": [{"role": "user", "content": "find it"}], "tools": tools, "stream": true, "stream_options": {"include_usage": true}}))
        .await;
    let id = call_id(&r);
    let events = sse_data(&r.text().await.unwrap());
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events
        .iter()
        .filter(|e| *e != "[DONE]")
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let args: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"id": "inv_9"})
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["usage"]["completion_tokens"].is_u64())
    );
    let (call, _) = h.record(&id).await;
    assert!(!call.tokens_estimated);
}

#[tokio::test]
async fn anthropic_errors_map_to_openai_errors() {
    let h = Harness::start(opts()).await;
    h.set_scenario(
        "[[errors]]\nkind = \"status\"\nstatus = 529\nmessage = \"Overloaded\"\nfirst = 1\n",
    )
    .await;
    let r = h
        .chat(json!({"model": "chat", "messages": [{"role": "user", "content": "x"}]}))
        .await;
    // Anthropic's 529 `overloaded_error` is OpenAI's 503 `server_error` (502 before issue 22).
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "server_error", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Overloaded"),
        "{body}"
    );
}
