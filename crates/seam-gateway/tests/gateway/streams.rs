//! Streams: usage is always learned, stripped when not asked for, estimated when cut.

use crate::harness::{Harness, Options, call_id, hello, sse_data};
use serde_json::{Value, json};

#[tokio::test]
async fn usage_chunk_only_when_the_client_asks() {
    let h = Harness::start(Options::default()).await;
    let r = h.chat(json!({"model": "chat", "messages": hello(), "stream": true, "stream_options": {"include_usage": true}})).await;
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    assert_eq!(r.headers()["x-seam-served-model"], "sim-large-2026-01");
    let events = sse_data(&r.text().await.unwrap());
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let usage: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(usage["usage"]["completion_tokens"], 3);
    assert_eq!(usage["choices"], json!([]));

    let r = h
        .chat(json!({"model": "chat", "messages": hello(), "stream": true}))
        .await;
    let id = call_id(&r);
    let events = sse_data(&r.text().await.unwrap());
    let text: String = events
        .iter()
        .filter(|e| *e != "[DONE]")
        .map(|e| serde_json::from_str::<Value>(e).unwrap())
        .inspect(|v| {
            assert!(
                v.get("usage").is_none(),
                "usage leaked to a client that did not ask: {v}"
            )
        })
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(text, "hello there gateway");
    let (call, _) = h.record(&id).await;
    assert_eq!(
        (call.input_tokens, call.output_tokens, call.tokens_estimated),
        (3, 3, false)
    );
    assert!(call.stream);
}

#[tokio::test]
async fn a_stream_cut_mid_way_ends_with_an_error_event_and_an_estimate() {
    let h = Harness::start(Options::default()).await;
    h.set_scenario("[[errors]]\nkind = \"cut\"\nafter_chunks = 3\nfirst = 1\n[content]\nmode = \"fixed\"\ntext = \"alpha beta gamma delta epsilon zeta\"\n").await;
    let r = h.chat(json!({"model": "chat", "messages": hello(), "stream": true, "stream_options": {"include_usage": true}})).await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let events = sse_data(&r.text().await.unwrap());
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert!(last["error"]["message"].is_string(), "{last}");
    assert!(!events.iter().any(|e| e == "[DONE]"));
    let (call, attempts) = h.record(&id).await;
    assert_eq!(
        (call.outcome.as_str(), call.error_class.map(|c| c.as_str())),
        ("error", Some("stream_cut"))
    );
    assert!(call.tokens_estimated);
    let relayed = seam_gateway::account::count_tokens("alpha beta ");
    assert_eq!(
        call.output_tokens as u64, relayed,
        "estimated from what was relayed before the cut"
    );
    assert!(call.input_tokens > 0);
    assert!(call.cost_usd > 0.0, "an estimated stream is still priced");
    assert_eq!(attempts[0].outcome.as_str(), "error");
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_is_recorded() {
    let h = Harness::start(Options::default()).await;
    h.set_scenario("[stream]\ninterval_ms = 50\n[content]\nmode = \"fixed\"\ntext = \"a b c d e f g h i j k l m n o p\"\n").await;
    let mut r = h
        .chat(json!({"model": "chat", "messages": hello(), "stream": true}))
        .await;
    let id = call_id(&r);
    let _first = r.chunk().await.unwrap();
    drop(r);
    let (call, _) = h.record(&id).await;
    assert_eq!(call.outcome.as_str(), "client_closed");
    assert!(call.tokens_estimated);
}

/// A stream relayed to its end gives its upstream connection back to the pool: sequential
/// streams share one connection to the provider (before, each opened its own, which against a
/// real provider is a TLS handshake per stream).
#[tokio::test]
async fn sequential_streams_reuse_one_upstream_connection() {
    for kind in ["openai", "anthropic"] {
        let h = Harness::start(Options {
            provider_kind: kind,
            ..Options::default()
        })
        .await;
        let stream =
            || json!({"model": "chat", "messages": hello(), "stream": true, "max_tokens": 20});
        // The first stream opens the gateway's connection to the sim.
        let r = h.chat(stream()).await;
        assert_eq!(r.status(), 200);
        r.text().await.unwrap();
        let before = h.sim_stats().await["connections"].as_u64().unwrap();
        for _ in 0..5 {
            let r = h.chat(stream()).await;
            let events = sse_data(&r.text().await.unwrap());
            assert_eq!(events.last().map(String::as_str), Some("[DONE]"), "{kind}");
        }
        let after = h.sim_stats().await["connections"].as_u64().unwrap();
        // At most the test's own connection for the stats.
        assert!(
            after - before <= 1,
            "{kind}: 5 streams opened {} connections to the provider",
            after - before
        );
    }
}

/// Streams `words` from a sim that sends a word a chunk, `stream` giving how (sim scenario
/// `[stream]`); returns the client's events and how many pieces the client read them in (a
/// piece is at most one chunk of HTTP/1.1's chunked encoding, a frame of the gateway's: a read
/// may split a frame, never join two).
async fn framed(stream: &str, words: &str) -> (Vec<String>, usize) {
    let h = Harness::start(Options {
        scenario: &format!("[stream]\ntokens_per_chunk = 1\n{stream}\n"),
        ..Options::default()
    })
    .await;
    let mut r = h
        .chat(json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": words}]}))
        .await;
    assert_eq!(r.status(), 200);
    let (mut body, mut frames) = (Vec::new(), 0);
    while let Some(b) = r.chunk().await.unwrap() {
        frames += 1;
        body.extend_from_slice(&b);
    }
    let events = sse_data(std::str::from_utf8(&body).unwrap());
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let text: String = events
        .iter()
        .filter(|e| *e != "[DONE]")
        .filter_map(|e| {
            serde_json::from_str::<Value>(e).unwrap()["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(text, words, "every event, in order");
    (events, frames)
}

/// Events read from upstream together (one write of the provider's) leave together, in one
/// frame, and an event that came alone is never held back for the next.
#[tokio::test]
async fn a_burst_leaves_in_few_frames_and_a_slow_stream_in_one_a_chunk() {
    let words: Vec<String> = (0..60).map(|i| format!("w{i}")).collect();
    let (events, frames) = framed("together = true", &words.join(" ")).await;
    assert!(
        frames * 4 <= events.len(),
        "a burst of {} events came in {frames} frames",
        events.len()
    );
    let (events, frames) = framed("interval_ms = 30", "one two three four five").await;
    // The content chunks, each its own frame; role, finish and [DONE] may share.
    assert!(
        frames + 3 >= events.len(),
        "{} events 30 ms apart came in {frames} frames",
        events.len()
    );
}
