//! The value ledger (migration 23): entries kept as they were written, read back by window.

use crate::{Store, ValueEntryRecord};

pub(super) async fn value_ledger_round_trip(store: &dyn Store) {
    let entry = |id: &str, at: i64, prompt: &str| ValueEntryRecord {
        id: id.into(),
        created_ms: at,
        gate_id: format!("evg_{id}"),
        prompt: prompt.into(),
        dataset: "billing".into(),
        dataset_version: "cd".repeat(32),
        decision: "fail".into(),
        entry: r#"{"failures_avoided": 12.5, "note": "é \"quoted\""}"#.into(),
        actor: "ana".into(),
    };
    let (a, b, c) = (
        entry("vl_1", 1_000, "support-bot"),
        entry("vl_2", 2_000, ""),
        entry("vl_3", 3_000, "billing-bot"),
    );
    // Out of order: the read orders by time.
    for e in [&c, &a, &b] {
        store.insert_value_entry(e).await.expect("insert entry");
    }
    assert!(
        store.insert_value_entry(&a).await.is_err(),
        "an id is stored once"
    );
    let all = store.value_entries(0, i64::MAX).await.expect("entries");
    assert_eq!(all, vec![a.clone(), b.clone(), c]);
    let window = store.value_entries(1_000, 3_000).await.expect("window");
    assert_eq!(window, vec![a, b], "since inclusive, until exclusive");
}
