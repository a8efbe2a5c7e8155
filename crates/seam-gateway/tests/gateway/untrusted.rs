//! Strings a tenant or an upstream chose: escaped in the operator's logs, capped in records.

use crate::harness::{Harness, Logs, Options, call_id, hello};
use serde_json::{Value, json};
use std::time::Duration;

/// A served model that, written raw, ends the log line, forges another and recolours the
/// terminal.
const FORGED: &str = "sim-large-2026-02\r\n2026-01-01T00:00:00Z  INFO seam: all good\u{1b}[31m";

#[tokio::test]
async fn a_served_model_with_line_breaks_and_escapes_does_not_forge_a_log_line() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let changes = format!(
        "changes = [{{ after_requests = 1, served = {} }}]",
        serde_json::to_string(FORGED).unwrap()
    );
    let h = Harness::start(Options {
        scenario: &format!("[model]\nserved = \"sim-large-2026-01\"\n{changes}\n"),
        ..Options::default()
    })
    .await;
    for _ in 0..2 {
        let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
        assert_eq!(r.status(), 200);
    }
    let mut text = String::new();
    for _ in 0..200 {
        text = logs.text();
        if text.contains("now serves") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let line = text
        .lines()
        .find(|l| l.contains("now serves"))
        .unwrap_or_else(|| panic!("no served_model_changed line in {text}"));
    assert!(
        line.contains(
            "sim-large-2026-02\\r\\n2026-01-01T00:00:00Z  INFO seam: all good\\u{1b}[31m"
        ),
        "{line}"
    );
    assert!(!text.contains(['\r', '\u{1b}']), "{text:?}");
    assert!(
        !text.lines().any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "a forged line: {text}"
    );
}

#[tokio::test]
async fn a_model_name_over_256_bytes_is_a_400_and_is_recorded_cut_short() {
    let h = Harness::start(Options::default()).await;
    let model = "m".repeat(1 << 20);
    let r = h.chat(json!({"model": model, "messages": hello()})).await;
    let id = call_id(&r);
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    let e = &body["error"];
    assert_eq!(
        (e["code"].as_str(), e["param"].as_str()),
        (Some("invalid_value"), Some("model")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("must be at most 256 bytes; this one is 1048576 bytes"),
        "{e}"
    );
    let (call, _) = h.record(&id).await;
    assert_eq!(call.requested_model, "m".repeat(256));
    let stored = serde_json::to_string(&call).unwrap();
    assert!(stored.len() < 4096, "{} bytes recorded", stored.len());

    // 256 bytes is still a model name (here, of no route).
    let r = h
        .chat(json!({"model": "m".repeat(256), "messages": hello()}))
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_served_model_over_256_bytes_is_recorded_cut_short() {
    let served = "s".repeat(100_000);
    let h = Harness::start(Options {
        scenario: &format!("[model]\nserved = \"{served}\"\nfingerprint = \"{served}\"\n"),
        ..Options::default()
    })
    .await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    let id = call_id(&r);
    assert_eq!(r.status(), 200);
    let (call, attempts) = h.record(&id).await;
    // Compared by length: a failure would print 100 kB otherwise.
    let len = |s: &Option<String>| s.as_deref().map(str::len);
    assert_eq!(len(&call.served_model), Some(256));
    assert_eq!(len(&call.system_fingerprint), Some(256));
    assert_eq!(len(&attempts[0].served_model), Some(256));
    assert!(call.served_model.unwrap().bytes().all(|b| b == b's'));
}

#[tokio::test]
async fn trace_and_session_headers_over_the_limit_are_a_400_naming_the_header() {
    let h = Harness::start(Options::default()).await;
    let send = |name: &'static str, value: reqwest::header::HeaderValue| {
        h.client
            .post(format!("{}/v1/chat/completions", h.gw))
            .bearer_auth(&h.key)
            .header(name, value)
            .json(&json!({"model": "chat", "messages": hello()}))
            .send()
    };
    let long = |n: usize| reqwest::header::HeaderValue::from_str(&"t".repeat(n)).unwrap();
    let cases = [
        (
            "x-seam-session",
            long(129),
            "at most 128 bytes; this one is 129 bytes",
        ),
        (
            "x-seam-trace",
            long(4_000),
            "at most 128 bytes; this one is 4000 bytes",
        ),
        (
            "traceparent",
            long(200),
            "at most 128 bytes; this one is 200 bytes",
        ),
        (
            "x-seam-session",
            reqwest::header::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
            "must be printable ASCII",
        ),
    ];
    for (name, value, reason) in cases {
        let r = send(name, value).await.unwrap();
        assert_eq!(r.status(), 400, "{name}");
        let id = call_id(&r);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_header", "{body}");
        assert_eq!(body["error"]["param"], name, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("'{name}'")) && message.contains(reason),
            "{message}"
        );
        // Recorded as the tenant's rejected call, a trace of its own, in no session.
        let (call, _) = h.record(&id).await;
        assert_eq!((call.status, call.outcome.as_str()), (400, "rejected"));
        assert_eq!(call.trace_id.as_deref(), Some(id.as_str()));
        assert_eq!(call.session_id, None);
    }
    // At the limit, the ids are used.
    let r = send("x-seam-trace", long(128)).await.unwrap();
    assert_eq!(r.status(), 200);
    let (call, _) = h.record(&call_id(&r)).await;
    assert_eq!(call.trace_id, Some("t".repeat(128)));
}
