//! Sessions pinned to their release (the seed's hot-reload story), deploy modes, restarts,
//! and config reloads that refuse a broken prompt file.

use crate::harness::{Harness, Options};
use seam_control::DeployMode;
use serde_json::{Value, json};
use std::time::Duration;

fn prompt(tool: &str) -> String {
    format!(
        r#"
name = "support-bot"
owners = ["ana", "ben"]
route = "chat"
model = "sim-large-2026-01"

[[messages]]
role = "system"
content = "You help with billing. Use the {tool} tool."

[[tools]]
name = "{tool}"
description = "Find an invoice"
parameters = {{ type = "object", properties = {{ id = {{ type = "string" }} }} }}
"#
    )
}

/// Releases `text` (authored by ana; approved by an admin while nothing is on production,
/// then by ben, an owner) and deploys it on production as an admin.
async fn ship(h: &Harness, text: &str, mode: DeployMode) -> String {
    let p = seam_prompts::parse(text, std::path::Path::new("support-bot.toml")).unwrap();
    let store = h.store.as_ref();
    let (r, _) = seam_control::create_release(store, "ana", &p)
        .await
        .unwrap();
    let admin = seam_control::Actor::admin("admin");
    let _ = seam_control::approve(store, &admin, &r.id).await;
    let _ = seam_control::approve(store, &seam_control::Actor::user("ben"), &r.id).await;
    let production = ["production".to_string()];
    seam_control::deploy(
        store,
        &admin,
        "support-bot@production",
        &r.id,
        mode,
        &production,
    )
    .await
    .unwrap();
    // The gateway sees a deploy within a second: wait for a session-less call to get it.
    for _ in 0..40 {
        let resp = h
            .chat(json!({"model": "prompt:support-bot", "messages": [{"role": "user", "content": "hi"}]}))
            .await;
        if resp
            .headers()
            .get("x-seam-release")
            .is_some_and(|v| v.to_str().ok() == Some(r.id.as_str()))
        {
            return r.id;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the gateway never served {}", r.id);
}

/// One call; returns (release served, the tool names the sim received).
async fn turn(h: &Harness, session: Option<&str>, history: &[Value]) -> (String, Vec<String>) {
    let mut messages = history.to_vec();
    messages.push(json!({"role": "user", "content": "Where is invoice 7?"}));
    let mut req = h
        .client
        .post(format!("{}/v1/chat/completions", h.gw))
        .bearer_auth(&h.key)
        .json(&json!({"model": "prompt:support-bot", "messages": messages}));
    if let Some(s) = session {
        req = req.header("x-seam-session", s);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.headers());
    let release = r.headers()["x-seam-release"].to_str().unwrap().to_string();
    let _ = r.bytes().await;
    let tools = h.sim_stats().await["last_body"]["tools"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    (release, tools)
}

/// The turns of a tool-using conversation so far.
fn history(turns: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..turns {
        out.push(json!({"role": "user", "content": format!("question {i}")}));
        out.push(json!({"role": "assistant", "content": null, "tool_calls": [{"id": format!("call_{i}"), "type": "function",
            "function": {"name": "lookup_invoice", "arguments": "{\"id\":\"7\"}"}}]}));
        out.push(json!({"role": "tool", "tool_call_id": format!("call_{i}"), "content": "paid"}));
    }
    out
}

async fn events(h: &Harness, kind: &str) -> Vec<seam_store::EventRecord> {
    use seam_store::Events;
    h.store
        .list_events(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind.as_str() == kind)
        .collect()
}

#[tokio::test]
async fn a_deploy_mid_session_leaves_the_session_on_its_release() {
    let h = Harness::start(Options::default()).await;
    let v1 = ship(&h, &prompt("lookup_invoice"), DeployMode::Drain).await;
    for t in 0..4 {
        let (rel, tools) = turn(&h, Some("conv-1"), &history(t)).await;
        assert_eq!(
            (rel.as_str(), tools),
            (v1.as_str(), vec!["lookup_invoice".to_string()])
        );
    }
    // 11:46pm: a new release renames the tool.
    let v2 = ship(&h, &prompt("find_invoice"), DeployMode::Drain).await;
    assert_ne!(v1, v2);
    for t in 4..10 {
        let (rel, tools) = turn(&h, Some("conv-1"), &history(t)).await;
        assert_eq!(
            rel, v1,
            "turn {t} stays on the release the session started on"
        );
        assert_eq!(tools, ["lookup_invoice"], "turn {t}");
    }
    let (rel, tools) = turn(&h, Some("conv-2"), &[]).await;
    assert_eq!(
        (rel.as_str(), tools),
        (v2.as_str(), vec!["find_invoice".to_string()])
    );

    // The old release drains, visibly: the deploy says one session is still on v1.
    let changes = seam_control::sessions::changes(
        h.store.as_ref(),
        &seam_control::Actor::admin("admin"),
        0,
        1000,
    )
    .await
    .unwrap();
    let deploy = changes
        .iter()
        .rfind(|e| e["kind"] == "release_deploy")
        .unwrap();
    assert_eq!(
        deploy["drain"],
        json!({"release": v1, "sessions": 1, "at_deploy": 1})
    );
    let mut metrics = String::new();
    for _ in 0..30 {
        metrics = h.metrics().await;
        if metrics.contains(&format!(
            "seam_sessions_pinned{{prompt=\"support-bot\",release=\"{v1}\"}} 1"
        )) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        metrics.contains(&format!(
            "seam_sessions_pinned{{prompt=\"support-bot\",release=\"{v1}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(events(&h, "session_moved").await.is_empty());
}

#[tokio::test]
async fn a_rollback_ends_the_drain_of_the_deploy_it_undoes() {
    let h = Harness::start(Options::default()).await;
    let v1 = ship(&h, &prompt("lookup_invoice"), DeployMode::Drain).await;
    assert_eq!(turn(&h, Some("conv-1"), &[]).await.0, v1);
    let v2 = ship(&h, &prompt("find_invoice"), DeployMode::Drain).await;
    assert_eq!(turn(&h, Some("conv-2"), &[]).await.0, v2);
    let store = h.store.as_ref();
    let admin = seam_control::Actor::admin("admin");
    let (from, to) = seam_control::rollback(
        store,
        &admin,
        "support-bot@production",
        DeployMode::Drain,
        &["production".to_string()],
    )
    .await
    .unwrap();
    assert_eq!((from.as_str(), to.as_str()), (v2.as_str(), v1.as_str()));
    for _ in 0..40 {
        if turn(&h, None, &[]).await.0 == v1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // v1 is served again: a new session there is the channel's own, not a drain.
    assert_eq!(turn(&h, Some("conv-3"), &[]).await.0, v1);

    let changes = seam_control::sessions::changes(store, &admin, 0, 1000)
        .await
        .unwrap();
    let of = |kind: &str| -> Vec<Value> {
        changes
            .iter()
            .filter(|e| e["kind"] == kind)
            .cloned()
            .collect()
    };
    let deploys = of("release_deploy");
    assert_eq!(deploys.len(), 2);
    assert!(
        deploys[0].get("drain").is_none(),
        "the first deploy replaced nothing"
    );
    let rollback = &of("release_rollback")[0];
    // The deploy of v2 drained v1 until the rollback put v1 back: what is on v1 now (conv-1
    // and conv-3) is not that deploy's drain.
    assert_eq!(
        deploys[1]["drain"],
        json!({"release": v1, "at_deploy": 1, "ended": {"at_ms": rollback["created_ms"]}})
    );
    assert_eq!(
        rollback["drain"],
        json!({"release": v2, "sessions": 1, "at_deploy": 1})
    );
}

#[tokio::test]
async fn an_immediate_deploy_moves_each_session_at_its_next_call_and_says_so() {
    let h = Harness::start(Options::default()).await;
    let v1 = ship(&h, &prompt("lookup_invoice"), DeployMode::Drain).await;
    assert_eq!(turn(&h, Some("a"), &[]).await.0, v1);
    assert_eq!(turn(&h, Some("b"), &[]).await.0, v1);
    let v2 = ship(&h, &prompt("find_invoice"), DeployMode::Immediate).await;
    let (rel, tools) = turn(&h, Some("a"), &history(1)).await;
    assert_eq!(
        (rel.as_str(), tools),
        (v2.as_str(), vec!["find_invoice".to_string()])
    );
    assert_eq!(turn(&h, Some("a"), &history(2)).await.0, v2);
    let mut moved = Vec::new();
    for _ in 0..30 {
        moved = events(&h, "session_moved").await;
        if !moved.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        moved.len(),
        1,
        "one move, for session a only (b made no call)"
    );
    let d: Value = serde_json::from_str(&moved[0].details).unwrap();
    assert_eq!(d["session"], "a");
    assert_eq!(d["before"]["release"], v1.as_str());
    assert_eq!(d["after"]["release"], v2.as_str());
}

#[tokio::test]
async fn a_pin_survives_a_gateway_restart_and_migrate_moves_it_on_purpose() {
    let h = Harness::start(Options::default()).await;
    let v1 = ship(&h, &prompt("lookup_invoice"), DeployMode::Drain).await;
    assert_eq!(turn(&h, Some("long-run"), &[]).await.0, v1);
    let v2 = ship(&h, &prompt("find_invoice"), DeployMode::Drain).await;
    let h = h.restart().await;
    let (rel, tools) = turn(&h, Some("long-run"), &history(3)).await;
    assert_eq!(
        (rel.as_str(), tools),
        (v1.as_str(), vec!["lookup_invoice".to_string()])
    );

    let target = seam_control::sessions::MigrateTarget {
        session_id: "long-run",
        tenant: None,
        channel: None,
    };
    let ben = seam_control::Actor {
        name: "ben".into(),
        admin: false,
        roles: vec![(seam_control::Role::Operator, "acme".into())],
    };
    let before = seam_control::sessions::migrate(h.store.as_ref(), &ben, &target, &v2)
        .await
        .unwrap();
    assert_eq!(before.release_id, v1);
    // Gateways see a migration within PIN_SYNC.
    tokio::time::sleep(seam_gateway::session::PIN_SYNC + Duration::from_millis(100)).await;
    assert_eq!(turn(&h, Some("long-run"), &history(4)).await.0, v2);
    let audit = seam_store::Audit::list_audit(h.store.as_ref())
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "session.migrate" && a.actor == "ben"),
        "the migration is audited under its actor"
    );
}

#[tokio::test]
async fn a_reload_with_a_broken_prompt_file_is_refused_whole_and_the_old_state_serves() {
    let h = Harness::start(Options {
        reloadable: true,
        extra: "[prompts]\nlive_channel = \"dev\"\n",
        ..Options::default()
    })
    .await;
    let prompts = h.config_path.parent().unwrap().join("prompts");
    std::fs::write(prompts.join("support-bot.toml"), prompt("lookup_invoice")).unwrap();
    // The file watch may get there first; either way the file is released on dev.
    h.reload("ana").await.expect("a valid reload applies");
    let dev = |h: &Harness| {
        let req = h
            .client
            .post(format!("{}/v1/chat/completions", h.gw))
            .bearer_auth(&h.key)
            .json(&json!({"model": "prompt:support-bot@dev", "messages": [{"role": "user", "content": "hi"}]}));
        async move {
            let r = req.send().await.unwrap();
            (
                r.status().as_u16(),
                r.headers()
                    .get("x-seam-release")
                    .map(|v| v.to_str().unwrap().to_string()),
            )
        }
    };
    let (status, v1) = dev(&h).await;
    assert_eq!(status, 200);
    let v1 = v1.expect("x-seam-release");

    // A broken prompt file: nothing changes, the refusal is on the timeline.
    std::fs::write(
        prompts.join("support-bot.toml"),
        "name = \"support-bot\"\nroute = ",
    )
    .unwrap();
    let err = h.reload("ana").await.expect_err("refused");
    assert!(err.to_string().contains("support-bot.toml"), "{err}");
    assert_eq!(dev(&h).await, (200, Some(v1.clone())));
    // A broken config: refused as a whole too.
    let good = std::fs::read_to_string(&h.config_path).unwrap();
    std::fs::write(&h.config_path, format!("{good}\n[server2]\n")).unwrap();
    let err = h.reload("ana").await.expect_err("refused");
    assert!(err.to_string().contains("server2"), "{err}");
    std::fs::write(&h.config_path, &good).unwrap();
    let mut refused = Vec::new();
    for _ in 0..30 {
        refused = events(&h, "config_reload_refused").await;
        if refused.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused.len() >= 2, "{refused:?}");

    // A fixed file is picked up by the file watch, without asking.
    std::fs::write(prompts.join("support-bot.toml"), prompt("find_invoice")).unwrap();
    let mut served = None;
    for _ in 0..50 {
        served = dev(&h).await.1;
        if served.as_ref() != Some(&v1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(served.as_ref(), Some(&v1), "the watch applied the change");
    let audit = seam_store::Audit::list_audit(h.store.as_ref())
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "release.deploy" && a.actor == "file-watch"),
        "the watch's deploy is audited"
    );
}

#[tokio::test]
async fn a_call_in_flight_finishes_on_the_config_it_started_on() {
    let h = Harness::start(Options {
        reloadable: true,
        scenario: "[model]\nserved = \"sim-large-2026-01\"\n[latency]\nfixed_ms = 700\n",
        ..Options::default()
    })
    .await;
    let body = json!({"model": "chat", "messages": crate::harness::hello()});
    let slow = {
        let req = h
            .client
            .post(format!("{}/v1/chat/completions", h.gw))
            .bearer_auth(&h.key)
            .json(&body);
        tokio::spawn(async move { req.send().await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Prices go up 100x while the call waits on the provider.
    let text = std::fs::read_to_string(&h.config_path)
        .unwrap()
        .replace("input = 1.0\noutput = 4.0", "input = 100.0\noutput = 400.0");
    std::fs::write(&h.config_path, text).unwrap();
    let outcome = h.reload("ana").await.expect("reload applies");
    assert!(outcome.config_changed);
    let old = slow.await.unwrap();
    assert_eq!(old.status(), 200);
    let new = h.chat(body).await;
    assert_eq!(new.status(), 200);
    let (old_rec, _) = h.record(&crate::harness::call_id(&old)).await;
    let (new_rec, _) = h.record(&crate::harness::call_id(&new)).await;
    assert!(old_rec.cost_usd > 0.0);
    let ratio = new_rec.cost_usd / old_rec.cost_usd;
    assert!(
        (ratio - 100.0).abs() < 1e-6,
        "the call in flight was priced on its own snapshot: {} vs {}",
        old_rec.cost_usd,
        new_rec.cost_usd
    );
}
