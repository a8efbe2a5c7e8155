//! Captured content: kept per the policy of the call's tenant and route, redacted before it
//! is stored, never changing what goes upstream or back to the client.

use crate::harness::{Harness, Options, call_id, hello, sse_data};
use seam_capture::{Content, Kind, Part};
use seam_store::Records;
use serde_json::{Value, json};

/// The call's stored content, decoded; `None` when it kept none.
async fn content(h: &Harness, id: &str) -> Option<Content> {
    h.record(id).await;
    let r = h.store.get_content(id).await.expect("read content")?;
    Some(Content::from_bytes(&r.body).expect("stored content decodes"))
}

fn text_of(c: &Content, message: usize) -> String {
    c.messages[message]
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

const SECRETS: &str = "mail ana@example.com, key sk-live-0123456789abcdefghijklmnop";

#[tokio::test]
async fn a_captured_call_keeps_its_redacted_request_and_answer_and_the_client_sees_it_unredacted() {
    let h = Harness::start(Options {
        route_extra: r#"capture = { mode = "full", redact = ["email"] }"#,
        ..Options::default()
    })
    .await;
    let r = h
        .chat(json!({
            "model": "chat",
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": SECRETS}],
            "tools": [{"type": "function", "function": {"name": "lookup", "description": "find", "parameters": {"type": "object"}}}]
        }))
        .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let body: Value = r.json().await.unwrap();
    // The sim echoes the last user turn: the client gets it as sent, secrets and all.
    assert_eq!(body["choices"][0]["message"]["content"], SECRETS);

    let c = content(&h, &id).await.expect("captured");
    assert_eq!(c.messages.len(), 2);
    assert_eq!(c.messages[0].role, "system");
    assert_eq!(text_of(&c, 0), "be brief");
    let user = text_of(&c, 1);
    assert!(!user.contains("ana@example.com"), "{user}");
    assert!(!user.contains("sk-live-0123"), "{user}");
    assert!(user.contains(Kind::Email.marker()), "{user}");
    assert_eq!(c.tools.len(), 1);
    assert_eq!(c.tools[0].name, "lookup");
    let answer = c.answer.as_ref().expect("answer");
    let text = answer.text.as_deref().unwrap_or("");
    assert!(text.contains(Kind::Email.marker()), "{text}");
    assert!(!text.contains("ana@example.com"), "{text}");
    assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
    // Each secret twice: once asked, once answered.
    assert_eq!(c.redactions.get(Kind::Email), 2);
    assert_eq!(c.redactions.total(), 4);
    assert!(!c.truncated);
    let metrics = h.metrics().await;
    assert!(
        metrics.contains("seam_contents_captured_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_streamed_answer_is_kept_assembled_and_a_client_that_leaves_marks_it() {
    let h = Harness::start(Options {
        route_extra: r#"capture = { mode = "full" }"#,
        ..Options::default()
    })
    .await;
    let r = h
        .chat(json!({"model": "chat", "messages": hello(), "stream": true}))
        .await;
    let id = call_id(&r);
    let events = sse_data(&r.text().await.unwrap());
    let mut streamed = String::new();
    for e in events.iter().filter(|e| e.as_str() != "[DONE]") {
        let v: Value = serde_json::from_str(e).unwrap();
        streamed.push_str(v["choices"][0]["delta"]["content"].as_str().unwrap_or(""));
    }
    let c = content(&h, &id).await.expect("captured");
    let answer = c.answer.expect("answer");
    assert_eq!(answer.text.as_deref(), Some(streamed.as_str()));
    assert!(!answer.client_closed);

    h.set_scenario("[stream]\ninterval_ms = 50\n[content]\nmode = \"fixed\"\ntext = \"a b c d e f g h i j k l m n o p\"\n").await;
    let mut r = h
        .chat(json!({"model": "chat", "messages": hello(), "stream": true}))
        .await;
    let id = call_id(&r);
    let _first = r.chunk().await.unwrap();
    drop(r);
    let c = content(&h, &id).await.expect("captured");
    let answer = c.answer.expect("the part relayed");
    assert!(answer.client_closed);
    let text = answer.text.unwrap_or_default();
    assert!(
        "a b c d e f g h i j k l m n o p".starts_with(&text) && text.len() < 31,
        "{text:?}"
    );
}

#[tokio::test]
async fn without_a_policy_or_with_a_tenant_off_nothing_is_kept() {
    let h = Harness::start(Options::default()).await;
    let id = call_id(&h.chat(json!({"model": "chat", "messages": hello()})).await);
    assert!(content(&h, &id).await.is_none());

    let h = Harness::start(Options {
        route_extra: r#"capture = { mode = "full" }"#,
        extra: "[capture.tenants.acme]\nmode = \"metadata\"\n",
        ..Options::default()
    })
    .await;
    let id = call_id(&h.chat(json!({"model": "chat", "messages": hello()})).await);
    assert!(
        content(&h, &id).await.is_none(),
        "the tenant's mode wins over the route's"
    );
}

#[tokio::test]
async fn failures_are_kept_outside_the_sample_and_a_trace_is_sampled_whole() {
    let h = Harness::start(Options {
        route_extra: r#"capture = { mode = "full", sample = 0.0, keep_failures = true }"#,
        ..Options::default()
    })
    .await;
    let ok = call_id(&h.chat(json!({"model": "chat", "messages": hello()})).await);
    assert!(
        content(&h, &ok).await.is_none(),
        "sample 0 keeps no success"
    );
    h.set_scenario("[[errors]]\nkind = \"status\"\nstatus = 503\nfirst = 1\n")
        .await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 503);
    let failed = call_id(&r);
    let c = content(&h, &failed).await.expect("a failure is kept");
    assert_eq!(text_of(&c, 0), "hello there gateway");
    assert!(c.answer.is_none(), "no answer came");

    // Half the traces: every call of one trace is kept or none is.
    let h = Harness::start(Options {
        route_extra: r#"capture = { mode = "full", sample = 0.5 }"#,
        ..Options::default()
    })
    .await;
    let mut kept_traces = 0;
    for t in 0..12 {
        let trace = format!("trace-{t}");
        let mut kept = Vec::new();
        for _ in 0..3 {
            let r = h
                .client
                .post(format!("{}/v1/chat/completions", h.gw))
                .bearer_auth(&h.key)
                .header("x-seam-trace", &trace)
                .json(&json!({"model": "chat", "messages": hello()}))
                .send()
                .await
                .unwrap();
            kept.push(content(&h, &call_id(&r)).await.is_some());
        }
        assert!(kept.iter().all(|k| *k == kept[0]), "{trace}: {kept:?}");
        assert_eq!(kept[0], seam_capture::sampled(&trace, 0.5), "{trace}");
        kept_traces += usize::from(kept[0]);
    }
    assert!((1..12).contains(&kept_traces), "{kept_traces} of 12 kept");
}

/// Every client format is kept in the one chat shape: an Anthropic client's Messages call,
/// a Responses API call passed through to a provider that speaks it (its answer's output
/// text), and one translated to chat for a provider that does not.
#[tokio::test]
async fn anthropic_and_responses_clients_are_kept_in_the_chat_shape() {
    for (responses, native) in [(false, false), (true, true), (true, false)] {
        let h = Harness::start(Options {
            route_extra: r#"capture = { mode = "full" }"#,
            provider_extra: if native { "" } else { "responses = false" },
            ..Options::default()
        })
        .await;
        let r = if responses {
            h.post(
                "/v1/responses",
                &json!({"model": "chat", "instructions": "be brief", "input": "hello there"}),
            )
            .await
        } else {
            h.client
                .post(format!("{}/v1/messages", h.gw))
                .header("x-api-key", &h.key)
                .header("anthropic-version", "2023-06-01")
                .json(
                    &json!({"model": "chat", "max_tokens": 50, "system": "be brief",
                    "messages": [{"role": "user", "content": "hello there"}]}),
                )
                .send()
                .await
                .unwrap()
        };
        assert_eq!(r.status(), 200, "responses {responses} native {native}");
        let id = r
            .headers()
            .get("x-seam-call-id")
            .and_then(|v| v.to_str().ok())
            .unwrap()
            .to_string();
        let c = content(&h, &id).await.expect("captured");
        let roles: Vec<&str> = c.messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(
            roles,
            ["system", "user"],
            "responses {responses} native {native}"
        );
        assert_eq!(text_of(&c, 1), "hello there");
        let answer = c.answer.expect("answer");
        assert_eq!(
            answer.text.as_deref(),
            Some("hello there"),
            "responses {responses} native {native}"
        );
    }
}
