//! The audit chain as a backend stores it: keyed appends, refusals, the head, and the
//! tampering someone with write access to the database (and without the key) can do, done
//! with SQL. Run after [`super::run_all`]: it empties the chain and the control-plane tables.

use crate::audit::{AuditKey, GENESIS, Head, KEYED_ACTION, Verdict};
use crate::{Audit, AuditRecord, Releases, SqlStore, StoreError};
use serde_json::json;

pub async fn audit_chain(store: &SqlStore) {
    let key = AuditKey::new(&"conformance-key-".repeat(3)).expect("key");
    let keyed = store.clone().with_audit_key(Some(key.clone()));
    keyed_appends_and_refusals(store, &keyed, &key).await;
    rewrites_are_found_with_the_key(store, &keyed).await;
    a_lost_tail_is_found_by_its_head(store, &keyed).await;
    tables_are_checked_against_the_chain(store, &keyed).await;
    an_unkeyed_chain_moves_to_keyed(store, &keyed).await;
}

async fn sql(store: &SqlStore, statement: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

async fn empty(store: &SqlStore) {
    sql(
        store,
        "DELETE FROM audit; DELETE FROM approvals; DELETE FROM deploys; DELETE FROM releases",
    )
    .await;
}

async fn append(store: &SqlStore, action: &str, subject: &str) -> crate::Result<AuditRecord> {
    store
        .append_audit("ana", action, subject, None, Some("{}".into()), 7)
        .await
}

fn reasons(v: &Verdict) -> Vec<(String, String)> {
    v.problems
        .iter()
        .map(|p| (p.at.clone(), p.reason.clone()))
        .collect()
}

async fn keyed_appends_and_refusals(store: &SqlStore, keyed: &SqlStore, key: &AuditKey) {
    empty(store).await;
    for i in 0..3 {
        let r = append(keyed, "key.create", &format!("key_{i}"))
            .await
            .expect("append");
        assert_eq!(
            r.key_id.as_deref(),
            Some(key.id()),
            "an empty chain starts keyed"
        );
    }
    let chain = store.list_audit().await.expect("list");
    assert!(chain.iter().all(|r| r.key_id.as_deref() == Some(key.id())));
    let v = keyed.verify_audit().await.expect("verify");
    assert!(v.intact, "{:?}", v.problems);
    assert_eq!((v.records, v.keyed_from), (3, Some(1)));
    assert_eq!(
        keyed.audit_head().await.expect("head"),
        Head {
            count: 3,
            hash: chain[2].hash.clone()
        }
    );

    let v = store.verify_audit().await.expect("verify");
    assert_eq!(
        reasons(&v),
        [(
            "audit record 1".to_string(),
            "records from 1 on are keyed: set SEAM_AUDIT_KEY to verify them".to_string()
        )]
    );
    // Without the key nothing is appended, and the refusal can be had before acting.
    let e = append(store, "key.create", "key_x").await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(m) if m.contains("the audit chain is keyed")),
        "{e}"
    );
    assert!(store.check_audit_key().await.is_err());
    assert!(keyed.check_audit_key().await.is_ok());
    assert_eq!(store.audit_head().await.expect("head").count, 3);
}

/// Changes record `from` and recomputes every hash from there on, unkeyed, as whoever holds
/// the database but not the key can.
async fn rewrite_unkeyed(store: &SqlStore, from: i64) {
    let mut chain = store.list_audit().await.expect("list");
    let mut prev = match from {
        1 => GENESIS.to_string(),
        n => chain[n as usize - 2].hash.clone(),
    };
    for r in chain.iter_mut().skip(from as usize - 1) {
        if r.seq == from {
            r.subject = "forged".into();
        }
        r.prev_hash = prev;
        crate::audit::seal(r, None);
        prev = r.hash.clone();
        sqlx::query(
            "UPDATE audit SET subject = $1, prev_hash = $2, hash = $3, key_id = NULL WHERE seq = $4",
        )
        .bind(r.subject.as_str())
        .bind(r.prev_hash.as_str())
        .bind(r.hash.as_str())
        .bind(r.seq)
        .execute(store.pool())
        .await
        .expect("rewrite");
    }
}

async fn rewrites_are_found_with_the_key(store: &SqlStore, keyed: &SqlStore) {
    rewrite_unkeyed(store, 2).await;
    let v = keyed.verify_audit().await.expect("verify");
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert_eq!(v.problems[0].record, Some(2));
    assert!(
        v.problems[0]
            .reason
            .contains("the chain is keyed from record 1")
    );

    rewrite_unkeyed(store, 1).await;
    assert!(
        store.verify_audit().await.expect("verify").intact,
        "rewritten whole, the chain passes as one never keyed"
    );
    let v = keyed.verify_audit().await.expect("verify");
    assert!(
        v.problems[0]
            .reason
            .starts_with("records 1-3 are not keyed, though SEAM_AUDIT_KEY is set"),
        "{:?}",
        v.problems
    );
    // Nor is it signed again on top.
    let e = append(keyed, "key.create", "key_y").await.unwrap_err();
    assert!(e.to_string().contains("is not keyed"), "{e}");
    assert!(keyed.check_audit_key().await.is_err());
}

