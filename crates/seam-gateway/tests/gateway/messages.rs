//! Anthropic-format clients: `/v1/messages` and `/v1/messages/count_tokens`, translated to
//! whichever provider the route names, recorded and limited like a chat call.

use crate::harness::{Harness, Options, call_id};
use serde_json::{Value, json};

async fn send(h: &Harness, path: &str, auth: (&str, String), body: &Value) -> reqwest::Response {
    h.client
        .post(format!("{}{path}", h.gw))
        .header(auth.0, auth.1)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .expect("gateway answers")
}

/// A Messages call with the key in `x-api-key`, as Anthropic's SDKs sent it until 2026.
async fn messages(h: &Harness, body: Value) -> reqwest::Response {
    send(h, "/v1/messages", ("x-api-key", h.key.clone()), &body).await
}

fn hello() -> Value {
    json!([{"role": "user", "content": "hello there gateway"}])
}

/// An Anthropic SSE body as (event name, data) pairs; every event names its type twice.
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let (name, data) = e.split_once('\n').expect("event and data lines");
            let name = name
                .strip_prefix("event: ")
                .expect("event line")
                .to_string();
            let data: Value =
                serde_json::from_str(data.strip_prefix("data: ").expect("data line")).unwrap();
            assert_eq!(data["type"], name.as_str(), "{e}");
            (name, data)
        })
        .collect()
}

fn names(ev: &[(String, Value)]) -> Vec<&str> {
    ev.iter().map(|(n, _)| n.as_str()).collect()
}

fn text_of(ev: &[(String, Value)]) -> String {
    ev.iter()
        .filter_map(|(_, d)| d.pointer("/delta/text").and_then(Value::as_str))
        .collect()
}

