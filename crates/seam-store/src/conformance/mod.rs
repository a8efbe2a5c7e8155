//! Behaviour every storage backend must show. Each backend's tests call [`run_all`] on a
//! fresh, migrated store.

mod audit;
mod buckets;
mod calls;
mod canaries;
mod evals;
mod failures;
mod hours;
mod retention;
mod roles;
mod samples;
mod sessions;
mod sink;
mod spend;
mod usage;
mod value;
mod vocab;

pub use audit::audit_chain;
pub use failures::failures_expire_with_records;
pub use retention::{expired_records_go_in_batches, leases_one_holder_at_a_time};
pub use samples::{sample_attempt, sample_call, sample_stream, sole_attempt};
pub use sink::sink_round_trip;
pub use vocab::unknown_words_are_errors;

use crate::{AttemptRecord, CallQuery, CallRecord, KeyRecord, Store};

/// Brings a store's schema to `version` exactly (no further): for tests of a migration on a
/// store with records written at the version before it.
pub async fn migrate_to(
    store: &crate::SqlStore,
    version: i64,
    progress: crate::Progress<'_>,
) -> crate::Result<i64> {
    Ok(crate::migrate::run_to(store.pool(), !store.is_sqlite(), version, progress).await?)
}

pub async fn run_all(store: &dyn Store) {
    migrate_is_idempotent(store).await;
    records_round_trip(store).await;
    streams_round_trip(store).await;
    calls_filter_by_time_and_tenant(store).await;
    batches_larger_than_one_statement(store).await;
    keys_store_hashes_and_revoke(store).await;
    reliability_aggregates(store).await;
    hours::hours_sum_the_calls(store).await;
    spend::spend_totals_windows_keys_and_open_traces(store).await;
    traces_read_back(store).await;
    events_round_trip(store).await;
    served_models_are_remembered_once(store).await;
    users_and_the_audit_chain(store).await;
    releases_approvals_and_deploys(store).await;
    sessions::pins_hold_until_expiry(store).await;
    sessions::concurrent_first_calls_agree(store).await;
    sessions::moves_are_conditional(store).await;
    sessions::live_sessions_list_and_count(store).await;
    roles::roles_round_trip(store).await;
    roles::reads_keep_to_their_tenants(store).await;
    calls::calls_filter_by_route_status_outcome_and_release(store).await;
    calls::traces_list_named_traces_per_tenant(store).await;
    calls::usage_counts_unpriced_calls(store).await;
    calls::usage_reports_eval_traffic_apart(store).await;
    evals::eval_runs_round_trip(store).await;
    value::value_ledger_round_trip(store).await;
    value::live_calls_of_a_release_are_counted(store).await;
    canaries::canary_runs_round_trip(store).await;
    canaries::canary_leases_take_one_holder(store).await;
    usage::imports_replace_and_union_with_live_hours(store).await;
    failures::failures_round_trip(store).await;
    // Last: it adds calls that time-window checks above would see.
    export_pages_through_everything(store).await;
    buckets::reliability_over_time(store).await;
}

async fn releases_approvals_and_deploys(store: &dyn Store) {
    let r = crate::ReleaseRecord {
        id: "rel_abc".into(),
        prompt: "support-bot".into(),
        content: "{}".into(),
        author: "ana".into(),
        created_ms: 1,
    };
    assert!(store.insert_release(&r).await.expect("insert"));
    assert!(
        !store.insert_release(&r).await.expect("again"),
        "the same release is not stored twice"
    );
    assert_eq!(
        store.get_release("rel_abc").await.expect("get"),
        Some(r.clone())
    );
    assert_eq!(
        store.list_releases("support-bot").await.expect("list"),
        vec![r]
    );
    let a = crate::ApprovalRecord {
        release_id: "rel_abc".into(),
        approver: "ben".into(),
        created_ms: 2,
    };
    store.insert_approval(&a).await.expect("approve");
    assert!(
        store.insert_approval(&a).await.is_err(),
        "one approval per person"
    );
    assert_eq!(
        store.list_approvals("rel_abc").await.expect("list"),
        vec![a]
    );
    let d = crate::DeployRecord {
        id: "dep_1".into(),
        prompt: "support-bot".into(),
        channel: "production".into(),
        release_id: "rel_abc".into(),
        actor: "ben".into(),
        kind: seam_vocab::DeployKind::Deploy,
        mode: seam_vocab::DeployMode::Immediate,
        created_ms: 3,
    };
    store.insert_deploy(&d).await.expect("deploy");
    assert_eq!(
        store.list_deploys("support-bot").await.expect("list"),
        vec![d]
    );
}

