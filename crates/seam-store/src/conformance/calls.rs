//! Reading calls back by what they were (route, status, outcome, release) and listing traces,
//! each filter applied by the store before the limit; and unpriced calls in the usage totals.

use super::{sample_attempt, sample_call};
use crate::{CallQuery, CallRecord, Store, Tenants, TraceQuery, UsageBy};

const B: i64 = 90_000_000;

fn ids(calls: Vec<CallRecord>) -> Vec<String> {
    calls.into_iter().map(|c| c.id).collect()
}

pub(super) async fn calls_filter_by_route_status_outcome_and_release(store: &dyn Store) {
    let mut calls = Vec::new();
    for (i, (route, status, outcome, release)) in [
        ("chat", 200, "ok", Some("rel_a")),
        ("chat", 502, "error", Some("rel_a")),
        ("embed", 200, "ok", None),
        ("chat", 429, "refused", Some("rel_b")),
        ("", 404, "rejected", None),
        ("chat", 503, "error", None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = sample_call(&format!("call_flt_{i}"), B + i as i64, "flt");
        c.route = route.into();
        c.status = status;
        c.outcome = outcome.parse().expect("an outcome");
        c.release_id = release.map(str::to_string);
        calls.push(c);
    }
    store
        .insert_records(&calls, &[], &[])
        .await
        .expect("insert");
    let base = CallQuery {
        since_ms: B,
        tenant: Some("flt".into()),
        limit: 100,
        ..Default::default()
    };
    let list = |q: CallQuery| async move { ids(store.list_calls(&q).await.expect("list")) };
    let route = CallQuery {
        route: Some("chat".into()),
        ..base.clone()
    };
    assert_eq!(
        list(route.clone()).await,
        ["call_flt_5", "call_flt_3", "call_flt_1", "call_flt_0"]
    );
    // The limit counts matching calls: the newest chat call, not the newest call.
    assert_eq!(list(CallQuery { limit: 1, ..route }).await, ["call_flt_5"]);
    let class = CallQuery {
        status: Some((500, 599)),
        ..base.clone()
    };
    assert_eq!(list(class).await, ["call_flt_5", "call_flt_1"]);
    let one = CallQuery {
        status: Some((429, 429)),
        ..base.clone()
    };
    assert_eq!(list(one).await, ["call_flt_3"]);
    let outcome = CallQuery {
        outcome: Some("rejected".into()),
        ..base.clone()
    };
    assert_eq!(list(outcome).await, ["call_flt_4"]);
    let release = CallQuery {
        release_id: Some("rel_a".into()),
        ..base.clone()
    };
    assert_eq!(list(release).await, ["call_flt_1", "call_flt_0"]);
    let all_of_them = CallQuery {
        route: Some("chat".into()),
        status: Some((500, 599)),
        outcome: Some("error".into()),
        release_id: Some("rel_a".into()),
        ..base.clone()
    };
    assert_eq!(list(all_of_them).await, ["call_flt_1"]);
    // Filters and the reader's tenants together.
    let theirs = CallQuery {
        tenant: None,
        route: Some("chat".into()),
        ..base.clone()
    };
    assert!(
        store
            .list_calls_in(&theirs, &Tenants::Only(vec!["other".into()]))
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .list_calls_in(&theirs, &Tenants::Only(vec!["flt".into()]))
            .await
            .expect("list")
            .len(),
        4
    );
}

pub(super) async fn traces_list_named_traces_per_tenant(store: &dyn Store) {
    let t = B + 10_000;
    let call = |id: &str, at: i64, tenant: &str, trace: Option<&str>| {
        let mut c = sample_call(id, at, tenant);
        c.trace_id = Some(trace.unwrap_or(id).to_string());
        c
    };
    let mut failed = call("call_trl_2", t + 2, "trl", Some("tr-agent"));
    failed.outcome = seam_vocab::Outcome::Error;
    failed.cost_usd = 0.5;
    let mut unpriced = call("call_trl_3", t + 3, "trl", Some("tr-agent"));
    unpriced.unpriced = true;
    unpriced.cost_usd = 0.0;
    let calls = vec![
        call("call_trl_1", t + 1, "trl", Some("tr-agent")),
        failed,
        unpriced,
        call("call_trl_4", t + 4, "trl", None),
        call("call_trl_5", t + 5, "trl", Some("tr-other")),
        call("call_trl_6", t + 6, "trl-b", Some("tr-agent")),
    ];
    let attempts: Vec<_> = calls.iter().map(|c| sample_attempt(c, 1, true)).collect();
    store
        .insert_records(&calls, &attempts, &[])
        .await
        .expect("insert");
    let q = TraceQuery {
        since_ms: t,
        tenant: None,
        limit: 100,
    };
    let traces = store
        .list_traces_in(&q, &Tenants::All)
        .await
        .expect("traces");
    let keys: Vec<(&str, &str)> = traces
        .iter()
        .map(|s| (s.trace_id.as_str(), s.tenant.as_str()))
        .collect();
    // Most recently active first; a call that named no trace is not listed.
    assert_eq!(
        keys,
        [
            ("tr-agent", "trl-b"),
            ("tr-other", "trl"),
            ("tr-agent", "trl")
        ]
    );
    let agent = &traces[2];
    assert_eq!(
        (agent.calls, agent.attempts, agent.first_ms, agent.last_ms),
        (3, 6, t + 1, t + 3)
    );
    assert_eq!(
        (agent.input_tokens, agent.output_tokens),
        (30, 60),
        "tokens as the calls recorded them"
    );
    assert!((agent.cost_usd - (0.5 + 0.00009)).abs() < 1e-12);
    assert_eq!(agent.unpriced_calls, 1);
    assert_eq!(
        agent.outcomes,
        [("error".to_string(), 1), ("ok".to_string(), 2)].into()
    );
    // The reader's tenants, a tenant asked for, a window and a limit.
    let only_b = store
        .list_traces_in(&q, &Tenants::Only(vec!["trl-b".into()]))
        .await
        .expect("traces");
    assert_eq!(only_b.len(), 1);
    assert_eq!(only_b[0].tenant, "trl-b");
    let asked = TraceQuery {
        tenant: Some("trl".into()),
        ..q.clone()
    };
    assert_eq!(
        store
            .list_traces_in(&asked, &Tenants::All)
            .await
            .expect("traces")
            .len(),
        2
    );
    let later = TraceQuery {
        since_ms: t + 3,
        ..q.clone()
    };
    let later = store
        .list_traces_in(&later, &Tenants::All)
        .await
        .expect("traces");
    let agent = later
        .iter()
        .find(|s| s.trace_id == "tr-agent" && s.tenant == "trl")
        .expect("its call in the window");
    assert_eq!(agent.calls, 1, "only its calls in the window");
    let one = TraceQuery { limit: 1, ..q };
    assert_eq!(
        store
            .list_traces_in(&one, &Tenants::All)
            .await
            .expect("traces")
            .len(),
        1
    );
}

pub(super) async fn usage_counts_unpriced_calls(store: &dyn Store) {
    let t = B + 20_000;
    let priced = sample_call("call_unp_1", t, "unp");
    let mut unpriced = sample_call("call_unp_2", t + 1, "unp");
    unpriced.unpriced = true;
    store
        .insert_records(&[priced, unpriced], &[], &[])
        .await
        .expect("insert");
    let rows = store
        .usage_in(UsageBy::Tenant, t, &Tenants::Only(vec!["unp".into()]))
        .await
        .expect("usage");
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].calls, rows[0].unpriced_calls), (2, 1));
}

