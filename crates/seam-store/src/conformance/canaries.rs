//! Canary runs (migration 24): read back newest first, the newest of each golden, the last
//! pass; and the lease that lets one gateway of several run a scheduled replay.

use crate::{CanaryRunRecord, Store};
use seam_vocab::{CanaryTrigger, CanaryVerdict};

fn run(id: &str, golden: &str, started_ms: i64, verdict: CanaryVerdict) -> CanaryRunRecord {
    CanaryRunRecord {
        id: id.into(),
        golden: golden.into(),
        started_ms,
        finished_ms: Some(started_ms + 900),
        verdict,
        trigger: CanaryTrigger::Schedule,
        release_id: Some("rel_abc".into()),
        served_model: Some("sim-large-2026-01".into()),
        golden_version: "ab".repeat(32),
        detail: r#"{"changes": ["deploy"], "note": "é \"quoted\""}"#.into(),
    }
}

pub(super) async fn canary_runs_round_trip(store: &dyn Store) {
    use CanaryVerdict::{Error, Fail, Flaky, Pass};
    let a1 = run("cnr_a1", "refund-demo", 1_000, Pass);
    let mut a2 = run("cnr_a2", "refund-demo", 2_000, Fail);
    a2.trigger = CanaryTrigger::ServedModelChanged;
    let mut a3 = run("cnr_a3", "refund-demo", 3_000, Flaky);
    // Still running: no end, and a plain route's run names no release or served model.
    (a3.finished_ms, a3.release_id, a3.served_model) = (None, None, None);
    a3.trigger = CanaryTrigger::Manual;
    let b1 = run("cnr_b1", "billing", 1_500, Error);
    // Started in the same millisecond as b1: the id orders them.
    let mut b2 = run("cnr_b2", "billing", 1_500, Pass);
    b2.trigger = CanaryTrigger::Deploy;
    // Out of order: the reads order by start.
    for r in [&a2, &b2, &a3, &a1, &b1] {
        store.insert_canary_run(r).await.expect("insert run");
    }
    assert!(
        store.insert_canary_run(&a1).await.is_err(),
        "an id is stored once"
    );
    let of_a = store
        .canary_runs(Some("refund-demo"), 10)
        .await
        .expect("runs");
    assert_eq!(of_a, vec![a3.clone(), a2.clone(), a1.clone()]);
    let newest_two = store.canary_runs(None, 2).await.expect("runs");
    assert_eq!(
        newest_two,
        vec![a3.clone(), a2.clone()],
        "newest first, limited"
    );
    let every = store.canary_runs(None, 100).await.expect("runs");
    let ids: Vec<&str> = every.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["cnr_a3", "cnr_a2", "cnr_b2", "cnr_b1", "cnr_a1"]);
    assert!(
        store
            .canary_runs(Some("no-such-golden"), 10)
            .await
            .expect("runs")
            .is_empty()
    );
    assert_eq!(
        store.last_canary_runs().await.expect("last runs"),
        vec![b2.clone(), a3.clone()],
        "the newest of each golden, by golden"
    );
    assert_eq!(
        store.last_canary_pass("refund-demo").await.expect("pass"),
        Some(a1),
        "flaky and fail are no pass"
    );
    assert_eq!(
        store.last_canary_pass("billing").await.expect("pass"),
        Some(b2)
    );
    assert_eq!(
        store
            .last_canary_pass("no-such-golden")
            .await
            .expect("pass"),
        None
    );
}

pub(super) async fn canary_leases_take_one_holder(store: &dyn Store) {
    let (ttl, t0) = (60_000, 5_000_000);
    // Two gateways reaching the same schedule tick at once: exactly one runs it, every time.
    for tick in 0..5 {
        let name = format!("canary:tick-{tick}");
        let at = t0 + tick * ttl;
        let (a, b) = tokio::join!(
            store.try_lease(&name, "gw_a", at, ttl),
            store.try_lease(&name, "gw_b", at, ttl)
        );
        let (a, b) = (a.expect("lease"), b.expect("lease"));
        assert!(
            a ^ b,
            "tick {tick}: exactly one holder, got gw_a {a}, gw_b {b}"
        );
    }
    let take = |holder: &'static str, at: i64| store.try_lease("canary:demo", holder, at, ttl);
    assert!(
        take("gw_a", t0).await.expect("take"),
        "a free lease is taken"
    );
    assert!(
        !take("gw_b", t0 + 59_999).await.expect("take"),
        "held by gw_a"
    );
    assert!(
        take("gw_a", t0 + 30_000).await.expect("renew"),
        "its holder renews it"
    );
    assert!(
        !take("gw_b", t0 + 60_000).await.expect("take"),
        "renewed: held until t0 + 90 s"
    );
    assert!(
        take("gw_b", t0 + 90_000).await.expect("take"),
        "expired: another takes it"
    );
    assert!(
        !take("gw_a", t0 + 90_001).await.expect("take"),
        "gw_b has it now"
    );
    assert!(
        take("gw_b", t0 + 100_000).await.expect("renew"),
        "and renews it"
    );
}
