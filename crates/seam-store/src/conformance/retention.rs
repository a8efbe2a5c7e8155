//! Retention: one lease holder at a time, and expired records deleted in bounded batches with
//! everything recorded of them. Run on a store of its own: it deletes every call older than
//! its cutoffs.

use super::{sample_attempt, sample_call, sample_stream};
use crate::{CallRecord, ContentRecord, Deleted, Expiry, RecordBatch, Store};

pub async fn leases_one_holder_at_a_time(store: &dyn Store) {
    let (ttl, t0) = (60_000, 1_000_000);
    let take = |holder: &'static str, at: i64| store.take_lease("retention", holder, at, ttl);
    assert!(
        take("gw_a", t0).await.expect("take"),
        "a free lease is taken"
    );
    assert!(!take("gw_b", t0 + 1).await.expect("take"), "held by gw_a");
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
        "an expired lease is taken by another"
    );
    assert!(
        !take("gw_a", t0 + 90_001).await.expect("take"),
        "gw_b has it now"
    );
    store
        .release_lease("retention", "gw_a")
        .await
        .expect("release");
    assert!(
        !take("gw_a", t0 + 90_002).await.expect("take"),
        "only its holder gives a lease up"
    );
    store
        .release_lease("retention", "gw_b")
        .await
        .expect("release");
    assert!(
        take("gw_a", t0 + 90_003).await.expect("take"),
        "a lease given up is free at once"
    );
    assert!(
        store
            .take_lease("other chore", "gw_b", t0, ttl)
            .await
            .expect("take"),
        "each name is a lease of its own"
    );
    // Takers at the same moment (concurrently on a backend with a pool): one gets it.
    let race = |holder: &'static str| store.take_lease("race", holder, t0, ttl);
    let (a, b, c, d) = tokio::join!(race("gw_1"), race("gw_2"), race("gw_3"), race("gw_4"));
    let won: Vec<bool> = [a, b, c, d].into_iter().map(|r| r.expect("take")).collect();
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
}

/// Captured content for `call` (a body of three bytes).
pub(super) fn content(call: &CallRecord) -> ContentRecord {
    ContentRecord {
        call_id: call.id.clone(),
        created_ms: call.created_ms,
        format: ContentRecord::FORMAT,
        bytes: 3,
        truncated: false,
        redactions: 0,
        body: vec![0, 1, 2],
    }
}

/// Deletes `what` before `before_ms` in batches of `limit`, as the retention task does; the
/// batches' counts.
async fn drain(store: &dyn Store, what: Expiry, before_ms: i64, limit: i64) -> Vec<Deleted> {
    let mut batches = Vec::new();
    loop {
        let d = store
            .delete_expired(what, before_ms, limit)
            .await
            .expect("delete expired");
        batches.push(d);
        if d.picked(what) < limit as u64 {
            return batches;
        }
        assert!(batches.len() < 100, "deleting never ends: {batches:?}");
    }
}

fn sum(batches: &[Deleted]) -> Deleted {
    let mut all = Deleted::default();
    for b in batches {
        all.add(*b);
    }
    all
}