/// Eval and canary traffic are kept apart: a purpose reads back on the call, and the usage
/// report groups each apart from live traffic of the same tenant, live rows first, then by
/// purpose. Live calls store NULL (as every call recorded before purposes existed).
pub(super) async fn usage_reports_eval_traffic_apart(store: &dyn Store) {
    use seam_vocab::Purpose;
    let t = B + 30_000;
    let live = sample_call("call_pur_1", t, "pur");
    let mut eval = sample_call("call_pur_2", t + 1, "pur");
    eval.purpose = Purpose::Eval;
    eval.cost_usd = 0.5;
    let mut eval2 = sample_call("call_pur_3", t + 2, "pur");
    eval2.purpose = Purpose::Eval;
    let mut canary = sample_call("call_pur_4", t + 3, "pur");
    canary.purpose = Purpose::Canary;
    store
        .insert_records(
            &[live.clone(), eval.clone(), eval2, canary.clone()],
            &[],
            &[],
        )
        .await
        .expect("insert");
    let (got, _) = store
        .get_call("call_pur_2")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got, eval);
    let (got, _) = store
        .get_call("call_pur_1")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got.purpose, Purpose::Live);
    let (got, _) = store
        .get_call("call_pur_4")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got, canary);
    let rows = store
        .usage_in(UsageBy::Tenant, t, &Tenants::Only(vec!["pur".into()]))
        .await
        .expect("usage");
    let got: Vec<(Purpose, i64)> = rows.iter().map(|r| (r.purpose, r.calls)).collect();
    assert_eq!(
        got,
        [(Purpose::Live, 1), (Purpose::Canary, 1), (Purpose::Eval, 2)]
    );
    assert!((rows[2].cost_usd - (0.5 + live.cost_usd)).abs() < 1e-9);
}
