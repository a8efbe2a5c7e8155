//! `seam calls show` on a SQLite file: a call, its attempts with their upstream request ids,
//! and a streamed call's telemetry, as text and as JSON.

use seam_store::Records;
use seam_store::conformance::{sample_attempt, sample_call, sample_stream};
use serde_json::{Value, json};
use std::process::Command;

fn seam(url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_seam"))
        .args(args)
        .args(["--store", url])
        .env_remove("SEAM_TOKEN")
        .env_remove("SEAM_STORE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seam {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn calls_show_gives_the_attempts_and_a_streams_telemetry() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("seam.db").display());
    let store = seam_store::open(&url).await.unwrap();
    let now = seam_store::now_ms();
    let plain = sample_call("call_plain", now - 2_000, "acme");
    let mut streamed = sample_call("call_streamed", now - 1_000, "acme");
    streamed.stream = true;
    streamed.attempts = 2;
    let mut failed = sample_attempt(&streamed, 1, false);
    failed.upstream_request_id = Some("req_first".into());
    let mut answered = sample_attempt(&streamed, 2, true);
    answered.upstream_request_id = Some("req_second".into());
    let mut stream = sample_stream(&streamed);
    stream.stalls = 2;
    stream.client_closed = true;
    stream.slo = Some(seam_vocab::SloVerdict::breached("stall 1200 ms > 1000 ms"));
    let attempts = vec![sample_attempt(&plain, 1, true), failed, answered];
    store
        .insert_records(
            &[plain.clone(), streamed.clone()],
            &attempts,
            std::slice::from_ref(&stream),
        )
        .await
        .unwrap();
    // No user yet: the store is in bootstrap mode, and every command reads as an admin.

    let shown: Value =
        serde_json::from_str(&seam(&url, &["calls", "show", "call_streamed", "--json"])).unwrap();
    assert_eq!(shown["call"], json!(streamed));
    assert_eq!(shown["attempts"], json!(attempts[1..]));
    assert_eq!(shown["stream"], json!(stream));
    assert_eq!(shown["stream"]["slo"], "breached: stall 1200 ms > 1000 ms");
    let keys: Vec<&str> = shown
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["call", "attempts", "stream", "content"]);
    assert_eq!(shown["content"], Value::Null, "not captured");

    let shown: Value =
        serde_json::from_str(&seam(&url, &["calls", "show", "call_plain", "--json"])).unwrap();
    assert_eq!(shown["call"], json!(plain));
    assert_eq!(shown["attempts"], json!(attempts[..1]));
    assert_eq!(shown["stream"], Value::Null, "not a stream");

    let text = seam(&url, &["calls", "show", "call_streamed"]);
    for id in ["req_first", "req_second"] {
        assert!(text.lines().any(|l| l.ends_with(id)), "{id} in {text}");
    }
    let telemetry = &text[text.find("\nstream:\n").expect("a stream section")..];
    for line in [
        "stalls              2",
        "client closed       yes",
        "rechunked           yes",
        "SLO                 breached: stall 1200 ms > 1000 ms",
    ] {
        assert!(telemetry.lines().any(|l| l == line), "{line:?} in {text}");
    }
    let text = seam(&url, &["calls", "show", "call_plain"]);
    assert!(!text.contains("\nstream:\n"), "{text}");
}
