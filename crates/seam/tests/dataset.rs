//! `seam dataset add` on a SQLite file: a captured call (or a trace's) becomes a JSON-lines
//! case; every refusal exits non-zero and leaves the file as it was.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::{Store, call, captured, corrupt, stored, truncated};

const TRACE: &str = "tr_dataset";

/// In TRACE: `call_a` and `call_b` captured, `call_none` not; apart: `call_cut` (truncated),
/// `call_bad` (does not decode), `call_prompt` (a `prompt:` call), `call_b2` of tenant b.
async fn recorded() -> Store {
    let store = Store::new().await;
    let a = call("call_a", "a", TRACE);
    let mut b = call("call_b", "a", TRACE);
    b.created_ms += 1;
    let mut none = call("call_none", "a", TRACE);
    none.created_ms += 2;
    let cut = call("call_cut", "a", "tr_1");
    let bad = call("call_bad", "a", "tr_2");
    let mut prompt = call("call_prompt", "a", "tr_3");
    prompt.route = "prompt:support".into();
    prompt.release_id = Some("rel_42".into());
    let mut content = seam_capture::Content::from_request(&json!({
        "model": "prompt:support@production",
        "messages": [{"role": "user", "content": "where is my order?"}],
        "seam_variables": {"customer": "Ann", "plan": "pro"},
    }));
    content.release = Some("rel_42".into());
    content.answer = Some(seam_capture::Answer::from_response(&support::response()));
    let other = call("call_b2", "b", "tr_4");
    store
        .record(&[
            (a.clone(), Some(captured(&a))),
            (b.clone(), Some(captured(&b))),
            (none, None),
            (cut.clone(), Some(truncated(&cut))),
            (bad.clone(), Some(corrupt(&bad))),
            (prompt.clone(), Some(stored(&prompt, content, 65_536))),
            (other.clone(), Some(captured(&other))),
        ])
        .await;
    store
}

fn file(store: &Store) -> PathBuf {
    store.dir.path().join("cases.jsonl")
}

fn add(store: &Store, path: &Path, args: &[&str]) -> Value {
    let mut all = vec!["dataset", "add", path.to_str().unwrap()];
    all.extend_from_slice(args);
    all.push("--json");
    store.json(&all)
}