async fn a_lost_tail_is_found_by_its_head(store: &SqlStore, keyed: &SqlStore) {
    empty(store).await;
    for i in 0..5 {
        append(keyed, "key.create", &format!("key_{i}"))
            .await
            .expect("append");
    }
    let head = keyed.audit_head().await.expect("head");
    assert_eq!(head.count, 5);
    sql(store, "DELETE FROM audit WHERE seq > 3").await;
    let mut v = keyed.verify_audit().await.expect("verify");
    assert!(v.intact, "a chain cut short verifies on its own");
    v.check_head("--head", &head);
    assert_eq!(
        reasons(&v),
        [(
            "--head".to_string(),
            "the chain has 3 records, fewer than the 5 of this head: records 4-5 were deleted, or the store was rolled back".to_string()
        )]
    );
}

async fn tables_are_checked_against_the_chain(store: &SqlStore, keyed: &SqlStore) {
    empty(store).await;
    let content = r#"{"name":"bot","owners":["ben"]}"#;
    let release = crate::ReleaseRecord {
        id: crate::ReleaseRecord::id_of(content),
        prompt: "bot".into(),
        content: content.into(),
        author: "ana".into(),
        created_ms: 1,
    };
    let id = release.id.as_str();
    keyed.insert_release(&release).await.expect("release");
    let after = |v: serde_json::Value| Some(v.to_string());
    let record = |actor: &'static str, action: &'static str, subject: &str, a: Option<String>| {
        let subject = subject.to_string();
        async move {
            keyed
                .append_audit(actor, action, &subject, None, a, 2)
                .await
                .expect("append")
        }
    };
    record("ana", "release.create", id, after(json!({"model": "m"}))).await;
    let approval = crate::ApprovalRecord {
        release_id: id.into(),
        approver: "ben".into(),
        created_ms: 2,
    };
    keyed.insert_approval(&approval).await.expect("approve");
    record(
        "ben",
        "release.approve",
        id,
        after(json!({"approver": "ben"})),
    )
    .await;
    let deploy = crate::DeployRecord {
        id: "dep_1".into(),
        prompt: "bot".into(),
        channel: "production".into(),
        release_id: id.into(),
        actor: "ben".into(),
        kind: seam_vocab::DeployKind::Deploy,
        mode: seam_vocab::DeployMode::Drain,
        created_ms: 3,
    };
    keyed.insert_deploy(&deploy).await.expect("deploy");
    let put = json!({"release": id, "mode": "drain"});
    record("ben", "release.deploy", "bot@production", after(put)).await;
    let v = keyed.verify_audit().await.expect("verify");
    assert!(v.intact, "{:?}", v.problems);
    assert_eq!((v.releases, v.approvals, v.deploys), (1, 1, 1));

    sql(
        store,
        &format!(
            "INSERT INTO approvals (release_id, approver, created_ms) VALUES ('{id}', 'mallory', 4)"
        ),
    )
    .await;
    sql(
        store,
        "UPDATE deploys SET release_id = 'rel_0000000000000000' WHERE id = 'dep_1'",
    )
    .await;
    let v = keyed.verify_audit().await.expect("verify");
    let at: Vec<String> = v.problems.iter().map(|p| p.at.clone()).collect();
    assert_eq!(
        at,
        [
            format!("approval of {id} by mallory"),
            "deploy dep_1".into()
        ],
        "{:?}",
        v.problems
    );
}

async fn an_unkeyed_chain_moves_to_keyed(store: &SqlStore, keyed: &SqlStore) {
    empty(store).await;
    append(store, "user.create", "ana").await.expect("unkeyed");
    let e = append(keyed, "key.create", "key_1").await.unwrap_err();
    assert!(
        e.to_string()
            .contains("start keying it with `seam audit key`"),
        "{e}"
    );
    let start = append(keyed, KEYED_ACTION, "audit")
        .await
        .expect("start keying");
    assert_eq!(start.seq, 2);
    append(keyed, "key.create", "key_1").await.expect("keyed");
    let v = keyed.verify_audit().await.expect("verify");
    assert!(v.intact, "{:?}", v.problems);
    assert_eq!((v.records, v.keyed_from), (3, Some(2)));
    empty(store).await;
}
