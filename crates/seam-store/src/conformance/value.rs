//! The value ledger (migration 23): entries kept as they were written, read back by window.

use crate::{RecordBatch, Store, ValueEntryRecord};

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

pub(super) async fn live_calls_of_a_release_are_counted(store: &dyn Store) {
    let call = |id: &str, at: i64, release: Option<&str>, purpose: seam_vocab::Purpose| {
        let mut c = super::sample_call(id, at, "acme");
        c.release_id = release.map(str::to_string);
        c.purpose = purpose;
        c
    };
    use seam_vocab::Purpose::{Eval, Live};
    let calls = vec![
        call("call_vl_1", 10_000, Some("rel_vl"), Live),
        call("call_vl_2", 10_500, Some("rel_vl"), Live),
        call("call_vl_3", 10_600, Some("rel_vl"), Eval),
        call("call_vl_4", 10_700, Some("rel_other"), Live),
        call("call_vl_5", 10_800, None, Live),
        call("call_vl_6", 20_000, Some("rel_vl"), Live),
    ];
    let attempts = calls
        .iter()
        .map(|c| super::sample_attempt(c, 1, true))
        .collect();
    store
        .insert_batch(&RecordBatch {
            calls,
            attempts,
            streams: Vec::new(),
            contents: Vec::new(),
        })
        .await
        .expect("insert calls");
    let count = |since, until| store.live_calls_of_release("rel_vl", since, until);
    assert_eq!(
        count(10_000, 20_000).await.expect("count"),
        2,
        "eval traffic and the window's end left out"
    );
    assert_eq!(count(0, 20_001).await.expect("count"), 3);
    assert_eq!(
        store
            .live_calls_of_release("rel_none", 0, i64::MAX)
            .await
            .expect("count"),
        0
    );
}
