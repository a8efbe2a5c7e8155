//! The reliability report over time: calls and attempts grouped by time bucket.

use super::{sample_attempt, sample_call, sole_attempt};
use crate::{Store, Tenants};
use seam_vocab::{CallErrorClass, Outcome, RefusalCode};

/// Runs after every other check: its calls (tenants `bkt`, `bkt-other`, from 45,000,000 ms)
/// are later than any that a time window above reads.
pub async fn reliability_over_time(store: &dyn Store) {
    let t0 = 45_000_000;
    // Bucket t0 (1 s wide): a call retried to success, one failed twice with its budget
    // spent, and one whose sole attempt is kept in its row; bucket t0 + 2 s: a refusal.
    let retried = sample_call("call_bkt_1", t0 + 10, "bkt");
    let mut failed = sample_call("call_bkt_2", t0 + 20, "bkt");
    failed.outcome = Outcome::Error;
    failed.budget_exhausted = true;
    let mut sole = sample_call("call_bkt_3", t0 + 30, "bkt");
    let sole_a = sole_attempt(&mut sole, false);
    let mut refused = sample_call("call_bkt_4", t0 + 2_500, "bkt");
    refused.outcome = Outcome::Refused;
    refused.status = 429;
    refused.error_class = Some(CallErrorClass::Refused(RefusalCode::TenantCostLimit));
    refused.attempts = 0;
    refused.provider = None;
    let other = sample_call("call_bkt_5", t0 + 40, "bkt-other");
    let attempts = vec![
        sample_attempt(&retried, 1, false),
        sample_attempt(&retried, 2, true),
        sample_attempt(&failed, 1, false),
        sample_attempt(&failed, 2, false),
        sole_a,
        sample_attempt(&other, 1, false),
    ];
    store
        .insert_records(&[retried, failed, sole, refused, other], &attempts, &[])
        .await
        .expect("insert");
    let only = Tenants::Only(vec!["bkt".into()]);
    let b = store
        .reliability_buckets_in(t0, 1_000, &only)
        .await
        .expect("buckets");
    assert_eq!(b.bucket_ms, 1_000);
    let starts: Vec<i64> = b.calls.iter().map(|c| c.start_ms).collect();
    assert!(
        starts.iter().all(|s| *s == t0 || *s == t0 + 2_000),
        "{starts:?}"
    );
    let in_first: i64 = b
        .calls
        .iter()
        .filter(|c| c.start_ms == t0)
        .map(|c| c.calls)
        .sum();
    assert_eq!(in_first, 3, "the other tenant's call is not read");
    assert_eq!(
        b.refusals_by_code().into_iter().collect::<Vec<_>>(),
        vec![("tenant_cost_limit".to_string(), 1)]
    );
    let refusal = b
        .calls
        .iter()
        .find(|c| c.outcome == "refused")
        .expect("refusal");
    assert_eq!(
        (refusal.start_ms, refusal.provider.as_str()),
        (t0 + 2_000, "")
    );
    // Attempts: 5, in their calls' bucket, the sole one read from its call's row.
    assert!(b.attempts.iter().all(|a| a.start_ms == t0));
    assert_eq!(b.attempts.iter().map(|a| a.group.attempts).sum::<i64>(), 5);
    let t = b.over_time();
    let first = &t[&t0][0];
    assert_eq!((first.route.as_str(), first.calls_dispatched), ("chat", 3));
    assert!((first.first_attempt_error_rate - 2.0 / 3.0).abs() < 1e-9);
    assert!((first.final_error_rate - 1.0 / 3.0).abs() < 1e-9);
    assert!((first.retry_amplification - 5.0 / 3.0).abs() < 1e-9);
    assert_eq!(first.budget_refusals, 1);
    let later = &t[&(t0 + 2_000)][0];
    assert_eq!(
        (later.calls_dispatched, later.calls_by_outcome["refused"]),
        (0, 1)
    );
    // The buckets sum to what the whole window's report says.
    let (calls, groups) = store.reliability_in(t0, &only).await.expect("reliability");
    assert_eq!(b.total(), crate::reliability::report(&calls, &groups));
    // Both tenants, in minute buckets: the other one's call too; no tenant: nothing.
    let both = Tenants::Only(vec!["bkt".into(), "bkt-other".into()]);
    let all = store
        .reliability_buckets_in(t0, 60_000, &both)
        .await
        .expect("all");
    assert_eq!(all.calls.iter().map(|c| c.calls).sum::<i64>(), 5);
    assert!(
        all.calls.iter().all(|c| c.start_ms == t0),
        "{:?}",
        all.calls
    );
    let none = store
        .reliability_buckets_in(t0, 1_000, &Tenants::Only(Vec::new()))
        .await
        .expect("none");
    assert!(none.calls.is_empty() && none.attempts.is_empty());
    assert!(store.reliability_buckets_in(t0, 0, &only).await.is_err());
}
