//! The rest of the API surface: models by id, legacy completions, CORS, and paths without
//! `/v1`.

use crate::harness::{Harness, Options, call_id, sse_data};
use serde_json::{Value, json};

async fn error_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("an error body in JSON");
    (status, body["error"].clone())
}

#[tokio::test]
async fn a_model_by_id_is_its_route_in_the_clients_shape() {
    let h = Harness::start(Options::default()).await;
    let get = |path: &str, anthropic: bool| {
        let mut r = h.client.get(format!("{}{path}", h.gw)).bearer_auth(&h.key);
        if anthropic {
            r = r.header("anthropic-version", "2023-06-01");
        }
        r.send()
    };
    let r = get("/v1/models/chat", false).await.unwrap();
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        m,
        json!({"id": "chat", "object": "model", "created": 0, "owned_by": "seam"})
    );
    let r = get("/v1/models/chat", true).await.unwrap();
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        (m["type"].as_str(), m["id"].as_str()),
        (Some("model"), Some("chat"))
    );

    let (status, e) = error_of(get("/v1/models/nope", false).await.unwrap()).await;
    assert_eq!((status, e["code"].as_str()), (404, Some("model_not_found")));
    assert!(e["message"].as_str().unwrap().contains("`nope`"), "{e}");
    let r = get("/v1/models/nope", true).await.unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "error", "{body}");

    let r = h
        .client
        .get(format!("{}/v1/models/chat", h.gw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn legacy_completions_are_routed_priced_and_recorded_like_chat() {
    let h = Harness::start(Options::default()).await;
    let r = h
        .post(
            "/v1/completions",
            &json!({"model": "chat", "prompt": "hello there gateway", "max_tokens": 20}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["choices"][0]["text"], "hello there gateway");
    assert_eq!(
        h.sim_stats().await["last_body"]["model"],
        "sim-large-2026-01"
    );
    let (call, attempts) = h.record(&id).await;
    assert_eq!(call.endpoint, "completions");
    assert_eq!((call.status, call.outcome.as_str()), (200, "ok"));
    assert_eq!((call.input_tokens, call.output_tokens), (3, 3));
    assert!(call.cost_usd > 0.0 && !call.tokens_estimated);
    assert_eq!(attempts.len(), 1);

    let r = h
        .post(
            "/v1/completions",
            &json!({"model": "chat", "prompt": ["hello there gateway"], "stream": true}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let id = call_id(&r);
    let events = sse_data(&r.text().await.unwrap());
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(
        chunks.iter().all(|c| c.get("usage").is_none()),
        "{chunks:?}"
    );
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "hello there gateway");
    let (call, _) = h.record(&id).await;
    assert!(call.stream);
    assert_eq!(call.endpoint, "completions");
    assert_eq!(
        (call.input_tokens, call.output_tokens, call.tokens_estimated),
        (3, 3, false)
    );

    let r = h.post("/v1/completions", &json!({"model": "chat"})).await;
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["param"].as_str()), (400, Some("prompt")));
    let r = h
        .post(
            "/v1/completions",
            &json!({"model": "prompt:x", "prompt": "hi"}),
        )
        .await;
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["param"].as_str()), (400, Some("model")));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("/v1/chat/completions"),
        "{e}"
    );
}

#[tokio::test]
async fn legacy_completions_are_refused_clearly_by_a_provider_without_them() {
    let h = Harness::start(Options {
        provider_kind: "anthropic",
        ..Options::default()
    })
    .await;
    let r = h
        .post(
            "/v1/completions",
            &json!({"model": "chat", "prompt": "hello"}),
        )
        .await;
    let (status, e) = error_of(r).await;
    assert_eq!(status, 400);
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("no legacy completions endpoint")
            && message.contains("/v1/chat/completions"),
        "{e}"
    );
}

