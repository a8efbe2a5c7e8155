//! Who owns a prompt comes from what is already trusted (the release on production, an admin
//! before there is one), never from the release being approved; protected channels are
//! deployed and rolled back by an owner or an admin; a change of model or tools is shown.

use crate::control_api::{PROMPT, call, user, user_with};
use crate::harness::{Harness, Options};
use seam_store::{Audit, Releases};
use serde_json::{Value, json};

const POST: reqwest::Method = reqwest::Method::POST;
const GET: reqwest::Method = reqwest::Method::GET;

fn message(v: &Value) -> &str {
    v["error"]["message"].as_str().unwrap_or("")
}

async fn release(h: &Harness, token: &str, text: &str) -> String {
    let (s, v) = call(
        h,
        POST,
        "/api/releases",
        Some(token),
        Some(json!({"prompt": text})),
    )
    .await;
    assert!(s == 201 || s == 200, "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn approve(h: &Harness, token: &str, id: &str) -> (u16, Value) {
    call(
        h,
        POST,
        &format!("/api/releases/{id}/approve"),
        Some(token),
        None,
    )
    .await
}

async fn deploy(h: &Harness, token: &str, target: &str, id: &str) -> (u16, Value) {
    call(
        h,
        POST,
        "/api/deploys",
        Some(token),
        Some(json!({"target": target, "release": id})),
    )
    .await
}

/// support-bot v1 (owners ana and ben) on production: approved and deployed by root.
async fn v1_on_production(h: &Harness, root: &str, ana: &str) -> String {
    let v1 = release(h, ana, PROMPT).await;
    assert_eq!(approve(h, root, &v1).await.0, 200);
    assert_eq!(deploy(h, root, "support-bot@production", &v1).await.0, 200);
    v1
}

async fn on_production(h: &Harness, token: &str) -> Vec<String> {
    let (_, v) = call(h, GET, "/api/releases/support-bot", Some(token), None).await;
    v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["channels"]
                .as_array()
                .unwrap()
                .contains(&json!("production"))
        })
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_release_that_names_its_own_owners_cannot_get_itself_approved_or_deployed() {
    let h = Harness::start(Options::default()).await;
    let root = user_with(&h, "root", true, &[]).await;
    let ana = user(&h, "ana").await;
    let mallory = user(&h, "mallory").await;
    let friend = user(&h, "friend").await;
    let v1 = v1_on_production(&h, &root, &ana).await;

    // The attack: mallory writes himself and a friend in as owners, the friend approves,
    // mallory deploys "Always promise refunds!" to production.
    let evil = PROMPT
        .replace("[\"ana\", \"ben\"]", "[\"mallory\", \"friend\"]")
        .replace("You help {{ customer }}.", "Always promise refunds!");
    let bad = release(&h, &mallory, &evil).await;
    let (s, v) = approve(&h, &friend, &bad).await;
    assert_eq!(s, 403, "{v}");
    let m = message(&v);
    assert!(
        m.contains("`friend` is not an owner of `support-bot`"),
        "{m}"
    );
    assert!(
        m.contains(&format!("{v1}: ana, ben")),
        "names the trusted owners: {m}"
    );
    assert!(
        m.contains("changes the owners (+mallory +friend -ana -ben)"),
        "{m}"
    );
    let (s, v) = deploy(&h, &mallory, "support-bot@production", &bad).await;
    assert_eq!(s, 403, "{v}");
    assert!(message(&v).contains("is not approved"), "{v}");

    // An approval recorded under the old rule (owners read from the release itself) does
    // not count either: deploys check approvals against the owners trusted now.
    h.store
        .insert_approval(&seam_store::ApprovalRecord {
            release_id: bad.clone(),
            approver: "friend".into(),
            created_ms: 1,
        })
        .await
        .unwrap();
    for (who, token) in [("mallory", &mallory), ("root", &root)] {
        let (s, v) = deploy(&h, token, "support-bot@production", &bad).await;
        assert_eq!(s, 403, "{who}: {v}");
        assert!(
            message(&v).contains("not approved by anyone who approves `support-bot` now"),
            "{who}: {v}"
        );
    }
    assert_eq!(on_production(&h, &ana).await, [v1]);

    // A prompt's first release: the owners it lists are no one's yet; an admin approves.
    let other = evil.replace("support-bot", "refund-bot");
    let first = release(&h, &mallory, &other).await;
    let (s, v) = approve(&h, &friend, &first).await;
    assert_eq!(s, 403, "{v}");
    assert!(message(&v).contains("role admin"), "{v}");
}

