//! Issue 29: each chat, messages or responses call records the xxh3-64 of its request body
//! as sent, so that the same request sent again can be told from a new one without its
//! content; embeddings calls record none.

use crate::harness::{Harness, Options, call_id};

/// Sends `body` exactly as these bytes to `path`; the recorded call's request hash.
async fn sent(h: &Harness, path: &str, body: &'static str) -> Option<String> {
    let r = h
        .client
        .post(format!("{}{path}", h.gw))
        .bearer_auth(&h.key)
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .body(body)
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(r.status(), 200, "{path}");
    let id = call_id(&r);
    h.record(&id).await.0.request_hash
}

fn hash_of(body: &str) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(body.as_bytes()))
}

#[tokio::test]
async fn the_same_request_hashes_the_same_and_another_differently() {
    let h = Harness::start(Options::default()).await;
    let chat = r#"{"model": "chat", "messages": [{"role": "user", "content": "hello there"}]}"#;
    let other = r#"{"model": "chat", "messages": [{"role": "user", "content": "hello there!"}]}"#;
    let first = sent(&h, "/v1/chat/completions", chat).await;
    let again = sent(&h, "/v1/chat/completions", chat).await;
    let changed = sent(&h, "/v1/chat/completions", other).await;
    assert_eq!(first.as_deref(), Some(hash_of(chat).as_str()));
    assert_eq!(first, again, "the same body sent again");
    assert_eq!(changed.as_deref(), Some(hash_of(other).as_str()));
    assert_ne!(first, changed, "a body one character longer");
    let hex = first.unwrap_or_default();
    assert!(
        hex.len() == 16
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{hex}"
    );

    // A messages call hashes its body as the client sent it, before translation.
    let messages = r#"{"model": "chat", "max_tokens": 16, "messages": [{"role": "user", "content": "hello there"}]}"#;
    let m = sent(&h, "/v1/messages", messages).await;
    assert_eq!(m.as_deref(), Some(hash_of(messages).as_str()));

    let embed = r#"{"model": "chat", "input": ["a b"], "dimensions": 4}"#;
    assert_eq!(sent(&h, "/v1/embeddings", embed).await, None, "embeddings");
}
