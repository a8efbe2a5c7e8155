//! The contamination guard on `POST /api/releases`: a prompt that carries an eval case of
//! `[evals] dir` is refused with 409 and an OpenAI-style error naming the case, its file and
//! line, where in the release, the measure and the span; an owner's (here, with nothing on
//! production, an admin's) `allow_contamination` makes it, audited and on the timeline.

use crate::control_api::{call, user, user_with};
use crate::harness::{Harness, Options};
use seam_store::{Audit, Events};
use seam_vocab::EventKind;
use serde_json::json;

const ANSWER: &str = "Go to Settings, then Billing details, and replace the VAT number. Invoices issued after the change carry the new number, and reverse charge applies once the number is validated.";

fn prompt(few_shot_answer: &str) -> String {
    format!(
        "name = \"billing-bot\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"sim-large-2026-01\"\n\n[[messages]]\nrole = \"system\"\ncontent = \"You are a helpful assistant for Acme Billing.\"\n\n[[messages]]\nrole = \"user\"\ncontent = \"How do I change our VAT number?\"\n\n[[messages]]\nrole = \"assistant\"\ncontent = \"{few_shot_answer}\"\n"
    )
}

#[tokio::test]
async fn a_release_carrying_an_eval_answer_is_refused_unless_an_owner_allows_it() {
    let evals = tempfile::tempdir().unwrap();
    let case = json!({"id": "vat-number", "input": {"messages": [{"role": "user", "content": "Where do I change the VAT number so that the next invoices show it?"}]}, "expected": ANSWER});
    std::fs::write(
        evals.path().join("billing.jsonl"),
        format!("{{\"id\": \"other\", \"variables\": {{\"q\": \"an unrelated question about invoices\"}}}}\n{case}\n"),
    )
    .unwrap();
    let extra = format!("\n[evals]\ndir = \"{}\"\n", evals.path().display());
    let h = Harness::start(Options {
        extra: &extra,
        ..Options::default()
    })
    .await;
    let root = user_with(&h, "root", true, &[]).await;
    let ana = user(&h, "ana").await;
    let post = reqwest::Method::POST;
    let contaminated = prompt(&ANSWER.to_uppercase().replace(", ", " "));

    let (s, v) = call(
        &h,
        post.clone(),
        "/api/releases",
        Some(&ana),
        Some(json!({"prompt": contaminated})),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"]["type"], "eval_contamination");
    assert_eq!(v["error"]["code"], "eval_contamination");
    let msg = v["error"]["message"].as_str().unwrap();
    for part in [
        "case `vat-number`",
        "billing.jsonl:2",
        "its expected output",
        "messages[2] (assistant)",
        "contained whole",
        "longest shared span 29 tokens",
        "\"go to settings then billing details",
        "--allow-contamination",
    ] {
        assert!(msg.contains(part), "{part} not in {msg}");
    }
    let f = &v["error"]["findings"][0];
    assert_eq!(f["case"], "vat-number");
    assert_eq!(f["line"], 2);
    assert_eq!(f["part"], "expected");
    assert_eq!(f["metric"], "contained");
    assert_eq!(v["error"]["findings"].as_array().unwrap().len(), 1);
    assert!(
        h.store
            .list_audit()
            .await
            .unwrap()
            .iter()
            .all(|a| a.action != "release.create"),
        "nothing made"
    );

    // Not an owner (nothing is on production: admins stand in), no reason: refused.
    let (s, v) = call(
        &h,
        post.clone(),
        "/api/releases",
        Some(&ana),
        Some(json!({"prompt": contaminated, "allow_contamination": "demo"})),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = call(
        &h,
        post.clone(),
        "/api/releases",
        Some(&root),
        Some(json!({"prompt": contaminated, "allow_contamination": " "})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = call(
        &h,
        post.clone(),
        "/api/releases",
        Some(&root),
        Some(json!({"prompt": contaminated, "allow_contamination": 3})),
    )
    .await;
    assert_eq!(s, 400, "{v}");

    let (s, v) = call(&h, post.clone(), "/api/releases", Some(&root), Some(json!({"prompt": contaminated, "allow_contamination": "the support team wants this exact answer"}))).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        v["contamination_allowed"],
        "the support team wants this exact answer"
    );
    assert_eq!(v["contamination"][0]["case"], "vat-number");
    let id = v["id"].as_str().unwrap();
    let audit = h.store.list_audit().await.unwrap();
    let allowed = audit
        .iter()
        .find(|a| a.action == "release.contamination_allowed")
        .expect("audited");
    assert_eq!(allowed.actor, "root");
    assert_eq!(allowed.subject, id);
    let after: serde_json::Value = serde_json::from_str(allowed.after.as_deref().unwrap()).unwrap();
    assert_eq!(after["reason"], "the support team wants this exact answer");
    assert_eq!(after["datasets"], json!(["billing"]));
    assert_eq!(after["cases"][0]["case"], "vat-number");
    assert_eq!(after["cases"][0]["line"], 2);
    let events = h.store.list_events(0, 100).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::ReleaseContaminationAllowed && e.message.contains(id))
    );

    // A prompt that shares only boilerplate with the cases is made as before.
    let clean =
        prompt("Open Settings and follow the steps under Billing; ask me if anything is unclear.");
    let (s, v) = call(
        &h,
        post.clone(),
        "/api/releases",
        Some(&ana),
        Some(json!({"prompt": clean})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["contamination"], json!([]));
    assert!(v["contamination_allowed"].is_null());
}
