//! A week of generated support traffic, as records, for `seam demo`'s coverage story and the
//! tests that read coverage back from a real store: sessions on the planted topics of
//! `seam_signals::synth::MODES`, of which one (`invoice-currency`, invoices in a foreign
//! currency) the model answers badly, so users rephrase it and give up; the rest mostly go
//! well. Its eval cases cover every topic but that one. Deterministic for a seed.

use seam_capture::{Answer, Content, Message, Part};
use seam_evals::stats::SplitMix64;
use seam_signals::synth::MODES;
use seam_store::{CallRecord, ContentRecord, RecordBatch};
use seam_vocab::{Outcome, Purpose};
use serde_json::json;

const DAY_MS: i64 = 86_400_000;
/// The topic the story is about.
pub const FAILING: &str = "invoice-currency";
/// Prefixes a user puts before a rephrase.
const AGAIN: [&str; 5] = [
    "that did not help,",
    "no,",
    "let me ask differently:",
    "still stuck:",
    "you did not answer my question,",
];

/// The records, and the eval dataset's lines (JSONL, one case each).
pub struct SupportWeek {
    pub batch: RecordBatch,
    pub dataset: Vec<String>,
    pub sessions: usize,
}

/// `sessions_per_day` sessions a day over the seven days before `end_ms`, for `tenant` on
/// `route`, every call's content captured.
pub fn support_week(
    seed: u64,
    tenant: &str,
    route: &str,
    end_ms: i64,
    sessions_per_day: usize,
) -> SupportWeek {
    let mut rng = SplitMix64::new(seed);
    let mut batch = RecordBatch::default();
    let start = end_ms - 7 * DAY_MS;
    let mut n = 0u64;
    let sessions = 7 * sessions_per_day;
    for s in 0..sessions {
        let topic = rng.below(MODES.len() as u64) as usize;
        let mode = &MODES[topic];
        let failing = mode.name == FAILING;
        // Most sessions of the failing topic are rephrased once or twice, then abandoned; a
        // few of the others are rephrased once and then answered.
        let rephrases = if failing && rng.below(100) < 75 {
            1 + rng.below(2) as usize
        } else if !failing && rng.below(100) < 12 {
            1
        } else {
            0
        };
        let session = format!("demo-s{s:05}");
        // Leave the last day's final 20 minutes quiet, so every session is over.
        let mut at = start + rng.below((7 * DAY_MS - 20 * 60_000) as u64) as i64;
        let mut wording = rng.below(mode.wordings.len() as u64) as usize;
        for t in 0..=rephrases {
            n += 1;
            let mut text = mode.wordings[wording].to_string();
            if t > 0 {
                text = format!("{} {text}", AGAIN[rng.below(AGAIN.len() as u64) as usize]);
            }
            let last = t == rephrases;
            let gave_up = failing && rephrases > 0 && last;
            let id = format!("call_demo{seed:x}{n:07}");
            let answer = if gave_up {
                String::new()
            } else {
                format!(
                    "Here is how that works for {}.",
                    mode.name.replace('-', " ")
                )
            };
            batch.contents.push(content(&id, at, &text, &answer));
            batch
                .calls
                .push(call(&id, at, tenant, route, &session, n, gave_up));
            at += 15_000 + rng.below(60_000) as i64;
            // Most users edit their question (a prefix before the same words); some reword it.
            if rng.below(10) < 3 {
                wording = (wording + 1 + rng.below(mode.wordings.len() as u64 - 1) as usize)
                    % mode.wordings.len();
            }
        }
    }
    SupportWeek {
        batch,
        dataset: dataset(),
        sessions,
    }
}

/// Cases for every topic but the failing one, written in the words of whoever writes eval
/// cases, not the users'.
fn dataset() -> Vec<String> {
    let own: [(&str, &str); 2] = [
        (
            "cancel-mid-cycle",
            "customer cancels halfway through the billing cycle and asks for a prorated refund",
        ),
        (
            "webhook-failures",
            "webhook deliveries fail with a timeout and are not retried",
        ),
    ];
    let mut lines = Vec::new();
    for m in MODES.iter().filter(|m| m.name != FAILING) {
        let written = m.cases.iter().copied().chain(
            own.iter()
                .filter(|(name, _)| *name == m.name)
                .map(|(_, c)| *c),
        );
        for (i, text) in written.enumerate() {
            lines.push(
                json!({
                    "id": format!("{}-{i}", m.name),
                    "input": {"messages": [{"role": "user", "content": text}]},
                    "expected": "a correct, specific answer",
                    "tags": [m.name],
                })
                .to_string(),
            );
        }
    }
    lines
}

