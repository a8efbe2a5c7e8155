//! Captured content read back through the `seam` CLI on a SQLite file: `calls show` (text and
//! JSON: messages, tools, the answer, redactions per kind, truncated), `traces show
//! --content`, `store export --only contents`.

mod support;

use serde_json::{Value, json};
use support::{Store, call, captured, corrupt, truncated};

const TRACE: &str = "tr_content";

async fn recorded() -> Store {
    let store = Store::new().await;
    let full = call("call_full", "acme", TRACE);
    let cut = call("call_cut", "acme", TRACE);
    let none = call("call_none", "acme", TRACE);
    let bad = call("call_bad", "acme", "tr_other");
    store
        .record(&[
            (full.clone(), Some(captured(&full))),
            (cut.clone(), Some(truncated(&cut))),
            (none, None),
            (bad.clone(), Some(corrupt(&bad))),
        ])
        .await;
    store
}

fn has_line(text: &str, line: &str) {
    assert!(text.lines().any(|l| l == line), "{line:?} in:\n{text}");
}

#[tokio::test]
async fn calls_show_gives_what_was_asked_and_answered() {
    let store = recorded().await;
    let shown = store.json(&["calls", "show", "call_full", "--json"]);
    let keys: Vec<&str> = shown
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["call", "attempts", "stream", "content"]);
    let content = &shown["content"];
    assert_eq!(content["error"], Value::Null);
    assert_eq!(content["truncated"], false);
    assert_eq!(content["redactions"], json!({"key": 1, "email": 1}));
    assert_eq!(content["messages"][0]["role"], "system");
    let user = &content["messages"][1];
    assert_eq!(
        user["parts"][0],
        json!({"type": "text", "text": "Mail [email], key [key]\nsecond line"})
    );
    assert_eq!(user["parts"][1]["type"], "blob");
    assert_eq!(user["parts"][1]["kind"], "image_url");
    assert_eq!(user["parts"][1]["media"], "image/png");
    assert_eq!(content["tools"][0]["name"], "get_weather");
    assert_eq!(content["answer"]["text"], "Sunny.");
    assert_eq!(content["answer"]["finish_reason"], "stop");
    assert_eq!(
        content["answer"]["tool_calls"][0]["arguments"],
        "{\"city\":\"Paris\"}"
    );
    assert!(
        !shown.to_string().contains("ann@example.com"),
        "what capture redacted is not shown: {shown}"
    );

    let text = store.ok(&["calls", "show", "call_full"]);
    let section = &text[text.find("\ncontent:\n").expect("a content section")..];
    for line in [
        "truncated           no",
        "redactions          key 1, email 1",
        "tools offered:",
        "  get_weather: Get the weather",
        "messages:",
        "  system:",
        "    You are terse.",
        "  user:",
        "    Mail [email], key [key]",
        "    second line",
        "answer:",
        "    Sunny.",
        "    tool call get_weather (tc_1): {\"city\":\"Paris\"}",
        "finish reason       stop",
        "client closed       no",
    ] {
        has_line(section, line);
    }
    assert!(
        section.lines().any(
            |l| l.starts_with("    [image_url image/png, 34 bytes, sha256 ")
                && l.ends_with(": not kept]")
        ),
        "{section}"
    );
}

#[tokio::test]
async fn calls_show_says_truncated_not_captured_and_unreadable() {
    let store = recorded().await;
    let cut = store.json(&["calls", "show", "call_cut", "--json"]);
    assert_eq!(cut["content"]["truncated"], true);
    assert_eq!(cut["content"]["answer"]["client_closed"], true);
    assert_eq!(cut["content"]["redactions"], json!({}));
    let text = store.ok(&["calls", "show", "call_cut"]);
    has_line(
        &text,
        "truncated           yes (text cut at the policy's max_bytes)",
    );
    has_line(&text, "redactions          none");
    has_line(
        &text,
        "client closed       yes (the answer is the part the client was sent)",
    );

    let none = store.json(&["calls", "show", "call_none", "--json"]);
    assert_eq!(none["content"], Value::Null);
    has_line(
        &store.ok(&["calls", "show", "call_none"]),
        "content: not captured",
    );

    // A body that does not decode is a note in the view, not a failed command.
    let bad = store.json(&["calls", "show", "call_bad", "--json"]);
    assert_eq!(bad["call"]["id"], "call_bad");
    let error = bad["content"]["error"].as_str().expect("an error note");
    assert!(error.starts_with("stored content: "), "{error}");
    let text = store.ok(&["calls", "show", "call_bad"]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("content: unreadable (stored content: ")),
        "{text}"
    );
}

#[tokio::test]
async fn traces_show_content_gives_each_calls_content() {
    let store = recorded().await;
    let plain = store.json(&["traces", "show", TRACE, "--json"]);
    assert_eq!(
        plain["calls"][0].get("content"),
        None,
        "only with --content"
    );
    assert!(!store.ok(&["traces", "show", TRACE]).contains("\ncontent"));

    let tree = store.json(&["traces", "show", TRACE, "--content", "--json"]);
    let calls = tree["calls"].as_array().unwrap();
    let by_id = |id: &str| {
        calls
            .iter()
            .find(|c| c["call"]["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {tree}"))
    };
    assert_eq!(by_id("call_full")["content"]["answer"]["text"], "Sunny.");
    assert_eq!(by_id("call_cut")["content"]["truncated"], true);
    assert_eq!(by_id("call_none")["content"], Value::Null);

    let text = store.ok(&["traces", "show", TRACE, "--content"]);
    for id in ["call_full", "call_cut"] {
        let at = text.find(&format!("── {id}\ncontent:\n")).expect(id);
        assert!(text[at..].contains("answer:"), "{text}");
    }
    assert!(
        text.contains("── call_none\ncontent: not captured\n"),
        "{text}"
    );
}

#[tokio::test]
async fn export_only_contents_gives_the_content_decoded() {
    let store = recorded().await;
    let out = store.ok(&["store", "export", "--only", "contents"]);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines.iter().all(|l| l["type"] == "content"), "{out}");
    let by_id = |id: &str| lines.iter().find(|l| l["call_id"] == id).unwrap();
    let full = by_id("call_full");
    assert_eq!(full.get("body"), None, "the body is decoded: {full}");
    assert_eq!(full["content"]["answer"]["text"], "Sunny.");
    assert_eq!(full["content"]["redactions"], json!({"key": 1, "email": 1}));
    assert_eq!(full["redactions"], 2);
    assert_eq!(by_id("call_cut")["truncated"], true);
    let bad = by_id("call_bad");
    assert_eq!(bad["body"], "01deadbeef", "kept as stored: {bad}");
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .starts_with("stored content: ")
    );
    assert_eq!(bad.get("content"), None);

    let out = store.run(None, &["store", "export", "--only", "contents,bogus"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--only `bogus`: use calls, attempts, streams, events or contents"),
        "{err}"
    );
}
