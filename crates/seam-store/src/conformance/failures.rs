//! Silent failures (issue 29): the calls the detectors read, flags, failure counts, feedback,
//! and their retention.

use super::retention::content;
use super::samples::sample_call;
use crate::{
    CallRecord, CallWithContent, Deleted, Expiry, FailureBy, FailureCount, FeedbackRecord,
    FlagQuery, FlagRecord, RecordBatch, Store, Tenants,
};

/// A window of time no other check of the suite writes calls in.
const W0: i64 = 7_000_000_000;
const W1: i64 = W0 + 100;

fn call(id: &str, at: i64, tenant: &str, route: &str) -> CallRecord {
    let mut c = sample_call(id, at, tenant);
    c.route = route.into();
    c.request_hash = Some("9f86d081884c7d65".into());
    c
}

fn flag(c: &CallRecord, signal: &str, evidence: &str) -> FlagRecord {
    FlagRecord {
        call_id: c.id.clone(),
        signal: signal.into(),
        evidence: evidence.into(),
        created_ms: c.created_ms,
        tenant: c.tenant.clone(),
        route: c.route.clone(),
        release_id: c.release_id.clone(),
        session_id: c.session_id.clone(),
        trace_id: c.trace_id.clone(),
    }
}

fn feedback(
    id: &str,
    at: i64,
    tenant: &str,
    call: Option<&str>,
    trace: Option<&str>,
) -> FeedbackRecord {
    FeedbackRecord {
        id: id.into(),
        created_ms: at,
        tenant: tenant.into(),
        key_id: Some("key_1".into()),
        call_id: call.map(Into::into),
        trace_id: trace.map(Into::into),
        score: -1.0,
        comment: Some("it answered in French".into()),
    }
}

/// The window's calls: three live of tenant `fa` (one with content, one from a release, one
/// with no request hash), one live of `fb` on another route and trace, one eval call, and
/// one live call just after the window.
fn window_calls() -> Vec<CallRecord> {
    let c1 = call("call_fa_1", W0 + 1, "fa", "chat");
    let mut c2 = call("call_fa_2", W0 + 1, "fa", "chat");
    c2.release_id = Some("rel_1".into());
    let mut c3 = call("call_fa_3", W0 + 2, "fa", "chat");
    c3.request_hash = None;
    let mut c4 = call("call_fb_4", W0 + 3, "fb", "search");
    c4.trace_id = Some("trace_fb_only".into());
    let mut eval = call("call_fa_eval", W0 + 2, "fa", "chat");
    eval.purpose = seam_vocab::Purpose::Eval;
    let late = call("call_fa_late", W1, "fa", "chat");
    vec![c1, c2, c3, c4, eval, late]
}

/// Every check of this file but retention's, in order (they build on each other's rows).
pub async fn failures_round_trip(store: &dyn Store) {
    let calls = window_calls();
    store
        .insert_batch(&RecordBatch {
            calls: calls.clone(),
            attempts: Vec::new(),
            streams: Vec::new(),
            contents: vec![content(&calls[1])],
        })
        .await
        .expect("insert");
    signal_calls_page_with_content(store, &calls).await;
    flags_upsert_and_list(store, &calls).await;
    failure_counts_by_each_grouping(store).await;
    feedback_only_for_own_calls(store).await;
}

async fn signal_calls_page_with_content(store: &dyn Store, calls: &[CallRecord]) {
    let ids = |page: &[CallWithContent]| page.iter().map(|c| c.call.id.clone()).collect::<Vec<_>>();
    let first = store.signal_calls(W0, W1, None, 2).await.expect("page 1");
    assert_eq!(ids(&first), ["call_fa_1", "call_fa_2"]);
    // Whole records back, the request hash included (and its absence).
    assert_eq!(first[0].call, calls[0]);
    assert_eq!(first[0].content, None);
    assert_eq!(
        first[1].content,
        Some(content(&calls[1])),
        "the content joined"
    );
    let after = Some((W0 + 1, "call_fa_2".to_string()));
    let second = store.signal_calls(W0, W1, after, 2).await.expect("page 2");
    assert_eq!(
        ids(&second),
        ["call_fa_3", "call_fb_4"],
        "eval calls are left out"
    );
    assert_eq!(second[0].call.request_hash, None);
    assert_eq!(second[0].call, calls[2]);
    let after = Some((W0 + 3, "call_fb_4".to_string()));
    let third = store.signal_calls(W0, W1, after, 2).await.expect("page 3");
    assert!(
        third.is_empty(),
        "the window ends before {W1}: {:?}",
        ids(&third)
    );
    let (got, _) = store
        .get_call("call_fa_1")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got.request_hash.as_deref(), Some("9f86d081884c7d65"));
}

