//! What a successful call returns and what Seam records of it.

use crate::harness::{Harness, Options, call_id, hello, series};
use serde_json::{Value, json};

#[tokio::test]
async fn a_chat_passes_through_and_is_recorded_with_usage_and_cost() {
    let h = Harness::start(Options::default()).await;
    let r = h
        .client
        .post(format!("{}/v1/chat/completions", h.gw))
        .bearer_auth(&h.key)
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .header("x-seam-session", "sess-1")
        .json(&json!({"model": "chat", "messages": hello(), "seed": 7, "user": "u1", "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("x-seam-attempts").as_deref(), Some("1"));
    // One content type, JSON's (not the octet-stream a bare body would get).
    assert_eq!(r.headers().get_all("content-type").iter().count(), 1);
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(
        header("x-seam-served-model").as_deref(),
        Some("sim-large-2026-01")
    );
    let id = call_id(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["model"], "sim-large-2026-01");
    assert_eq!(body["system_fingerprint"], "fp_1");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "hello there gateway"
    );
    let (call, attempts) = h.record(&id).await;
    assert_eq!(
        call.trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(call.session_id.as_deref(), Some("sess-1"));
    assert_eq!(
        (call.tenant.as_str(), call.route.as_str(), call.status),
        ("acme", "chat", 200)
    );
    assert_eq!(call.served_model.as_deref(), Some("sim-large-2026-01"));
    assert_eq!(call.system_fingerprint.as_deref(), Some("fp_1"));
    assert_eq!(
        (call.input_tokens, call.output_tokens, call.tokens_estimated),
        (3, 3, false)
    );
    assert!((call.cost_usd - (3.0 * 1.0 + 3.0 * 4.0) / 1e6).abs() < 1e-12);
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].provider, "up");
    assert_eq!(attempts[0].model, "sim-large-2026-01");
}

#[tokio::test]
async fn route_response_model_rewrites_model_only() {
    let extra = "[[routes]]\nname = \"chat-route\"\nresponse_model = \"route\"\ntargets = [{ provider = \"up\", model = \"sim-large-2026-01\" }]\n";
    let h = Harness::start(Options {
        extra,
        ..Options::default()
    })
    .await;
    let r = h
        .chat(json!({"model": "chat-route", "messages": hello()}))
        .await;
    assert_eq!(r.headers()["x-seam-served-model"], "sim-large-2026-01");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["model"], "chat-route");
    assert_eq!(body["system_fingerprint"], "fp_1");
}

#[tokio::test]
async fn embeddings_and_models_and_metrics() {
    let h = Harness::start(Options::default()).await;
    let r = h
        .post(
            "/v1/embeddings",
            &json!({"model": "chat", "input": ["a b", "c"], "dimensions": 4}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["data"][0]["embedding"].as_array().unwrap().len(), 4);
    let models: Value = h
        .client
        .get(format!("{}/v1/models", h.gw))
        .bearer_auth(&h.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "chat");
    let _ = h.chat(json!({"model": "chat", "messages": hello()})).await;
    let m = h.metrics().await;
    assert!(
        m.contains(
            "seam_calls_total{route=\"chat\",provider=\"up\",outcome=\"ok\",status=\"200\"} 2"
        ),
        "{m}"
    );
    assert!(
        m.contains(
            "seam_attempts_total{route=\"chat\",provider=\"up\",outcome=\"ok\",error_class=\"\"} 2"
        ),
        "{m}"
    );
    assert!(
        series(
            &m,
            "seam_tokens_total{route=\"chat\",provider=\"up\",direction=\"input\",estimated=\"false\"}"
        ) > Some(0.0),
        "{m}"
    );
    assert!(
        m.contains("per attempt (pre-retry)"),
        "help text says what is counted"
    );
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_stream_finish_and_flushes_its_record() {
    let h = Harness::start(Options::default()).await;
    h.set_scenario("[stream]\ninterval_ms = 40\n[content]\nmode = \"fixed\"\ntext = \"one two three four five six\"\n").await;
    let r = h
        .chat(json!({"model": "chat", "messages": hello(), "stream": true}))
        .await;
    let id = call_id(&r);
    let reading = tokio::spawn(async move { r.text().await.unwrap() });
    let (store, _dir) = h.shutdown().await;
    let body = reading.await.unwrap();
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    use seam_store::Records;
    let (call, _) = store
        .get_call(&id)
        .await
        .unwrap()
        .expect("recorded before shutdown returned");
    assert_eq!(call.outcome.as_str(), "ok");
}

/// A stream still running when the grace period ends is cut, and its call is recorded (as cut
/// by the gateway) before the record writer stops.
#[tokio::test]
async fn a_stream_cut_at_the_end_of_the_grace_period_is_still_recorded() {
    let h = Harness::start(Options {
        server: "shutdown_grace_secs = 1",
        ..Options::default()
    })
    .await;
    h.set_scenario("[stream]\ninterval_ms = 200\n[content]\nmode = \"fixed\"\ntext = \"a b c d e f g h i j k l m n o p q r s t u v w x y z\"\n").await;
    let r = h
        .chat(json!({"model": "chat", "messages": hello(), "stream": true}))
        .await;
    let id = call_id(&r);
    let reading = tokio::spawn(async move { r.text().await });
    let started = std::time::Instant::now();
    let (store, _dir) = h.shutdown().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "the grace period bounds shutdown"
    );
    let body = reading.await.unwrap().unwrap_or_default();
    assert!(!body.contains("[DONE]"), "the stream was cut: {body}");
    use seam_store::Records;
    let (call, attempts) = store
        .get_call(&id)
        .await
        .unwrap()
        .expect("the cut stream is recorded before shutdown returns");
    assert_eq!(attempts.len(), 1);
    let message = call.error_message.as_deref().unwrap_or("");
    assert!(message.contains("gateway shut down"), "{call:?}");
    assert!(
        call.output_tokens > 0,
        "what was relayed is counted: {call:?}"
    );
}
