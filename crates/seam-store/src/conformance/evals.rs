//! Eval runs and results: round trip, idempotent results, status changes.

use crate::{EvalGateRecord, EvalResultRecord, EvalRunRecord, Store};
use seam_vocab::{EvalStatus, EvalVerdict};

fn result(run: &str, case: &str, repeat: i64, verdict: EvalVerdict) -> EvalResultRecord {
    EvalResultRecord {
        run_id: run.into(),
        case_id: case.into(),
        repeat_index: repeat,
        created_ms: 10 + repeat,
        verdict,
        score: (verdict != EvalVerdict::Error).then_some(0.5),
        reasons: r#"[{"type":"contains","outcome":"pass"}]"#.into(),
        call_id: (verdict != EvalVerdict::Error).then(|| format!("call_{case}_{repeat}")),
        latency_ms: Some(12),
        cost_usd: None,
        case_hash: (verdict != EvalVerdict::Error).then(|| format!("{case}-sha256")),
    }
}

pub async fn eval_runs_round_trip(store: &dyn Store) {
    let run = EvalRunRecord {
        id: "evr_1".into(),
        created_ms: 1_000,
        finished_ms: None,
        dataset: "billing".into(),
        dataset_version: "ab".repeat(32),
        target_kind: "route".into(),
        target: "chat".into(),
        served_models: vec![],
        repeats: 2,
        cases: 2,
        status: EvalStatus::Running,
        actor: "ana".into(),
    };
    store.insert_eval_run(&run).await.expect("insert run");
    assert!(
        store.insert_eval_run(&run).await.is_err(),
        "a run id is stored once"
    );
    let later = EvalRunRecord {
        id: "evr_2".into(),
        created_ms: 2_000,
        ..run.clone()
    };
    store.insert_eval_run(&later).await.expect("insert later");

    let first = vec![
        result("evr_1", "b", 0, EvalVerdict::Pass),
        result("evr_1", "a", 1, EvalVerdict::Fail),
        result("evr_1", "a", 0, EvalVerdict::Error),
    ];
    assert_eq!(store.insert_eval_results(&first).await.expect("insert"), 3);
    // A resumed run writes results again: a pass or fail stored stays, an error is replaced
    // by the new try.
    let again = vec![
        result("evr_1", "b", 0, EvalVerdict::Fail),
        result("evr_1", "b", 1, EvalVerdict::Pass),
    ];
    assert_eq!(store.insert_eval_results(&again).await.expect("again"), 1);
    let retried = vec![result("evr_1", "a", 0, EvalVerdict::Error)];
    assert_eq!(
        store
            .insert_eval_results(&retried)
            .await
            .expect("error again"),
        1
    );
    let recovered = vec![result("evr_1", "a", 0, EvalVerdict::Pass)];
    assert_eq!(
        store
            .insert_eval_results(&recovered)
            .await
            .expect("recovered"),
        1
    );
    assert_eq!(store.insert_eval_results(&[]).await.expect("none"), 0);

    let served = vec!["gpt-4o-2024-08-06".to_string()];
    assert!(
        store
            .set_eval_run_status("evr_1", EvalStatus::Complete, Some(5_000), &served)
            .await
            .expect("finish")
    );
    assert!(
        !store
            .set_eval_run_status("evr_missing", EvalStatus::Complete, None, &[])
            .await
            .expect("unknown")
    );

    let (back, results) = store
        .get_eval_run("evr_1")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        back,
        EvalRunRecord {
            finished_ms: Some(5_000),
            served_models: served,
            status: EvalStatus::Complete,
            ..run
        }
    );
    let keys: Vec<(&str, i64, EvalVerdict)> = results
        .iter()
        .map(|r| (r.case_id.as_str(), r.repeat_index, r.verdict))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("a", 0, EvalVerdict::Pass),
            ("a", 1, EvalVerdict::Fail),
            ("b", 0, EvalVerdict::Pass),
            ("b", 1, EvalVerdict::Pass),
        ]
    );
    assert_eq!(results[2], result("evr_1", "b", 0, EvalVerdict::Pass));
    assert_eq!(results[0], result("evr_1", "a", 0, EvalVerdict::Pass));
    assert_eq!(results[1].call_id.as_deref(), Some("call_a_1"));

    let ids: Vec<String> = store
        .list_eval_runs()
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec!["evr_2", "evr_1"], "newest first");
    assert!(store.get_eval_run("evr_none").await.expect("get").is_none());

    let gate = |id: &str, at: i64, cand: Option<&str>, decision: &str| EvalGateRecord {
        id: id.into(),
        created_ms: at,
        candidate_run: "evr_2".into(),
        baseline_run: "evr_1".into(),
        candidate_release: cand.map(str::to_string),
        baseline_release: Some("rel_b".into()),
        dataset: "billing".into(),
        dataset_version: "ab".repeat(32),
        decision: decision.into(),
        alpha: 0.05,
        margin: 0.02,
        actor: "ana".into(),
    };
    let (older, newer) = (
        gate("evg_1", 5, Some("rel_c"), "fail"),
        gate("evg_2", 6, Some("rel_c"), "pass"),
    );
    for g in [&older, &newer, &gate("evg_3", 7, None, "pass")] {
        store.insert_eval_gate(g).await.expect("insert gate");
    }
    let found = store
        .eval_gates_between("rel_c", "rel_b")
        .await
        .expect("gates");
    assert_eq!(
        found,
        vec![newer, older],
        "newest first, only these releases"
    );
    assert!(
        store
            .eval_gates_between("rel_b", "rel_c")
            .await
            .expect("gates")
            .is_empty()
    );
}
