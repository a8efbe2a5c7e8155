//! What clients see of streams: telemetry against the sim's scripted timings, the
//! smoothness SLO, chunk-shape drift, disconnects, re-chunking.

use crate::harness::{Harness, Options, call_id, sse_data};
use seam_store::{Events, Records, StreamRecord};
use serde_json::{Value, json};
use std::time::Duration;

const TWELVE_WORDS: &str = "one two three four five six seven eight nine ten eleven twelve";

fn scenario(tokens_per_chunk: usize, interval_ms: u64) -> String {
    format!(
        "[model]\nserved = \"sim-large-2026-01\"\n[stream]\ntokens_per_chunk = {tokens_per_chunk}\ninterval_ms = {interval_ms}\n"
    )
}

/// Streams one call; returns its id and the content deltas the client got.
async fn stream(h: &Harness, text: &str) -> (String, Vec<String>) {
    let r = h
        .chat(json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": text}]}))
        .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let deltas = sse_data(&r.text().await.unwrap())
        .iter()
        .filter(|e| *e != "[DONE]")
        .filter_map(|e| {
            serde_json::from_str::<Value>(e).unwrap()["choices"][0]["delta"]["content"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        })
        .collect();
    (id, deltas)
}

async fn stream_record(h: &Harness, id: &str) -> StreamRecord {
    h.record(id).await;
    h.store
        .list_streams(0)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.call_id == id)
        .expect("a stream record")
}

#[tokio::test]
async fn telemetry_matches_the_sims_timings_and_checks_the_slo() {
    let h = Harness::start(Options {
        scenario: &scenario(1, 40),
        route_extra: "stream_slo = { gap_p95_ms = 20.0, chars_per_chunk_p50 = 8.0, max_stall_ms = 1000.0 }",
        ..Options::default()
    })
    .await;
    let (id, deltas) = stream(&h, TWELVE_WORDS).await;
    assert_eq!(deltas.concat(), TWELVE_WORDS);
    let s = stream_record(&h, &id).await;
    assert_eq!(s.content_chunks, 12, "{s:?}");
    assert_eq!(s.chars as usize, TWELVE_WORDS.len());
    assert!(
        (35.0..70.0).contains(&s.gap_p50_ms),
        "a 40 ms interval: {s:?}"
    );
    assert!(s.gap_p95_ms >= s.gap_p50_ms && s.gap_max_ms >= s.gap_p95_ms);
    assert!(s.ttfc_ms.is_some() && s.ttft_ms >= s.ttfc_ms, "{s:?}");
    assert_eq!(s.output_tokens, 12);
    let tps = s.tokens_per_sec.expect("tokens per second");
    assert!(
        (12.0..30.0).contains(&tps),
        "12 tokens over 11 gaps of 40 ms: {tps}"
    );
    assert_eq!(s.stalls, 0);
    let slo = s.slo.expect("the route has an SLO").to_string();
    assert!(
        slo.starts_with("breached") && slo.contains("gap p95") && slo.contains("chars/chunk"),
        "{slo}"
    );
    let metrics = h.metrics().await;
    assert!(
        metrics.contains("gen_ai_client_operation_time_to_first_chunk_seconds_count{"),
        "{metrics}"
    );
    assert!(metrics.contains("gen_ai_client_operation_time_per_output_chunk_seconds_bucket{"));
    assert!(metrics.contains("seam_stream_slo_total{route=\"chat\",outcome=\"breached\"} 1"));
}

#[tokio::test]
async fn a_shape_change_is_an_event_and_a_steady_stream_is_not() {
    let h = Harness::start(Options {
        scenario: &scenario(4, 8),
        extra: "[streams]\ndrift_window_streams = 8\n",
        ..Options::default()
    })
    .await;
    let text = format!("{TWELVE_WORDS} {TWELVE_WORDS}");
    for _ in 0..24 {
        stream(&h, &text).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let kinds = |events: Vec<seam_store::EventRecord>| {
        events
            .into_iter()
            .filter(|e| e.kind.as_str() == "stream_shape_changed")
            .collect::<Vec<_>>()
    };
    assert!(
        kinds(h.store.list_events(0, 100).await.unwrap()).is_empty(),
        "steady: no event"
    );
    // Same tokens per second, one token per chunk.
    h.set_scenario(&scenario(1, 2)).await;
    for _ in 0..8 {
        stream(&h, &text).await;
    }
    let mut fired = Vec::new();
    for _ in 0..40 {
        fired = kinds(h.store.list_events(0, 100).await.unwrap());
        if !fired.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fired.len(), 1, "{fired:?}");
    let d: Value = serde_json::from_str(&fired[0].details).unwrap();
    let before = d["before"]["chars_per_chunk_p50"].as_f64().unwrap();
    let after = d["after"]["chars_per_chunk_p50"].as_f64().unwrap();
    assert!(before > 2.5 * after, "{d}");
    assert_eq!(d["served_model"], "sim-large-2026-01");
}

#[tokio::test]
async fn a_client_that_leaves_cancels_the_upstream_request() {
    let h = Harness::start(Options {
        scenario: &scenario(1, 100),
        ..Options::default()
    })
    .await;
    let long = TWELVE_WORDS.repeat(5);
    let mut r = h
        .chat(json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": long}]}))
        .await;
    let id = call_id(&r);
    let first = r.chunk().await.unwrap();
    assert!(first.is_some());
    assert_eq!(h.sim_stats().await["streams_open"], 1);
    drop(r);
    let mut stats = Value::Null;
    for _ in 0..20 {
        stats = h.sim_stats().await;
        if stats["streams_cancelled"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        stats["streams_cancelled"], 1,
        "the sim saw the cancel within a second: {stats}"
    );
    assert_eq!(stats["streams_open"], 0);
    let s = stream_record(&h, &id).await;
    assert!(s.client_closed);
    assert!(
        h.metrics()
            .await
            .contains("seam_stream_client_disconnects_total{route=\"chat\",provider=\"up\"} 1")
    );
}

#[tokio::test]
async fn anthropic_streams_are_measured_too() {
    let h = Harness::start(Options {
        provider_kind: "anthropic",
        scenario: &scenario(1, 20),
        ..Options::default()
    })
    .await;
    let (id, deltas) = stream(&h, TWELVE_WORDS).await;
    assert_eq!(deltas.concat(), TWELVE_WORDS);
    let s = stream_record(&h, &id).await;
    assert_eq!(s.content_chunks, 12, "{s:?}");
    assert!((15.0..50.0).contains(&s.gap_p50_ms), "{s:?}");
    assert_eq!(s.output_tokens, 12);
}

#[tokio::test]
async fn rechunking_sends_fewer_steadier_chunks_with_the_same_text() {
    let h = Harness::start(Options {
        scenario: &scenario(1, 5),
        route_extra: "rechunk = { boundary = \"line\", max_hold_ms = 30 }",
        ..Options::default()
    })
    .await;
    let text = format!("{TWELVE_WORDS}\n{TWELVE_WORDS}\n{TWELVE_WORDS}");
    let (id, deltas) = stream(&h, &text).await;
    assert_eq!(deltas.concat(), text, "the text is exactly preserved");
    assert!(deltas.len() < 36 / 2, "{deltas:?}");
    let s = stream_record(&h, &id).await;
    assert!(s.rechunked);
    assert_eq!(s.content_chunks as usize, deltas.len());
    assert!(s.chars_p50 > 8.0, "{s:?}");
}