async fn flags_upsert_and_list(store: &dyn Store, calls: &[CallRecord]) {
    let (c1, c4, eval) = (&calls[0], &calls[3], &calls[4]);
    let flags = [
        flag(c1, "empty_answer", r#"{"chars":0}"#),
        flag(c1, "refusal", r#"{"score":0.5}"#),
        flag(c4, "refusal", r#"{"score":0.9}"#),
        flag(eval, "refusal", r#"{"score":0.9}"#),
    ];
    assert_eq!(store.upsert_flags(&flags).await.expect("upsert"), 4);
    let again = flag(c1, "refusal", r#"{"score":0.7}"#);
    assert_eq!(
        store
            .upsert_flags(std::slice::from_ref(&again))
            .await
            .expect("again"),
        1
    );
    assert_eq!(store.upsert_flags(&[]).await.expect("none"), 0);

    let q = |signal: Option<&str>, route: Option<&str>, since: i64, limit: i64| FlagQuery {
        since_ms: since,
        until_ms: W1,
        signal: signal.map(Into::into),
        route: route.map(Into::into),
        limit,
    };
    let keys = |fs: Vec<FlagRecord>| {
        fs.into_iter()
            .map(|f| format!("{}/{}", f.call_id, f.signal))
            .collect::<Vec<_>>()
    };
    let listed = store
        .list_flags_in(&q(None, None, W0, 0), &Tenants::All)
        .await
        .expect("list");
    assert_eq!(listed.len(), 4, "one row per call and signal: {listed:?}");
    assert_eq!(
        listed[0],
        flag(c4, "refusal", r#"{"score":0.9}"#),
        "newest first"
    );
    assert_eq!(listed[3], again, "the evidence replaced");
    let fa = Tenants::Only(vec!["fa".into()]);
    let fb = Tenants::Only(vec!["fb".into()]);
    let listed = |q: FlagQuery, t: Tenants| async move {
        keys(store.list_flags_in(&q, &t).await.expect("list"))
    };
    assert_eq!(
        listed(q(None, None, W0, 0), fb.clone()).await,
        ["call_fb_4/refusal"]
    );
    assert!(
        listed(q(None, None, W0, 0), Tenants::Only(vec![]))
            .await
            .is_empty()
    );
    assert_eq!(
        listed(q(Some("refusal"), None, W0, 0), fa.clone()).await,
        ["call_fa_eval/refusal", "call_fa_1/refusal"]
    );
    assert_eq!(
        listed(q(None, Some("search"), W0, 0), Tenants::All).await,
        ["call_fb_4/refusal"]
    );
    assert_eq!(
        listed(q(None, None, W0, 1), Tenants::All).await,
        ["call_fb_4/refusal"]
    );
    assert_eq!(
        listed(q(None, None, W0 + 2, 0), fa).await,
        ["call_fa_eval/refusal"],
        "since is inclusive"
    );
}

async fn failure_counts_by_each_grouping(store: &dyn Store) {
    let count = |group: &str, signal: &str, flagged| FailureCount {
        group: group.into(),
        signal: signal.into(),
        flagged,
    };
    let pairs = |v: &[(&str, i64)]| {
        v.iter()
            .map(|(g, n)| (g.to_string(), *n))
            .collect::<Vec<_>>()
    };
    let counts = |by, t: Tenants| async move {
        store
            .failure_counts_in(W0, W1, by, &t)
            .await
            .expect("counts")
    };
    // Four live calls in the window; the eval call's flag counts nowhere.
    let c = counts(FailureBy::Route, Tenants::All).await;
    assert_eq!(c.calls, pairs(&[("chat", 3), ("search", 1)]));
    assert_eq!(
        c.flagged,
        [
            count("chat", "empty_answer", 1),
            count("chat", "refusal", 1),
            count("search", "refusal", 1)
        ]
    );
    let c = counts(FailureBy::Release, Tenants::All).await;
    assert_eq!(c.calls, pairs(&[("-", 3), ("rel_1", 1)]));
    assert_eq!(
        c.flagged,
        [count("-", "empty_answer", 1), count("-", "refusal", 2)]
    );
    let c = counts(FailureBy::Tenant, Tenants::All).await;
    assert_eq!(c.calls, pairs(&[("fa", 3), ("fb", 1)]));
    assert_eq!(
        c.flagged,
        [
            count("fa", "empty_answer", 1),
            count("fa", "refusal", 1),
            count("fb", "refusal", 1)
        ]
    );
    let c = counts(FailureBy::Signal, Tenants::All).await;
    assert_eq!(c.calls, pairs(&[("all", 4)]));
    assert_eq!(
        c.flagged,
        [
            count("empty_answer", "empty_answer", 1),
            count("refusal", "refusal", 2)
        ]
    );
    let c = counts(FailureBy::Signal, Tenants::Only(vec!["fb".into()])).await;
    assert_eq!(c.calls, pairs(&[("all", 1)]));
    assert_eq!(c.flagged, [count("refusal", "refusal", 1)]);
}

async fn feedback_only_for_own_calls(store: &dyn Store) {
    let sample_trace = sample_call("x", 0, "x").trace_id;
    let trace = sample_trace.as_deref();
    let cases = [
        (
            feedback("fbk_1", W0 + 10, "fa", Some("call_fa_1"), None),
            true,
            "its own call",
        ),
        (
            feedback("fbk_2", W0 + 11, "fa", Some("call_unknown"), None),
            false,
            "an unknown call",
        ),
        (
            feedback("fbk_3", W0 + 11, "fa", Some("call_fb_4"), None),
            false,
            "another tenant's call",
        ),
        (
            feedback("fbk_4", W0 + 12, "fa", None, trace),
            true,
            "its own trace",
        ),
        (
            feedback("fbk_5", W0 + 12, "fa", None, Some("trace_fb_only")),
            false,
            "another tenant's trace",
        ),
        (
            feedback("fbk_6", W0 + 12, "fa", None, Some("trace_unknown")),
            false,
            "an unknown trace",
        ),
        (
            feedback(
                "fbk_7",
                W0 + 13,
                "fb",
                Some("call_fb_4"),
                Some("trace_fb_only"),
            ),
            true,
            "both its own",
        ),
        (
            feedback(
                "fbk_8",
                W0 + 13,
                "fb",
                Some("call_fb_4"),
                trace.filter(|_| false),
            ),
            true,
            "its call, no trace",
        ),
        (
            feedback("fbk_9", W0 + 13, "fa", None, None),
            false,
            "neither a call nor a trace",
        ),
    ];
    for (f, stored, what) in &cases {
        assert_eq!(
            store.insert_feedback(f).await.expect("insert"),
            *stored,
            "{what}"
        );
    }
    let all = store
        .list_feedback_in(W0, W1, &Tenants::All)
        .await
        .expect("list");
    let ids: Vec<&str> = all.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["fbk_1", "fbk_4", "fbk_7", "fbk_8"], "oldest first");
    assert_eq!(all[0], cases[0].0, "every field back");
    let fb = store
        .list_feedback_in(W0, W1, &Tenants::Only(vec!["fb".into()]))
        .await
        .expect("list");
    assert_eq!(
        fb.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["fbk_7", "fbk_8"]
    );
    assert!(
        store
            .list_feedback_in(W0 + 11, W0 + 13, &Tenants::All)
            .await
            .expect("list")
            .len()
            == 1
    );
}

/// Flags and feedback expire with the records, by their own time; expiring content clears
/// feedback's comments (user content) and keeps the scores. Run on a store of its own: it
/// deletes every record before its cutoff.
pub async fn failures_expire_with_records(store: &dyn Store) {
    let cutoff = 95_000_000;
    let old = call("call_fx_old", 91_000_000, "fx", "chat");
    let new = call("call_fx_new", 99_000_000, "fx", "chat");
    store
        .insert_records(&[old.clone(), new.clone()], &[], &[])
        .await
        .expect("insert");
    let flags = [
        flag(&old, "empty_answer", "{}"),
        flag(&old, "refusal", "{}"),
        flag(&new, "refusal", "{}"),
    ];
    store.upsert_flags(&flags).await.expect("flags");
    for f in [
        feedback("fbk_old", 92_000_000, "fx", Some("call_fx_old"), None),
        feedback("fbk_new", 99_500_000, "fx", Some("call_fx_new"), None),
    ] {
        assert!(store.insert_feedback(&f).await.expect("feedback"));
    }
    let fx = Tenants::Only(vec!["fx".into()]);
    store
        .delete_expired(Expiry::Contents, cutoff, 100)
        .await
        .expect("contents");
    let kept = store
        .list_feedback_in(0, i64::MAX, &fx)
        .await
        .expect("list");
    let comments: Vec<(&str, Option<&str>, f64)> = kept
        .iter()
        .map(|f| (f.id.as_str(), f.comment.as_deref(), f.score))
        .collect();
    assert_eq!(
        comments,
        [
            ("fbk_old", None, -1.0),
            ("fbk_new", Some("it answered in French"), -1.0)
        ],
        "the old comment cleared, the score kept"
    );

    let mut sum = Deleted::default();
    for _ in 0..100 {
        let d = store
            .delete_expired(Expiry::Records, cutoff, 1)
            .await
            .expect("records");
        sum.add(d);
        if d.picked(Expiry::Records) < 1 {
            break;
        }
    }
    assert_eq!((sum.flags, sum.feedback), (2, 1), "{sum:?}");
    let q = FlagQuery {
        since_ms: 0,
        until_ms: i64::MAX,
        signal: None,
        route: None,
        limit: 0,
    };
    let left = store.list_flags_in(&q, &fx).await.expect("flags");
    assert_eq!(left, [flags[2].clone()]);
    let left = store
        .list_feedback_in(0, i64::MAX, &fx)
        .await
        .expect("list");
    assert_eq!(
        left.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["fbk_new"]
    );
}
