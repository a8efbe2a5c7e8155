//! The control API's reads of one call: its record and its captured content, to the readers
//! of its tenant only.

use crate::control_api::{call, user, user_with};
use crate::harness::{Harness, Options, call_id, hello};
use serde_json::{Value, json};

#[tokio::test]
async fn one_call_in_full_to_the_readers_of_its_tenant() {
    let h = Harness::start(Options::default()).await;
    let r = h
        .chat(json!({"model": "chat", "messages": hello(), "stream": true}))
        .await;
    let id = call_id(&r);
    r.text().await.unwrap();
    let (recorded, _) = h.record(&id).await;
    let tenant = recorded.tenant.as_str();
    let root = user_with(&h, "root", true, &[]).await;
    let vera = user_with(&h, "vera", false, &[("viewer", tenant)]).await;
    let otto = user_with(&h, "otto", false, &[("operator", "another")]).await;
    let nora = user(&h, "nora").await;
    let get = reqwest::Method::GET;
    let path = format!("/api/calls/{id}");

    let (s, _) = call(&h, get.clone(), &path, None, None).await;
    assert_eq!(s, 401);
    // The same document as `seam calls show --json`: one builder makes both.
    let shown = seam_control::calls::read(h.store.as_ref(), &id)
        .await
        .unwrap()
        .unwrap()
        .to_json();
    // Through JSON text as the answer went: serde_json's float parsing is not always the
    // nearest double, so a value and its parsed text can differ in the last digit.
    let shown: serde_json::Value =
        serde_json::from_str(&shown.to_string()).expect("the document is JSON");
    for who in [&root, &vera] {
        let (s, v) = call(&h, get.clone(), &path, Some(who), None).await;
        assert_eq!((s, &v), (200, &shown));
    }
    assert_eq!(shown["call"]["id"], id.as_str());
    assert_eq!(shown["attempts"][0]["call_id"], id.as_str());
    assert!(
        shown["attempts"][0]["upstream_request_id"].is_string(),
        "{shown}"
    );
    assert_eq!(shown["stream"]["call_id"], id.as_str());
    assert!(shown["stream"]["chunks"].as_i64().unwrap() > 0, "{shown}");
    let (s, v) = call(&h, get.clone(), &path, Some(&otto), None).await;
    assert_eq!(s, 404, "another tenant's call is not found: {v}");
    assert_eq!(v["error"]["message"], format!("no call `{id}`"));
    let (s, _) = call(&h, get.clone(), "/api/calls/call_nope", Some(&root), None).await;
    assert_eq!(s, 404);
    let (s, v) = call(&h, get.clone(), &path, Some(&nora), None).await;
    assert_eq!(s, 403, "no role reads no records: {v}");

    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    let plain = call_id(&r);
    h.record(&plain).await;
    let (s, v) = call(&h, get, &format!("/api/calls/{plain}"), Some(&vera), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["stream"], Value::Null, "not a stream");
}

/// `call` recorded with `body` as its captured content.
async fn record_captured(h: &Harness, call: &seam_store::CallRecord, body: Vec<u8>) {
    use seam_store::Records;
    let content = seam_store::ContentRecord {
        call_id: call.id.clone(),
        created_ms: call.created_ms,
        format: seam_store::ContentRecord::FORMAT,
        bytes: 1,
        truncated: false,
        redactions: 1,
        body,
    };
    let batch = seam_store::RecordBatch {
        calls: vec![call.clone()],
        attempts: vec![seam_store::conformance::sample_attempt(call, 1, true)],
        streams: Vec::new(),
        contents: vec![content],
    };
    h.store.insert_batch(&batch).await.unwrap();
}

#[tokio::test]
async fn a_calls_captured_content_to_the_readers_of_its_tenant() {
    use seam_store::conformance::sample_call;
    let h = Harness::start(Options::default()).await;
    let key = format!("sk-{}", "x1".repeat(16));
    let mut content = seam_capture::Content::from_request(
        &json!({"messages": [{"role": "user", "content": format!("use {key}")}]}),
    );
    content.answer = Some(seam_capture::Answer::from_response(&json!({"choices": [{
        "message": {"role": "assistant", "content": "Done."}, "finish_reason": "stop"}]})));
    content.seal(&seam_capture::Redactor::new(&[]).unwrap(), 65_536);
    let body = content.to_bytes().unwrap();
    let ours = sample_call("call_ours", 1_000, "acme");
    let theirs = sample_call("call_theirs", 1_001, "another");
    let broken = sample_call("call_broken", 1_002, "acme");
    record_captured(&h, &ours, body.clone()).await;
    record_captured(&h, &theirs, body).await;
    record_captured(&h, &broken, vec![1, 2, 3]).await;
    let vera = user_with(&h, "vera", false, &[("viewer", "acme")]).await;
    let otto = user_with(&h, "otto", false, &[("operator", "another")]).await;
    let get = reqwest::Method::GET;

    let (s, v) = call(&h, get.clone(), "/api/calls/call_ours", Some(&vera), None).await;
    assert_eq!(s, 200, "{v}");
    let shown = seam_control::calls::read(h.store.as_ref(), "call_ours")
        .await
        .unwrap()
        .unwrap()
        .to_json();
    assert_eq!(
        v,
        serde_json::from_str::<Value>(&shown.to_string()).unwrap()
    );
    assert_eq!(v["content"]["answer"]["text"], "Done.");
    assert_eq!(v["content"]["redactions"], json!({"key": 1}));
    assert_eq!(v["content"]["messages"][0]["parts"][0]["text"], "use [key]");
    assert!(!v.to_string().contains(&key), "{v}");

    let (s, v) = call(&h, get.clone(), "/api/calls/call_theirs", Some(&vera), None).await;
    assert_eq!(s, 404, "another tenant's call is not found: {v}");
    assert_eq!(v["error"]["message"], "no call `call_theirs`");
    assert!(!v.to_string().contains("Done."), "{v}");
    let (s, v) = call(&h, get.clone(), "/api/calls/call_theirs", Some(&otto), None).await;
    assert_eq!((s, &v["content"]["answer"]["text"]), (200, &json!("Done.")));

    // A body that does not decode is an error note in the document, not a 500.
    let (s, v) = call(&h, get, "/api/calls/call_broken", Some(&vera), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["call"]["id"], "call_broken");
    let error = v["content"]["error"].as_str().expect("an error note");
    assert!(error.starts_with("stored content: "), "{error}");
}
