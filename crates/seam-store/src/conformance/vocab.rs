//! Stored words outside a vocabulary (a row a later version wrote, or edited by hand) read
//! back as an error naming the column and the value, never a panic or a guess.

use super::{sample_call, sample_stream};
use crate::{CallQuery, DeployRecord, EventRecord, Events, Records, Releases, SqlStore};
use seam_vocab::{DeployKind, DeployMode, EventKind, SloVerdict};
use sqlx::{AssertSqlSafe, Executor};

const T: i64 = 70_000_000;

async fn set(store: &SqlStore, sql: &str) {
    store
        .pool()
        .execute(AssertSqlSafe(sql.to_string()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn names<T: std::fmt::Debug>(r: crate::Result<T>, column: &str, value: &str) {
    let e = r.expect_err("an unknown word is an error").to_string();
    assert!(e.contains(column) && e.contains(value), "{e}");
}

/// Leaves no row behind: the rows it makes are deleted at the end.
pub async fn unknown_words_are_errors(store: &SqlStore) {
    let call = sample_call("call_vocab", T, "vocab");
    let mut stream = sample_stream(&call);
    stream.slo = Some(SloVerdict::Met);
    store
        .insert_records(std::slice::from_ref(&call), &[], &[stream])
        .await
        .expect("insert");
    let q = CallQuery {
        since_ms: T,
        tenant: Some("vocab".into()),
        limit: 10,
        ..Default::default()
    };
    let calls = || store.list_calls(&q);
    assert_eq!(calls().await.expect("known words").len(), 1);
    set(
        store,
        "UPDATE calls SET outcome = 'okay' WHERE id = 'call_vocab'",
    )
    .await;
    names(calls().await, "outcome", "okay");
    set(
        store,
        "UPDATE calls SET outcome = 'error', error_class = 'status_6xx' WHERE id = 'call_vocab'",
    )
    .await;
    names(calls().await, "error_class", "status_6xx");
    assert_eq!(store.list_streams(T).await.expect("known words").len(), 1);
    set(
        store,
        "UPDATE streams SET slo = 'so-so' WHERE call_id = 'call_vocab'",
    )
    .await;
    names(store.list_streams(T).await, "slo", "so-so");

    store
        .insert_event(&EventRecord {
            id: "evt_vocab".into(),
            created_ms: T,
            kind: EventKind::StoreOutage,
            route: None,
            provider: None,
            message: "m".into(),
            details: "{}".into(),
        })
        .await
        .expect("event");
    set(
        store,
        "UPDATE events SET kind = 'mystery' WHERE id = 'evt_vocab'",
    )
    .await;
    names(store.list_events(T, 10).await, "kind", "mystery");

    store
        .insert_deploy(&DeployRecord {
            id: "dep_vocab".into(),
            prompt: "vocab-bot".into(),
            channel: "production".into(),
            release_id: "rel_vocab".into(),
            actor: "ana".into(),
            kind: DeployKind::Deploy,
            mode: DeployMode::Drain,
            created_ms: T,
        })
        .await
        .expect("deploy");
    set(
        store,
        "UPDATE deploys SET mode = 'gradual' WHERE id = 'dep_vocab'",
    )
    .await;
    names(store.list_deploys("vocab-bot").await, "mode", "gradual");
    set(
        store,
        "UPDATE deploys SET mode = 'drain', kind = 'undo' WHERE id = 'dep_vocab'",
    )
    .await;
    names(store.list_deploys("vocab-bot").await, "kind", "undo");

    for sql in [
        "DELETE FROM streams WHERE call_id = 'call_vocab'",
        "DELETE FROM calls WHERE id = 'call_vocab'",
        "DELETE FROM events WHERE id = 'evt_vocab'",
        "DELETE FROM deploys WHERE id = 'dep_vocab'",
    ] {
        set(store, sql).await;
    }
}
