//! A provider moving an alias under Seam is an event, once.

use crate::harness::{Harness, Options, hello};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn an_alias_move_raises_exactly_one_served_model_changed_event() {
    let h = Harness::start(Options {
        scenario: "[model]\nserved = \"sim-large-2026-01\"\nfingerprint = \"fp_a\"\nchanges = [{ after_requests = 3, served = \"sim-large-2026-02\", fingerprint = \"fp_b\" }]\n",
        ..Options::default()
    })
    .await;
    for _ in 0..6 {
        assert_eq!(
            h.chat(json!({"model": "chat", "messages": hello()}))
                .await
                .status(),
            200
        );
    }
    // A stream served by the new snapshot is nothing new.
    let r = h
        .chat(json!({"model": "chat", "messages": hello(), "stream": true}))
        .await;
    assert_eq!(r.headers()["x-seam-served-model"], "sim-large-2026-02");
    let _ = r.text().await;
    use seam_store::Events;
    for _ in 0..100 {
        if !h.store.list_events(0, 10).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Give a second (wrong) event the time to show up too.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let events = h.store.list_events(0, 10).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.kind.as_str(), "served_model_changed");
    assert_eq!(e.provider.as_deref(), Some("up"));
    let d: Value = serde_json::from_str(&e.details).unwrap();
    assert_eq!(d["requested_model"], "sim-large-2026-01");
    assert_eq!(
        d["before"],
        json!({"model": "sim-large-2026-01", "system_fingerprint": "fp_a"})
    );
    assert_eq!(
        d["after"],
        json!({"model": "sim-large-2026-02", "system_fingerprint": "fp_b"})
    );
    assert_eq!(d["actor"], "provider");
    assert!(d["first_call_id"].as_str().unwrap().starts_with("call_"));
    let served = h.store.list_served().await.unwrap();
    assert_eq!(served.len(), 2, "both snapshots are remembered: {served:?}");
    assert!(
        h.metrics()
            .await
            .contains("seam_events_total{reason=\"served_model_changed\"} 1")
    );
}

#[tokio::test]
async fn a_new_fingerprint_on_the_same_model_is_a_fingerprint_change_not_a_model_change() {
    let h = Harness::start(Options {
        scenario: "[model]\nserved = \"sim-large-2026-01\"\nfingerprint = \"fp_a\"\nchanges = [{ after_requests = 2, served = \"sim-large-2026-01\", fingerprint = \"fp_b\" }]\n",
        ..Options::default()
    })
    .await;
    for _ in 0..4 {
        let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
        assert_eq!(r.status(), 200);
    }
    use seam_store::Events;
    for _ in 0..100 {
        if !h.store.list_events(0, 10).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let events = h.store.list_events(0, 10).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.kind.as_str(), "fingerprint_changed");
    let d: Value = serde_json::from_str(&e.details).unwrap();
    assert_eq!(
        (&d["before"], &d["after"]),
        (
            &json!({"model": "sim-large-2026-01", "system_fingerprint": "fp_a"}),
            &json!({"model": "sim-large-2026-01", "system_fingerprint": "fp_b"})
        )
    );
    assert!(e.message.contains("fingerprint fp_b"), "{}", e.message);
    let metrics = h.metrics().await;
    assert!(
        metrics.contains("seam_events_total{reason=\"fingerprint_changed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("seam_events_total{reason=\"served_model_changed\"} 0"),
        "the served model did not change: {metrics}"
    );
}
