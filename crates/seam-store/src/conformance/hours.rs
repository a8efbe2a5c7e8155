//! The hourly rollups (migration 22) sum exactly what the records hold, however the calls
//! came in: one batch, inline or separate attempts, a batch written twice.

use super::{sample_attempt, sample_call, sole_attempt};
use crate::{HOUR_MS, RecordBatch, Store, Tenants};
use seam_vocab::Purpose;

pub async fn hours_sum_the_calls(store: &dyn Store) {
    let h0 = 400 * HOUR_MS;
    let only = Tenants::Only(vec!["hrs".into(), "hrs2".into()]);
    // Hour 0: a call retried (two attempt rows), a sole attempt that failed (kept in the call's
    // row), an eval call, a call of another tenant, one without a key; hour 1: one call.
    let retried = sample_call("call_hrs_1", h0 + 10, "hrs");
    let mut failed = sample_call("call_hrs_2", h0 + 20, "hrs");
    let sole = sole_attempt(&mut failed, true);
    let mut eval = sample_call("call_hrs_3", h0 + 30, "hrs");
    eval.purpose = Purpose::Eval;
    // Another tenant's call, a canary replay's: a purpose of its own in the rollups.
    let mut other = sample_call("call_hrs_4", h0 + 40, "hrs2");
    other.purpose = Purpose::Canary;
    let mut keyless = sample_call("call_hrs_5", h0 + HOUR_MS - 1, "hrs");
    keyless.key_id = None;
    keyless.budget_exhausted = true;
    let later = sample_call("call_hrs_6", h0 + HOUR_MS, "hrs");
    let mut calls = vec![retried.clone(), failed, eval, other, keyless, later.clone()];
    // Each its own trace, so the trace listings of other checks do not see them.
    for c in &mut calls {
        c.trace_id = Some(c.id.clone());
    }
    let mut attempts = vec![
        sample_attempt(&retried, 1, false),
        sample_attempt(&retried, 2, true),
        sole,
        sample_attempt(&later, 1, true),
    ];
    // A retry that started in the next hour still counts in its call's hour.
    attempts[1].created_ms = h0 + HOUR_MS + 5;
    let batch = RecordBatch {
        calls: calls.clone(),
        attempts,
        streams: Vec::new(),
        contents: Vec::new(),
    };
    store.insert_batch(&batch).await.expect("insert");
    // Written again (a spool replayed after a lost acknowledgement): nothing counts twice.
    store.insert_batch(&batch).await.expect("insert again");

    let hours = store.hours_in(h0 + 5, &only).await.expect("hours");
    let calls_in = |hour: i64| -> i64 {
        hours
            .calls
            .iter()
            .filter(|h| h.hour_ms == hour)
            .map(|h| h.calls)
            .sum()
    };
    assert_eq!((calls_in(h0), calls_in(h0 + HOUR_MS)), (5, 1));
    let eval_rows: Vec<_> = hours.calls.iter().filter(|h| h.purpose == "eval").collect();
    assert_eq!(eval_rows.len(), 1);
    assert_eq!(eval_rows[0].calls, 1);
    let canary_rows: Vec<_> = hours
        .calls
        .iter()
        .filter(|h| h.purpose == "canary")
        .collect();
    assert_eq!(
        canary_rows
            .iter()
            .map(|h| h.tenant.as_str())
            .collect::<Vec<_>>(),
        ["hrs2"]
    );
    assert!(
        hours
            .calls
            .iter()
            .any(|h| h.key_id.is_empty() && h.budget_exhausted == 1)
    );
    let tokens: i64 = hours
        .calls
        .iter()
        .map(|h| h.input_tokens + h.output_tokens)
        .sum();
    let want: i64 = calls.iter().map(|c| c.input_tokens + c.output_tokens).sum();
    assert_eq!(tokens, want);

    // The reliability report from the rollups is the one from the calls of the same hours.
    for (since, hour) in [(h0, h0), (h0 + HOUR_MS, h0 + HOUR_MS)] {
        let (mut calls, mut attempts) = hours.groups(|h| h >= hour);
        let (mut raw_calls, mut raw_attempts) =
            store.reliability_in(since, &only).await.expect("raw");
        let by_key = |g: &crate::AttemptGroup| {
            (
                g.route.clone(),
                g.provider.clone(),
                g.outcome.clone(),
                g.error_class.clone(),
            )
        };
        attempts.sort_by_key(by_key);
        raw_attempts.sort_by_key(by_key);
        calls.sort_by_key(|g| (g.route.clone(), g.outcome.clone()));
        raw_calls.sort_by_key(|g| (g.route.clone(), g.outcome.clone()));
        assert_eq!(calls.len(), raw_calls.len());
        for (a, b) in calls.iter().zip(&raw_calls) {
            assert_eq!(
                (
                    &a.route,
                    &a.outcome,
                    a.calls,
                    a.dispatched,
                    a.attempts,
                    a.budget_exhausted
                ),
                (
                    &b.route,
                    &b.outcome,
                    b.calls,
                    b.dispatched,
                    b.attempts,
                    b.budget_exhausted
                )
            );
            assert!((a.cost_usd - b.cost_usd).abs() < 1e-12);
        }
        assert_eq!(attempts.len(), raw_attempts.len());
        for (a, b) in attempts.iter().zip(&raw_attempts) {
            assert_eq!(by_key(a), by_key(b));
            assert_eq!(
                (a.attempts, a.first_attempts),
                (b.attempts, b.first_attempts)
            );
            assert!((a.cost_usd - b.cost_usd).abs() < 1e-12);
        }
    }
    let (_, attempts) = hours.groups(|h| h == h0);
    let first_failed: i64 = attempts
        .iter()
        .filter(|g| g.outcome == "error")
        .map(|g| g.first_attempts)
        .sum();
    assert_eq!(
        first_failed, 2,
        "the retried call's and the failed sole attempt"
    );

    // Buckets of whole hours are read from the rollups: the same report as from the calls.
    let rolled = store
        .reliability_buckets_in(h0 + 5, HOUR_MS, &only)
        .await
        .expect("hour buckets");
    let (raw_calls, raw_attempts) = store.reliability_in(h0, &only).await.expect("raw");
    assert_eq!(
        rolled.total(),
        crate::reliability::report(&raw_calls, &raw_attempts)
    );
    assert_eq!(
        rolled.over_time().keys().copied().collect::<Vec<_>>(),
        [h0, h0 + HOUR_MS]
    );

    // Usage by tenant and by route, and the limits' spend, from the rollups: as from the calls.
    for by in [crate::UsageBy::Tenant, crate::UsageBy::Route] {
        let rolled = hours.usage(by).expect("by tenant and route");
        let raw = store.usage_in(by, h0, &only).await.expect("usage");
        assert_eq!(rolled.len(), raw.len(), "{by:?}");
        for (a, b) in rolled.iter().zip(&raw) {
            let mut a = a.clone();
            assert!((a.cost_usd - b.cost_usd).abs() < 1e-12);
            a.cost_usd = b.cost_usd;
            assert_eq!(&a, b);
        }
    }
    assert!(hours.usage(crate::UsageBy::Trace).is_none());
    let starts = [h0, h0 + HOUR_MS];
    let by_window = |r: &crate::SpendRow| (r.since_ms, r.tenant.clone(), r.key_id.clone());
    let mut rolled = hours.spend(&starts);
    rolled.sort_by_key(by_window);
    let raw = store
        .spend(&crate::SpendQuery {
            window_starts: starts.to_vec(),
            until_ms: h0 + 2 * HOUR_MS,
            traces_since_ms: h0 + 2 * HOUR_MS,
        })
        .await
        .expect("spend");
    let mut raw: Vec<_> = raw
        .windows
        .into_iter()
        .filter(|r| r.tenant.starts_with("hrs"))
        .collect();
    raw.sort_by_key(by_window);
    assert_eq!(rolled.len(), raw.len());
    for (a, b) in rolled.iter().zip(&raw) {
        let mut a = a.clone();
        assert!((a.cost_usd - b.cost_usd).abs() < 1e-12);
        assert!((a.eval_cost_usd - b.eval_cost_usd).abs() < 1e-12);
        assert!((a.canary_cost_usd - b.canary_cost_usd).abs() < 1e-12);
        (a.cost_usd, a.eval_cost_usd, a.canary_cost_usd) =
            (b.cost_usd, b.eval_cost_usd, b.canary_cost_usd);
        assert_eq!(&a, b);
    }

    // A reader of one tenant sees only its rows.
    let one = store
        .hours_in(h0, &Tenants::Only(vec!["hrs2".into()]))
        .await
        .expect("hours");
    assert!(one.calls.iter().all(|h| h.tenant == "hrs2") && one.calls.len() == 1);
}
