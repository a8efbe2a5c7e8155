//! Session pins: one pin per session, kept until it expires, moved only from the release it
//! is on.

use crate::{SessionKey, SessionQuery, SessionTtl, Store};

fn key(tenant: &str, id: &str, channel: &str) -> SessionKey {
    SessionKey {
        tenant: tenant.into(),
        session_id: id.into(),
        prompt: "support-bot".into(),
        channel: channel.into(),
    }
}

const TTL: SessionTtl = SessionTtl {
    idle_ms: 100,
    max_age_ms: 250,
};

pub(super) async fn pins_hold_until_expiry(store: &dyn Store) {
    let k = key("acme", "s1", "production");
    let first = store
        .pin_session(&k, "rel_a", 1_000, TTL)
        .await
        .expect("pin");
    assert!(first.started);
    assert_eq!(first.session.release_id, "rel_a");
    assert_eq!(first.session.expires_ms, 1_100);

    // A later call names another candidate (a deploy happened): the pin holds.
    let again = store
        .pin_session(&k, "rel_b", 1_050, TTL)
        .await
        .expect("pin");
    assert!(!again.started);
    assert_eq!(again.session.release_id, "rel_a");
    assert_eq!(again.session.started_ms, 1_000);
    assert_eq!(again.session.last_ms, 1_050);
    assert_eq!(again.session.expires_ms, 1_150);

    // Other tenants and channels are other sessions.
    let other = store
        .pin_session(&key("globex", "s1", "production"), "rel_b", 1_060, TTL)
        .await
        .expect("pin");
    assert!(other.started);
    assert_eq!(other.session.release_id, "rel_b");
    let staging = store
        .pin_session(&key("acme", "s1", "staging"), "rel_b", 1_060, TTL)
        .await
        .expect("pin");
    assert!(staging.started);

    // Activity cannot stretch a session past its lifetime.
    for t in [1_140, 1_230] {
        let p = store.pin_session(&k, "rel_b", t, TTL).await.expect("pin");
        assert_eq!(p.session.release_id, "rel_a", "live at {t}");
    }
    let capped = store
        .pin_session(&k, "rel_b", 1_240, TTL)
        .await
        .expect("pin");
    assert_eq!(capped.session.expires_ms, 1_250, "started + max age");

    // Expired: the next call with the id starts a new session on the candidate.
    let renewed = store
        .pin_session(&k, "rel_b", 1_250, TTL)
        .await
        .expect("pin");
    assert!(renewed.started);
    assert_eq!(renewed.session.release_id, "rel_b");
    assert_eq!(renewed.expired_release.as_deref(), Some("rel_a"));
    assert_eq!(renewed.session.started_ms, 1_250);
}

pub(super) async fn concurrent_first_calls_agree(store: &dyn Store) {
    let k = key("acme", "race", "production");
    let (a, b) = tokio::join!(
        store.pin_session(&k, "rel_a", 5_000, TTL),
        store.pin_session(&k, "rel_b", 5_000, TTL)
    );
    let (a, b) = (a.expect("pin a"), b.expect("pin b"));
    assert_eq!(a.session.release_id, b.session.release_id);
    assert!(
        a.started != b.started,
        "exactly one call started the session"
    );
}

pub(super) async fn moves_are_conditional(store: &dyn Store) {
    let k = key("acme", "m1", "production");
    store
        .pin_session(&k, "rel_a", 2_000, TTL)
        .await
        .expect("pin");
    assert!(
        !store
            .move_session(&k, "rel_x", "rel_b", 2_010)
            .await
            .expect("move"),
        "not on rel_x"
    );
    assert!(
        store
            .move_session(&k, "rel_a", "rel_b", 2_010)
            .await
            .expect("move")
    );
    assert!(
        !store
            .move_session(&k, "rel_a", "rel_b", 2_011)
            .await
            .expect("move"),
        "moved once"
    );
    let p = store
        .pin_session(&k, "rel_c", 2_020, TTL)
        .await
        .expect("pin");
    assert_eq!(p.session.release_id, "rel_b");
    assert_eq!(p.session.pinned_ms, 2_010);
    assert_eq!(p.session.started_ms, 2_000, "a move keeps the lifetime");
    assert!(
        !store
            .move_session(
                &key("acme", "nobody", "production"),
                "rel_a",
                "rel_b",
                2_030
            )
            .await
            .expect("move")
    );
}

pub(super) async fn live_sessions_list_and_count(store: &dyn Store) {
    for (id, rel) in [("l1", "rel_old"), ("l2", "rel_old"), ("l3", "rel_new")] {
        store
            .pin_session(&key("initech", id, "production"), rel, 10_000, TTL)
            .await
            .expect("pin");
    }
    let q = |release: Option<&str>, live_at| SessionQuery {
        live_at_ms: live_at,
        prompt: Some("support-bot".into()),
        release_id: release.map(str::to_string),
        session_id: None,
    };
    let old = store
        .list_sessions(&q(Some("rel_old"), 10_050))
        .await
        .expect("list");
    assert_eq!(
        old.iter()
            .map(|s| s.session_id.as_str())
            .collect::<Vec<_>>(),
        ["l1", "l2"]
    );
    let by_id = store
        .list_sessions(&SessionQuery {
            live_at_ms: 10_050,
            session_id: Some("l3".into()),
            ..SessionQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].release_id, "rel_new");
    let counts = store.session_counts(10_050).await.expect("counts");
    let n = |rel: &str| {
        counts
            .iter()
            .find(|c| c.release_id == rel)
            .map(|c| c.sessions)
    };
    assert_eq!(n("rel_old"), Some(2));
    assert_eq!(n("rel_new"), Some(1));
    assert!(
        store
            .list_sessions(&q(None, 10_100))
            .await
            .expect("list")
            .iter()
            .all(|s| s.tenant != "initech"),
        "expired sessions are not listed"
    );
    assert!(
        store
            .session_counts(10_100)
            .await
            .expect("counts")
            .iter()
            .all(|c| c.release_id != "rel_old")
    );
}
