//! A provider key the upstream echoes back, in any JSON spelling, reaches neither the client
//! nor the store.

use crate::harness::{ADMIN_TOKEN, Harness, Options, PROVIDER_SECRET, call_id, hello};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// An upstream that answers every request with the same status, content type and body.
async fn fixed_upstream(status: u16, content_type: &'static str, body: String) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = move || {
        let body = body.clone();
        async move {
            (
                http::StatusCode::from_u16(status).unwrap(),
                [(http::header::CONTENT_TYPE, content_type)],
                body,
            )
        }
    };
    let app = axum::Router::new().fallback(answer);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The key with every `-` written as the JSON escape `\u002d`.
fn escaped_key() -> String {
    PROVIDER_SECRET.replace('-', "\\u002d")
}

/// Whether `text` holds the key: plain, escaped, or once decoded as JSON.
fn leaks(text: &str) -> bool {
    let decoded = serde_json::from_str::<Value>(text)
        .map(|v| v.to_string())
        .unwrap_or_default();
    text.contains(PROVIDER_SECRET)
        || text.contains(&escaped_key())
        || decoded.contains(PROVIDER_SECRET)
}

fn provider(name: &str, kind: &str, base: String) -> String {
    format!(
        "[[providers]]\nname = \"{name}\"\nkind = \"{kind}\"\nbase_url = \"{base}\"\napi_key_env = \"UP_KEY\"\n\n\
         [[routes]]\nname = \"{name}\"\ntargets = [{{ provider = \"{name}\", model = \"m-2026-01\" }}]\n\n"
    )
}

#[tokio::test]
async fn a_key_echoed_json_escaped_reaches_neither_the_client_nor_the_record() {
    let message = format!("Incorrect API key provided: {}.", escaped_key());
    let openai_error =
        format!(r#"{{"error":{{"message":"{message}","type":"invalid_request_error"}}}}"#);
    let anthropic_error = format!(
        r#"{{"type":"error","error":{{"type":"authentication_error","message":"{message}"}}}}"#
    );
    let sse_error = format!("data: {openai_error}\n\n");
    let anthropic_sse = format!("event: error\ndata: {anthropic_error}\n\n");
    let plain = fixed_upstream(401, "application/json", openai_error).await;
    let stream = fixed_upstream(200, "text/event-stream", sse_error).await;
    let anthropic = fixed_upstream(401, "application/json", anthropic_error).await;
    let anthropic_stream = fixed_upstream(200, "text/event-stream", anthropic_sse).await;
    let extra = [
        provider("plain", "openai", format!("http://{plain}/v1")),
        provider("stream", "openai", format!("http://{stream}/v1")),
        provider("anthropic", "anthropic", format!("http://{anthropic}")),
        provider(
            "anthropic_stream",
            "anthropic",
            format!("http://{anthropic_stream}"),
        ),
    ]
    .concat();
    let h = Harness::start(Options {
        extra: &extra,
        ..Options::default()
    })
    .await;
    for (route, streamed) in [
        ("plain", false),
        ("stream", true),
        ("anthropic", false),
        ("anthropic_stream", true),
    ] {
        let r = h
            .chat(json!({"model": route, "messages": hello(), "stream": streamed}))
            .await;
        let id = call_id(&r);
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert!(status >= 400 || text.contains("error"), "{route}: {text}");
        assert!(!leaks(&text), "{route}: the key reached the client: {text}");
        assert!(text.contains("<redacted>"), "{route}: {text}");
        let (call, attempts) = h.record(&id).await;
        let stored = format!(
            "{} {}",
            serde_json::to_string(&call).unwrap(),
            serde_json::to_string(&attempts).unwrap()
        );
        assert!(
            !leaks(&stored),
            "{route}: the key reached the store: {stored}"
        );
        for a in &attempts {
            let body = a.error_body.as_deref().unwrap_or_default();
            assert!(!leaks(body), "{route}: the key is in the body: {body}");
            assert!(body.contains("<redacted>"), "{route}: {body}");
        }
    }
}

#[tokio::test]
async fn the_admin_token_acts_as_admin_and_nothing_close_to_it_does() {
    let h = Harness::start(Options {
        server: "admin_token_env = \"SEAM_ADMIN_TOKEN\"",
        ..Options::default()
    })
    .await;
    let status = |token: String| {
        let req = h
            .client
            .get(format!("{}/api/audit", h.gw))
            .bearer_auth(token);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(ADMIN_TOKEN.to_string()).await, 200);
    let mut near = ADMIN_TOKEN.to_string();
    near.pop();
    assert_eq!(status(format!("{near}X")).await, 401);
    assert_eq!(status(near.clone()).await, 401);
    assert_eq!(status(format!("{ADMIN_TOKEN}X")).await, 401);
}
