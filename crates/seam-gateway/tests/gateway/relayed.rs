//! Issue 22: provider errors and headers as the provider sent them, and retry signals a
//! client's SDK obeys (`x-should-retry`, `Retry-After`, `retry-after-ms`).

use crate::harness::{Harness, Logs, Options, call_id, hello};
use serde_json::{Value, json};

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn an_openai_error_keeps_its_code_param_status_and_request_id_with_seams_context_beside() {
    let h = Harness::start(Options::default()).await;
    h.set_scenario(
        "[[errors]]\nkind = \"status\"\nstatus = 400\nmessage = \"This model's maximum context length is 8192 tokens.\"\ncode = \"context_length_exceeded\"\nparam = \"messages\"\nfirst = 1\nheaders = { x-request-id = \"req_abc\", x-ratelimit-remaining-requests = \"99\", openai-processing-ms = \"7\", set-cookie = \"no\" }\n",
    )
    .await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(header(&r, "x-request-id"), Some("req_abc"));
    assert_eq!(header(&r, "x-ratelimit-remaining-requests"), Some("99"));
    assert_eq!(header(&r, "openai-processing-ms"), Some("7"));
    assert_eq!(header(&r, "set-cookie"), None);
    assert_eq!(header(&r, "x-seam-attempts"), Some("1"));
    // No retry can make the prompt fit.
    assert_eq!(header(&r, "x-should-retry"), Some("false"));
    let id = call_id(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"],
        json!({
            "message": "This model's maximum context length is 8192 tokens.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
            "seam": {"class": "status_4xx", "provider": "up", "attempts": 1},
        })
    );
    let (call, attempts) = h.record(&id).await;
    assert_eq!(call.status, 400);
    assert_eq!(call.upstream_request_id.as_deref(), Some("req_abc"));
    assert_eq!(attempts[0].upstream_request_id.as_deref(), Some("req_abc"));
}

#[tokio::test]
async fn an_answer_passes_the_upstreams_request_id_and_seams_headers_stay() {
    let h = Harness::start(Options::default()).await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 200);
    assert!(
        header(&r, "x-request-id").is_some_and(|v| v.starts_with("req_sim_")),
        "{:?}",
        r.headers()
    );
    let sent = header(&r, "x-request-id").unwrap().to_string();
    let (call, attempts) = h.record(&call_id(&r)).await;
    assert_eq!(call.upstream_request_id.as_deref(), Some(sent.as_str()));
    assert_eq!(attempts[0].upstream_request_id, call.upstream_request_id);
    let r = h
        .chat(json!({"model": "chat", "messages": hello(), "stream": true}))
        .await;
    assert_eq!(r.status(), 200);
    assert!(header(&r, "x-request-id").is_some_and(|v| v.starts_with("req_sim_")));
}

#[tokio::test]
async fn insufficient_quota_is_not_retried_and_says_so() {
    let h = Harness::start(Options {
        retry: "{ max_attempts = 3, backoff_base_ms = 1, backoff_max_ms = 2 }",
        ..Options::default()
    })
    .await;
    h.set_scenario(
        "[[errors]]\nkind = \"status\"\nstatus = 429\ntype = \"insufficient_quota\"\ncode = \"insufficient_quota\"\nmessage = \"You exceeded your current quota.\"\nrate = 1.0\n",
    )
    .await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "x-should-retry"), Some("false"));
    assert_eq!(header(&r, "x-seam-attempts"), Some("1"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "insufficient_quota");
    assert_eq!(body["error"]["type"], "insufficient_quota");
    assert_eq!(h.sim_stats().await["requests"], 1);
}

