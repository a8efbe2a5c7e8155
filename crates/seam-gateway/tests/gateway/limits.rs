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
    assert_eq!(
        call.error_class.map(|c| c.as_str()),
        Some("trace_call_limit")
    );
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

    use seam_store::Keys;
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
    // A new key works at once: the gateway looks a key its snapshot lacks up in the store.
    assert_eq!(send().await.status(), 200);
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

/// A key of another tenant (it works at once).
pub async fn tenant_key(h: &Harness, tenant: &str) -> String {
    use seam_store::Keys;
    let key = seam_gateway::authenticate::mint_key(tenant, None, 2);
    h.store.insert_key(&key.record).await.unwrap();
    let r = h
        .client
        .get(format!("{}/v1/models", h.gw))
        .bearer_auth(&key.plain)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a new key of tenant {tenant} was refused");
    key.plain
}

pub async fn as_key(
    h: &Harness,
    key: &str,
    header: (&str, &str),
    body: Value,
) -> reqwest::Response {
    h.client
        .post(format!("{}/v1/chat/completions", h.gw))
        .bearer_auth(key)
        .header(header.0, header.1)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Another tenant sending the same trace id (as `x-seam-trace` or in `traceparent`) spends
/// its own trace, never the victim's.
pub async fn trace_ids_are_each_tenants_own(h: &Harness) {
    let other = tenant_key(h, "other").await;
    let id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = format!("00-{id}-00f067aa0ba902b7-01");
    for header in [
        ("x-seam-trace", "shared-run"),
        ("traceparent", parent.as_str()),
    ] {
        for _ in 0..3 {
            let r = as_key(
                h,
                &other,
                header,
                json!({"model": "chat", "messages": hello()}),
            )
            .await;
            assert_eq!(r.status(), 200);
        }
        let r = as_key(
            h,
            &other,
            header,
            json!({"model": "chat", "messages": hello()}),
        )
        .await;
        assert_eq!(r.status(), 429);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "trace_call_limit");
        // The victim names the same trace: its own, untouched.
        let r = as_key(
            h,
            &h.key,
            header,
            json!({"model": "chat", "messages": hello()}),
        )
        .await;
        assert_eq!(r.status(), 200, "{header:?}: {}", r.text().await.unwrap());
        let id = call_id(&r);
        let (call, _) = h.record(&id).await;
        assert_eq!(
            (call.tenant.as_str(), call.outcome.as_str()),
            ("acme", "ok")
        );
    }
    assert_eq!(
        h.sim_stats().await["requests"],
        8,
        "6 + 2 calls reached the sim"
    );
}

#[tokio::test]
async fn a_trace_id_sent_by_another_tenant_does_not_spend_the_victims_cap() {
    let h = Harness::start(Options {
        extra: "[limits.trace_default]\nmax_calls = 3\n",
        ..Options::default()
    })
    .await;
    trace_ids_are_each_tenants_own(&h).await;
}

#[tokio::test]
async fn a_restart_remembers_what_was_spent_this_window_and_open_traces() {
    // Each call bills 3 + 3 tokens ($15e-6) and reserves ~7 + 10 ($47e-6) first.
    let h = Harness::start(Options {
        extra: "[limits]\ndefault_output_tokens = 10\n[limits.tenant_default]\ncost_per_hour = 0.0001\n[limits.trace_default]\nmax_calls = 2\n",
        ..Options::default()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(traced(&h, "chat", "agent-loop").await.status(), 200);
    }
    for _ in 0..2 {
        let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
        assert_eq!(r.status(), 200);
    }
    let h = h.restart().await;
    // The open trace still has its two calls.
    let r = traced(&h, "chat", "agent-loop").await;
    assert_eq!(r.status(), 429);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "trace_call_limit");
    // $60e-6 of $100e-6 spent this hour: the next estimate does not fit.
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 429);
    let id = call_id(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "tenant_cost_limit");
    let (call, attempts) = h.record(&id).await;
    assert_eq!(call.outcome.as_str(), "refused");
    assert!(attempts.is_empty());
    assert_eq!(
        h.sim_stats().await["requests"],
        4,
        "nothing more reached the sim"
    );
}

#[tokio::test]
async fn client_chosen_trace_ids_are_held_up_to_max_traces() {
    let h = Harness::start(Options {
        extra: "[limits]\nmax_traces = 3\n[limits.trace_default]\nmax_calls = 1\n",
        ..Options::default()
    })
    .await;
    assert_eq!(traced(&h, "chat", "t0").await.status(), 200);
    assert_eq!(traced(&h, "chat", "t0").await.status(), 429);
    for t in ["t1", "t2", "t3", "t4"] {
        assert_eq!(traced(&h, "chat", t).await.status(), 200);
    }
    let m = h.metrics().await;
    assert!(m.contains("seam_limit_traces_evicted_total 2"), "{m}");
    // t0 was the least recently used: forgotten, so its cap starts over.
    assert_eq!(traced(&h, "chat", "t0").await.status(), 200);
    let m = h.metrics().await;
    assert!(m.contains("seam_limit_traces_evicted_total 3"), "{m}");
    assert!(m.contains("seam_limit_traces 3"), "{m}");
}

#[tokio::test]
async fn every_completion_n_asks_for_is_reserved_and_n_is_capped_under_a_budget() {
    // One completion of max_tokens 1000 is estimated at ~$0.004; sixteen at ~$0.064.
    let h = Harness::start(Options {
        extra: "[limits.tenant_default]\ncost_per_day = 0.01\n",
        ..Options::default()
    })
    .await;
    let ask = |n: u64, field: &str| {
        let mut b = json!({"model": "chat", "messages": hello(), "max_tokens": 1000});
        b[field] = json!(n);
        b
    };
    assert_eq!(h.chat(ask(1, "n")).await.status(), 200);
    let r = h.chat(ask(16, "n")).await;
    assert_eq!(r.status(), 429);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "tenant_cost_limit");
    let r = h.chat(ask(16, "best_of")).await;
    assert_eq!(r.status(), 429, "best_of generates (and bills) that many");
    for field in ["n", "best_of"] {
        let r = h.chat(ask(17, field)).await;
        assert_eq!(r.status(), 400);
        let id = call_id(&r);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], field);
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("at most 16") && msg.contains("limits.max_n"),
            "{msg}"
        );
        let (call, _) = h.record(&id).await;
        assert_eq!(call.status, 400);
    }
    assert_eq!(
        h.sim_stats().await["requests"],
        1,
        "only the call that fit was sent"
    );
}
