//! Tenant and trace limits: counted at the attempt, refused before the provider.

use crate::harness::{Harness, Options, call_id, hello};
use serde_json::{Value, json};

async fn traced(h: &Harness, model: &str, trace: &str) -> reqwest::Response {
    h.client
        .post(format!("{}/v1/chat/completions", h.gw))
        .bearer_auth(&h.key)
        .header("x-seam-trace", trace)
        .json(&json!({"model": model, "messages": hello()}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_agent_loop_stops_at_its_trace_cap_and_refusals_never_reach_the_provider() {
    let h = Harness::start(Options {
        extra: "[limits.trace_default]\nmax_calls = 10\n",
        ..Options::default()
    })
    .await;
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..30 {
        let r = traced(&h, "chat", "agent-run-1").await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 && refused.is_none() {
            let id = call_id(&r);
            let body: Value = r.json().await.unwrap();
            refused = Some((id, body));
        }
    }
    assert!(statuses[..10].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(
        h.sim_stats().await["requests"],
        10,
        "refusals never reached the sim"
    );
    let (id, body) = refused.unwrap();
    assert_eq!(body["error"]["code"], "trace_call_limit");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("Seam limit") && msg.contains("agent-run-1") && msg.contains("10 calls of 10"),
        "{msg}"
    );
    let (call, attempts) = h.record(&id).await;
    assert_eq!((call.outcome.as_str(), call.status), ("refused", 429));
    assert_eq!(call.error_class.as_deref(), Some("trace_call_limit"));
    assert!(attempts.is_empty());
    // Another trace is not held by this one's cap.
    assert_eq!(traced(&h, "chat", "agent-run-2").await.status(), 200);
}

#[tokio::test]
async fn retries_inside_seam_draw_down_the_tenants_attempt_budget() {
    let h = Harness::start(Options {
        retry: "{ max_attempts = 3, backoff_base_ms = 1, backoff_max_ms = 2 }",
        extra: "[limits.tenant_default]\nattempts_per_minute = 5\n",
        ..Options::default()
    })
    .await;
    // x.. : calls 1 and 3 need a retry, call 2 does not: 2 + 1 + 2 = 5 attempts.
    h.set_scenario("[[errors]]\nkind = \"status\"\nstatus = 503\npattern = \"x..\"\n")
        .await;
    for _ in 0..3 {
        assert_eq!(
            h.chat(json!({"model": "chat", "messages": hello()}))
                .await
                .status(),
            200
        );
    }
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 429);
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "tenant_attempt_limit");
    assert_eq!(h.sim_stats().await["requests"], 5);
}

#[tokio::test]
async fn token_budgets_count_what_the_provider_billed_and_refuse_by_estimate() {
    let h = Harness::start(Options {
        extra: "[limits]\ndefault_output_tokens = 10\n[limits.tenant_default]\ntokens_per_day = 40\n",
        ..Options::default()
    })
    .await;
    // Each call bills 3 input + 3 output tokens; reserved up front: ~7 input + 10 output.
    let mut ok = 0;
    let mut last = None;
    for _ in 0..10 {
        let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
        if r.status() == 200 {
            ok += 1;
        } else {
            last = Some(r.json::<Value>().await.unwrap());
            break;
        }
    }
    let body = last.expect("the budget ran out");
    assert_eq!(body["error"]["code"], "tenant_token_limit");
    // 6 billed per call; the next call is refused once 6 x n + its estimate exceeds 40.
    assert!((4..=6).contains(&ok), "{ok} calls fit in 40 tokens");
    let sent = h.sim_stats().await["requests"].as_u64().unwrap();
    assert_eq!(sent, ok, "the refused call never reached the sim");
    assert!(6 * sent <= 40, "billed tokens stayed within the budget");
}

#[tokio::test]
async fn request_rate_limits_answer_429_with_retry_after() {
    let h = Harness::start(Options {
        extra: "[limits.tenant_default]\nrequests_per_minute = 2\n",
        ..Options::default()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            h.chat(json!({"model": "chat", "messages": hello()}))
                .await
                .status(),
            200
        );
    }
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "tenant_request_limit");
    assert_eq!(body["error"]["type"], "rate_limit_error");
}

#[tokio::test]
async fn a_key_has_limits_of_its_own_and_a_tenant_its_own_trace_defaults() {
    let h = Harness::start(Options {
        extra: "[limits.trace_default]\nmax_calls = 100\n[limits.tenants.acme]\ntrace_max_calls = 3\n",
        ..Options::default()
    })
    .await;
    // acme's own trace default (3) overrides the global one (100).
    let codes: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(traced(&h, "chat", "acme-trace").await.status().as_u16());
        }
        v
    };
    assert_eq!(codes, [200, 200, 200, 429]);

    use seam_store::Store;
    let mut key = seam_gateway::authenticate::mint_key("acme", None, 2);
    key.record.limits = Some("{\"requests_per_minute\": 2}".into());
    h.store.insert_key(&key.record).await.unwrap();
    let send = || async {
        h.client
            .post(format!("{}/v1/chat/completions", h.gw))
            .bearer_auth(&key.plain)
            .json(&json!({"model": "chat", "messages": hello()}))
            .send()
            .await
            .unwrap()
    };
    // The gateway picks new keys up within a second.
    let mut first = send().await;
    for _ in 0..30 {
        if first.status() != 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        first = send().await;
    }
    assert_eq!(first.status(), 200);
    assert_eq!(send().await.status(), 200);
    let r = send().await;
    assert_eq!(r.status(), 429);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "key_request_limit");
    // The tenant's other key is not held by this key's limit.
    assert_eq!(
        h.chat(json!({"model": "chat", "messages": hello()}))
            .await
            .status(),
        200
    );
}
