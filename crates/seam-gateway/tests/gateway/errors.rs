//! Every error path answers in OpenAI's shape with the right status.

use crate::harness::{Harness, Options, PROVIDER_SECRET, call_id, hello, series};
use serde_json::{Value, json};

async fn error_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("an error body in JSON");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["type"].is_string(), "{body}");
    (status, body["error"].clone())
}

#[tokio::test]
async fn malformed_json_is_400_with_its_position() {
    let h = Harness::start(Options::default()).await;
    let r = h
        .client
        .post(format!("{}/v1/chat/completions", h.gw))
        .bearer_auth(&h.key)
        .header("content-type", "application/json")
        .body("{\"model\": \"chat\", \"messages\": [}")
        .send()
        .await
        .unwrap();
    let (status, e) = error_of(r).await;
    assert_eq!(status, 400);
    assert_eq!(e["code"], "invalid_json");
    assert!(
        e["message"].as_str().unwrap().contains("line 1, column 32"),
        "{e}"
    );
}

#[tokio::test]
async fn missing_model_or_messages_is_400_naming_the_field() {
    let h = Harness::start(Options::default()).await;
    let (status, e) = error_of(h.chat(json!({"messages": hello()})).await).await;
    assert_eq!((status, e["param"].as_str()), (400, Some("model")));
    let (status, e) = error_of(h.chat(json!({"model": "chat"})).await).await;
    assert_eq!((status, e["param"].as_str()), (400, Some("messages")));
    let (status, e) = error_of(
        h.chat(json!({"model": "chat", "messages": hello(), "stream": "yes"}))
            .await,
    )
    .await;
    assert_eq!((status, e["param"].as_str()), (400, Some("stream")));
    for messages in [json!([]), json!("hi"), json!({"role": "user"})] {
        let (status, e) =
            error_of(h.chat(json!({"model": "chat", "messages": messages})).await).await;
        assert_eq!(
            (status, e["param"].as_str()),
            (400, Some("messages")),
            "{messages}"
        );
    }
    // Whitespace inside an empty array is still empty.
    let r = h
        .client
        .post(format!("{}/v1/chat/completions", h.gw))
        .bearer_auth(&h.key)
        .header("content-type", "application/json")
        .body(r#"{"model": "chat", "messages": [ ] }"#)
        .send()
        .await
        .unwrap();
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["param"].as_str()), (400, Some("messages")));
    let (status, e) = error_of(h.post("/v1/embeddings", &json!({"model": "chat"})).await).await;
    assert_eq!((status, e["param"].as_str()), (400, Some("input")));
    assert_eq!(
        h.sim_stats().await["requests"],
        0,
        "nothing reached the provider"
    );
}

