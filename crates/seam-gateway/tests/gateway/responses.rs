//! OpenAI's Responses API (`/v1/responses`): passed through to a provider that speaks it
//! (the sim's OpenAI side), translated to chat for one that does not (the sim's Anthropic
//! side, or an OpenAI-compatible provider with `responses = false`); recorded, priced and
//! limited like a chat call either way.

use crate::harness::{Harness, Options, call_id};
use serde_json::{Value, json};

async fn responses(h: &Harness, body: Value) -> reqwest::Response {
    h.post("/v1/responses", &body).await
}

/// A Responses SSE body as its events; every event names its type in its `event:` line.
fn events(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let (name, data) = e.split_once('\n').expect("event and data lines");
            let name = name.strip_prefix("event: ").expect("event line");
            let data: Value =
                serde_json::from_str(data.strip_prefix("data: ").expect("data line")).unwrap();
            assert_eq!(data["type"], name, "{e}");
            data
        })
        .collect()
}

fn kinds(ev: &[Value]) -> Vec<&str> {
    ev.iter().filter_map(|e| e["type"].as_str()).collect()
}

fn text_of(ev: &[Value]) -> String {
    ev.iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .filter_map(|e| e["delta"].as_str())
        .collect()
}

fn anthropic() -> Options<'static> {
    Options {
        provider_kind: "anthropic",
        ..Options::default()
    }
}

fn price(input: i64, output: i64) -> f64 {
    (input as f64 * 1.0 + output as f64 * 4.0) / 1_000_000.0
}

#[tokio::test]
async fn a_response_passes_through_to_a_provider_that_speaks_it_and_is_recorded() {
    let h = Harness::start(Options::default()).await;
    let r = responses(
        &h,
        json!({"model": "chat", "instructions": "Be brief.", "input": "hello there gateway", "store": true}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["object"], "response");
    assert!(
        body["id"].as_str().unwrap().starts_with("resp_sim"),
        "{body}"
    );
    assert_eq!(body["model"], "sim-large-2026-01");
    assert_eq!(
        body["output"][0]["content"][0]["text"],
        "hello there gateway"
    );
    // The client's body as it was, the target's model in it, and nothing added.
    let sent = &h.sim_stats().await["last_body"];
    assert_eq!(
        sent,
        &json!({"model": "sim-large-2026-01", "instructions": "Be brief.", "input": "hello there gateway", "store": true})
    );
    let (call, attempts) = h.record(&id).await;
    assert_eq!(call.endpoint, "responses");
    assert_eq!(
        (call.route.as_str(), call.outcome.as_str(), call.status),
        ("chat", "ok", 200)
    );
    let usage = &body["usage"];
    assert_eq!(
        (call.input_tokens, call.output_tokens),
        (
            usage["input_tokens"].as_i64().unwrap(),
            usage["output_tokens"].as_i64().unwrap()
        )
    );
    assert!(!call.tokens_estimated);
    assert_eq!(call.cost_usd, price(call.input_tokens, call.output_tokens));
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0].served_model.as_deref(),
        Some("sim-large-2026-01")
    );
}

