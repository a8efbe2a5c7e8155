//! Usage that stays honest (issue 19): what a provider reports is billed only when it reads
//! as whole counts the call could use; otherwise the estimate is billed, marked estimated and
//! counted per provider. An answer is never lost for its usage; an error is never a success.

use crate::harness::{Harness, Options, call_id, hello, sse_data};
use seam_store::{AttemptRecord, CallRecord};
use serde_json::{Value, json};

const KINDS: [&str; 2] = ["openai", "anthropic"];

async fn start(kind: &'static str, extra: &'static str) -> Harness {
    Harness::start(Options {
        provider_kind: kind,
        extra,
        ..Options::default()
    })
    .await
}

/// One call of the `chat` route; its status, its call id and the answer's text (the content,
/// streamed or not).
async fn ask(h: &Harness, stream: bool) -> (u16, String, String) {
    let mut body = json!({"model": "chat", "messages": hello(), "max_tokens": 50});
    if stream {
        body["stream"] = json!(true);
    }
    let r = h.chat(body).await;
    let status = r.status().as_u16();
    let id = call_id(&r);
    let text = r.text().await.unwrap();
    let content = if !stream {
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| {
                v["choices"][0]["message"]["content"]
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or(text)
    } else {
        sse_data(&text)
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e).ok())
            .filter_map(|c| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect()
    };
    (status, id, content)
}

