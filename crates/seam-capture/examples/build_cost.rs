//! Times building one captured content (parse, redact, seal, encode) for the benchmark's call.
//! `cargo run --release -p seam-capture --example build_cost`; under callgrind, each stage is
//! a function of its own (`parse`, `seal`, `encode`): `callgrind_annotate --inclusive=yes`.
use seam_capture::{Answer, Content, Redactor};
use seam_config::{CaptureMode, CapturePolicy, Redact, RedactPack};
use std::time::Instant;

fn main() {
    let text = "Customer ana.souza@example.com (phone +1 415 555 0199, card 4111 1111 1111 1111) asks: summarise the refund policy for an annual plan in one line, and say whether a partial month is refunded.";
    let req = serde_json::json!({"model": "chat-capture", "messages": [{"role": "system", "content": "You are a support agent."}, {"role": "user", "content": text}]});
    let req = serde_json::to_vec(&req).unwrap();
    let resp = serde_json::json!({"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]});
    let resp = serde_json::to_vec(&resp).unwrap();
    let policy = CapturePolicy {
        mode: CaptureMode::Full,
        redact: RedactPack::ALL.iter().map(|p| Redact::Pack(*p)).collect(),
        ..CapturePolicy::default()
    };
    let r = Redactor::for_policy(&policy).unwrap();
    let n = 20_000;
    let mut t = [0f64; 4];
    for _ in 0..n {
        let a = Instant::now();
        let mut c = parse(&req, &resp);
        let b = Instant::now();
        seal(&mut c, &r);
        let d = Instant::now();
        let j = serde_json::to_vec(&c).unwrap();
        let e0 = Instant::now();
        let bytes = encode(&c);
        let e = Instant::now();
        t[3] += (e0 - d).as_secs_f64();
        std::hint::black_box(j);
        std::hint::black_box(bytes);
        t[0] += (b - a).as_secs_f64();
        t[1] += (d - b).as_secs_f64();
        t[2] += (e - e0).as_secs_f64() + (e0 - d).as_secs_f64();
    }
    let us = |x: f64| x / n as f64 * 1e6;
    println!(
        "parse {:.1} µs, seal (redact) {:.1} µs, encode (json+zstd) {:.1} µs, of which json {:.1} µs",
        us(t[0]),
        us(t[1]),
        us(t[2]) - us(t[3]),
        us(t[3])
    );
}

#[inline(never)]
fn parse(req: &[u8], resp: &[u8]) -> Content {
    let mut c = Content::from_request_bytes(req, 65536);
    c.answer = Answer::from_response_bytes(resp);
    c
}

#[inline(never)]
fn seal(c: &mut Content, r: &Redactor) {
    c.seal(r, 65536);
}

#[inline(never)]
fn encode(c: &Content) -> Vec<u8> {
    c.encode().unwrap().0
}
