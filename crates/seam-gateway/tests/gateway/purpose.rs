//! Eval traffic (`x-seam-purpose: eval`): recorded as the call's purpose, outside cost limits
//! unless `[evals] count_in_budgets`, and the only traffic that may call a stored release by
//! id (`model: "release:ID"`). Canary traffic (`x-seam-purpose: canary`) likewise, with
//! `[canaries] count_in_budgets`.

use crate::harness::{Harness, Options, call_id, hello};
use seam_store::{ReleaseRecord, Releases, SessionQuery, Sessions};
use seam_vocab::Purpose;
use serde_json::{Value, json};

async fn eval_call(h: &Harness, body: &Value) -> reqwest::Response {
    purpose_call(h, "eval", body).await
}

async fn purpose_call(h: &Harness, purpose: &str, body: &Value) -> reqwest::Response {
    h.client
        .post(format!("{}/v1/chat/completions", h.gw))
        .bearer_auth(&h.key)
        .header("x-seam-purpose", purpose)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn chat() -> Value {
    json!({"model": "chat", "messages": hello()})
}

#[tokio::test]
async fn the_purpose_is_recorded_and_a_value_other_than_eval_or_canary_is_refused() {
    let h = Harness::start(Options::default()).await;
    let live = h.chat(chat()).await;
    assert_eq!(live.status(), 200);
    let eval = eval_call(&h, &chat()).await;
    assert_eq!(eval.status(), 200);
    let (call, _) = h.record(&call_id(&live)).await;
    assert_eq!(call.purpose, Purpose::Live);
    let (call, _) = h.record(&call_id(&eval)).await;
    assert_eq!(call.purpose, Purpose::Eval);
    let canary = purpose_call(&h, "canary", &chat()).await;
    assert_eq!(canary.status(), 200);
    let (call, _) = h.record(&call_id(&canary)).await;
    assert_eq!(call.purpose, Purpose::Canary);

    for bad in ["evaluation", "live", "canaries", ""] {
        let r = h
            .client
            .post(format!("{}/v1/chat/completions", h.gw))
            .bearer_auth(&h.key)
            .header("x-seam-purpose", bad)
            .json(&chat())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad:?}");
        let id = call_id(&r);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "invalid_header");
        assert_eq!(body["error"]["param"], "x-seam-purpose");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("x-seam-purpose") && msg.contains("`eval`") && msg.contains("`canary`"),
            "{msg}"
        );
        // Recorded like any refused call, as live traffic (it did not say what it was).
        let (call, attempts) = h.record(&id).await;
        assert_eq!((call.status, call.outcome.as_str()), (400, "rejected"));
        assert_eq!(call.purpose, Purpose::Live);
        assert!(attempts.is_empty());
    }
    assert_eq!(
        h.sim_stats().await["requests"],
        3,
        "nothing refused was sent"
    );
}

// Each call bills 3 + 3 tokens ($15e-6) and reserves ~7 + 10 ($47e-6) first: four live calls
// fit in $100e-6.
const COST_LIMIT: &str =
    "[limits]\ndefault_output_tokens = 10\n[limits.tenant_default]\ncost_per_hour = 0.0001\n";

#[tokio::test]
async fn eval_calls_are_neither_charged_nor_refused_by_cost_limits() {
    let h = Harness::start(Options {
        extra: COST_LIMIT,
        ..Options::default()
    })
    .await;
    // Ten eval calls ($150e-6) spend none of the tenant's $100e-6.
    for i in 0..10 {
        assert_eq!(eval_call(&h, &chat()).await.status(), 200, "eval call {i}");
    }
    let mut live = 0;
    loop {
        let r = h.chat(chat()).await;
        if r.status() != 200 {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "tenant_cost_limit");
            break;
        }
        live += 1;
        assert!(live < 10, "the cost limit never refused");
    }
    assert_eq!(
        live, 4,
        "live calls spend the whole budget, as without eval calls"
    );
    // The budget is spent, and eval calls still go through.
    let r = eval_call(&h, &chat()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(h.sim_stats().await["requests"], 15);
}