pub async fn expired_records_go_in_batches(store: &dyn Store) {
    let cutoff = 90_000_000;
    // Seven calls before the cutoff (every other one retried: two attempts rows), three after.
    let mut calls: Vec<CallRecord> = (0..7)
        .map(|i| {
            sample_call(
                &format!("call_ret_old_{i}"),
                80_000_000 + i * 1_000_000,
                "ret",
            )
        })
        .collect();
    // The last old call's retry started after the cutoff: it goes with its call all the same.
    calls[6].created_ms = cutoff - 10;
    calls.extend((0..3).map(|i| sample_call(&format!("call_ret_new_{i}"), cutoff + i, "ret")));
    let mut attempts = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        attempts.push(sample_attempt(c, 1, i % 2 == 0));
        if i % 2 == 0 {
            let mut second = sample_attempt(c, 2, true);
            second.created_ms = c.created_ms + 20;
            attempts.push(second);
        }
    }
    store
        .insert_batch(&RecordBatch {
            calls: calls.clone(),
            attempts: attempts.clone(),
            streams: calls.iter().map(sample_stream).collect(),
            contents: calls.iter().map(content).collect(),
        })
        .await
        .expect("insert");
    let old = &calls[..7];
    let new = &calls[7..];
    let attempts_of = |cs: &[CallRecord]| {
        attempts
            .iter()
            .filter(|a| cs.iter().any(|c| c.id == a.call_id))
            .count() as u64
    };

    // Content expires on a cutoff of its own, in batches; the calls stay.
    let batches = drain(store, Expiry::Contents, 85_000_000, 2).await;
    assert_eq!(
        batches.iter().map(|b| b.contents).collect::<Vec<_>>(),
        [2, 2, 1],
        "the five contents before 85,000,000, two at a time"
    );
    assert_eq!(
        sum(&batches),
        Deleted {
            contents: 5,
            ..Deleted::default()
        }
    );
    for (i, c) in old.iter().enumerate() {
        let kept = store.get_content(&c.id).await.expect("content");
        assert_eq!(kept.is_some(), i >= 5, "{}", c.id);
        assert!(
            store.get_call(&c.id).await.expect("call").is_some(),
            "{}",
            c.id
        );
    }

    // Nothing is held in partitions here: made ahead of now, none has expired by 1970.
    let dropped = store
        .drop_expired_partitions(Expiry::Records, cutoff)
        .await
        .expect("drop partitions");
    assert!(dropped.partitions.is_empty(), "{dropped:?}");

    // Then the records, at most three calls a batch, each with everything recorded of it.
    let batches = drain(store, Expiry::Records, cutoff, 3).await;
    assert_eq!(
        batches.iter().map(|b| b.calls).collect::<Vec<_>>(),
        [3, 3, 1]
    );
    assert_eq!(
        sum(&batches),
        Deleted {
            calls: 7,
            attempts: attempts_of(old),
            streams: 7,
            contents: 2,
            ..Deleted::default()
        }
    );
    for c in old {
        assert_eq!(store.get_call(&c.id).await.expect("call"), None);
        assert_eq!(store.get_stream(&c.id).await.expect("stream"), None);
        assert_eq!(store.get_content(&c.id).await.expect("content"), None);
    }
    for c in new {
        let (call, tries) = store.get_call(&c.id).await.expect("call").expect("kept");
        assert_eq!(&call, c);
        assert_eq!(tries.len() as u64, attempts_of(std::slice::from_ref(c)));
        assert!(store.get_stream(&c.id).await.expect("stream").is_some());
        assert!(store.get_content(&c.id).await.expect("content").is_some());
    }
    // The hourly rollups go with them: the hours wholly before the cutoff (it is on an hour).
    let only = crate::Tenants::Only(vec!["ret".into()]);
    let hours = store.hours_in(0, &only).await.expect("hours");
    assert_eq!(
        hours
            .calls
            .iter()
            .map(|h| (h.hour_ms, h.calls))
            .collect::<Vec<_>>(),
        [(cutoff, 3)],
        "only the new calls' hour is left"
    );
    assert!(hours.attempts.iter().all(|h| h.hour_ms == cutoff));
    let trace = c_trace(store, &new[0]).await;
    assert_eq!(
        trace,
        new.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        "the trace keeps its newer calls"
    );
    assert_eq!(
        store
            .delete_expired(Expiry::Records, cutoff, 3)
            .await
            .expect("again"),
        Deleted::default(),
        "nothing is left to delete"
    );
}

async fn c_trace(store: &dyn Store, call: &CallRecord) -> Vec<String> {
    let trace = call.trace_id.clone().unwrap_or_default();
    let (calls, _) = store.trace(&trace).await.expect("trace");
    calls.into_iter().map(|c| c.id).collect()
}
