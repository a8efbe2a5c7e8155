//! Limits in Redis (127.0.0.1:6379): several gateways enforce one limit, and an unreachable
//! Redis follows `on_backend_down`. Fails, never skips, when Redis is not running.

use crate::harness::{Harness, Options, hello};
use serde_json::{Value, json};

fn redis_url() -> String {
    std::env::var("SEAM_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix of this test's own, so runs and tests never share counters.
fn prefix(name: &str) -> String {
    format!("seamtest:{name}:{}", uuid_like())
}

fn uuid_like() -> String {
    format!("{}-{}", std::process::id(), seam_gateway::now_ms())
}

#[tokio::test]
async fn two_gateways_sharing_redis_hold_one_limit() {
    // Reachability first, with a message that says what to start.
    let client = redis::Client::open(redis_url()).unwrap();
    client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {} is unreachable ({e}); start it (scripts/services) or set SEAM_TEST_REDIS", redis_url()));
    let extra = format!(
        "[limits]\nbackend = \"{}\"\nkey_prefix = \"{}\"\ndefault_output_tokens = 10\n[limits.tenant_default]\nrequests_per_minute = 12\ntokens_per_day = 120\n",
        redis_url(),
        prefix("shared")
    );
    let a = Harness::start(Options {
        extra: &extra,
        ..Options::default()
    })
    .await;
    // The second gateway: its own sim and store, the same tenant, the same Redis.
    let b = Harness::start(Options {
        extra: &extra,
        ..Options::default()
    })
    .await;
    let b_key = b.key.clone();
    let body = json!({"model": "chat", "messages": hello()});
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (client, url, key) = if i % 2 == 0 {
            (
                a.client.clone(),
                format!("{}/v1/chat/completions", a.gw),
                a.key.clone(),
            )
        } else {
            (
                b.client.clone(),
                format!("{}/v1/chat/completions", b.gw),
                b_key.clone(),
            )
        };
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            (
                status,
                v["error"]["code"].as_str().unwrap_or("").to_string(),
            )
        }));
    }
    let mut ok = 0;
    let mut codes = Vec::new();
    for t in tasks {
        let (status, code) = t.await.unwrap();
        if status == 200 {
            ok += 1;
        } else {
            assert_eq!(status, 429);
            codes.push(code);
        }
    }
    let sent = a.sim_stats().await["requests"].as_u64().unwrap()
        + b.sim_stats().await["requests"].as_u64().unwrap();
    assert_eq!(sent, ok, "refused calls never reached a provider");
    // Each call bills 6 tokens and reserves ~17: the token budget of 120 holds across both
    // gateways, and at most 12 requests pass in the minute.
    assert!(
        ok <= 12,
        "{ok} calls passed a shared limit of 12 requests a minute"
    );
    assert!(
        6 * ok <= 120,
        "billed {} tokens against a shared budget of 120",
        6 * ok
    );
    assert!(ok >= 6, "the budget let {ok} calls through");
    assert!(
        codes
            .iter()
            .all(|c| c == "tenant_request_limit" || c == "tenant_token_limit"),
        "{codes:?}"
    );
}

#[tokio::test]
async fn an_unreachable_redis_follows_the_policy_and_is_counted() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // Only a request rate: requests fail open by default, so calls pass.
    let open = format!(
        "[limits]\nbackend = \"redis://{dead}\"\n[limits.tenant_default]\nrequests_per_minute = 1\n"
    );
    let h = Harness::start(Options {
        extra: &open,
        ..Options::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            h.chat(json!({"model": "chat", "messages": hello()}))
                .await
                .status(),
            200
        );
    }
    let m = h.metrics().await;
    assert!(
        m.contains("seam_limit_backend_errors_total{reason=\"open\"}"),
        "{m}"
    );

    // A cost budget: costs fail closed by default, so calls are refused, not overspent.
    let closed = format!(
        "[limits]\nbackend = \"redis://{dead}\"\n[limits.tenant_default]\ncost_per_day = 100.0\n"
    );
    let h = Harness::start(Options {
        extra: &closed,
        ..Options::default()
    })
    .await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "limits_unavailable");
    assert_eq!(h.sim_stats().await["requests"], 0);
    assert!(
        h.metrics()
            .await
            .contains("seam_limit_backend_errors_total{reason=\"closed\"}")
    );
}
