//! Limits in Redis (127.0.0.1:6379): several gateways enforce one limit, and an unreachable
//! Redis follows `on_backend_down`. Fails, never skips, when Redis is not running.

use crate::harness::{Harness, Logs, Options, hello, series};
use serde_json::{Value, json};

fn redis_url() -> String {
    std::env::var("SEAM_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix of this test's own, so runs and tests never share counters.
fn prefix(name: &str) -> String {
    format!("seamtest:{name}:{}", uuid_like())
}

fn uuid_like() -> String {
    format!("{}-{}", std::process::id(), seam_store::now_ms())
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
    // The series exists at 0 from the start: it must have counted.
    assert!(
        series(&m, "seam_limit_backend_errors_total{reason=\"open\"}") > Some(0.0),
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
        series(
            &h.metrics().await,
            "seam_limit_backend_errors_total{reason=\"closed\"}"
        ) > Some(0.0)
    );
}

#[tokio::test]
async fn a_redis_outage_is_logged_once_a_second_not_once_per_call() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // A token budget that fails open: every call is admitted, reserved for and settled
    // against a Redis that is not there.
    let open = format!(
        "[limits]\nbackend = \"redis://{dead}\"\non_backend_down = {{ tokens = \"open\" }}\n[limits.tenant_default]\ntokens_per_minute = 100000\n"
    );
    let h = Harness::start(Options {
        extra: &open,
        ..Options::default()
    })
    .await;
    let started = std::time::Instant::now();
    let calls = 8;
    for _ in 0..calls {
        let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
        assert_eq!(r.status(), 200);
    }
    // Settling runs in the background: give the last one time to fail.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let elapsed = started.elapsed().as_secs() + 1;
    let text = logs.text();
    let count = |what: &str| text.lines().filter(|l| l.contains(what)).count() as u64;
    let settle = count("could not settle limits in Redis");
    let down = count("the limits backend is unreachable");
    // At most one line of each a second (the calls took `elapsed` seconds at most), and
    // never one per call.
    assert!(
        settle >= 1 && settle <= elapsed.min(calls - 1),
        "{settle} settle lines in {elapsed}s:\n{text}"
    );
    assert!(
        down >= 1 && down <= elapsed.min(calls - 1),
        "{down} outage lines in {elapsed}s:\n{text}"
    );
    let m = h.metrics().await;
    assert!(
        m.contains(&format!(
            "seam_limit_backend_errors_total{{reason=\"open\"}} {}",
            2 * calls
        )),
        "every admission and reservation is still counted: {m}"
    );
}

async fn redis_conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {} is unreachable ({e}); start it (scripts/services) or set SEAM_TEST_REDIS", redis_url()))
}

/// Empties Redis of this test's keys, as a restarted Redis without persistence would be.
async fn empty(prefix: &str) {
    let mut c = redis_conn().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the gateway kept counters under {prefix}");
    let _: i64 = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut c)
        .await
        .unwrap();
}

/// The tenant's cost counter of today, as Redis holds it.
async fn cost_today(prefix: &str) -> f64 {
    let day = seam_store::now_ms() / 86_400_000;
    let used: Option<f64> = redis::cmd("HGET")
        .arg(format!("{prefix}:lim:tenant:acme:cost:day:{day}"))
        .arg("used")
        .query_async(&mut redis_conn().await)
        .await
        .unwrap();
    used.unwrap_or(0.0)
}

fn reseeds(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("seam_limit_reseeds_total{reason=\"redis_empty\"} "))
        .map_or(0, |v| v.parse().unwrap())
}

#[tokio::test]
async fn trace_ids_in_redis_are_each_tenants_own() {
    redis_conn().await;
    let extra = format!(
        "[limits]\nbackend = \"{}\"\nkey_prefix = \"{}\"\n[limits.trace_default]\nmax_calls = 3\n",
        redis_url(),
        prefix("tenant-traces")
    );
    let h = Harness::start(Options {
        extra: &extra,
        ..Options::default()
    })
    .await;
    crate::limits::trace_ids_are_each_tenants_own(&h).await;
}

#[tokio::test]
async fn an_emptied_redis_is_re_seeded_from_the_records_once() {
    redis_conn().await;
    let prefix = prefix("reseed");
    // Each call bills 3 + 3 tokens ($15e-6) and reserves ~7 + 10 ($47e-6) first.
    let extra = format!(
        "[limits]\nbackend = \"{}\"\nkey_prefix = \"{prefix}\"\ndefault_output_tokens = 10\n[limits.tenant_default]\ncost_per_day = 0.0001\n",
        redis_url(),
    );
    let h = Harness::start(Options {
        extra: &extra,
        ..Options::default()
    })
    .await;
    // A second gateway on the same store and Redis.
    let (b, b_running) = h.another_gateway().await;
    let mut last = String::new();
    for _ in 0..4 {
        let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
        assert_eq!(r.status(), 200);
        last = crate::harness::call_id(&r);
    }
    h.record(&last).await;
    empty(&prefix).await;

    // The first call to reach the empty Redis claims the re-seed; it runs in the background.
    // (Slow, so that its own record lands after the re-seed has read the store: a call in
    // flight when Redis is found empty can be counted twice, see docs/production.md.)
    h.set_scenario("[model]\nserved = \"sim-large-2026-01\"\nfingerprint = \"fp_1\"\n[latency]\nfixed_ms = 300\n")
        .await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 200, "the call that notices is not held up");
    // What the records say was spent ($60e-6) comes back, with the $15e-6 since.
    let mut used = 0.0;
    for _ in 0..100 {
        used = cost_today(&prefix).await;
        if used >= 74e-6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        (74e-6..76e-6).contains(&used),
        "Redis holds ${used} spent today; the records say $75e-6"
    );
    // Once at its start (the prefix was new: nothing spent yet), once now.
    assert_eq!(reseeds(&h.metrics().await), 2);
    // No gateway fits another estimate ($47e-6).
    for gw in [&h.gw, &b] {
        let r = h
            .client
            .post(format!("{gw}/v1/chat/completions"))
            .bearer_auth(&h.key)
            .json(&json!({"model": "chat", "messages": hello()}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "tenant_cost_limit");
    }
    let b_metrics = h.client.get(format!("{b}/metrics")).send().await.unwrap();
    assert_eq!(reseeds(&b_metrics.text().await.unwrap()), 0, "seeded once");
    assert!(
        (74e-6..76e-6).contains(&cost_today(&prefix).await),
        "not counted twice"
    );
    assert_eq!(
        h.sim_stats().await["requests"],
        1,
        "since the emptying (the scenario change reset the count), only the call that noticed"
    );
    b_running.shutdown().await;

    // Emptied again, then a restart: seeded before the gateway serves.
    empty(&prefix).await;
    let h = h.restart().await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 429);
    assert!((74e-6..76e-6).contains(&cost_today(&prefix).await));
    assert_eq!(reseeds(&h.metrics().await), 1);
}