#[tokio::test]
async fn a_passed_through_stream_keeps_its_events_and_is_billed_from_its_usage() {
    let h = Harness::start(Options::default()).await;
    let r = responses(
        &h,
        json!({"model": "chat", "input": [{"role": "user", "content": "one two three four"}], "stream": true}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let id = call_id(&r);
    let text = r.text().await.unwrap();
    assert!(!text.contains("[DONE]"), "a Responses stream has no [DONE]");
    let ev = events(&text);
    assert_eq!(kinds(&ev).first(), Some(&"response.created"));
    assert_eq!(kinds(&ev).last(), Some(&"response.completed"));
    assert_eq!(text_of(&ev), "one two three four");
    let sent = &h.sim_stats().await["last_body"];
    assert!(
        sent.get("stream_options").is_none(),
        "no usage chunk is asked of a Responses stream: {sent}"
    );
    let (call, _) = h.record(&id).await;
    assert_eq!((call.endpoint.as_str(), call.stream), ("responses", true));
    let usage = &ev.last().unwrap()["response"]["usage"];
    assert_eq!(call.output_tokens, usage["output_tokens"].as_i64().unwrap());
    assert_eq!(call.input_tokens, usage["input_tokens"].as_i64().unwrap());
    assert!(!call.tokens_estimated);
}

#[tokio::test]
async fn a_response_is_translated_to_an_anthropic_provider_and_back() {
    let h = Harness::start(anthropic()).await;
    let r = responses(
        &h,
        json!({"model": "chat", "instructions": "Be brief.", "max_output_tokens": 100,
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "hello there gateway"}]}]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["instructions"], "Be brief.");
    assert_eq!(body["max_output_tokens"], 100);
    assert_eq!(body["output"][0]["type"], "message");
    assert_eq!(
        body["output"][0]["content"][0],
        json!({"type": "output_text", "text": "hello there gateway", "annotations": [], "logprobs": []})
    );
    // Upstream it was an Anthropic Messages request.
    let sent = &h.sim_stats().await["last_body"];
    assert_eq!(sent["system"], "Be brief.");
    assert_eq!(sent["max_tokens"], 100);
    assert_eq!(sent["messages"][0]["role"], "user");
    let (call, _) = h.record(&id).await;
    assert_eq!(call.endpoint, "responses");
    assert_eq!(
        (
            body["usage"]["input_tokens"].as_i64(),
            body["usage"]["output_tokens"].as_i64()
        ),
        (Some(call.input_tokens), Some(call.output_tokens))
    );
    assert_eq!(call.cost_usd, price(call.input_tokens, call.output_tokens));
}