fn content(id: &str, at: i64, text: &str, answer: &str) -> ContentRecord {
    let c = Content {
        messages: vec![
            Message {
                role: "system".into(),
                parts: vec![Part::Text {
                    text: "You are the support assistant of Acme Billing.".into(),
                }],
                ..Message::default()
            },
            Message {
                role: "user".into(),
                parts: vec![Part::Text { text: text.into() }],
                ..Message::default()
            },
        ],
        answer: Some(Answer {
            text: Some(answer.into()),
            finish_reason: Some("stop".into()),
            ..Answer::default()
        }),
        ..Content::default()
    };
    // A few hundred bytes of JSON: encoding cannot fail (no map keys that are not strings).
    let (body, bytes) = c.encode().unwrap_or_default();
    ContentRecord {
        call_id: id.into(),
        created_ms: at,
        format: ContentRecord::FORMAT,
        bytes: bytes as i64,
        truncated: false,
        redactions: 0,
        body,
    }
}

fn call(
    id: &str,
    at: i64,
    tenant: &str,
    route: &str,
    session: &str,
    n: u64,
    empty: bool,
) -> CallRecord {
    CallRecord {
        id: id.into(),
        created_ms: at,
        tenant: tenant.into(),
        key_id: None,
        trace_id: None,
        session_id: (!session.is_empty()).then(|| session.into()),
        endpoint: "chat.completions".into(),
        route: route.into(),
        stream: false,
        requested_model: route.into(),
        provider: Some("sim".into()),
        served_model: Some("sim-large-2026-01".into()),
        system_fingerprint: None,
        status: 200,
        outcome: Outcome::Ok,
        error_class: None,
        error_message: None,
        attempts: 1,
        latency_ms: 640.0,
        ttfb_ms: None,
        input_tokens: 60,
        output_tokens: if empty { 0 } else { 24 },
        cost_usd: 0.000_156,
        tokens_estimated: false,
        budget_exhausted: false,
        release_id: None,
        unpriced: false,
        upstream_request_id: None,
        purpose: Purpose::Live,
        request_hash: Some(format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))),
    }
}

/// `turns` (`seam_signals::synth`'s corpus) as records of `tenant` on `route`: a call each,
/// and its content where the turn has text (the request's user turn and tool results, the
/// answer's tool calls, refusal, finish reason, emptiness). For the benchmark and tests.
pub fn batch_of(turns: &[seam_signals::Turn], tenant: &str, route: &str) -> RecordBatch {
    let mut batch = RecordBatch::default();
    for (n, t) in turns.iter().enumerate() {
        let id = format!("call_{}", t.call_id);
        let mut call = call(&id, t.at_ms, tenant, route, "", n as u64, false);
        call.session_id = t.session.clone();
        call.trace_id = t.trace.clone();
        call.request_hash = t.request_hash.clone();
        call.outcome = match t.outcome.as_str() {
            "error" => Outcome::Error,
            "refused" => Outcome::Refused,
            "rejected" => Outcome::Rejected,
            _ if t.client_closed => Outcome::ClientClosed,
            _ => Outcome::Ok,
        };
        if let Some(text) = &t.user_text {
            let mut c = Content {
                messages: vec![Message {
                    role: "user".into(),
                    parts: vec![Part::Text { text: text.clone() }],
                    ..Message::default()
                }],
                ..Content::default()
            };
            c.messages.extend(t.tool_results.iter().map(|r| Message {
                role: "tool".into(),
                parts: vec![Part::Text { text: r.clone() }],
                ..Message::default()
            }));
            let empty = t.answer_empty == Some(true);
            c.answer = Some(Answer {
                text: (!empty && t.tool_calls.is_empty()).then(|| "An answer.".to_string()),
                refusal: (t.refusal == Some(true)).then(|| "I can't help with that.".into()),
                tool_calls: t
                    .tool_calls
                    .iter()
                    .map(|(name, args)| seam_capture::ToolCall {
                        id: None,
                        name: name.clone(),
                        arguments: args.clone(),
                    })
                    .collect(),
                finish_reason: t.finish_reason.clone(),
                client_closed: t.client_closed,
            });
            let (body, bytes) = c.encode().unwrap_or_default();
            batch.contents.push(ContentRecord {
                call_id: id.clone(),
                created_ms: t.at_ms,
                format: ContentRecord::FORMAT,
                bytes: bytes as i64,
                truncated: false,
                redactions: 0,
                body,
            });
        }
        batch.calls.push(call);
    }
    batch
}