fn anomalies(metrics: &str, reason: &str) -> u64 {
    let series = format!("seam_usage_anomalies_total{{provider=\"up\",reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// The call and its one attempt were billed Seam's estimate: a few tokens each way, a few
/// millionths of a dollar, and marked estimated.
fn assert_estimated(call: &CallRecord, attempts: &[AttemptRecord], what: &str) {
    let a = &attempts[0];
    assert!(a.tokens_estimated && call.tokens_estimated, "{what}: {a:?}");
    for tokens in [a.input_tokens, a.output_tokens, call.input_tokens] {
        assert!((1..100).contains(&tokens), "{what}: {a:?}");
    }
    assert!(a.cost_usd > 0.0 && a.cost_usd < 0.001, "{what}: {a:?}");
    assert_eq!(call.cost_usd, a.cost_usd, "{what}");
}

#[tokio::test]
async fn answers_without_usage_are_billed_the_estimate_and_counted() {
    for kind in KINDS {
        let h = start(kind, "").await;
        let m = h.metrics().await;
        for reason in ["missing", "malformed", "implausible"] {
            let series =
                format!("seam_usage_anomalies_total{{provider=\"up\",reason=\"{reason}\"}} 0");
            assert!(m.contains(&series), "at 0 from the start: {series}");
        }
        h.set_scenario("[usage]\nomit = true\n").await;
        for stream in [false, true] {
            let what = format!("{kind}, stream {stream}");
            let (status, id, content) = ask(&h, stream).await;
            assert_eq!(
                (status, content.as_str()),
                (200, "hello there gateway"),
                "{what}"
            );
            let (call, attempts) = h.record(&id).await;
            assert_eq!(call.outcome.as_str(), "ok", "{what}");
            assert_estimated(&call, &attempts, &what);
        }
        assert_eq!(anomalies(&h.metrics().await, "missing"), 2, "{kind}");
    }
}

#[tokio::test]
async fn malformed_usage_keeps_the_answer_and_bills_the_estimate() {
    for (kind, raw) in [
        ("openai", r#"{"prompt_tokens": -5, "completion_tokens": 3}"#),
        ("openai", r#""lots""#),
        (
            "anthropic",
            r#"{"input_tokens": "many", "output_tokens": 3}"#,
        ),
        ("anthropic", r#"{"input_tokens": 7, "output_tokens": -3}"#),
    ] {
        let h = start(kind, "").await;
        h.set_scenario(&format!("[usage]\nraw = '{raw}'\n")).await;
        for stream in [false, true] {
            let what = format!("{kind} {raw}, stream {stream}");
            let (status, id, content) = ask(&h, stream).await;
            assert_eq!(
                (status, content.as_str()),
                (200, "hello there gateway"),
                "{what}"
            );
            let (call, attempts) = h.record(&id).await;
            assert_estimated(&call, &attempts, &what);
        }
        assert_eq!(
            anomalies(&h.metrics().await, "malformed"),
            2,
            "{kind} {raw}"
        );
    }
}

#[tokio::test]
async fn implausible_usage_is_billed_the_estimate_and_cannot_blow_a_cost_window() {
    for (kind, huge, large) in [
        (
            "openai",
            r#"{"prompt_tokens": 18446744073709551615, "completion_tokens": 3}"#,
            r#"{"prompt_tokens": 1000, "completion_tokens": 50}"#,
        ),
        (
            "anthropic",
            r#"{"input_tokens": 18446744073709551615, "output_tokens": 3}"#,
            r#"{"input_tokens": 1000, "output_tokens": 50}"#,
        ),
    ] {
        // A day's budget of a few cents; the reported usage alone would cost $1.8e13.
        let h = start(kind, "[limits.tenant_default]\ncost_per_day = 0.05\n").await;
        h.set_scenario(&format!("[usage]\nraw = '{huge}'\n")).await;
        for stream in [false, true] {
            let what = format!("{kind}, stream {stream}");
            let (status, id, _) = ask(&h, stream).await;
            assert_eq!(status, 200, "{what}");
            let (call, attempts) = h.record(&id).await;
            assert_estimated(&call, &attempts, &what);
        }
        let m = h.metrics().await;
        assert_eq!(anomalies(&m, "implausible"), 2, "{kind}");
        let cost: f64 = m
            .lines()
            .find_map(|l| l.strip_prefix("seam_cost_usd_total{route=\"chat\",provider=\"up\"} "))
            .map(|v| v.trim().parse().unwrap())
            .unwrap();
        assert!(cost < 0.001, "{kind}: the cost counter kept ${cost}");
        // Large but within what the call could use (10 x its size and output cap): billed as
        // reported, and the tenant's window still has room.
        h.set_scenario(&format!("[usage]\nraw = '{large}'\n")).await;
        let (status, id, _) = ask(&h, false).await;
        assert_eq!(status, 200, "{kind}: the cost window was not blown");
        let (call, _) = h.record(&id).await;
        assert_eq!(
            (call.input_tokens, call.output_tokens),
            (1000, 50),
            "{kind}"
        );
        assert!(!call.tokens_estimated, "{kind}");
    }
}

#[tokio::test]
async fn a_200_whose_body_is_an_error_is_a_failed_attempt() {
    for kind in KINDS {
        let h = start(kind, "").await;
        h.set_scenario(
            "[[errors]]\nkind = \"status\"\nstatus = 200\nmessage = \"model overloaded\"\nfirst = 1\n",
        )
        .await;
        let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
        assert_eq!(r.status(), 502, "{kind}");
        let id = call_id(&r);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "upstream_bad_response", "{kind}");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("answered 200 with an error: model overloaded"),
            "{msg}"
        );
        let (call, attempts) = h.record(&id).await;
        assert_eq!(
            (call.outcome.as_str(), call.status),
            ("error", 502),
            "{kind}"
        );
        assert_eq!(call.error_class.map(|c| c.as_str()), Some("bad_response"));
        let a = &attempts[0];
        assert_eq!(
            (a.outcome.as_str(), a.status),
            ("error", Some(200)),
            "{kind}"
        );
        assert!(
            a.error_body
                .as_deref()
                .unwrap()
                .contains("model overloaded")
        );
        let m = h.metrics().await;
        for series in [
            "seam_first_attempts_total{route=\"chat\",provider=\"up\",outcome=\"error\",status=\"\"} 1",
            "seam_calls_total{route=\"chat\",provider=\"up\",outcome=\"error\",status=\"502\"} 1",
        ] {
            assert!(m.contains(series), "{kind}: {series} in\n{m}");
        }
        let ok = "seam_calls_total{route=\"chat\",provider=\"up\",outcome=\"ok\",status=\"200\"} ";
        assert!(
            m.lines()
                .filter_map(|l| l.strip_prefix(ok))
                .all(|v| v == "0"),
            "{kind}: counted as a success in\n{m}"
        );
    }
    // Retried as the class says, when the route retries it.
    let h = Harness::start(Options {
        retry: "{ max_attempts = 2, retry_on = [\"bad_response\"], backoff_base_ms = 1, backoff_max_ms = 2 }",
        scenario: "[[errors]]\nkind = \"status\"\nstatus = 200\nfirst = 1\n",
        ..Options::default()
    })
    .await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-seam-attempts"], "2");
}

#[tokio::test]
async fn an_upstream_redirect_is_recorded_as_a_redirect_without_its_query() {
    for kind in KINDS {
        let h = start(kind, "").await;
        h.set_scenario(
            "[[errors]]\nkind = \"status\"\nstatus = 302\nlocation = \"http://127.0.0.1:9/v2/chat?sig=SECRET-SIG\"\nfirst = 1\n",
        )
        .await;
        let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
        assert_eq!(r.status(), 502, "{kind}");
        let id = call_id(&r);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "upstream_redirect", "{kind}");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("answered 302, redirected to http://127.0.0.1:9/v2/chat;"),
            "{msg}"
        );
        let (call, attempts) = h.record(&id).await;
        assert_eq!(
            call.error_class.map(|c| c.as_str()),
            Some("redirect"),
            "{kind}"
        );
        let a = &attempts[0];
        assert_eq!(
            (a.status, a.error_class.map(|c| c.as_str())),
            (Some(302), Some("redirect"))
        );
        assert_eq!((a.cost_usd, a.tokens_estimated), (0.0, false), "not billed");
        let stored = format!("{call:?}{attempts:?}");
        assert!(
            !stored.contains("SECRET-SIG") && !msg.contains("SECRET-SIG"),
            "{stored}"
        );
    }
}

#[tokio::test]
async fn a_max_tokens_of_u64_max_under_a_token_limit_is_refused_not_a_panic() {
    let h = start(
        "openai",
        "[limits.tenant_default]\ntokens_per_day = 100000\n",
    )
    .await;
    let r = h
        .chat(json!({"model": "chat", "messages": hello(), "max_tokens": u64::MAX}))
        .await;
    assert_eq!(r.status(), 429);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "tenant_token_limit", "{body}");
}