#[tokio::test]
async fn tools_and_their_outputs_translate_both_ways() {
    let h = Harness::start(Options {
        scenario: "[content]\nmode = \"tool_call\"\ntool = { name = \"lookup\", arguments = { id = \"7\" } }\n",
        ..anthropic()
    })
    .await;
    let tools = json!([{"type": "function", "name": "lookup", "description": "Finds an invoice",
        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}]);
    let r = responses(
        &h,
        json!({"model": "chat", "input": "Find invoice 7", "tools": tools, "tool_choice": "required"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let call = body["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call")
        .expect("a function call");
    assert_eq!(call["name"], "lookup");
    assert_eq!(
        serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).unwrap(),
        json!({"id": "7"})
    );
    let sent = h.sim_stats().await["last_body"].clone();
    assert_eq!(sent["tools"][0]["name"], "lookup");
    assert_eq!(sent["tool_choice"], json!({"type": "any"}));
    // The next turn carries the call and its output back.
    let r = responses(
        &h,
        json!({"model": "chat", "tools": tools, "input": [
            {"role": "user", "content": "Find invoice 7"},
            {"type": "function_call", "call_id": call["call_id"], "name": "lookup", "arguments": call["arguments"]},
            {"type": "function_call_output", "call_id": call["call_id"], "output": "paid"}
        ]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let sent = &h.sim_stats().await["last_body"];
    assert_eq!(sent["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(sent["messages"][2]["content"][0]["type"], "tool_result");
    assert_eq!(sent["messages"][2]["content"][0]["content"], "paid");
}

#[tokio::test]
async fn a_translated_stream_becomes_responses_events_with_the_billed_usage() {
    let h = Harness::start(anthropic()).await;
    let r = responses(
        &h,
        json!({"model": "chat", "input": "one two three four five", "stream": true}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let ev = events(&r.text().await.unwrap());
    let k = kinds(&ev);
    assert_eq!(
        &k[..4],
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added"
        ]
    );
    assert_eq!(
        &k[k.len() - 4..],
        [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    for (i, e) in ev.iter().enumerate() {
        assert_eq!(e["sequence_number"], i, "{e}");
    }
    assert_eq!(text_of(&ev), "one two three four five");
    let done = &ev.last().unwrap()["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(
        done["output"][0]["content"][0]["text"],
        "one two three four five"
    );
    let (call, _) = h.record(&id).await;
    assert_eq!(
        done["usage"]["output_tokens"].as_i64(),
        Some(call.output_tokens)
    );
    assert_eq!(
        done["usage"]["input_tokens"].as_i64(),
        Some(call.input_tokens)
    );
}

#[tokio::test]
async fn a_chat_only_openai_provider_is_sent_a_chat_request() {
    let h = Harness::start(Options {
        provider_extra: "responses = false",
        ..Options::default()
    })
    .await;
    let r = responses(
        &h,
        json!({"model": "chat", "input": "hello there", "text": {"format": {"type": "json_schema",
            "name": "greeting", "schema": {"type": "object"}, "strict": true}}}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["output"][0]["content"][0]["text"], "hello there");
    let sent = &h.sim_stats().await["last_body"];
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": "hello there"}])
    );
    assert_eq!(
        sent["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "greeting", "schema": {"type": "object"}, "strict": true}})
    );
}

#[tokio::test]
async fn errors_keep_openais_shape() {
    let h = Harness::start(anthropic()).await;
    // What a chat target cannot do is refused before anything goes upstream.
    let r = responses(
        &h,
        json!({"model": "chat", "input": "x", "previous_response_id": "resp_1"}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("previous_response_id"),
        "{body}"
    );
    let r = responses(&h, json!({"model": "nope", "input": "x"})).await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "model_not_found");
    assert_eq!(h.sim_stats().await["requests"], 0, "nothing went upstream");
    h.set_scenario("[[errors]]\nkind = \"status\"\nstatus = 500\nfirst = 1\n")
        .await;
    let r = responses(&h, json!({"model": "chat", "input": "x"})).await;
    // The provider's own status, as it said it (issue 22).
    assert_eq!(r.status(), 500);
    let id = call_id(&r);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    let (call, _) = h.record(&id).await;
    assert_eq!(
        (call.endpoint.as_str(), call.outcome.as_str()),
        ("responses", "error")
    );
}

#[tokio::test]
async fn a_stream_cut_midway_ends_with_an_error_event() {
    let h = Harness::start(Options {
        scenario: "[[errors]]\nkind = \"cut\"\nafter_chunks = 6\nfirst = 1\n",
        ..Options::default()
    })
    .await;
    let r = responses(
        &h,
        json!({"model": "chat", "input": "one two three four five six seven", "stream": true}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let ev = events(&r.text().await.unwrap());
    let last = ev.last().unwrap();
    assert_eq!(last["type"], "error", "{ev:?}");
    assert_eq!(
        last["sequence_number"].as_u64(),
        ev[ev.len() - 2]["sequence_number"].as_u64().map(|n| n + 1)
    );
    let (call, _) = h.record(&id).await;
    assert_eq!(call.outcome.as_str(), "error");
    assert!(call.tokens_estimated);
}

#[tokio::test]
async fn stored_responses_are_read_and_deleted_through_the_provider() {
    let h = Harness::start(Options::default()).await;
    let r = responses(&h, json!({"model": "chat", "input": "keep me"})).await;
    let made: Value = r.json().await.unwrap();
    let id = made["id"].as_str().unwrap();
    let url = format!("{}/v1/responses/{id}", h.gw);
    let got: Value = h
        .client
        .get(&url)
        .bearer_auth(&h.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["id"], id);
    assert_eq!(got["output"], made["output"]);
    let r = h.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401, "a key is needed");
    let r = h
        .client
        .delete(&url)
        .bearer_auth(&h.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["deleted"], true);
    let r = h.client.get(&url).bearer_auth(&h.key).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    // A gateway whose providers do not store responses says so.
    let h = Harness::start(anthropic()).await;
    let r = h
        .client
        .get(format!("{}/v1/responses/resp_1", h.gw))
        .bearer_auth(&h.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stores responses"),
        "{body}"
    );
}

const PROMPT: &str = r#"
name = "support-bot"
owners = ["ana", "ben"]
route = "chat"
model = "sim-large-2026-01"
params = { temperature = 0.2, max_tokens = 400 }
variables = { customer = "string" }

[[messages]]
role = "system"
content = "You help {{ customer }} with billing."

[[tools]]
name = "lookup_invoice"
description = "Find an invoice"
parameters = { type = "object", properties = { id = { type = "string" } } }
"#;

/// `prompt:NAME` through the Responses API, until the gateway has picked the deploy up.
async fn prompt_call(h: &Harness, body: Value) -> reqwest::Response {
    let mut r = responses(h, body.clone()).await;
    for _ in 0..30 {
        if r.status() != 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        r = responses(h, body.clone()).await;
    }
    r
}

#[tokio::test]
async fn a_prompt_release_goes_in_front_of_the_input_passed_through_or_translated() {
    let body = json!({"model": "prompt:support-bot", "input": "Where is invoice 7?",
        "seam_variables": {"customer": "Acme"}});
    // Passed through: the release in the Responses API's own shape.
    let h = Harness::start(Options::default()).await;
    let id = crate::prompts::deploy_text(&h, PROMPT).await;
    let r = prompt_call(&h, body.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-seam-release"], id.as_str());
    let sent = h.sim_stats().await["last_body"].clone();
    assert_eq!(
        sent["input"],
        json!([
            {"role": "system", "content": "You help Acme with billing."},
            {"role": "user", "content": "Where is invoice 7?"}
        ])
    );
    assert_eq!(sent["model"], "sim-large-2026-01");
    assert_eq!(
        (sent["temperature"].as_f64(), &sent["max_output_tokens"]),
        (Some(0.2), &json!(400))
    );
    assert_eq!(sent["tools"][0]["type"], "function");
    assert_eq!(sent["tools"][0]["name"], "lookup_invoice");
    assert!(sent.get("seam_variables").is_none() && sent.get("messages").is_none());
    let (call, _) = h.record(&crate::harness::call_id(&r)).await;
    assert_eq!(call.release_id.as_deref(), Some(id.as_str()));
    assert_eq!(call.endpoint, "responses");

    // Translated: the same release as chat messages and tools.
    let h = Harness::start(anthropic()).await;
    crate::prompts::deploy_text(&h, PROMPT).await;
    let r = prompt_call(&h, body).await;
    assert_eq!(r.status(), 200);
    let sent = &h.sim_stats().await["last_body"];
    assert_eq!(sent["system"], "You help Acme with billing.");
    assert_eq!(
        sent["messages"][0]["content"][0]["text"],
        "Where is invoice 7?"
    );
    assert_eq!(sent["max_tokens"], 400);
    assert_eq!(sent["tools"][0]["name"], "lookup_invoice");
}

const MIXED: &str = r#"
[[providers]]
name = "inproc"
kind = "sim"

[[providers]]
name = "chat-only"
kind = "sim"
responses = false

[[routes]]
name = "inproc"
targets = [{ provider = "inproc", model = "sim-large-2026-01" }]

[[routes]]
name = "mixed"
targets = [{ provider = "up", model = "sim-large-2026-01" }, { provider = "chat-only", model = "sim-large-2026-01" }]
retry = { max_attempts = 1 }
"#;

#[tokio::test]
async fn a_route_falls_back_from_a_passed_through_target_to_a_translated_one() {
    let h = Harness::start(Options {
        scenario: "[[errors]]\nkind = \"status\"\nstatus = 500\nevery = 1\n",
        extra: MIXED,
        ..Options::default()
    })
    .await;
    let r = responses(&h, json!({"model": "mixed", "input": "hello there"})).await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["output"][0]["content"][0]["text"], "hello there");
    assert_eq!(body["store"], false, "translated: stored nowhere");
    let (call, attempts) = h.record(&id).await;
    assert_eq!(call.endpoint, "responses");
    assert_eq!(
        attempts
            .iter()
            .map(|a| a.provider.as_str())
            .collect::<Vec<_>>(),
        ["up", "chat-only"]
    );
    assert_eq!(
        attempts[0].error_class.map(|c| c.as_str()),
        Some("status_5xx")
    );
    // What only the passed-through target can take skips the translated one.
    let r = responses(
        &h,
        json!({"model": "mixed", "input": "x", "previous_response_id": "resp_1"}),
    )
    .await;
    assert_eq!(
        r.status(),
        500,
        "the upstream's failure (its own status), not the translation's"
    );
    let (_, attempts) = h.record(&call_id(&r)).await;
    assert_eq!(attempts.len(), 1);
}

#[tokio::test]
async fn an_in_process_sim_speaks_the_responses_api() {
    let h = Harness::start(Options {
        extra: MIXED,
        ..Options::default()
    })
    .await;
    let r = responses(
        &h,
        json!({"model": "inproc", "input": "one two three", "stream": true}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let ev = events(&r.text().await.unwrap());
    assert_eq!(kinds(&ev).last(), Some(&"response.completed"));
    assert_eq!(text_of(&ev), "one two three");
    let (call, _) = h.record(&id).await;
    assert_eq!((call.outcome.as_str(), call.output_tokens), ("ok", 3));
    assert!(!call.tokens_estimated);
    let r = responses(&h, json!({"model": "inproc", "input": "kept"})).await;
    let made: Value = r.json().await.unwrap();
    let got: Value = h
        .client
        .get(format!(
            "{}/v1/responses/{}",
            h.gw,
            made["id"].as_str().unwrap()
        ))
        .bearer_auth(&h.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["id"], made["id"]);
}