async fn assert_anthropic_error(r: reqwest::Response, status: u16, kind: &str) -> String {
    assert_eq!(r.status(), status);
    let id = call_id(&r);
    assert_eq!(
        r.headers()["request-id"].to_str().unwrap(),
        id,
        "request-id is the call id"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert_eq!(body["request_id"], id.as_str());
    body["error"]["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_message_is_answered_in_anthropics_shape_and_recorded_like_a_chat_call() {
    let h = Harness::start(Options::default()).await;
    let r = messages(
        &h,
        json!({"model": "chat", "max_tokens": 100, "system": "Be brief.", "messages": hello()}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    assert_eq!(r.headers()["request-id"].to_str().unwrap(), id);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "id": body["id"], "type": "message", "role": "assistant", "model": "sim-large-2026-01",
            "content": [{"type": "text", "text": "hello there gateway"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 5, "output_tokens": 3}
        })
    );
    // Upstream it was a chat request: the system prompt a message, max_tokens kept.
    let sent = &h.sim_stats().await["last_body"];
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(sent["max_tokens"], 100);
    let (call, attempts) = h.record(&id).await;
    assert_eq!(call.endpoint, "messages");
    assert_eq!(
        (call.route.as_str(), call.outcome.as_str(), call.status),
        ("chat", "ok", 200)
    );
    assert_eq!((call.input_tokens, call.output_tokens), (5, 3));
    assert!(call.cost_usd > 0.0);
    assert_eq!(attempts.len(), 1);
}

#[tokio::test]
async fn a_key_is_taken_from_x_api_key_or_bearer_and_a_bad_one_is_an_authentication_error() {
    let h = Harness::start(Options::default()).await;
    let body = json!({"model": "chat", "max_tokens": 10, "messages": hello()});
    let bearer = ("authorization", format!("Bearer {}", h.key));
    assert_eq!(send(&h, "/v1/messages", bearer, &body).await.status(), 200);
    // No anthropic-version at all is fine too.
    let r = h
        .client
        .post(format!("{}/v1/messages", h.gw))
        .header("x-api-key", &h.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bad = ("x-api-key", "sk-seam-not-a-key".to_string());
    let msg = assert_anthropic_error(
        send(&h, "/v1/messages", bad, &body).await,
        401,
        "authentication_error",
    )
    .await;
    assert!(msg.contains("unknown to Seam"), "{msg}");
    let r = h
        .client
        .post(format!("{}/v1/messages", h.gw))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_anthropic_error(r, 401, "authentication_error").await;
}

#[tokio::test]
async fn errors_take_anthropics_shape_with_seams_statuses() {
    let h = Harness::start(Options::default()).await;
    let msg = assert_anthropic_error(
        messages(
            &h,
            json!({"model": "nope", "max_tokens": 10, "messages": hello()}),
        )
        .await,
        404,
        "not_found_error",
    )
    .await;
    assert!(msg.contains("`nope`"), "{msg}");
    let msg = assert_anthropic_error(
        messages(&h, json!({"model": "chat", "messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}]}]})).await,
        400,
        "invalid_request_error",
    )
    .await;
    assert!(
        msg.contains("messages[0].content[0]") && msg.contains("documents"),
        "{msg}"
    );
    assert_anthropic_error(
        messages(&h, json!({"model": "chat", "messages": []})).await,
        400,
        "invalid_request_error",
    )
    .await;
    let r = h
        .client
        .post(format!("{}/v1/messages", h.gw))
        .header("x-api-key", &h.key)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_anthropic_error(r, 400, "invalid_request_error").await;

    h.set_scenario("[[errors]]\nkind = \"status\"\nstatus = 500\nfirst = 1\n")
        .await;
    let r = messages(
        &h,
        json!({"model": "chat", "max_tokens": 10, "messages": hello()}),
    )
    .await;
    let id = call_id(&r);
    // The provider's status is relayed (it was 502 before issue 22).
    assert_anthropic_error(r, 500, "api_error").await;
    let (call, _) = h.record(&id).await;
    assert_eq!((call.endpoint.as_str(), call.status), ("messages", 500));

    h.set_scenario(
        "[[errors]]\nkind = \"status\"\nstatus = 429\nretry_after_secs = 7\nfirst = 1\n",
    )
    .await;
    let r = messages(
        &h,
        json!({"model": "chat", "max_tokens": 10, "messages": hello()}),
    )
    .await;
    assert_eq!(r.headers()["retry-after"], "7");
    assert_anthropic_error(r, 429, "rate_limit_error").await;
}

#[tokio::test]
async fn a_limit_refusal_is_a_rate_limit_error_and_is_recorded() {
    let h = Harness::start(Options {
        extra: "[limits.tenant_default]\nrequests_per_minute = 1\n",
        ..Options::default()
    })
    .await;
    let body = json!({"model": "chat", "max_tokens": 10, "messages": hello()});
    assert_eq!(messages(&h, body.clone()).await.status(), 200);
    let r = messages(&h, body).await;
    let id = call_id(&r);
    let msg = assert_anthropic_error(r, 429, "rate_limit_error").await;
    assert!(msg.contains("Seam limit"), "{msg}");
    let (call, attempts) = h.record(&id).await;
    assert_eq!((call.outcome.as_str(), call.status), ("refused", 429));
    assert_eq!(call.endpoint, "messages");
    assert!(attempts.is_empty());
    assert_eq!(h.sim_stats().await["requests"], 1, "never sent upstream");
}

#[tokio::test]
async fn a_stream_becomes_anthropics_events_with_the_billed_usage() {
    let h = Harness::start(Options::default()).await;
    let r = messages(
        &h,
        json!({"model": "chat", "max_tokens": 100, "stream": true, "messages": hello()}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let id = call_id(&r);
    assert_eq!(r.headers()["request-id"].to_str().unwrap(), id);
    let ev = events(&r.text().await.unwrap());
    let n = names(&ev);
    assert_eq!(
        n[..3],
        [
            "message_start",
            "content_block_start",
            "content_block_delta"
        ]
    );
    assert_eq!(
        n[n.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    assert_eq!(ev[0].1["message"]["model"], "sim-large-2026-01");
    assert_eq!(
        ev[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    assert_eq!(text_of(&ev), "hello there gateway");
    let delta = &ev[n.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 3, "output_tokens": 3})
    );
    let (call, _) = h.record(&id).await;
    assert!(call.stream);
    assert_eq!(call.endpoint, "messages");
    assert_eq!((call.input_tokens, call.output_tokens), (3, 3));
    assert!(!call.tokens_estimated);
}

#[tokio::test]
async fn a_stream_cut_upstream_ends_with_an_error_event() {
    let h = Harness::start(Options::default()).await;
    h.set_scenario("[[errors]]\nkind = \"cut\"\nafter_chunks = 3\nfirst = 1\n")
        .await;
    let r = messages(
        &h,
        json!({"model": "chat", "max_tokens": 100, "stream": true, "messages": hello()}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let ev = events(&r.text().await.unwrap());
    let (name, last) = ev.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(last["error"]["type"], "api_error");
    assert_eq!(last["request_id"], id.as_str());
    assert!(!names(&ev).contains(&"message_stop"));
    let (call, _) = h.record(&id).await;
    assert_eq!(call.outcome.as_str(), "error");
    assert_eq!(call.error_class.map(|c| c.as_str()), Some("stream_cut"));
}

const TOOLS: &str = "[content]\nmode = \"tool_call\"\ntool = { name = \"lookup_invoice\", arguments = { id = \"inv_9\" } }\n";

fn tool_request(stream: bool) -> Value {
    json!({
        "model": "chat", "max_tokens": 100, "stream": stream,
        "messages": [{"role": "user", "content": "find invoice 9"}],
        "tools": [{"name": "lookup_invoice", "description": "Finds an invoice", "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}}}],
        "tool_choice": {"type": "any"}
    })
}

/// A tool_use answer, streamed and not, and the tool's result sent back.
async fn tools_round_trip(h: &Harness) {
    h.set_scenario(TOOLS).await;
    let body: Value = messages(h, tool_request(false)).await.json().await.unwrap();
    assert_eq!(body["stop_reason"], "tool_use", "{body}");
    let block = body["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "tool_use")
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    assert_eq!(block["name"], "lookup_invoice");
    assert_eq!(block["input"], json!({"id": "inv_9"}));

    let r = messages(h, tool_request(true)).await;
    let ev = events(&r.text().await.unwrap());
    let start = ev
        .iter()
        .find(|(n, d)| n == "content_block_start" && d["content_block"]["type"] == "tool_use")
        .expect("a tool_use block");
    assert_eq!(start.1["content_block"]["name"], "lookup_invoice");
    let index = &start.1["index"];
    let json: String = ev
        .iter()
        .filter(|(_, d)| d["delta"]["type"] == "input_json_delta" && d["index"] == *index)
        .filter_map(|(_, d)| d["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&json).unwrap(),
        json!({"id": "inv_9"})
    );
    assert_eq!(ev[ev.len() - 2].1["delta"]["stop_reason"], "tool_use");

    // The tool's result goes back as the next user turn.
    h.set_scenario("[content]\nmode = \"fixed\"\ntext = \"It is paid.\"\n")
        .await;
    let mut follow = tool_request(false);
    follow["messages"] = json!([
        {"role": "user", "content": "find invoice 9"},
        {"role": "assistant", "content": [block]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block["id"], "content": "status: paid"}]}
    ]);
    let r = messages(h, follow).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "It is paid.");
}

#[tokio::test]
async fn tools_translate_both_ways_to_an_openai_provider() {
    let h = Harness::start(Options::default()).await;
    tools_round_trip(&h).await;
    let sent = &h.sim_stats().await["last_body"];
    assert_eq!(
        sent["messages"][1]["tool_calls"][0]["function"]["name"],
        "lookup_invoice"
    );
    assert_eq!(sent["messages"][2]["role"], "tool");
    assert_eq!(sent["messages"][2]["content"], "status: paid");
    assert_eq!(sent["tools"][0]["type"], "function");
    assert_eq!(sent["tool_choice"], "required");
}

#[tokio::test]
async fn tools_translate_both_ways_to_an_anthropic_provider() {
    let h = Harness::start(Options {
        provider_kind: "anthropic",
        ..Options::default()
    })
    .await;
    tools_round_trip(&h).await;
    // Anthropic in, OpenAI inside, Anthropic out again.
    let sent = &h.sim_stats().await["last_body"];
    assert_eq!(sent["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(sent["messages"][2]["content"][0]["type"], "tool_result");
    assert_eq!(sent["tool_choice"], json!({"type": "any"}));
}

async fn count(h: &Harness, body: Value) -> (u16, Value) {
    let r = send(
        h,
        "/v1/messages/count_tokens",
        ("x-api-key", h.key.clone()),
        &body,
    )
    .await;
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap())
}

#[tokio::test]
async fn count_tokens_is_seams_offline_estimate_of_the_translated_request() {
    let h = Harness::start(Options::default()).await;
    let (status, plain) = count(&h, json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(status, 200, "{plain}");
    let chat = seam_wire::RequestBody::parse(
        serde_json::to_vec(&json!({"model": "chat", "messages": hello()}))
            .unwrap()
            .into(),
    )
    .unwrap();
    assert_eq!(
        plain,
        json!({"input_tokens": seam_gateway::account::estimate_input(&chat)})
    );
    let (_, with_tools) = count(&h, tool_request(false)).await;
    assert!(
        with_tools["input_tokens"].as_u64().unwrap() > plain["input_tokens"].as_u64().unwrap(),
        "tools count too"
    );
    let (status, body) = count(&h, json!({"model": "nope", "messages": hello()})).await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (404, &json!("not_found_error"))
    );
    let r = send(
        &h,
        "/v1/messages/count_tokens",
        ("x-api-key", "sk-seam-wrong".into()),
        &json!({"model": "chat", "messages": hello()}),
    )
    .await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(h.sim_stats().await["requests"], 0, "nothing went upstream");
}

#[tokio::test]
async fn a_stop_sequence_is_reported_when_the_provider_says_which() {
    let body = |stream: bool| {
        json!({"model": "chat", "max_tokens": 100, "stream": stream, "stop_sequences": ["STOP"],
            "messages": [{"role": "user", "content": "one two STOP three"}]})
    };
    // Anthropic upstream: it says which sequence stopped the answer.
    let h = Harness::start(Options {
        provider_kind: "anthropic",
        ..Options::default()
    })
    .await;
    let m: Value = messages(&h, body(false)).await.json().await.unwrap();
    assert_eq!(m["content"][0]["text"], "one two ");
    assert_eq!(
        (&m["stop_reason"], &m["stop_sequence"]),
        (&json!("stop_sequence"), &json!("STOP"))
    );
    let ev = events(&messages(&h, body(true)).await.text().await.unwrap());
    assert_eq!(text_of(&ev), "one two ");
    let delta = &ev[ev.len() - 2].1["delta"];
    assert_eq!(
        (&delta["stop_reason"], &delta["stop_sequence"]),
        (&json!("stop_sequence"), &json!("STOP"))
    );
    // OpenAI upstream: the sequence stops the answer, but OpenAI says only `stop`.
    let h = Harness::start(Options::default()).await;
    let m: Value = messages(&h, body(false)).await.json().await.unwrap();
    assert_eq!(h.sim_stats().await["last_body"]["stop"], json!(["STOP"]));
    assert_eq!(m["content"][0]["text"], "one two ");
    assert_eq!(
        (&m["stop_reason"], &m["stop_sequence"]),
        (&json!("end_turn"), &Value::Null)
    );
}

#[tokio::test]
async fn a_deployed_prompt_is_called_and_counted_through_the_messages_api() {
    let h = Harness::start(Options::default()).await;
    let release = crate::prompts::deploy_text(
        &h,
        "name = \"support-bot\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"sim-large-2026-01\"\nvariables = { customer = \"string\" }\n\n[[messages]]\nrole = \"system\"\ncontent = \"You help {{ customer }} with billing questions, briefly and politely.\"\n",
    )
    .await;
    let body = json!({
        "model": "prompt:support-bot", "max_tokens": 50,
        "messages": [{"role": "user", "content": "Where is invoice 7?"}],
        "seam_variables": {"customer": "Acme"},
    });
    // The gateway picks the deploy up within a second.
    let mut r = messages(&h, body.clone()).await;
    for _ in 0..30 {
        if r.status() != 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        r = messages(&h, body.clone()).await;
    }
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-seam-release"], release.as_str());
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["content"][0]["text"], "Where is invoice 7?");
    let sent = &h.sim_stats().await["last_body"];
    assert_eq!(
        sent["messages"][0]["content"],
        "You help Acme with billing questions, briefly and politely."
    );
    let (_, with_release) = count(&h, body.clone()).await;
    let mut plain = body;
    plain["model"] = json!("chat");
    let (_, without) = count(&h, plain).await;
    assert!(
        with_release["input_tokens"].as_u64().unwrap()
            > without["input_tokens"].as_u64().unwrap() + 5,
        "the release's messages count: {with_release} vs {without}"
    );
}

#[tokio::test]
async fn an_anthropic_client_lists_the_routes_in_its_own_shape() {
    let h = Harness::start(Options::default()).await;
    let list = |key: String, anthropic: bool| {
        let mut r = h
            .client
            .get(format!("{}/v1/models", h.gw))
            .header("x-api-key", key);
        if anthropic {
            r = r.header("anthropic-version", "2026-10-21");
        }
        r.send()
    };
    let r = list(h.key.clone(), true).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"][0]["type"], "model");
    assert_eq!(body["data"][0]["id"], "chat");
    assert_eq!(
        (&body["has_more"], &body["first_id"]),
        (&json!(false), &json!("chat"))
    );
    let body: Value = list(h.key.clone(), false)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["object"], "list", "OpenAI clients keep OpenAI's shape");
    let r = list("sk-seam-wrong".into(), true).await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
}
