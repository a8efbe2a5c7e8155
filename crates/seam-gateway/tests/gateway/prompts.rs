//! Calling a deployed prompt release: `model: "prompt:NAME[@CHANNEL]"`.

use crate::harness::{Harness, Options};
use seam_store::{DeployRecord, Events, ReleaseRecord, Releases};
use serde_json::{Value, json};
use std::time::Duration;

const PROMPT: &str = r#"
name = "support-bot"
owners = ["ana", "ben"]
route = "chat"
model = "sim-large-2026-01"
params = { temperature = 0.2, max_tokens = 400 }
variables = { customer = "string" }

[[messages]]
role = "system"
content = "You help {{ customer }} with billing. Never promise refunds."

[[tools]]
name = "lookup_invoice"
description = "Find an invoice"
parameters = { type = "object", properties = { id = { type = "string" } } }
"#;

async fn deploy(h: &Harness) -> String {
    deploy_text(h, PROMPT).await
}

pub(crate) async fn deploy_text(h: &Harness, text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("support-bot.toml");
    std::fs::write(&path, text).unwrap();
    let prompt = seam_prompts::load_file(&path).unwrap();
    let release = ReleaseRecord {
        id: "rel_test0001".into(),
        prompt: "support-bot".into(),
        content: serde_json::to_string(&prompt).unwrap(),
        author: "ana".into(),
        created_ms: 1,
    };
    h.store.insert_release(&release).await.unwrap();
    h.store
        .insert_deploy(&DeployRecord {
            id: "dep_1".into(),
            prompt: "support-bot".into(),
            channel: "production".into(),
            release_id: release.id.clone(),
            actor: "ben".into(),
            kind: seam_vocab::DeployKind::Deploy,
            mode: seam_vocab::DeployMode::Drain,
            created_ms: 2,
        })
        .await
        .unwrap();
    release.id
}

#[tokio::test]
async fn a_prompt_call_sends_the_release_rendering_to_its_pinned_model() {
    let h = Harness::start(Options::default()).await;
    let id = deploy(&h).await;
    let body = json!({
        "model": "prompt:support-bot",
        "messages": [{"role": "user", "content": "Where is invoice 7?"}],
        "seam_variables": {"customer": "Acme"},
        "temperature": 1.5,
    });
    // The gateway picks the deploy up within a second.
    let mut r = h.chat(body.clone()).await;
    for _ in 0..30 {
        if r.status() != 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        r = h.chat(body.clone()).await;
    }
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-seam-release"], id.as_str());
    let sent = h.sim_stats().await["last_body"].clone();
    assert_eq!(sent["model"], "sim-large-2026-01");
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "You help Acme with billing. Never promise refunds."})
    );
    assert_eq!(sent["messages"][1]["content"], "Where is invoice 7?");
    assert_eq!(
        sent["temperature"], 0.2,
        "the release's params are the contract"
    );
    assert_eq!(sent["max_tokens"], 400);
    assert_eq!(sent["tools"][0]["function"]["name"], "lookup_invoice");
    assert!(sent.get("seam_variables").is_none());

    let missing = h
        .chat(
            json!({"model": "prompt:support-bot", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(missing.status(), 400);
    let e: Value = missing.json().await.unwrap();
    assert_eq!(e["error"]["param"], "seam_variables");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("customer"),
        "{e}"
    );

    let nowhere = h
        .chat(json!({"model": "prompt:support-bot@staging", "messages": [{"role": "user", "content": "x"}], "seam_variables": {"customer": "A"}}))
        .await;
    assert_eq!(nowhere.status(), 404);
    let e: Value = nowhere.json().await.unwrap();
    assert!(
        e["error"]["message"].as_str().unwrap().contains("staging"),
        "{e}"
    );
}

async fn call_when_deployed(h: &Harness) -> reqwest::Response {
    let body = json!({"model": "prompt:support-bot", "messages": [{"role": "user", "content": "hi"}], "seam_variables": {"customer": "Acme"}});
    let mut r = h.chat(body.clone()).await;
    for _ in 0..30 {
        if r.status() != 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        r = h.chat(body.clone()).await;
    }
    r
}

#[tokio::test]
async fn a_release_that_refuses_other_models_fails_the_call_but_records_the_bill() {
    // The provider has moved the pinned snapshot's alias to a newer model.
    let h = Harness::start(Options {
        scenario: "[model]\nserved = \"sim-large-2026-02\"\n",
        ..Options::default()
    })
    .await;
    deploy_text(
        &h,
        &PROMPT.replace("owners =", "on_model_change = \"refuse\"\nowners ="),
    )
    .await;
    let r = call_when_deployed(&h).await;
    assert_eq!(r.status(), 502);
    let id = crate::harness::call_id(&r);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "served_model_mismatch");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sim-large-2026-02"),
        "{e}"
    );
    let (call, attempts) = h.record(&id).await;
    assert_eq!(
        (call.outcome.as_str(), call.error_class.map(|c| c.as_str())),
        ("error", Some("served_model_mismatch"))
    );
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0].outcome.as_str(),
        "ok",
        "the provider answered and billed"
    );
    assert!(attempts[0].input_tokens > 0 && call.cost_usd > 0.0);
}

#[tokio::test]
async fn a_release_that_alerts_answers_and_raises_one_event() {
    let h = Harness::start(Options {
        scenario: "[model]\nserved = \"sim-large-2026-02\"\n",
        ..Options::default()
    })
    .await;
    deploy_text(
        &h,
        &PROMPT.replace("owners =", "on_model_change = \"alert\"\nowners ="),
    )
    .await;
    assert_eq!(call_when_deployed(&h).await.status(), 200);
    assert_eq!(call_when_deployed(&h).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let events = h.store.list_events(0, 10).await.unwrap();
    let mismatches: Vec<_> = events
        .iter()
        .filter(|e| e.kind.as_str() == "release_model_mismatch")
        .collect();
    assert_eq!(mismatches.len(), 1, "{events:?}");
}