async fn users_and_the_audit_chain(store: &dyn Store) {
    let u = crate::UserRecord {
        id: "usr_1".into(),
        name: "ana".into(),
        token_hash: "b".repeat(64),
        admin: true,
        created_ms: 1,
    };
    store.insert_user(&u).await.expect("insert user");
    assert_eq!(
        store
            .user_by_token_hash(&"b".repeat(64))
            .await
            .expect("find"),
        Some(u.clone())
    );
    assert!(
        store
            .user_by_token_hash("nope")
            .await
            .expect("find")
            .is_none()
    );
    let dup = crate::UserRecord {
        id: "usr_2".into(),
        token_hash: "c".repeat(64),
        ..u
    };
    assert!(store.insert_user(&dup).await.is_err(), "names are unique");
    for i in 0..3 {
        store
            .append_audit(
                "ana",
                "key.create",
                &format!("key_{i}"),
                None,
                Some("{}".into()),
                100 + i,
            )
            .await
            .expect("append");
    }
    let chain = store.list_audit().await.expect("list");
    assert_eq!(chain.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(chain[1].prev_hash, chain[0].hash);
    assert_eq!(crate::audit::verify_chain(&chain, None), None);
    let mut tampered = chain.clone();
    tampered[1].subject = "key_x".into();
    assert_eq!(
        crate::audit::verify_chain(&tampered, None).and_then(|p| p.record),
        Some(2)
    );
}

async fn served_models_are_remembered_once(store: &dyn Store) {
    let s = crate::ServedRecord {
        provider: "local".into(),
        requested_model: "m-latest".into(),
        served_model: "m-2026-01".into(),
        system_fingerprint: "fp_1".into(),
        first_seen_ms: 5,
        first_call_id: "call_a".into(),
    };
    assert!(store.insert_served(&s).await.expect("insert"), "new");
    let again = crate::ServedRecord {
        first_seen_ms: 9,
        first_call_id: "call_b".into(),
        ..s.clone()
    };
    assert!(
        !store
            .insert_served(&again)
            .await
            .expect("a known pair is not an error"),
        "known: the second writer learns it was not first"
    );
    assert_eq!(store.list_served().await.expect("list"), vec![s]);
}

async fn reliability_aggregates(store: &dyn Store) {
    let ok = sample_call("call_rel_ok", 10_000_000, "rel");
    let mut failed = sample_call("call_rel_err", 10_000_001, "rel");
    failed.outcome = seam_vocab::Outcome::Error;
    failed.budget_exhausted = true;
    let attempts = vec![
        sample_attempt(&ok, 1, false),
        sample_attempt(&ok, 2, true),
        sample_attempt(&failed, 1, false),
        sample_attempt(&failed, 2, false),
    ];
    store
        .insert_records(&[ok, failed], &attempts, &[])
        .await
        .expect("insert");
    let (calls, groups) = store.reliability(10_000_000).await.expect("reliability");
    let total: i64 = calls.iter().map(|c| c.calls).sum();
    assert_eq!(total, 2);
    assert_eq!(calls.iter().map(|c| c.budget_exhausted).sum::<i64>(), 1);
    assert_eq!(calls.iter().map(|c| c.attempts).sum::<i64>(), 4);
    let failed_first: i64 = groups
        .iter()
        .filter(|g| g.outcome == "error")
        .map(|g| g.first_attempts)
        .sum();
    assert_eq!(failed_first, 2);
    let failed_all: i64 = groups
        .iter()
        .filter(|g| g.outcome == "error")
        .map(|g| g.attempts)
        .sum();
    assert_eq!(failed_all, 3);
    assert!(
        groups
            .iter()
            .all(|g| g.route == "chat" && g.provider == "local")
    );
}

async fn events_round_trip(store: &dyn Store) {
    let e = crate::EventRecord {
        id: "evt_1".into(),
        created_ms: 20_000_000,
        kind: seam_vocab::EventKind::ProviderDegradedHiddenByRetries,
        route: Some("chat".into()),
        provider: Some("local".into()),
        message: "first attempts failing".into(),
        details: "{\"first_attempt_error_rate\":0.4}".into(),
    };
    store.insert_event(&e).await.expect("insert event");
    assert_eq!(
        store.list_events(19_000_000, 10).await.expect("list"),
        vec![e]
    );
    assert!(
        store
            .list_events(20_000_001, 10)
            .await
            .expect("list")
            .is_empty()
    );
}

async fn migrate_is_idempotent(store: &dyn Store) {
    let a = store.migrate().await.expect("migrate");
    let b = store.migrate().await.expect("migrate again");
    assert_eq!(a, b);
    assert!(a >= 1);
}

async fn records_round_trip(store: &dyn Store) {
    let mut call = sample_call("call_rt", 1_000, "acme");
    call.release_id = Some("rel_0123456789abcdef".into());
    call.unpriced = true;
    let mut unpriced = sample_attempt(&call, 2, true);
    unpriced.unpriced = true;
    let attempts = vec![sample_attempt(&call, 1, false), unpriced];
    store
        .insert_records(std::slice::from_ref(&call), &attempts, &[])
        .await
        .expect("insert");
    let (got, got_attempts) = store
        .get_call("call_rt")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(got, call);
    assert_eq!(got_attempts, attempts);
    assert!(store.get_call("call_missing").await.expect("get").is_none());
}

async fn calls_filter_by_time_and_tenant(store: &dyn Store) {
    let calls = vec![
        sample_call("call_f1", 5_000, "t1"),
        sample_call("call_f2", 6_000, "t2"),
        sample_call("call_f3", 7_000, "t1"),
    ];
    store
        .insert_records(&calls, &[], &[])
        .await
        .expect("insert");
    let q = CallQuery {
        since_ms: 5_500,
        tenant: None,
        limit: 10,
        ..Default::default()
    };
    let ids: Vec<String> = store
        .list_calls(&q)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["call_f3", "call_f2"]);
    let q = CallQuery {
        since_ms: 0,
        tenant: Some("t1".into()),
        limit: 1,
        ..Default::default()
    };
    let ids: Vec<String> = store
        .list_calls(&q)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["call_f3"]);
}

