//! Two gateways sharing one PostgreSQL and one Redis act as one: one limit, one pin per
//! session, one drift event, one audit chain, and a deploy or a reload served by both within
//! the bound.
//! Fails, never skips, when PostgreSQL or Redis is unreachable.

use crate::harness::{Harness, Options, postgres_schema};
use seam_control::DeployMode;
use seam_gateway::authenticate::mint_key;
use seam_store::{Audit, Events, Keys, Store};
use serde_json::json;
use std::time::{Duration, Instant};

fn redis_url() -> String {
    std::env::var("SEAM_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

const PROMPT: &str = r#"
name = "support-bot"
owners = ["ana", "ben"]
route = "chat"
model = "sim-large-2026-01"

[[messages]]
role = "system"
content = "Release TAG"
"#;

async fn release(store: &dyn Store, tag: &str) -> String {
    let text = PROMPT.replace("TAG", tag);
    let p = seam_prompts::parse(&text, std::path::Path::new("support-bot.toml")).unwrap();
    let (r, _) = seam_control::create_release(store, "ana", &p)
        .await
        .unwrap();
    // A first release is approved by an admin, later ones by ben, an owner of the one on
    // production.
    let admin = seam_control::Actor::admin("admin");
    let ben = seam_control::Actor::user("ben");
    if seam_control::approve(store, &admin, &r.id).await.is_err() {
        seam_control::approve(store, &ben, &r.id).await.unwrap();
    }
    seam_control::deploy(
        store,
        &admin,
        "support-bot@production",
        &r.id,
        DeployMode::Drain,
        &["production".to_string()],
    )
    .await
    .unwrap();
    r.id
}

async fn prompt_call(
    client: &reqwest::Client,
    gw: &str,
    key: &str,
    session: Option<&str>,
) -> (u16, String) {
    let mut req = client
        .post(format!("{gw}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": "prompt:support-bot", "messages": [{"role": "user", "content": "hi"}]}));
    if let Some(s) = session {
        req = req.header("x-seam-session", s);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let release = r
        .headers()
        .get("x-seam-release")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let _ = r.bytes().await;
    (status, release)
}

/// Polls both gateways until both serve `release`; returns how long that took.
async fn served_by_both(h: &Harness, b: &str, release: &str) -> Duration {
    let t = Instant::now();
    for _ in 0..60 {
        let a_ok = prompt_call(&h.client, &h.gw, &h.key, None).await.1 == release;
        let b_ok = prompt_call(&h.client, b, &h.key, None).await.1 == release;
        if a_ok && b_ok {
            return t.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{release} was not served by both gateways within 3 s");
}

#[tokio::test]
async fn two_gateways_on_one_postgres_and_redis_act_as_one() {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {} is unreachable ({e}); start it (scripts/services) or set SEAM_TEST_REDIS", redis_url()));
    let url = postgres_schema("cluster").await;
    let extra = format!(
        "[limits]\nbackend = \"{}\"\nkey_prefix = \"seamtest:cluster:{}-{}\"\n[limits.tenants.metered]\nrequests_per_minute = 6\n",
        redis_url(),
        std::process::id(),
        seam_store::now_ms()
    );
    let h = Harness::start(Options {
        store_url: Some(&url),
        extra: &extra,
        reloadable: true,
        ..Options::default()
    })
    .await;
    let (b, _b_running) = h.another_gateway().await;

    // A config change is served by both within the bound (each watches the file every second).
    let text = std::fs::read_to_string(&h.config_path).unwrap();
    std::fs::write(
        &h.config_path,
        format!("{text}\n[[routes]]\nname = \"chat-new\"\ntargets = [{{ provider = \"up\", model = \"sim-large-2026-01\" }}]\n"),
    )
    .unwrap();
    let t = Instant::now();
    let has_route = |gw: String| {
        let client = h.client.clone();
        let key = h.key.clone();
        async move {
            let v: serde_json::Value = client
                .get(format!("{gw}/v1/models"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["data"]
                .as_array()
                .is_some_and(|d| d.iter().any(|m| m["id"] == "chat-new"))
        }
    };
    loop {
        if has_route(h.gw.clone()).await && has_route(b.clone()).await {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_millis(2500),
            "the reload reached both within 2.5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A deploy is served by both within the bound (each refreshes every second).
    let v1 = release(h.store.as_ref(), "one").await;
    let took = served_by_both(&h, &b, &v1).await;
    assert!(
        took < Duration::from_millis(2500),
        "deploy visible on both in {took:?}"
    );

    // One pin per session: started on A, continued on B after a deploy.
    assert_eq!(
        prompt_call(&h.client, &h.gw, &h.key, Some("s-1")).await,
        (200, v1.clone())
    );
    let v2 = release(h.store.as_ref(), "two").await;
    served_by_both(&h, &b, &v2).await;
    assert_eq!(
        prompt_call(&h.client, &b, &h.key, Some("s-1")).await,
        (200, v1.clone())
    );
    assert_eq!(
        prompt_call(&h.client, &b, &h.key, Some("s-2")).await,
        (200, v2.clone())
    );
    assert_eq!(
        prompt_call(&h.client, &h.gw, &h.key, Some("s-2")).await,
        (200, v2.clone())
    );

    // One limit: six requests a minute for tenant `metered`, calls alternating gateways.
    let metered = mint_key("metered", None, 1);
    h.store.insert_key(&metered.record).await.unwrap();
    // No wait: each gateway looks the new key up in the store at its first use.
    let mut statuses = Vec::new();
    for i in 0..10 {
        let gw = if i % 2 == 0 { &h.gw } else { &b };
        let r = h
            .client
            .post(format!("{gw}/v1/chat/completions"))
            .bearer_auth(&metered.plain)
            .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        6,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        4,
        "{statuses:?}"
    );

    // One drift event: the provider moves the model; both gateways see it.
    h.set_scenario("[model]\nserved = \"sim-large-2026-02\"\nfingerprint = \"fp_2\"\n")
        .await;
    for i in 0..6 {
        let gw = if i % 2 == 0 { &h.gw } else { &b };
        let r = h
            .client
            .post(format!("{gw}/v1/chat/completions"))
            .bearer_auth(&h.key)
            .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let drift: Vec<_> = h
        .store
        .list_events(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind.as_str() == "served_model_changed")
        .collect();
    assert_eq!(drift.len(), 1, "{drift:?}");

    // One audit chain: control-plane writers on both sides at once.
    let other = seam_store::open(&url).await.unwrap();
    let mut writes = Vec::new();
    for i in 0..10 {
        let s1 = h.store.clone();
        writes.push(tokio::spawn(async move {
            s1.append_audit("ana", "test.append", &format!("a{i}"), None, None, i)
                .await
        }));
    }
    for i in 0..10 {
        writes.push({
            let s2 = other.clone();
            tokio::spawn(async move {
                s2.append_audit("ben", "test.append", &format!("b{i}"), None, None, i)
                    .await
            })
        });
    }
    for w in writes {
        w.await.unwrap().expect("every append lands");
    }
    let chain = h.store.list_audit().await.unwrap();
    assert_eq!(
        seam_store::audit::verify_chain(&chain, None),
        None,
        "one unbroken chain"
    );
    let seqs: Vec<i64> = chain.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=chain.len() as i64).collect::<Vec<_>>());
    assert_eq!(
        chain.iter().filter(|r| r.action == "test.append").count(),
        20
    );
}
