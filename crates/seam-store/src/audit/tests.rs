//! The chain's rules on records in memory; the store's appends are in the conformance suite.

use super::*;
use crate::{ApprovalRecord, DeployRecord, ReleaseRecord};
use serde_json::json;

fn key() -> AuditKey {
    AuditKey::new(&"k".repeat(40)).expect("key")
}

fn append(chain: &mut Vec<AuditRecord>, key: Option<&AuditKey>, action: &str, subject: &str) {
    append_as(chain, key, "ana", action, subject, None);
}

fn append_as(
    chain: &mut Vec<AuditRecord>,
    key: Option<&AuditKey>,
    actor: &str,
    action: &str,
    subject: &str,
    after: Option<serde_json::Value>,
) {
    let mut r = AuditRecord {
        seq: chain.len() as i64 + 1,
        created_ms: 100 + chain.len() as i64,
        actor: actor.into(),
        action: action.into(),
        subject: subject.into(),
        before: None,
        after: after.map(|a| a.to_string()),
        prev_hash: chain.last().map_or(GENESIS.into(), |r| r.hash.clone()),
        hash: String::new(),
        key_id: None,
    };
    seal(&mut r, key);
    chain.push(r);
}

/// What someone with write access to the database but not the key can do: change record
/// `from` and recompute every hash after it, unkeyed.
fn rewrite_unkeyed(chain: &mut [AuditRecord], from: usize) {
    chain[from - 1].subject = "forged".into();
    for i in from - 1..chain.len() {
        chain[i].prev_hash = if i == 0 {
            GENESIS.into()
        } else {
            chain[i - 1].hash.clone()
        };
        seal(&mut chain[i], None);
    }
}

fn keyed_chain(n: usize) -> Vec<AuditRecord> {
    let mut chain = Vec::new();
    for i in 0..n {
        append(&mut chain, Some(&key()), "key.create", &format!("key_{i}"));
    }
    chain
}

fn reason(p: Option<Problem>) -> (Option<i64>, String) {
    let p = p.expect("a problem");
    (p.record, p.reason)
}

#[test]
fn a_rewrite_recomputed_from_a_record_on_passes_unkeyed_and_fails_keyed() {
    let mut unkeyed = Vec::new();
    for i in 0..5 {
        append(&mut unkeyed, None, "key.create", &format!("key_{i}"));
    }
    rewrite_unkeyed(&mut unkeyed, 3);
    assert_eq!(
        verify_chain(&unkeyed, None),
        None,
        "what an unkeyed chain cannot show"
    );

    let chain = keyed_chain(5);
    assert_eq!(check_chain(&chain, Some(&key())), Ok(Some(1)));
    let mut from_middle = chain.clone();
    rewrite_unkeyed(&mut from_middle, 3);
    let (at, why) = reason(verify_chain(&from_middle, Some(&key())));
    assert_eq!(at, Some(3));
    assert!(
        why.contains("not keyed, but the chain is keyed from record 1"),
        "{why}"
    );

    let mut whole = chain.clone();
    rewrite_unkeyed(&mut whole, 1);
    assert_eq!(verify_chain(&whole, None), None);
    let (at, why) = reason(verify_chain(&whole, Some(&key())));
    assert_eq!(at, Some(1));
    assert!(
        why.contains("records 1-5 are not keyed, though SEAM_AUDIT_KEY is set"),
        "{why}"
    );

    let mut changed = chain.clone();
    changed[3].subject = "forged".into();
    let (at, why) = reason(verify_chain(&changed, Some(&key())));
    assert_eq!(at, Some(4));
    assert!(why.contains("does not match its signature"), "{why}");
}

#[test]
fn a_missing_or_wrong_key_is_named_and_never_shown() {
    let chain = keyed_chain(2);
    let (at, why) = reason(verify_chain(&chain, None));
    assert_eq!(at, Some(1));
    assert_eq!(
        why,
        "records from 1 on are keyed: set SEAM_AUDIT_KEY to verify them"
    );
    let other = AuditKey::new(&"o".repeat(40)).expect("key");
    let (_, why) = reason(verify_chain(&chain, Some(&other)));
    assert_eq!(
        why,
        format!(
            "SEAM_AUDIT_KEY is not the key the audit chain is signed with (it is key {}, the chain's is {})",
            other.id(),
            key().id()
        )
    );
    assert!(!why.contains(&"o".repeat(32)) && !why.contains(&"k".repeat(32)));
}

