//! Retries, the retry budget, fallbacks and honest accounting, against a real sim.

use crate::harness::{Harness, Options, call_id, hello, series, sse_data};
use seam_store::{Events, Reports};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const FAST: &str = "{ max_attempts = 3, backoff_base_ms = 1, backoff_max_ms = 2 }";

async fn chat_ok(h: &Harness) -> reqwest::Response {
    h.chat(json!({"model": "chat", "messages": hello()})).await
}

#[tokio::test]
async fn half_the_first_attempts_fail_and_the_report_shows_both_sides() {
    let h = Harness::start(Options {
        retry: FAST,
        ..Options::default()
    })
    .await;
    // x.. over sequential calls: every other call's first attempt fails, its retry passes.
    h.set_scenario("[[errors]]\nkind = \"status\"\nstatus = 503\npattern = \"x..\"\n")
        .await;
    let mut ids = Vec::new();
    for _ in 0..40 {
        let r = chat_ok(&h).await;
        assert_eq!(r.status(), 200);
        ids.push(call_id(&r));
    }
    let mut attempts = 0;
    let mut failed_cost = 0.0;
    let mut total_cost = 0.0;
    for id in &ids {
        let (call, atts) = h.record(id).await;
        attempts += atts.len();
        total_cost += call.cost_usd;
        for a in atts.iter().filter(|a| a.outcome.as_str() == "error") {
            assert!(a.tokens_estimated, "a 503 is priced from an input estimate");
            assert!(a.cost_usd > 0.0);
            failed_cost += a.cost_usd;
        }
    }
    assert_eq!(attempts, 60);
    let (calls, groups) = h.store.reliability(0).await.unwrap();
    let report = seam_store::reliability::report(&calls, &groups);
    let r = report.iter().find(|r| r.route == "chat").unwrap();
    assert_eq!(r.calls_dispatched, 40);
    assert!((r.first_attempt_error_rate - 0.5).abs() < 1e-9, "{r:?}");
    assert_eq!(r.final_error_rate, 0.0);
    assert!((r.retry_amplification - 1.5).abs() < 1e-9);
    assert!((r.retry_tax - failed_cost / total_cost).abs() < 1e-9);
    assert!((r.cost_per_successful_call_usd - total_cost / 40.0).abs() < 1e-12);
    let m = h.metrics().await;
    assert!(m.contains("seam_first_attempts_total{route=\"chat\",provider=\"up\",outcome=\"error\",status=\"\"} 20"), "{m}");
    assert!(
        m.contains("seam_retries_total{route=\"chat\",provider=\"up\"} 20"),
        "{m}"
    );
    // The retry tax a dashboard computes from /metrics is the report's.
    let rp = "{route=\"chat\",provider=\"up\"}";
    let failed = series(&m, &format!("seam_failed_attempts_cost_usd_total{rp}")).unwrap();
    let cost = series(&m, &format!("seam_cost_usd_total{rp}")).unwrap();
    assert!((failed - failed_cost).abs() < 1e-9, "{m}");
    assert!((failed / cost - r.retry_tax).abs() < 1e-9, "{m}");
}