async fn batches_larger_than_one_statement(store: &dyn Store) {
    let calls: Vec<CallRecord> = (0..1000)
        .map(|i| sample_call(&format!("call_b{i:04}"), 100_000 + i, "bulk"))
        .collect();
    let attempts: Vec<AttemptRecord> = calls.iter().map(|c| sample_attempt(c, 1, true)).collect();
    store
        .insert_records(&calls, &attempts, &[])
        .await
        .expect("insert bulk");
    let q = CallQuery {
        since_ms: 0,
        tenant: Some("bulk".into()),
        limit: 5000,
        ..Default::default()
    };
    assert_eq!(store.list_calls(&q).await.expect("list").len(), 1000);
    // Written again beside a new one, a stored call is kept as it was and the new one is added.
    // A replay carries the record's own time: on PostgreSQL a call's key includes it
    // (partitions.rs), and a copy under another time would be a second row, either of which a
    // read by id may find first, depending on the plan.
    let mut again = sample_call("call_b0000", 100_000, "bulk");
    again.status = 599;
    let dup = vec![sample_call("call_new", 1, "bulk"), again];
    store.insert_records(&dup, &[], &[]).await.expect("replay");
    assert!(store.get_call("call_new").await.expect("get").is_some());
    let (kept, _) = store
        .get_call("call_b0000")
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(kept.status, 200, "not overwritten");
}

async fn keys_store_hashes_and_revoke(store: &dyn Store) {
    let key = KeyRecord {
        id: "key_abc".into(),
        tenant: "acme".into(),
        name: Some("ci".into()),
        prefix: "sk-seam-abcdef12".into(),
        hash: "a".repeat(64),
        created_ms: 1,
        revoked_ms: None,
        limits: Some("{\"requests_per_minute\":60.0}".into()),
    };
    store.insert_key(&key).await.expect("insert key");
    let keys = store.list_keys().await.expect("list");
    assert!(keys.contains(&key));
    let found = store.key_by_hash(&key.hash).await.expect("by hash");
    assert_eq!(found.as_ref(), Some(&key));
    let none = store.key_by_hash(&"b".repeat(64)).await.expect("by hash");
    assert_eq!(none, None);
    assert!(
        store.revoke_key("sk-", 5).await.is_err(),
        "too short a prefix is refused"
    );
    let revoked = store.revoke_key("sk-seam-abcdef", 5).await.expect("revoke");
    assert_eq!(revoked.len(), 1);
    let keys = store.list_keys().await.expect("list");
    let k = keys
        .iter()
        .find(|k| k.id == "key_abc")
        .expect("still listed");
    assert_eq!(k.revoked_ms, Some(5));
    assert!(
        store
            .revoke_key("key_abc", 6)
            .await
            .expect("again")
            .is_empty()
    );
}