#[tokio::test]
async fn with_count_in_budgets_eval_calls_are_charged_like_any_other() {
    let extra = format!("{COST_LIMIT}\n[evals]\ncount_in_budgets = true\n");
    let h = Harness::start(Options {
        extra: &extra,
        ..Options::default()
    })
    .await;
    let mut ok = 0;
    loop {
        let r = eval_call(&h, &chat()).await;
        if r.status() != 200 {
            assert_eq!(r.status(), 429);
            let id = call_id(&r);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "tenant_cost_limit");
            let (call, _) = h.record(&id).await;
            assert_eq!(
                (call.outcome.as_str(), call.purpose),
                ("refused", Purpose::Eval)
            );
            break;
        }
        ok += 1;
        assert!(ok < 10, "the cost limit never refused");
    }
    assert_eq!(ok, 4);
    // They spent the tenant's budget: live traffic is refused too.
    assert_eq!(h.chat(chat()).await.status(), 429);
}

#[tokio::test]
async fn canary_calls_are_outside_cost_limits_unless_canaries_count_in_budgets() {
    let h = Harness::start(Options {
        extra: COST_LIMIT,
        ..Options::default()
    })
    .await;
    // Ten canary replays ($150e-6) spend none of the tenant's $100e-6.
    for i in 0..10 {
        let r = purpose_call(&h, "canary", &chat()).await;
        assert_eq!(r.status(), 200, "canary call {i}");
        if i == 0 {
            let (call, _) = h.record(&call_id(&r)).await;
            assert_eq!(call.purpose, Purpose::Canary);
            assert!(call.cost_usd > 0.0, "priced like any call");
        }
    }
    let mut live = 0;
    while h.chat(chat()).await.status() == 200 {
        live += 1;
        assert!(live < 10, "the cost limit never refused");
    }
    assert_eq!(live, 4, "live calls spend the whole budget");
    assert_eq!(purpose_call(&h, "canary", &chat()).await.status(), 200);

    // Counted when configured (eval traffic still not: each has its own setting).
    let extra = format!("{COST_LIMIT}\n[canaries]\ncount_in_budgets = true\n");
    let h = Harness::start(Options {
        extra: &extra,
        ..Options::default()
    })
    .await;
    for i in 0..10 {
        assert_eq!(eval_call(&h, &chat()).await.status(), 200, "eval call {i}");
    }
    let mut ok = 0;
    loop {
        let r = purpose_call(&h, "canary", &chat()).await;
        if r.status() != 200 {
            assert_eq!(r.status(), 429);
            let id = call_id(&r);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "tenant_cost_limit");
            let (call, _) = h.record(&id).await;
            assert_eq!(
                (call.outcome.as_str(), call.purpose),
                ("refused", Purpose::Canary)
            );
            break;
        }
        ok += 1;
        assert!(ok < 10, "the cost limit never refused");
    }
    assert_eq!(ok, 4);
    assert_eq!(h.chat(chat()).await.status(), 429, "they spent the budget");
}

#[tokio::test]
async fn request_limits_hold_eval_calls() {
    let h = Harness::start(Options {
        extra: "[limits.tenant_default]\nrequests_per_hour = 2\ncost_per_hour = 1000\n",
        ..Options::default()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(eval_call(&h, &chat()).await.status(), 200);
    }
    let r = eval_call(&h, &chat()).await;
    assert_eq!(r.status(), 429);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "tenant_request_limit");
    assert_eq!(
        h.chat(chat()).await.status(),
        429,
        "they count for live traffic too"
    );
}

const PROMPT: &str = r#"
name = "support-bot"
owners = ["ana"]
route = "chat"
model = "sim-large-2026-01"
params = { temperature = 0.2 }
variables = { customer = "string" }

[[messages]]
role = "system"
content = "You help {{ customer }} with billing."
"#;