#[tokio::test]
async fn a_full_outage_is_capped_by_the_budget_where_a_fixed_count_policy_triples_the_load() {
    let extra = "[[routes]]\nname = \"naive\"\ntargets = [{ provider = \"up\", model = \"sim-large-2026-01\" }]\nretry = { max_attempts = 3, budget = false, backoff_base_ms = 1, backoff_max_ms = 2 }\n";
    let h = Harness::start(Options {
        retry: "{ max_attempts = 3, budget_ratio = 0.2, min_retries_per_second = 1, backoff_base_ms = 1, backoff_max_ms = 2 }",
        extra,
        ..Options::default()
    })
    .await;
    h.set_scenario("[[errors]]\nkind = \"status\"\nstatus = 503\nrate = 1.0\n")
        .await;
    let mut exhausted = 0;
    for _ in 0..100 {
        let r = chat_ok(&h).await;
        assert_eq!(r.status(), 503);
        if r.headers()
            .get("x-seam-retry-budget")
            .is_some_and(|v| v == "exhausted")
        {
            exhausted += 1;
        }
    }
    let sent = h.sim_stats().await["requests"].as_u64().unwrap();
    // Calls + ratio x calls + the floor's reserve (1/s over the 10 s window).
    assert!(sent <= 100 + 20 + 10, "budget let {sent} attempts through");
    assert!(
        sent >= 120,
        "the budget allows its ratio and reserve: {sent}"
    );
    assert!(
        exhausted >= 60,
        "{exhausted} calls were told the budget was spent"
    );

    h.set_scenario("[[errors]]\nkind = \"status\"\nstatus = 503\nrate = 1.0\n")
        .await;
    for _ in 0..100 {
        let r = h.chat(json!({"model": "naive", "messages": hello()})).await;
        assert_eq!(r.status(), 503);
    }
    assert_eq!(h.sim_stats().await["requests"], 300);
    let m = h.metrics().await;
    assert!(
        series(
            &m,
            "seam_retry_budget_refusals_total{route=\"chat\",provider=\"up\"}"
        ) > Some(0.0),
        "{m}"
    );
    let (calls, _) = h.store.reliability(0).await.unwrap();
    let refused: i64 = calls
        .iter()
        .filter(|c| c.route == "chat")
        .map(|c| c.budget_exhausted)
        .sum();
    assert_eq!(refused, exhausted);
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_its_cap() {
    let h = Harness::start(Options {
        retry: "{ max_attempts = 2, retry_after_cap_s = 1 }",
        ..Options::default()
    })
    .await;
    h.set_scenario(
        "[[errors]]\nkind = \"status\"\nstatus = 429\nretry_after_ms = 300\nfirst = 1\n",
    )
    .await;
    let t = Instant::now();
    let r = chat_ok(&h).await;
    assert_eq!(r.status(), 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "waited {:?}",
        t.elapsed()
    );
    assert_eq!(r.headers()["x-seam-attempts"], "2");
    let (_, atts) = h.record(&call_id(&r)).await;
    assert_eq!(atts[0].error_class.map(|c| c.as_str()), Some("status_429"));
    assert_eq!(atts[0].cost_usd, 0.0, "a 429 is not billed");

    h.set_scenario(
        "[[errors]]\nkind = \"status\"\nstatus = 429\nretry_after_secs = 5\nfirst = 1\n",
    )
    .await;
    let t = Instant::now();
    let r = chat_ok(&h).await;
    assert_eq!(
        r.status(),
        429,
        "a Retry-After over the cap is not waited out"
    );
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(r.headers()["x-seam-attempts"], "1");
}

#[tokio::test]
async fn streams_retry_only_before_their_first_byte() {
    let h = Harness::start(Options {
        retry: FAST,
        ..Options::default()
    })
    .await;
    h.set_scenario("[[errors]]\nkind = \"status\"\nstatus = 503\nfirst = 1\n")
        .await;
    let r = h
        .chat(json!({"model": "chat", "messages": hello(), "stream": true}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-seam-attempts"], "2");
    let id = call_id(&r);
    assert_eq!(
        sse_data(&r.text().await.unwrap())
            .last()
            .map(String::as_str),
        Some("[DONE]")
    );
    let (call, atts) = h.record(&id).await;
    assert_eq!((call.outcome.as_str(), atts.len()), ("ok", 2));

    h.set_scenario("[[errors]]\nkind = \"cut\"\nafter_chunks = 2\nfirst = 1\n")
        .await;
    let r = h
        .chat(json!({"model": "chat", "messages": hello(), "stream": true}))
        .await;
    let id = call_id(&r);
    let events = sse_data(&r.text().await.unwrap());
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert!(last["error"].is_object(), "{events:?}");
    let (call, atts) = h.record(&id).await;
    assert_eq!(atts.len(), 1, "no retry once content reached the client");
    assert_eq!(call.error_class.map(|c| c.as_str()), Some("stream_cut"));
    assert!(call.error_message.unwrap().contains("after 2 chunks"));
    assert_eq!(h.sim_stats().await["requests"], 1);
}

#[tokio::test]
async fn a_fallback_target_serves_when_the_first_is_down() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let extra = format!(
        "[[providers]]\nname = \"dead\"\nkind = \"openai\"\nbase_url = \"http://{dead}/v1\"\n\n[[routes]]\nname = \"fallback\"\ntargets = [{{ provider = \"dead\", model = \"m-1\" }}, {{ provider = \"up\", model = \"sim-large-2026-01\" }}]\nretry = {{ max_attempts = 2, backoff_base_ms = 1, backoff_max_ms = 2 }}\n"
    );
    let h = Harness::start(Options {
        extra: &extra,
        ..Options::default()
    })
    .await;
    let r = h
        .chat(json!({"model": "fallback", "messages": hello()}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-seam-attempts"], "3");
    let (call, atts) = h.record(&call_id(&r)).await;
    assert_eq!(
        call.provider.as_deref(),
        Some("up"),
        "the record names the serving target"
    );
    let providers: Vec<&str> = atts.iter().map(|a| a.provider.as_str()).collect();
    assert_eq!(providers, ["dead", "dead", "up"]);
    assert!(
        atts[..2]
            .iter()
            .all(|a| a.error_class.map(|c| c.as_str()) == Some("connect") && a.cost_usd == 0.0)
    );
    // Each series names the provider it happened at, though the call moved between providers.
    let m = h.metrics().await;
    for line in [
        "seam_calls_total{route=\"fallback\",provider=\"up\",outcome=\"ok\",status=\"200\"} 1",
        "seam_first_attempts_total{route=\"fallback\",provider=\"dead\",outcome=\"error\",status=\"\"} 1",
        "seam_attempts_total{route=\"fallback\",provider=\"dead\",outcome=\"error\",error_class=\"connect\"} 2",
        "seam_attempts_total{route=\"fallback\",provider=\"up\",outcome=\"ok\",error_class=\"\"} 1",
    ] {
        assert!(m.contains(line), "{line} missing from\n{m}");
    }
    // Its failed attempts' usage creates `dead`'s success series, at zero.
    for line in m
        .lines()
        .filter(|l| l.contains("provider=\"dead\",outcome=\"ok\""))
    {
        assert!(line.ends_with(" 0"), "nothing succeeded at `dead`: {line}");
    }
}

#[tokio::test]
async fn retries_hiding_a_degraded_provider_raise_an_event() {
    let h = Harness::start(Options {
        retry: FAST,
        extra: "[divergence]\nmin_calls = 10\n",
        ..Options::default()
    })
    .await;
    h.set_scenario("[[errors]]\nkind = \"status\"\nstatus = 503\npattern = \"x..x...\"\n")
        .await;
    for _ in 0..20 {
        assert_eq!(chat_ok(&h).await.status(), 200);
    }
    let mut events = Vec::new();
    for _ in 0..100 {
        events = h.store.list_events(0, 10).await.unwrap();
        if !events.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0].kind.as_str(),
        "provider_degraded_hidden_by_retries"
    );
    assert_eq!(events[0].provider.as_deref(), Some("up"));
    let details: Value = serde_json::from_str(&events[0].details).unwrap();
    assert!(
        (details["first_attempt_error_rate"].as_f64().unwrap() - 0.4).abs() < 1e-9,
        "{details}"
    );
    assert_eq!(details["final_success_rate"], 1.0);
}