async fn traces_read_back(store: &dyn Store) {
    let mut a = sample_call("call_tr_1", 30_000_000, "tr");
    a.trace_id = Some("trace-xyz".into());
    let mut b = sample_call("call_tr_2", 30_000_001, "tr");
    b.trace_id = Some("trace-xyz".into());
    let attempts = vec![
        sample_attempt(&a, 1, false),
        sample_attempt(&a, 2, true),
        sample_attempt(&b, 1, true),
    ];
    store
        .insert_records(&[b, a], &attempts, &[])
        .await
        .expect("insert");
    let (calls, atts) = store.trace("trace-xyz").await.expect("trace");
    let ids: Vec<&str> = calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["call_tr_1", "call_tr_2"]);
    assert_eq!(atts.len(), 3);
    assert!(
        store
            .trace("no-such-trace")
            .await
            .expect("trace")
            .0
            .is_empty()
    );
    // A call that names no trace is a trace of its own, found by its id (the trace index
    // holds only calls of named traces).
    let mut own = sample_call("call_tr_own", 30_000_002, "tr");
    own.trace_id = Some(own.id.clone());
    let own_attempt = sample_attempt(&own, 1, true);
    store
        .insert_records(
            std::slice::from_ref(&own),
            std::slice::from_ref(&own_attempt),
            &[],
        )
        .await
        .expect("insert");
    let (calls, atts) = store.trace("call_tr_own").await.expect("trace");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "call_tr_own");
    assert_eq!(atts.len(), 1);
    // An attempt is keyed by its call and number: the same one twice is stored once.
    let again = sample_call("call_tr_again", 30_000_003, "tr");
    let twice = [
        sample_attempt(&again, 1, true),
        sample_attempt(&again, 1, true),
    ];
    store
        .insert_records(&[again], &twice, &[])
        .await
        .expect("insert");
    let (_, atts) = store
        .get_call("call_tr_again")
        .await
        .expect("call")
        .expect("stored");
    assert_eq!(atts.len(), 1);
}

async fn streams_round_trip(store: &dyn Store) {
    let s = crate::StreamRecord {
        call_id: "call_stream_1".into(),
        created_ms: 31_000_000,
        route: "chat".into(),
        provider: "up".into(),
        served_model: Some("m-2026-01".into()),
        ttfc_ms: Some(12.5),
        ttft_ms: None,
        chunks: 12,
        content_chunks: 10,
        chars: 80,
        chars_p50: 8.0,
        tokens_per_chunk: 2.0,
        gap_p50_ms: 40.0,
        gap_p95_ms: 55.5,
        gap_max_ms: 1200.0,
        stalls: 1,
        output_tokens: 20,
        tokens_per_sec: Some(50.0),
        client_closed: true,
        rechunked: false,
        slo: Some(seam_vocab::SloVerdict::breached("stall 1200 ms > 1000 ms")),
    };
    store
        .insert_records(&[], &[], std::slice::from_ref(&s))
        .await
        .expect("insert");
    assert_eq!(
        store.get_stream("call_stream_1").await.expect("get"),
        Some(s.clone()),
        "one call's stream, read back by its call id"
    );
    assert_eq!(store.get_stream("call_rt").await.expect("get"), None);
    assert_eq!(store.list_streams(31_000_000).await.expect("list"), vec![s]);
    assert!(
        store
            .list_streams(31_000_001)
            .await
            .expect("list")
            .is_empty()
    );
}

async fn export_pages_through_everything(store: &dyn Store) {
    let calls: Vec<CallRecord> = (0..5)
        .map(|i| sample_call(&format!("call_exp_{i}"), 40_000_000 + i / 2, "exp"))
        .collect();
    let attempts: Vec<AttemptRecord> = calls.iter().map(|c| sample_attempt(c, 1, true)).collect();
    store
        .insert_records(&calls, &attempts, &[])
        .await
        .expect("insert");
    let mut cursor = crate::ExportCursor {
        created_ms: 40_000_000 - 1,
        id: String::new(),
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (rows, next) = store
            .export_page(crate::ExportKind::Calls, &cursor, 2)
            .await
            .expect("page");
        pages += 1;
        seen.extend(
            rows.iter()
                .map(|r| r["id"].as_str().unwrap_or("").to_string()),
        );
        match next {
            Some(c) => cursor = c,
            None => break,
        }
    }
    let exported: Vec<&String> = seen
        .iter()
        .filter(|id| id.starts_with("call_exp_"))
        .collect();
    assert_eq!(exported.len(), 5, "every row once, across pages: {seen:?}");
    assert!(pages >= 3);
    let mut cursor = crate::ExportCursor {
        created_ms: 40_000_000 - 1,
        id: String::new(),
    };
    let mut of_calls = Vec::new();
    loop {
        let (rows, next) = store
            .export_page(crate::ExportKind::Attempts, &cursor, 2)
            .await
            .expect("page");
        of_calls.extend(
            rows.iter()
                .map(|r| r["call_id"].as_str().unwrap_or("").to_string()),
        );
        match next {
            Some(c) => cursor = c,
            None => break,
        }
    }
    assert_eq!(
        of_calls
            .iter()
            .filter(|c| c.starts_with("call_exp_"))
            .count(),
        5,
        "{of_calls:?}"
    );
    let (events, _) = store
        .export_page(
            crate::ExportKind::Events,
            &crate::ExportCursor {
                created_ms: 0,
                id: String::new(),
            },
            1000,
        )
        .await
        .expect("events");
    assert!(
        events.iter().all(|e| !e["details"].is_string()),
        "details as JSON"
    );
}