/// A release of support-bot stored and never deployed.
async fn stored_release(h: &Harness) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("support-bot.toml");
    std::fs::write(&path, PROMPT).unwrap();
    let prompt = seam_prompts::load_file(&path).unwrap();
    let content = serde_json::to_string(&prompt).unwrap();
    let release = ReleaseRecord {
        id: ReleaseRecord::id_of(&content),
        prompt: "support-bot".into(),
        content,
        author: "ana".into(),
        created_ms: 1,
    };
    h.store.insert_release(&release).await.unwrap();
    release.id
}

fn by_id(model: &str) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": "Where is invoice 7?"}],
        "seam_variables": {"customer": "Acme"},
    })
}

#[tokio::test]
async fn an_eval_call_is_served_a_stored_release_by_id_and_records_it() {
    let h = Harness::start(Options::default()).await;
    let id = stored_release(&h).await;
    let model = format!("release:{id}");
    // Not deployed anywhere, and no session pin however the call names a session.
    let r = h
        .client
        .post(format!("{}/v1/chat/completions", h.gw))
        .bearer_auth(&h.key)
        .header("x-seam-purpose", "eval")
        .header("x-seam-session", "sess-1")
        .json(&by_id(&model))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-seam-release"], id.as_str());
    let call = call_id(&r);
    let sent = h.sim_stats().await["last_body"].clone();
    assert_eq!(sent["model"], "sim-large-2026-01");
    assert_eq!(sent["temperature"], 0.2);
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "You help Acme with billing."})
    );
    assert_eq!(sent["messages"][1]["content"], "Where is invoice 7?");
    assert!(sent.get("seam_variables").is_none());
    let (rec, _) = h.record(&call).await;
    assert_eq!(rec.release_id.as_deref(), Some(id.as_str()));
    assert_eq!(rec.purpose, Purpose::Eval);
    assert_eq!(rec.requested_model, model);
    assert_eq!(rec.route, "chat");
    let pins = h
        .store
        .list_sessions(&SessionQuery {
            live_at_ms: 0,
            ..SessionQuery::default()
        })
        .await
        .unwrap();
    assert!(pins.is_empty(), "{pins:?}");
    // A missing variable is refused as for a prompt call.
    let mut bad = by_id(&model);
    bad["seam_variables"] = json!({});
    let r = eval_call(&h, &bad).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["param"], "seam_variables");
}

#[tokio::test]
async fn live_traffic_cannot_call_a_release_by_id_and_an_unknown_id_is_not_found() {
    let h = Harness::start(Options::default()).await;
    let id = stored_release(&h).await;
    let r = h.chat(by_id(&format!("release:{id}"))).await;
    assert_eq!(r.status(), 400);
    let call = call_id(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["param"], "model");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("only with `x-seam-purpose: eval`") && msg.contains("prompt:NAME@CHANNEL"),
        "{msg}"
    );
    let (rec, _) = h.record(&call).await;
    assert_eq!((rec.status, rec.release_id), (400, None));

    // Unknown: a 404 in the shape of a prompt channel with nothing deployed.
    let r = eval_call(&h, &by_id("release:rel_0000000000000000")).await;
    assert_eq!(r.status(), 404);
    let unknown: Value = r.json().await.unwrap();
    let r = eval_call(&h, &by_id("prompt:support-bot@nowhere")).await;
    assert_eq!(r.status(), 404);
    let no_channel: Value = r.json().await.unwrap();
    for k in ["type", "code", "param"] {
        assert_eq!(unknown["error"][k], no_channel["error"][k], "{k}");
    }
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rel_0000000000000000"),
        "{unknown}"
    );
    // The legacy completions endpoint takes no release, as it takes no prompt.
    let r = h
        .client
        .post(format!("{}/v1/completions", h.gw))
        .bearer_auth(&h.key)
        .header("x-seam-purpose", "eval")
        .json(&json!({"model": format!("release:{id}"), "prompt": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        h.sim_stats().await["requests"],
        0,
        "nothing reached the sim"
    );
}
