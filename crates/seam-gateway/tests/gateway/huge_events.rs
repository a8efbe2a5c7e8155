//! An upstream that sends a stream event without end: bounded by the provider's
//! `max_event_bytes`, and never holding a worker once the client has left or the idle
//! timeout has passed (issue 19, item 5).

use crate::harness::{Harness, Options, call_id, hello, sse_data};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn huge_line(after_chunks: usize, line_bytes: u64) -> String {
    format!(
        "[[errors]]\nkind = \"huge_line\"\nfirst = 1\nafter_chunks = {after_chunks}\nline_bytes = {line_bytes}\n"
    )
}

fn stream() -> Value {
    json!({"model": "chat", "messages": hello(), "stream": true})
}

const MIB: u64 = 1024 * 1024;

#[tokio::test]
async fn an_event_over_the_limit_ends_the_stream_with_an_error_the_record_names() {
    // The gateway holds back the events before the first content (openai: the role chunk;
    // anthropic: message_start, content_block_start, ping) and sends them with it.
    for (kind, events_before) in [("openai", 2), ("anthropic", 4)] {
        let h = Harness::start(Options {
            provider_kind: kind,
            ..Options::default()
        })
        .await;
        // The default limit is 4 MiB.
        h.set_scenario(&huge_line(events_before, 8 * MIB)).await;
        let r = h.chat(stream()).await;
        assert_eq!(r.status(), 200, "{kind}");
        let id = call_id(&r);
        let events = sse_data(&r.text().await.unwrap());
        assert_eq!(events.len(), 3, "{kind}: two chunks, then the error");
        let last: Value = serde_json::from_str(&events[2]).unwrap();
        let message = last["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("larger than 4194304 bytes"),
            "{kind}: {last}"
        );
        let (call, attempts) = h.record(&id).await;
        assert_eq!(
            (call.outcome.as_str(), call.error_class.map(|c| c.as_str())),
            ("error", Some("bad_response")),
            "{kind}"
        );
        let recorded = call.error_message.unwrap_or_default();
        assert!(
            recorded.contains("stream event larger than 4194304 bytes")
                && recorded.contains("max_event_bytes"),
            "{kind}: {recorded}"
        );
        assert_eq!(
            attempts[0].error_class.map(|c| c.as_str()),
            Some("bad_response")
        );
    }

    // Before the first event the attempt fails before any byte reaches the client.
    let h = Harness::start(Options {
        provider_extra: "max_event_bytes = 65536",
        ..Options::default()
    })
    .await;
    h.set_scenario(&huge_line(0, MIB)).await;
    let r = h.chat(stream()).await;
    assert_eq!(r.status(), 502);
    let id = call_id(&r);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("larger than 65536 bytes")),
        "{body}"
    );
    let (call, _) = h.record(&id).await;
    assert_eq!(call.error_class.map(|c| c.as_str()), Some("bad_response"));
}

/// A 48 MiB line under a 64 MiB limit: the gateway reads it in linear time and goes back to
/// the scheduler between chunks, so other calls are served meanwhile and the client's
/// departure closes the upstream connection at once. Before, each chunk re-scanned the
/// whole line and one poll ran on while the line came in, deaf to the client leaving (the
/// upstream stream was still open a second later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_during_a_huge_line_frees_its_worker_at_once() {
    let h = Harness::start(Options {
        provider_extra: "max_event_bytes = 67108864",
        ..Options::default()
    })
    .await;
    h.set_scenario(&huge_line(2, 48 * MIB)).await;
    let mut r = h.chat(stream()).await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    assert!(r.chunk().await.unwrap().is_some(), "the first chunk");
    // Long enough that the line is well under way when the client leaves.
    other_calls(&h, Duration::from_millis(1500)).await;
    assert_eq!(
        h.sim_stats().await["streams_open"],
        1,
        "the line is still open"
    );

    drop(r);
    let left = Instant::now();
    loop {
        let stats = h.sim_stats().await;
        if stats["streams_cancelled"] == 1 && stats["streams_open"] == 0 {
            break;
        }
        assert!(
            left.elapsed() < Duration::from_secs(1),
            "the upstream stream was still open {:?} after the client left: {stats}",
            left.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    other_calls(&h, Duration::ZERO).await;
    let (call, _) = h.record(&id).await;
    assert_eq!(call.outcome.as_str(), "client_closed");
}

/// Plain calls, one after another for at least `for_at_least` (at least one): each answered
/// in good time.
async fn other_calls(h: &Harness, for_at_least: Duration) {
    let started = Instant::now();
    loop {
        let call = Instant::now();
        let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
        assert_eq!(r.status(), 200);
        // Generous: a loaded 2-core machine, a debug build.
        assert!(
            call.elapsed() < Duration::from_secs(2),
            "a call took {:?} while a huge line came in",
            call.elapsed()
        );
        if started.elapsed() >= for_at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The idle timeout (the provider's `timeout_ms` without an event) fires on time while the
/// bytes of a line that never ends keep coming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_acts_during_a_huge_line() {
    let h = Harness::start(Options {
        provider_extra: "max_event_bytes = 67108864",
        timeout_ms: 500,
        ..Options::default()
    })
    .await;
    h.set_scenario(&huge_line(2, 48 * MIB)).await;
    let started = Instant::now();
    let r = h.chat(stream()).await;
    let id = call_id(&r);
    let events = sse_data(&r.text().await.unwrap());
    let elapsed = started.elapsed();
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("sent nothing for 0.5s mid-stream")),
        "{last}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "the 0.5 s idle timeout fired after {elapsed:?}"
    );
    let (call, _) = h.record(&id).await;
    assert_eq!(call.error_class.map(|c| c.as_str()), Some("timeout"));
}