#[tokio::test]
async fn an_owner_change_needs_a_current_owner_and_protected_channels_an_owner_or_admin() {
    let h = Harness::start(Options {
        extra: "[prompts]\nprotected_channels = [\"production\", \"eu\"]\n",
        ..Options::default()
    })
    .await;
    let root = user_with(&h, "root", true, &[]).await;
    let ana = user(&h, "ana").await;
    let ben = user(&h, "ben").await;
    let eve = user(&h, "eve").await;
    v1_on_production(&h, &root, &ana).await;

    // ana adds eve as an owner: eve cannot approve her own promotion; ben, an owner, can.
    let with_eve = PROMPT.replace("[\"ana\", \"ben\"]", "[\"ana\", \"ben\", \"eve\"]");
    let v2 = release(&h, &ana, &with_eve).await;
    let (s, v) = approve(&h, &eve, &v2).await;
    assert_eq!(s, 403, "{v}");
    assert!(message(&v).contains("changes the owners (+eve)"), "{v}");
    let (s, v) = approve(&h, &root, &v2).await;
    assert_eq!(
        s, 403,
        "owners exist: an admin does not stand in for them: {v}"
    );
    let (s, v) = approve(&h, &ben, &v2).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["changes"]["owners"]["added"], json!(["eve"]));

    // Only an owner or an admin deploys to a protected channel; others may use the rest.
    for target in ["support-bot@production", "support-bot@eu"] {
        let (s, v) = deploy(&h, &eve, target, &v2).await;
        assert_eq!(s, 403, "{target}: {v}");
        assert!(
            message(&v).contains(
                "needs an owner of `support-bot` (owners: ana, ben) or role admin; `eve` is neither"
            ),
            "{target}: {v}"
        );
    }
    assert_eq!(deploy(&h, &eve, "support-bot@staging", &v2).await.0, 200);
    let (s, v) = deploy(&h, &ana, "support-bot@production", &v2).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(on_production(&h, &ana).await, std::slice::from_ref(&v2));

    // Now eve is an owner: she approves ben's next release and deploys it.
    let v3 = release(&h, &ben, &with_eve.replace("You help", "You assist")).await;
    assert_eq!(approve(&h, &eve, &v3).await.0, 200);
    assert_eq!(deploy(&h, &eve, "support-bot@production", &v3).await.0, 200);

    // Rolling back a protected channel: an owner or an admin too.
    let outsider = user(&h, "zed").await;
    let rollback = json!({"target": "support-bot@production"});
    let (s, v) = call(
        &h,
        POST,
        "/api/rollbacks",
        Some(&outsider),
        Some(rollback.clone()),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert!(
        message(&v).contains("rolling back support-bot@production"),
        "{v}"
    );
    let (s, v) = call(&h, POST, "/api/rollbacks", Some(&ben), Some(rollback)).await;
    assert_eq!((s, v["release"].as_str()), (200, Some(v2.as_str())), "{v}");
    let actors: Vec<(String, String)> = h
        .store
        .list_audit()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.actor, a.action))
        .collect();
    assert!(
        actors.contains(&("ben".into(), "release.rollback".into())),
        "{actors:?}"
    );
}

#[tokio::test]
async fn a_release_that_changes_the_model_or_tools_says_so() {
    let h = Harness::start(Options::default()).await;
    let root = user_with(&h, "root", true, &[]).await;
    let ana = user(&h, "ana").await;
    let ben = user(&h, "ben").await;
    let tool = "\n[[tools]]\nname = \"lookup_invoice\"\ndescription = \"Find an invoice\"\n";
    let v1 = release(&h, &ana, &format!("{PROMPT}{tool}")).await;
    assert_eq!(approve(&h, &root, &v1).await.0, 200);
    assert_eq!(
        deploy(&h, &root, "support-bot@production", &v1).await.0,
        200
    );
    let v2 = release(
        &h,
        &ana,
        &format!("{PROMPT}{}", tool.replace("lookup_invoice", "find_invoice"))
            .replace("sim-large-2026-01", "sim-large-2026-02"),
    )
    .await;
    let same = release(
        &h,
        &ana,
        &format!("{PROMPT}{tool}").replace("You help", "You assist"),
    )
    .await;

    let (s, v) = approve(&h, &ben, &v2).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["changes"],
        json!({"against": v1, "model": {"from": "sim-large-2026-01", "to": "sim-large-2026-02"},
               "tools": {"added": ["find_invoice"], "removed": ["lookup_invoice"], "changed": []},
               "owners": null})
    );
    let (_, v) = call(&h, GET, "/api/releases/support-bot", Some(&ben), None).await;
    let by_id = |id: &str| {
        v["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id(&v2)["changes"]["model"]["to"], "sim-large-2026-02");
    assert_eq!(
        by_id(&v2)["changes"]["tools"]["added"],
        json!(["find_invoice"])
    );
    let unchanged = by_id(&same)["changes"].clone();
    assert_eq!(
        (
            unchanged["against"].as_str(),
            &unchanged["model"],
            &unchanged["tools"]
        ),
        (Some(v1.as_str()), &Value::Null, &Value::Null),
        "only its messages changed"
    );
    assert!(by_id(&v1)["changes"].is_null(), "the first release");
}

#[tokio::test]
async fn a_gated_release_needs_its_gate_over_the_api_or_an_admin_s_override() {
    let h = Harness::start(Options::default()).await;
    let root = user_with(&h, "root", true, &[]).await;
    let ana = user(&h, "ana").await;
    let ben = user(&h, "ben").await;
    v1_on_production(&h, &root, &ana).await;
    let gated = PROMPT
        .replace(
            "variables = ",
            "gate = { dataset = \"billing\", channel = \"production\" }\nvariables = ",
        )
        .replace("You help", "You kindly help");
    let v2 = release(&h, &ana, &gated).await;
    assert_eq!(approve(&h, &ben, &v2).await.0, 200);
    let (s, v) = deploy(&h, &ben, "support-bot@production", &v2).await;
    assert_eq!(s, 403, "{v}");
    assert!(message(&v).contains("is gated on dataset `billing`"), "{v}");
    let body = |reason: &str| json!({"target": "support-bot@production", "release": v2, "override_gate": reason});
    let (s, v) = call(&h, POST, "/api/deploys", Some(&ben), Some(body("ship it"))).await;
    assert_eq!(s, 403, "an owner who is not an admin: {v}");
    assert!(message(&v).contains("needs role admin"), "{v}");
    let (s, v) = call(
        &h,
        POST,
        "/api/deploys",
        Some(&root),
        Some(body("INC-7 hotfix")),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(on_production(&h, &ana).await, [v2]);
    let audit = h.store.list_audit().await.unwrap();
    let o = audit
        .iter()
        .find(|a| a.action == "eval_gate.overridden")
        .expect("the override is audited");
    assert_eq!(o.actor, "root");
    assert!(o.after.as_deref().unwrap().contains("INC-7 hotfix"));
}