#[tokio::test]
async fn unknown_route_is_404_model_not_found_and_recorded_as_rejected() {
    let h = Harness::start(Options::default()).await;
    let r = h
        .chat(json!({"model": "gpt-nope", "messages": hello()}))
        .await;
    let id = call_id(&r);
    let (status, e) = error_of(r).await;
    assert_eq!(status, 404);
    assert_eq!(e["code"], "model_not_found");
    let (call, attempts) = h.record(&id).await;
    assert_eq!((call.status, call.outcome.as_str()), (404, "rejected"));
    assert_eq!(call.requested_model, "gpt-nope");
    assert!(attempts.is_empty());
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let h = Harness::start(Options {
        server: "max_body_bytes = 2048",
        ..Options::default()
    })
    .await;
    let big = "x".repeat(4096);
    let (status, e) = error_of(
        h.chat(json!({"model": "chat", "messages": [{"role": "user", "content": big}]}))
            .await,
    )
    .await;
    assert_eq!(status, 413);
    assert!(e["message"].as_str().unwrap().contains("2048"), "{e}");
    let ok = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn missing_or_unknown_key_is_401_and_keyless_needs_config() {
    let h = Harness::start(Options::default()).await;
    let url = format!("{}/v1/chat/completions", h.gw);
    let body = json!({"model": "chat", "messages": hello()});
    let r = h.client.post(&url).json(&body).send().await.unwrap();
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["code"].as_str()), (401, Some("missing_api_key")));
    let r = h
        .client
        .post(&url)
        .bearer_auth("sk-seam-nope")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["code"].as_str()), (401, Some("invalid_api_key")));
    assert!(
        !e["message"].as_str().unwrap().contains("sk-seam-nope"),
        "the key is not echoed"
    );
    assert!(h.metrics().await.contains("seam_auth_failures_total 2"));
    // A flood of made-up keys: all refused, and the store is asked about a bounded few.
    for i in 0..60 {
        let r = h
            .client
            .post(&url)
            .bearer_auth(format!("sk-seam-guess-{i}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let m = h.metrics().await;
    let looked_up = ["found", "unknown", "error"]
        .iter()
        .filter_map(|r| series(&m, &format!("seam_key_lookups_total{{reason=\"{r}\"}}")))
        .sum::<f64>();
    assert!(
        looked_up <= 2.0 * seam_gateway::authenticate::LOOKUPS_PER_SEC,
        "{looked_up} store lookups for 61 unknown keys"
    );
    assert!(
        series(&m, "seam_key_lookups_total{reason=\"limited\"}").unwrap_or(0.0) > 0.0,
        "{m}"
    );

    let dev = Harness::start(Options {
        server: "keyless_tenant = \"local-dev\"",
        ..Options::default()
    })
    .await;
    let r = dev
        .client
        .post(format!("{}/v1/chat/completions", dev.gw))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (call, _) = dev.record(&call_id(&r)).await;
    assert_eq!(
        (call.tenant.as_str(), call.key_id.as_deref()),
        ("local-dev", None)
    );
}

#[tokio::test]
async fn upstream_429_is_429_with_retry_after_and_5xx_is_502_with_the_body_recorded() {
    let h = Harness::start(Options::default()).await;
    h.set_scenario("[[errors]]\nkind = \"status\"\nstatus = 429\nretry_after_secs = 7\nfirst = 1\n[[errors]]\nkind = \"status\"\nstatus = 503\nmessage = \"overloaded, key sk-provider-secret-do-not-leak\"\nrequests = [2]\n").await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(
        r.headers()
            .get("x-seam-attempts")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let (status, e) = error_of(r).await;
    assert_eq!(
        (status, e["type"].as_str()),
        (429, Some("rate_limit_error"))
    );

    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    let id = call_id(&r);
    let (status, e) = error_of(r).await;
    // The provider's status is relayed (502 before issue 22).
    assert_eq!(status, 503);
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("overloaded"), "{msg}");
    assert!(
        !msg.contains(PROVIDER_SECRET),
        "provider key leaked to the client: {msg}"
    );
    let (call, attempts) = h.record(&id).await;
    assert_eq!(
        (
            call.status,
            call.outcome.as_str(),
            call.error_class.map(|c| c.as_str())
        ),
        (503, "error", Some("status_5xx"))
    );
    let body = attempts[0].error_body.clone().unwrap();
    assert!(body.contains("overloaded"), "{body}");
    assert!(
        !body.contains(PROVIDER_SECRET),
        "provider key leaked to the record: {body}"
    );
    assert!(!format!("{call:?}").contains(PROVIDER_SECRET));
    assert!(!h.metrics().await.contains(PROVIDER_SECRET));
}

#[tokio::test]
async fn upstream_timeout_is_504() {
    let h = Harness::start(Options {
        timeout_ms: 300,
        ..Options::default()
    })
    .await;
    h.set_scenario("[[errors]]\nkind = \"timeout\"\nhold_ms = 5000\nfirst = 1\n")
        .await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    let id = call_id(&r);
    let (status, e) = error_of(r).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (504, Some("upstream_timeout"))
    );
    let (call, _) = h.record(&id).await;
    assert_eq!(call.error_class.map(|c| c.as_str()), Some("timeout"));
}

#[tokio::test]
async fn refused_connection_and_reset_are_502_and_cost_nothing() {
    // A port with nothing listening: bind, note the port, close.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let extra = format!(
        "[[providers]]\nname = \"dead\"\nkind = \"openai\"\nbase_url = \"http://{dead}/v1\"\n\n[[routes]]\nname = \"dead\"\ntargets = [{{ provider = \"dead\", model = \"sim-large-2026-01\" }}]\n"
    );
    let h = Harness::start(Options {
        extra: &extra,
        ..Options::default()
    })
    .await;
    let r = h.chat(json!({"model": "dead", "messages": hello()})).await;
    let id = call_id(&r);
    let (status, e) = error_of(r).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (502, Some("upstream_connect"))
    );
    let (call, attempts) = h.record(&id).await;
    assert_eq!(attempts[0].error_class.map(|c| c.as_str()), Some("connect"));
    // The record (what `seam calls show` prints) says why and where; the client only which.
    assert_eq!(
        attempts[0].error_body.as_deref(),
        Some(format!("connection refused to http://{dead}").as_str())
    );
    assert!(!e["message"].as_str().unwrap().contains("127.0.0.1"), "{e}");
    assert_eq!(call.cost_usd, 0.0);

    h.set_scenario("[[errors]]\nkind = \"reset\"\nfirst = 1\n")
        .await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["code"].as_str()), (502, Some("upstream_reset")));
}

#[tokio::test]
async fn unknown_paths_are_404_in_openai_shape() {
    let h = Harness::start(Options::default()).await;
    let r = h
        .client
        .get(format!("{}/v1/nope", h.gw))
        .send()
        .await
        .unwrap();
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["code"].as_str()), (404, Some("unknown_url")));
}
