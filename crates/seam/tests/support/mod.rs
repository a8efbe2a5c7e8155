//! What the tests of captured content share: a SQLite store in a temporary directory, the
//! `seam` binary run against it, and content built and sealed as capture builds it.

#![allow(dead_code)]

use seam_capture::{Answer, Content, Redactor, StreamAnswer};
use seam_config::{Redact, RedactPack};
use seam_store::conformance::sample_call;
use seam_store::{CallRecord, ContentRecord, RecordBatch, Records};
use serde_json::{Value, json};
use std::process::{Command, Output};

pub struct Store {
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Store {
    pub async fn new() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("seam.db").display());
        seam_store::open(&url).await.unwrap();
        Store { url, dir }
    }

    /// Runs `seam ARGS --store URL` as `token`'s user (none: bootstrap, an admin).
    pub fn run(&self, token: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seam"));
        cmd.args(args)
            .args(["--store", &self.url])
            .env_remove("SEAM_TOKEN")
            .env_remove("SEAM_STORE");
        if let Some(t) = token {
            cmd.env("SEAM_TOKEN", t);
        }
        cmd.output().unwrap()
    }

    /// Its standard output; the command must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_as(None, args)
    }

    /// [`Store::ok`] as `token`'s user.
    pub fn ok_as(&self, token: Option<&str>, args: &[&str]) -> String {
        let out = self.run(token, args);
        assert!(
            out.status.success(),
            "seam {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// Records the calls, each with its content when it has one.
    pub async fn record(&self, calls: &[(CallRecord, Option<ContentRecord>)]) {
        let store = seam_store::open(&self.url).await.unwrap();
        let batch = RecordBatch {
            calls: calls.iter().map(|(c, _)| c.clone()).collect(),
            attempts: calls
                .iter()
                .map(|(c, _)| seam_store::conformance::sample_attempt(c, 1, true))
                .collect(),
            streams: Vec::new(),
            contents: calls.iter().filter_map(|(_, c)| c.clone()).collect(),
        };
        store.insert_batch(&batch).await.unwrap();
    }
}

/// A call of `tenant` in trace `trace`, a second old.
pub fn call(id: &str, tenant: &str, trace: &str) -> CallRecord {
    let mut c = sample_call(id, seam_store::now_ms() - 1_000, tenant);
    c.trace_id = Some(trace.into());
    c.stream = false;
    c
}

/// A key in the shape redaction always takes out.
pub fn provider_key() -> String {
    format!("sk-proj-{}", "Ab12".repeat(8))
}

/// A user turn with an email address and a provider key in two lines, and an image; a tool
/// offered; the answer "Sunny." with a tool call.
pub fn request() -> Value {
    json!({
        "model": "chat",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [
                {"type": "text", "text": format!("Mail ann@example.com, key {}\nsecond line", provider_key())},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]},
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Get the weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    })
}

pub fn response() -> Value {
    json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "Sunny.",
        "tool_calls": [{"id": "tc_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}]})
}

/// Content sealed as capture seals it (provider keys and emails redacted, at most
/// `max_bytes` of text), stored as the record writer stores it.
pub fn stored(call: &CallRecord, mut content: Content, max_bytes: usize) -> ContentRecord {
    let redactor = Redactor::new(&[Redact::Pack(RedactPack::Email)]).unwrap();
    content.seal(&redactor, max_bytes);
    ContentRecord {
        call_id: call.id.clone(),
        created_ms: call.created_ms,
        format: ContentRecord::FORMAT,
        bytes: serde_json::to_vec(&content).unwrap().len() as i64,
        truncated: content.truncated,
        redactions: i64::from(content.redactions.total()),
        body: content.to_bytes().unwrap(),
    }
}

/// [`request`] answered by [`response`], captured in full.
pub fn captured(call: &CallRecord) -> ContentRecord {
    let mut c = Content::from_request(&request());
    c.answer = Some(Answer::from_response(&response()));
    stored(call, c, 65_536)
}

/// A long question whose streamed answer the client left mid-way, cut at 1024 bytes.
pub fn truncated(call: &CallRecord) -> ContentRecord {
    let body = json!({"messages": [{"role": "user", "content": "why? ".repeat(400)}]});
    let mut c = Content::from_request(&body);
    let mut stream = StreamAnswer::new(1024);
    stream.push(&json!({"choices": [{"index": 0, "delta": {"content": "Because"}}]}));
    c.answer = Some(stream.finish(true).0);
    stored(call, c, 1024)
}

/// A body that does not decode.
pub fn corrupt(call: &CallRecord) -> ContentRecord {
    ContentRecord {
        call_id: call.id.clone(),
        created_ms: call.created_ms,
        format: ContentRecord::FORMAT,
        bytes: 100,
        truncated: false,
        redactions: 0,
        body: vec![1, 0xde, 0xad, 0xbe, 0xef],
    }
}