#[tokio::test]
async fn a_429_seam_retried_says_do_not_retry_with_how_long_the_upstream_asked() {
    let h = Harness::start(Options {
        retry: "{ max_attempts = 2, backoff_base_ms = 1, backoff_max_ms = 2 }",
        ..Options::default()
    })
    .await;
    h.set_scenario(
        "[[errors]]\nkind = \"status\"\nstatus = 429\nretry_after_ms = 1500\ncode = \"rate_limit_exceeded\"\nrate = 1.0\n",
    )
    .await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "x-seam-attempts"), Some("2"));
    assert_eq!(header(&r, "x-should-retry"), Some("false"));
    assert_eq!(header(&r, "retry-after"), Some("2"));
    assert_eq!(header(&r, "retry-after-ms"), Some("1500"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(body["error"]["seam"]["attempts"], 2);
}

#[tokio::test]
async fn a_trace_cap_says_do_not_retry_and_a_minute_window_how_long_to_wait() {
    let h = Harness::start(Options {
        extra: "[limits.trace_default]\nmax_calls = 1\n[limits.tenant_default]\nrequests_per_minute = 2\n",
        ..Options::default()
    })
    .await;
    let traced = || {
        h.client
            .post(format!("{}/v1/chat/completions", h.gw))
            .bearer_auth(&h.key)
            .header("x-seam-trace", "run-1")
            .json(&json!({"model": "chat", "messages": hello()}))
            .send()
    };
    assert_eq!(traced().await.unwrap().status(), 200);
    let r = traced().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "x-should-retry"), Some("false"));
    assert_eq!(header(&r, "retry-after"), None);
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 200);
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "x-should-retry"), None);
    let secs: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    let ms: u64 = header(&r, "retry-after-ms").unwrap().parse().unwrap();
    assert!(
        ms > 0 && ms <= 60_000 && secs == ms.div_ceil(1000),
        "{secs} {ms}"
    );
}

#[tokio::test]
async fn anthropic_errors_reach_an_openai_client_as_openais() {
    let h = Harness::start(Options {
        provider_kind: "anthropic",
        ..Options::default()
    })
    .await;
    for (status, kind, message, want) in [
        (
            400,
            "invalid_request_error",
            "prompt is too long: 210000 tokens > 200000 maximum",
            (
                400,
                "invalid_request_error",
                json!("context_length_exceeded"),
            ),
        ),
        (
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
            (429, "rate_limit_error", json!("rate_limit_exceeded")),
        ),
        (
            401,
            "authentication_error",
            "invalid x-api-key",
            (401, "invalid_request_error", json!("invalid_api_key")),
        ),
        (
            529,
            "overloaded_error",
            "Overloaded",
            (503, "server_error", json!(null)),
        ),
    ] {
        h.set_scenario(&format!(
            "[[errors]]\nkind = \"status\"\nstatus = {status}\ntype = \"{kind}\"\nmessage = \"{message}\"\nfirst = 1\n"
        ))
        .await;
        let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
        let got_status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            (
                got_status,
                body["error"]["type"].as_str().unwrap(),
                body["error"]["code"].clone()
            ),
            want,
            "{kind}: {body}"
        );
        assert_eq!(body["error"]["message"], message);
    }
}

#[tokio::test]
async fn failed_attempts_are_logged_at_warn_once_per_interval_per_provider_and_class() {
    // A provider of this test's own (the throttle is the process's): nothing listens.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let extra = format!(
        "[[providers]]\nname = \"logged\"\nkind = \"openai\"\nbase_url = \"http://{dead}/v1\"\n\n[[routes]]\nname = \"logged\"\ntargets = [{{ provider = \"logged\", model = \"m\" }}]\nretry = {{ max_attempts = 2, backoff_base_ms = 1, backoff_max_ms = 2 }}\n"
    );
    let h = Harness::start(Options {
        extra: &extra,
        ..Options::default()
    })
    .await;
    let logs = Logs::default();
    let _guard = logs.capture();
    let r = h
        .chat(json!({"model": "logged", "messages": hello()}))
        .await;
    assert_eq!(r.status(), 502);
    assert_eq!(header(&r, "x-seam-attempts"), Some("2"));
    assert_eq!(header(&r, "x-should-retry"), Some("false"));
    let id = call_id(&r);
    let text = logs.text();
    let lines: Vec<_> = text
        .lines()
        .filter(|l| l.contains("an upstream attempt failed"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains("WARN")
            && lines[0].contains("provider=\"logged\"")
            && lines[0].contains("class=\"connect\"")
            && lines[0].contains(&id),
        "{text}"
    );
}