fn cases(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `seam dataset add FILE ARGS` as `token`'s user fails, says `want`, and leaves the file as
/// it was (or absent).
fn refused(store: &Store, token: Option<&str>, path: &Path, args: &[&str], want: &str) {
    let before = std::fs::read(path).ok();
    let mut all = vec!["dataset", "add", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = store.run(token, &all);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "seam {all:?} should be refused");
    assert!(err.contains(want), "seam {all:?}: {err}");
    assert_eq!(
        std::fs::read(path).ok(),
        before,
        "seam {all:?} changed the file"
    );
}

#[tokio::test]
async fn a_captured_call_becomes_a_case_in_chat_format() {
    let store = recorded().await;
    let path = file(&store);
    let out = add(
        &store,
        &path,
        &["--from-call", "call_a", "--tag", "weather"],
    );
    let written = cases(&path);
    assert_eq!(out["added"], json!(written), "--json prints what was added");
    assert_eq!(out["skipped"], json!([]));
    let case = &written[0];
    assert_eq!(case["id"], "call:call_a");
    assert_eq!(
        case["input"]["messages"],
        json!([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [
                {"type": "text", "text": "Mail [email], key [key]\nsecond line"},
                {"type": "omitted", "part": "image_url", "media": "image/png", "bytes": 34,
                 "sha256": case["input"]["messages"][1]["content"][1]["sha256"]},
            ]},
        ])
    );
    let sha = case["input"]["messages"][1]["content"][1]["sha256"]
        .as_str()
        .unwrap();
    assert_eq!(sha.len(), 64, "{sha}");
    assert_eq!(
        case["input"]["tools"],
        json!([{"type": "function", "function": {
            "name": "get_weather", "description": "Get the weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
    );
    assert_eq!(case["input"].get("variables"), None, "not a prompt: call");
    assert_eq!(
        case["expected"],
        json!({"text": "Sunny.", "tool_calls": [{"id": "tc_1", "type": "function",
               "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}],
               "finish_reason": "stop", "review": "pending"})
    );
    assert_eq!(case["tags"], json!(["weather", "omitted-parts"]));
    assert_eq!(case["source"]["call_id"], "call_a");
    assert_eq!(case["source"]["trace_id"], TRACE);
    assert_eq!(case["source"]["route"], "chat");
    assert_eq!(case["source"]["release_id"], Value::Null);
    assert!(case["source"]["captured_ms"].as_i64().unwrap() > 0);

    // A prompt: call keeps its variables and its release.
    let first_line = std::fs::read(&path).unwrap();
    add(&store, &path, &["--from-call", "call_prompt"]);
    let now = std::fs::read(&path).unwrap();
    assert_eq!(
        now[..first_line.len()],
        first_line[..],
        "appended, not rewritten"
    );
    let prompt = &cases(&path)[1];
    assert_eq!(
        prompt["input"]["variables"],
        json!({"customer": "Ann", "plan": "pro"})
    );
    assert_eq!(prompt["input"]["release"], "rel_42");
    assert_eq!(prompt["source"]["release_id"], "rel_42");
    assert_eq!(prompt["source"]["route"], "prompt:support");

    let text = store.ok(&[
        "dataset",
        "add",
        path.to_str().unwrap(),
        "--from-call",
        "call_b",
    ]);
    assert!(text.starts_with("added 1 case(s) to "), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim() == "call:call_b  tags: omitted-parts"),
        "{text}"
    );
    assert_eq!(cases(&path).len(), 3);

    // What `dataset add` writes is a dataset the eval commands read.
    let shown = store.json(&["dataset", "show", path.to_str().unwrap(), "--json"]);
    let ids: Vec<&str> = shown["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["call:call_a", "call:call_prompt", "call:call_b"]);
    assert_eq!(shown["cases"][1]["release"], "rel_42");
    assert_eq!(shown["cases"][1]["variables"], json!(["customer", "plan"]));
    assert_eq!(shown["version"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn a_trace_adds_each_captured_call_and_lists_the_others() {
    let store = recorded().await;
    let path = file(&store);
    let out = add(&store, &path, &["--trace", TRACE]);
    let ids: Vec<&str> = out["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["call:call_a", "call:call_b"]);
    assert_eq!(
        out["skipped"],
        json!([{"call_id": "call_none", "reason": "not captured"}])
    );
    assert_eq!(cases(&path).len(), 2);

    // Both: the call named and the trace's, each once.
    let both = store.dir.path().join("both.jsonl");
    let out = add(
        &store,
        &both,
        &[
            "--from-call",
            "call_prompt",
            "--trace",
            TRACE,
            "--from-call",
            "call_a",
        ],
    );
    let ids: Vec<&str> = out["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["call:call_prompt", "call:call_a", "call:call_b"]);
}

#[tokio::test]
async fn each_refusal_leaves_the_file_as_it_was() {
    let store = recorded().await;
    let path = file(&store);
    refused(
        &store,
        None,
        &path,
        &["--from-call", "call_nope"],
        "no call `call_nope` in the store",
    );
    assert!(!path.exists(), "a refusal creates no file");
    refused(&store, None, &path, &[], "name the calls to add");
    add(&store, &path, &["--from-call", "call_a"]);

    refused(
        &store,
        None,
        &path,
        &["--from-call", "call_none"],
        "call `call_none` has no captured content",
    );
    refused(
        &store,
        None,
        &path,
        &["--from-call", "call_cut"],
        "call `call_cut`: its content was truncated when captured",
    );
    refused(
        &store,
        None,
        &path,
        &["--from-call", "call_bad"],
        "call `call_bad`: its captured content cannot be read (stored content: ",
    );
    refused(
        &store,
        None,
        &path,
        &["--from-call", "call_a"],
        "already has a case `call:call_a`; nothing added",
    );
    // One refusal refuses them all: call_b is not added either.
    refused(
        &store,
        None,
        &path,
        &["--trace", TRACE],
        "already has a case `call:call_a`",
    );
    refused(
        &store,
        None,
        &path,
        &["--trace", "tr_nope"],
        "no calls you can read are recorded for trace `tr_nope`",
    );
    refused(
        &store,
        None,
        &path,
        &["--from-call", "call_b", "--tag", " "],
        "a tag cannot be empty",
    );
    assert_eq!(cases(&path).len(), 1);

    let out = add(
        &store,
        &path,
        &["--from-call", "call_cut", "--allow-truncated"],
    );
    assert_eq!(
        out["added"][0]["tags"],
        json!(["truncated", "client-closed"])
    );
    assert_eq!(out["added"][0]["expected"]["text"], "Because");

    // A last line cut short is not appended to.
    std::fs::write(&path, "{\"id\": \"call:x\", \"inp").unwrap();
    refused(
        &store,
        None,
        &path,
        &["--from-call", "call_b"],
        "line 1 is not a dataset case",
    );
}

#[tokio::test]
async fn adding_a_call_needs_a_role_in_its_tenant() {
    let store = recorded().await;
    let path = file(&store);
    let root = store.ok(&["users", "create", "root"]).trim().to_string();
    let vera = store.ok_as(
        Some(&root),
        &[
            "users", "create", "vera", "--role", "viewer", "--tenant", "a", "--json",
        ],
    );
    let vera: Value = serde_json::from_str(&vera).unwrap();
    let vera = vera["token"].as_str().unwrap();
    let file = path.to_str().unwrap();
    store.ok_as(
        Some(&root),
        &["dataset", "add", file, "--from-call", "call_b2"],
    );
    std::fs::remove_file(&path).unwrap();
    refused(
        &store,
        Some(vera),
        &path,
        &["--from-call", "call_b2"],
        "of tenant `b` needs role viewer or operator of `b`, or admin",
    );
    refused(
        &store,
        Some(vera),
        &path,
        &["--trace", "tr_4"],
        "no calls you can read are recorded for trace `tr_4`",
    );
    store.ok_as(
        Some(vera),
        &["dataset", "add", file, "--from-call", "call_a"],
    );
    assert_eq!(cases(&path).len(), 1);
}