#[test]
fn a_chain_moves_to_keyed_at_one_record_and_old_records_still_verify() {
    let mut chain = Vec::new();
    append(&mut chain, None, "user.create", "ana");
    append(&mut chain, None, "key.create", "key_1");
    let k = key();
    let tail = |c: &[AuditRecord]| c.last().map(|r| (r.seq, r.key_id.clone()));
    let t = tail(&chain);
    let t = t.as_ref().map(|(s, id)| (*s, id.as_deref()));
    assert_eq!(next_key(t, None, "key.create"), Ok(None));
    let e = next_key(t, Some(&k), "key.create").unwrap_err();
    assert!(e.contains("start keying it with `seam audit key`"), "{e}");
    assert_eq!(next_key(t, Some(&k), KEYED_ACTION), Ok(Some(k.id().into())));
    append(&mut chain, Some(&k), KEYED_ACTION, "audit");
    append(&mut chain, Some(&k), "key.create", "key_2");
    assert_eq!(check_chain(&chain, Some(&k)), Ok(Some(3)));

    let t = tail(&chain);
    let t = t.as_ref().map(|(s, id)| (*s, id.as_deref()));
    assert_eq!(next_key(t, Some(&k), "key.create"), Ok(Some(k.id().into())));
    let e = next_key(t, None, "key.create").unwrap_err();
    assert!(
        e.contains("the audit chain is keyed (record 4 is signed with key"),
        "{e}"
    );
    let other = AuditKey::new(&"o".repeat(40)).expect("key");
    let e = next_key(t, Some(&other), KEYED_ACTION).unwrap_err();
    assert!(
        e.contains("not the key the audit chain is signed with"),
        "{e}"
    );
    assert_eq!(
        next_key(None, Some(&k), "user.create"),
        Ok(Some(k.id().into()))
    );
    assert_eq!(next_key(None, None, "user.create"), Ok(None));
}

#[test]
fn a_head_taken_before_shows_a_lost_tail_or_a_rewrite() {
    let mut chain = keyed_chain(5);
    let head = Head::of(&chain);
    let text = head.to_string();
    assert_eq!(text.parse::<Head>(), Ok(head.clone()));
    assert!(text.starts_with("5:"));
    for bad in ["5", "x:abc", "-1:00", &format!("5:{}", "g".repeat(64))] {
        let e = bad.parse::<Head>().unwrap_err();
        assert!(e.contains("is not a head: write COUNT:HASH"), "{e}");
    }
    let rows = ControlRows::default();
    let mut v = verify(&chain, &rows, Some(&key()));
    v.check_head("--head", &head);
    v.check_head("--head", &Head::of(&[]));
    assert!(v.intact, "{:?}", v.problems);

    chain.truncate(3);
    let mut v = verify(&chain, &rows, Some(&key()));
    assert!(v.intact, "a chain cut short still verifies on its own");
    v.check_head("--head", &head);
    assert!(!v.intact);
    assert_eq!(
        v.problems[0].reason,
        "the chain has 3 records, fewer than the 5 of this head: records 4-5 were deleted, or the store was rolled back"
    );

    let mut rewritten = keyed_chain(5);
    rewrite_unkeyed(&mut rewritten, 1);
    let mut v = verify(&rewritten, &rows, None);
    assert!(v.intact);
    v.check_head("anchor line 1", &head);
    assert_eq!(v.problems[0].at, "anchor line 1");
    assert!(
        v.problems[0]
            .reason
            .contains("the chain was rewritten at or before record 5"),
        "{:?}",
        v.problems
    );
}

fn release(content: &str, author: &str) -> ReleaseRecord {
    ReleaseRecord {
        id: ReleaseRecord::id_of(content),
        prompt: "bot".into(),
        content: content.into(),
        author: author.into(),
        created_ms: 1,
    }
}

fn deploy(id: &str, release: &str, actor: &str, kind: &str) -> DeployRecord {
    DeployRecord {
        id: id.into(),
        prompt: "bot".into(),
        channel: "production".into(),
        release_id: release.into(),
        actor: actor.into(),
        kind: kind.parse().expect("a deploy kind"),
        mode: seam_vocab::DeployMode::Drain,
        created_ms: id.len() as i64,
    }
}