#[tokio::test]
async fn a_path_without_v1_says_where_the_api_is() {
    let h = Harness::start(Options::default()).await;
    let r = h.post("/chat/completions", &json!({"model": "chat"})).await;
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["code"].as_str()), (404, Some("unknown_url")));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("/v1/chat/completions"),
        "{e}"
    );
    let r = h
        .client
        .get(format!("{}/models", h.gw))
        .send()
        .await
        .unwrap();
    let (_, e) = error_of(r).await;
    assert!(e["message"].as_str().unwrap().contains("/v1/models"), "{e}");
    let r = h.client.get(format!("{}/nope", h.gw)).send().await.unwrap();
    let (status, e) = error_of(r).await;
    assert_eq!(status, 404);
    assert_eq!(e["message"], "Seam has no endpoint /nope");
}

const APP: &str = "https://app.example";

fn preflight(h: &Harness, path: &str, origin: &str) -> reqwest::RequestBuilder {
    h.client
        .request(reqwest::Method::OPTIONS, format!("{}{path}", h.gw))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, x-stainless-os",
        )
}

#[tokio::test]
async fn cors_answers_preflights_and_marks_every_answer_for_allowed_origins() {
    let h = Harness::start(Options {
        server: "cors = { allowed_origins = [\"https://app.example\"], max_age_secs = 120 }",
        ..Options::default()
    })
    .await;
    let r = preflight(&h, "/v1/chat/completions", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let hd = r.headers();
    assert_eq!(hd["access-control-allow-origin"], APP);
    assert_eq!(
        hd["access-control-allow-methods"],
        "GET, POST, DELETE, OPTIONS"
    );
    assert_eq!(
        hd["access-control-allow-headers"],
        "authorization, content-type, x-stainless-os"
    );
    assert_eq!(hd["access-control-max-age"], "120");
    assert_eq!(hd["vary"], "Origin");

    let r = preflight(&h, "/v1/models", "https://evil.example")
        .send()
        .await
        .unwrap();
    let hd = r.headers().clone();
    let (status, e) = error_of(r).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("cors_origin_not_allowed"))
    );
    assert!(hd.get("access-control-allow-origin").is_none());

    // The data plane's direct endpoints, a stream, the router's endpoints and errors alike.
    let chat = |body: Value, origin: &'static str| {
        h.client
            .post(format!("{}/v1/chat/completions", h.gw))
            .bearer_auth(&h.key)
            .header("origin", origin)
            .json(&body)
            .send()
    };
    let hello = json!([{"role": "user", "content": "hi"}]);
    let r = chat(json!({"model": "chat", "messages": hello}), APP)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], APP);
    assert_eq!(r.headers()["access-control-expose-headers"], "*");
    assert!(r.headers().get_all("vary").iter().any(|v| v == "Origin"));
    let r = chat(
        json!({"model": "chat", "messages": hello, "stream": true}),
        APP,
    )
    .await
    .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], APP);
    assert!(r.text().await.unwrap().contains("[DONE]"));
    let r = chat(json!({"model": "nope", "messages": hello}), APP)
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["access-control-allow-origin"], APP);
    let r = h
        .client
        .get(format!("{}/v1/models", h.gw))
        .bearer_auth(&h.key)
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], APP);
    let r = chat(
        json!({"model": "chat", "messages": hello}),
        "https://evil.example",
    )
    .await
    .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cors_can_allow_any_origin_and_fixed_headers() {
    let h = Harness::start(Options {
        server: "[server.cors]\nallowed_origins = [\"*\"]\nallowed_headers = [\"Authorization\", \"Content-Type\"]",
        ..Options::default()
    })
    .await;
    let r = preflight(&h, "/v1/embeddings", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        r.headers()["access-control-allow-headers"],
        "authorization, content-type"
    );
    assert_eq!(r.headers()["access-control-max-age"], "600");
}

#[tokio::test]
async fn without_cors_nothing_changes() {
    let h = Harness::start(Options::default()).await;
    let r = preflight(&h, "/v1/chat/completions", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = h
        .client
        .get(format!("{}/v1/models", h.gw))
        .bearer_auth(&h.key)
        .header("origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none());
}
