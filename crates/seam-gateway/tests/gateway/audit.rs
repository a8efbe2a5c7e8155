//! The audit chain over the control API: the approvals and deploys the rules act on are
//! checked against the records seam-control made of them.

use crate::control_api::{PROMPT, call, user, user_with};
use crate::harness::{Harness, Options};
use serde_json::{Value, json};

#[tokio::test]
async fn approvals_and_deploys_changed_outside_seam_fail_verify() {
    let h = Harness::start(Options::default()).await;
    // A prompt's first release is approved by an admin (it has no owners on production yet),
    // who deploys it too.
    let (ana, ben) = (user(&h, "ana").await, user_with(&h, "ben", true, &[]).await);
    let (post, get) = (reqwest::Method::POST, reqwest::Method::GET);
    let body = json!({"prompt": PROMPT});
    let (s, v) = call(&h, post.clone(), "/api/releases", Some(&ana), Some(body)).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let approve = format!("/api/releases/{id}/approve");
    assert_eq!(
        call(&h, post.clone(), &approve, Some(&ben), None).await.0,
        200
    );
    let deploy = json!({"target": "support-bot@production", "release": id});
    let (s, v) = call(&h, post, "/api/deploys", Some(&ben), Some(deploy)).await;
    assert_eq!(s, 200, "{v}");

    let (s, v) = call(&h, get.clone(), "/api/audit/verify", Some(&ben), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["intact"], &v["releases"], &v["approvals"], &v["deploys"]),
        (&json!(true), &json!(1), &json!(1), &json!(1))
    );

    // What someone with write access to the database can do without going through Seam:
    // approve as someone else, and point the channel at another release.
    let pool = h.store.pool();
    sqlx::query(
        "INSERT INTO approvals (release_id, approver, created_ms) VALUES ($1, 'mallory', 5)",
    )
    .bind(id.as_str())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE deploys SET release_id = 'rel_0000000000000000'")
        .execute(pool)
        .await
        .unwrap();
    let (s, v) = call(&h, get, "/api/audit/verify", Some(&ben), None).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["intact"], false);
    let problems: Vec<(&str, &str)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["at"].as_str().unwrap(), p["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(problems.len(), 2, "{v}");
    assert_eq!(
        problems[0],
        (
            format!("approval of {id} by mallory").as_str(),
            "no audit record approved it: it was inserted outside Seam"
        )
    );
    assert!(problems[1].0.starts_with("deploy dep_"), "{v}");
    assert!(
        problems[1].1.starts_with(
            "deploy 1 of support-bot@production is a deploy of rel_0000000000000000 by ben (drain), but audit record"
        ),
        "{v}"
    );
    assert_eq!(v["reason"], format!("{}: {}", problems[0].0, problems[0].1));
}

/// `[audit]` applies at the next start, as `[records]` does: a reload that changes it applies
/// the rest of the file (a prompt, a route) instead of being refused whole.
#[tokio::test]
async fn a_reload_that_moves_the_audit_anchor_applies_the_rest() {
    let h = Harness::start(Options {
        reloadable: true,
        ..Options::default()
    })
    .await;
    let ana = user_with(&h, "ana", true, &[]).await;
    let good = std::fs::read_to_string(&h.config_path).unwrap();
    let moved = format!(
        "{good}\n[[routes]]\nname = \"chat-new\"\ntargets = [{{ provider = \"up\", model = \"sim-large-2026-01\" }}]\n[audit]\nanchor_file = \"heads.jsonl\"\n"
    );
    std::fs::write(&h.config_path, moved).unwrap();
    let (s, v): (u16, Value) =
        call(&h, reqwest::Method::POST, "/api/reload", Some(&ana), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["applied"], true, "{v}");
    let r = h
        .chat(json!({"model": "chat-new", "messages": crate::harness::hello()}))
        .await;
    assert_eq!(r.status(), 200, "the new route serves");
}

#[tokio::test]
async fn an_action_whose_record_would_be_refused_is_not_done() {
    let h = Harness::start(Options::default()).await;
    let ana = user(&h, "ana").await;
    // Another process signs the chain with a key this gateway does not have.
    let key = seam_store::audit::AuditKey::new(&"k".repeat(40)).unwrap();
    let keyed = (*h.store).clone().with_audit_key(Some(key));
    seam_store::Audit::append_audit(&keyed, "root", "user.create", "ana", None, None, 1)
        .await
        .unwrap();
    let body = json!({"prompt": PROMPT});
    let (s, v) = call(
        &h,
        reqwest::Method::POST,
        "/api/releases",
        Some(&ana),
        Some(body),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the audit chain is keyed (record 1 is signed with key"),
        "{v}"
    );
    let (s, v) = call(
        &h,
        reqwest::Method::GET,
        "/api/releases/support-bot",
        Some(&ana),
        None,
    )
    .await;
    assert_eq!(
        (s, &v["releases"]),
        (200, &json!([])),
        "nothing was released"
    );
}