/// Two releases by ana, approved by ben, deployed and rolled back, as seam-control records
/// them; and the rows they made.
fn recorded() -> (Vec<AuditRecord>, ControlRows) {
    let (a, b) = (release("{\"v\":1}", "ana"), release("{\"v\":2}", "ana"));
    let mut chain = Vec::new();
    for r in [&a, &b] {
        append_as(
            &mut chain,
            None,
            "ana",
            "release.create",
            &r.id,
            Some(json!({"model": "m"})),
        );
        append_as(
            &mut chain,
            None,
            "ben",
            "release.approve",
            &r.id,
            Some(json!({"approver": "ben"})),
        );
    }
    let put = |chain: &mut Vec<AuditRecord>, action: &str, id: &str| {
        let after = json!({"release": id, "mode": "drain"});
        append_as(chain, None, "ben", action, "bot@production", Some(after));
    };
    put(&mut chain, "release.deploy", &a.id);
    put(&mut chain, "release.deploy", &b.id);
    put(&mut chain, "release.rollback", &a.id);
    let rows = ControlRows {
        approvals: [&a, &b]
            .iter()
            .map(|r| ApprovalRecord {
                release_id: r.id.clone(),
                approver: "ben".into(),
                created_ms: 2,
            })
            .collect(),
        deploys: vec![
            deploy("d1", &a.id, "ben", "deploy"),
            deploy("d22", &b.id, "ben", "deploy"),
            deploy("d333", &a.id, "ben", "rollback"),
        ],
        releases: vec![a, b],
    };
    (chain, rows)
}

fn problems(chain: &[AuditRecord], rows: &ControlRows) -> Vec<(String, String)> {
    verify(chain, rows, None)
        .problems
        .into_iter()
        .map(|p| (p.at, p.reason))
        .collect()
}

#[test]
fn releases_approvals_and_deploys_match_the_records_that_made_them() {
    let (chain, rows) = recorded();
    let v = verify(&chain, &rows, None);
    assert!(v.intact, "{:?}", v.problems);
    assert_eq!((v.releases, v.approvals, v.deploys), (2, 2, 3));
}

#[test]
fn an_approval_inserted_or_deleted_outside_seam_is_found() {
    let (chain, mut rows) = recorded();
    let a = rows.releases[0].id.clone();
    rows.approvals.push(ApprovalRecord {
        release_id: a.clone(),
        approver: "mallory".into(),
        created_ms: 3,
    });
    assert_eq!(
        problems(&chain, &rows),
        [(
            format!("approval of {a} by mallory"),
            "no audit record approved it: it was inserted outside Seam".into()
        )]
    );
    let (chain, mut rows) = recorded();
    rows.approvals.remove(1);
    let p = problems(&chain, &rows);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "audit record 4");
    assert!(
        p[0].1
            .contains("the approvals table has no such approval (deleted)"),
        "{p:?}"
    );
}

#[test]
fn a_deploy_changed_reordered_inserted_or_deleted_is_found() {
    let (chain, rows) = recorded();
    let (a, b) = (rows.releases[0].id.clone(), rows.releases[1].id.clone());

    let mut changed = rows.clone();
    changed.deploys[2].release_id = b.clone();
    assert_eq!(
        problems(&chain, &changed),
        [(
            "deploy d333".to_string(),
            format!(
                "deploy 3 of bot@production is a rollback of {b} by ben (drain), but audit record 7 has a rollback of {a} by ben (drain)"
            )
        )]
    );

    let mut reordered = rows.clone();
    reordered.deploys.swap(0, 1);
    let p = problems(&chain, &reordered);
    assert_eq!(p.len(), 1, "one problem per channel: {p:?}");
    assert_eq!(p[0].0, "deploy d22");

    let mut inserted = rows.clone();
    inserted
        .deploys
        .push(deploy("d4444", &b, "mallory", "deploy"));
    assert_eq!(
        problems(&chain, &inserted),
        [(
            "deploy d4444".to_string(),
            format!(
                "no audit record made this deploy of {b} by mallory (drain) on bot@production: it was inserted outside Seam"
            )
        )]
    );

    let mut deleted = rows.clone();
    deleted.deploys.pop();
    let p = problems(&chain, &deleted);
    assert_eq!(p[0].0, "audit record 7");
    assert!(
        p[0].1
            .contains("which the deploys table does not have (deleted)"),
        "{p:?}"
    );
    deleted.deploys.clear();
    assert_eq!(
        problems(&chain, &deleted).len(),
        1,
        "the channel's first record"
    );
}

#[test]
fn a_release_changed_or_reassigned_outside_seam_is_found() {
    let (chain, mut rows) = recorded();
    let id = rows.releases[0].id.clone();
    rows.releases[0].content = "{\"v\":1,\"owners\":[\"mallory\"]}".into();
    rows.releases[1].author = "ben".into();
    let p = problems(&chain, &rows);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(
        p[0],
        (
            format!("release {id}"),
            "its content does not hash to its id: the content was changed".into()
        )
    );
    assert!(
        p[1].1
            .starts_with("its author is `ben`, but audit record 3 has `ana` creating it"),
        "{p:?}"
    );
}
