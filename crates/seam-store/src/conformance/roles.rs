//! Users' roles, and reads limited to the tenants a reader may see.

use super::{sample_attempt, sample_call, sample_stream};
use crate::{CallQuery, RoleRecord, Store, Tenants, UsageBy, UserRecord};

pub(super) async fn roles_round_trip(store: &dyn Store) {
    let u = UserRecord {
        id: "usr_roles".into(),
        name: "olga".into(),
        token_hash: "d".repeat(64),
        admin: false,
        created_ms: 1,
    };
    store.insert_user(&u).await.expect("insert user");
    let viewer = RoleRecord {
        user_id: u.id.clone(),
        role: "viewer".into(),
        tenant: "t-b".into(),
        created_ms: 2,
    };
    let operator = RoleRecord {
        role: "operator".into(),
        tenant: "t-a".into(),
        ..viewer.clone()
    };
    assert!(store.insert_role(&viewer).await.expect("grant"));
    assert!(store.insert_role(&operator).await.expect("grant"));
    assert!(
        !store.insert_role(&viewer).await.expect("again"),
        "a role is held once"
    );
    let mine: Vec<RoleRecord> = store
        .list_roles()
        .await
        .expect("list")
        .into_iter()
        .filter(|r| r.user_id == u.id)
        .collect();
    assert_eq!(mine, vec![operator, viewer]);

    store.set_admin(&u.id, true).await.expect("promote");
    let found = store
        .user_by_token_hash(&u.token_hash)
        .await
        .expect("find")
        .expect("there");
    assert!(found.admin);
    assert!(
        store.set_admin("usr_nobody", true).await.is_err(),
        "an unknown user is an error, not a no-op"
    );
}

pub(super) async fn reads_keep_to_their_tenants(store: &dyn Store) {
    let t0 = 35_000_000;
    let calls = vec![
        sample_call("call_sc_a", t0, "t-a"),
        sample_call("call_sc_b", t0 + 1, "t-b"),
        sample_call("call_sc_c", t0 + 2, "t-c"),
    ];
    let attempts: Vec<_> = calls.iter().map(|c| sample_attempt(c, 1, true)).collect();
    let streams: Vec<_> = calls.iter().map(sample_stream).collect();
    store
        .insert_records(&calls, &attempts, &streams)
        .await
        .expect("insert");
    let a_and_c = Tenants::Only(vec!["t-a".into(), "t-c".into()]);
    let nobody = Tenants::Only(vec![]);

    let q = CallQuery {
        since_ms: t0,
        tenant: None,
        limit: 10,
        ..Default::default()
    };
    let ids = |calls: Vec<crate::CallRecord>| calls.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_calls_in(&q, &a_and_c).await.expect("list")),
        ["call_sc_c", "call_sc_a"]
    );
    // Unfiltered, every tenant's (other parts of the suite store calls after t0 too).
    let all = CallQuery {
        limit: 100_000,
        ..q.clone()
    };
    let everyone = ids(store.list_calls(&all).await.expect("list"));
    assert_eq!(
        everyone
            .iter()
            .filter(|id| id.starts_with("call_sc_"))
            .count(),
        3
    );
    assert!(
        store
            .list_calls_in(&q, &nobody)
            .await
            .expect("list")
            .is_empty()
    );
    let only_b = CallQuery {
        tenant: Some("t-b".into()),
        ..q.clone()
    };
    assert!(
        store
            .list_calls_in(&only_b, &a_and_c)
            .await
            .expect("list")
            .is_empty(),
        "a tenant asked for is still limited to the reader's"
    );

    let usage = store
        .usage_in(UsageBy::Tenant, t0, &a_and_c)
        .await
        .expect("usage");
    let mut keys: Vec<String> = usage.into_iter().map(|r| r.key).collect();
    keys.sort();
    assert_eq!(keys, ["t-a", "t-c"]);
    let by_route = store
        .usage_in(UsageBy::Route, t0, &a_and_c)
        .await
        .expect("usage");
    assert_eq!(by_route.iter().map(|r| r.calls).sum::<i64>(), 2);

    let (groups, attempt_groups) = store
        .reliability_in(t0, &a_and_c)
        .await
        .expect("reliability");
    assert_eq!(groups.iter().map(|g| g.calls).sum::<i64>(), 2);
    assert_eq!(attempt_groups.iter().map(|g| g.attempts).sum::<i64>(), 2);
    // Unfiltered, every tenant's: at least the three here (other parts store calls after t0).
    let (all, _) = store.reliability(t0).await.expect("reliability");
    assert!(all.iter().map(|g| g.calls).sum::<i64>() >= 3);

    let streamed: Vec<String> = store
        .list_streams_in(t0, &a_and_c)
        .await
        .expect("streams")
        .into_iter()
        .map(|s| s.call_id)
        .collect();
    assert_eq!(streamed, ["call_sc_a", "call_sc_c"]);
    assert!(
        store
            .list_streams_in(t0, &nobody)
            .await
            .expect("streams")
            .is_empty()
    );
}
