//! A seeded, labelled corpus of support traffic for the tests and the benchmark: chat sessions
//! with planted rephrases (edited and reworded), regenerates, abandons, refusals and truncated
//! answers; agent traces with planted loops and tool errors; and the near misses of each (a
//! question one word away from the previous, the same request after the window, the same tool
//! with other arguments, `{"error": null}`). Deterministic: its own SplitMix64, no global state.

mod bank;
mod modes;

use std::collections::BTreeSet;

use crate::text::{mix, normalize};
use crate::{Signal, Turn};
use bank::{INTENTS, Intent, PREFIXES, SUFFIXES, SWAPS};
pub use modes::{MODES, Mode, ModeCorpus, generate_modes};

/// What to generate; shares are probabilities per session or per turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub sessions: usize,
    pub start_ms: i64,
    /// Sessions that are agent traces (tools), the rest chats.
    pub agent_share: f64,
    /// Chats without captured content.
    pub metadata_only_share: f64,
    /// Per chat transition: the next turn rephrases the current one.
    pub rephrase_share: f64,
    /// Of the rephrases, the share reworded by hand (few shared words) instead of edited.
    pub reworded_share: f64,
    pub regenerate_share: f64,
    /// Of the clean follow-ups, the share from the same family (one word away).
    pub near_miss_share: f64,
    /// Chats ending on a failed call.
    pub abandon_share: f64,
    pub truncated_share: f64,
    /// Agent traces with a loop, with a tool error.
    pub loop_share: f64,
    pub tool_error_share: f64,
}

impl Default for Spec {
    fn default() -> Spec {
        Spec {
            sessions: 2000,
            start_ms: 1_767_571_200_000, // 2026-01-05 00:00 UTC
            agent_share: 0.25,
            metadata_only_share: 0.1,
            rephrase_share: 0.2,
            reworded_share: 0.1,
            regenerate_share: 0.08,
            near_miss_share: 0.05,
            abandon_share: 0.15,
            truncated_share: 0.04,
            loop_share: 0.3,
            tool_error_share: 0.3,
        }
    }
}

/// The generated turns and what was planted.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    pub turns: Vec<Turn>,
    /// Every planted (call, signal): the flags a perfect scan returns.
    pub planted: BTreeSet<(String, Signal)>,
    /// Planted rephrases that were reworded by hand (a subset of the planted rephrases).
    pub reworded: BTreeSet<String>,
    /// The earlier calls of clean consecutive user turns with text, within 120 s: where a false
    /// rephrase can appear. `near_misses` is the subset one word away.
    pub clean_pairs: BTreeSet<String>,
    pub near_misses: BTreeSet<String>,
    /// A time after every session has been idle over 10 minutes: a day after the last start.
    pub now_ms: i64,
}

pub fn generate(seed: u64, spec: &Spec) -> Corpus {
    let mut g = Gen {
        rng: Rng(seed),
        spec,
        c: Corpus::default(),
        calls: 0,
    };
    let span_ms = 7 * 86_400_000;
    for s in 0..spec.sessions {
        let at = spec.start_ms + g.rng.below(span_ms as u64) as i64;
        if g.rng.chance(spec.agent_share) {
            g.agent(s, at);
        } else {
            g.chat(s, at);
        }
    }
    g.c.now_ms = spec.start_ms + span_ms + 86_400_000;
    g.c.turns
        .sort_by(|a, b| (a.at_ms, &a.call_id).cmp(&(b.at_ms, &b.call_id)));
    g.c
}

struct Gen<'a> {
    rng: Rng,
    spec: &'a Spec,
    c: Corpus,
    calls: u64,
}

impl Gen<'_> {
    fn turn(&mut self, session: usize, at_ms: i64, text: Option<String>) -> Turn {
        self.calls += 1;
        let truncated = self.rng.chance(self.spec.truncated_share);
        let call_id = format!("c{}", self.calls);
        if truncated {
            self.plant(&call_id, Signal::Truncated);
        }
        Turn {
            call_id,
            session: Some(format!("s{session}")),
            trace: Some(format!("t{session}")),
            at_ms,
            user_text: text,
            request_hash: Some(format!("{:016x}", mix(self.rng.0 ^ self.calls))),
            finish_reason: Some(if truncated { "length" } else { "stop" }.into()),
            outcome: "ok".into(),
            answer_empty: Some(false),
            ..Turn::default()
        }
    }

    fn plant(&mut self, call_id: &str, signal: Signal) {
        self.c.planted.insert((call_id.to_string(), signal));
    }

    fn chat(&mut self, s: usize, mut at: i64) {
        let captured = !self.rng.chance(self.spec.metadata_only_share);
        let n = 1 + self.rng.below(5) as usize;
        let mut intent = self.rng.below(INTENTS.len() as u64) as usize;
        let mut text = INTENTS[intent].question.to_string();
        let mut turns = vec![self.turn(s, at, captured.then(|| text.clone()))];
        for _ in 1..n {
            let (prev_id, prev_hash) = match turns.last() {
                Some(t) => (t.call_id.clone(), t.request_hash.clone()),
                None => break,
            };
            let mut same_request = false;
            if captured && self.rng.chance(self.spec.rephrase_share) {
                at += 10_000 + self.rng.below(90_000) as i64;
                let again = if self.rng.chance(self.spec.reworded_share) {
                    self.c.reworded.insert(prev_id.clone());
                    INTENTS[intent].reworded.to_string()
                } else {
                    self.edit(INTENTS[intent].question)
                };
                // Never the previous question again (once normalized): that is a regenerate.
                text = if normalize(&again) == normalize(&text) {
                    format!("{again} now")
                } else {
                    again
                };
                self.plant(&prev_id, Signal::Rephrase);
            } else if self.rng.chance(self.spec.regenerate_share) {
                // The same request again; one in five after the window (a near miss).
                let late = self.rng.chance(0.2);
                at += if late {
                    400_000 + self.rng.below(600_000) as i64
                } else {
                    3_000 + self.rng.below(60_000) as i64
                };
                same_request = true;
                if !late {
                    self.plant(&prev_id, Signal::Regenerate);
                }
            } else {
                let prev_intent = intent;
                intent = self.follow_up(intent);
                text = INTENTS[intent].question.to_string();
                let gap = 15_000 + self.rng.below(285_000) as i64;
                at += gap;
                if captured && gap <= 120_000 {
                    self.c.clean_pairs.insert(prev_id.clone());
                    if INTENTS[intent].family == INTENTS[prev_intent].family {
                        self.c.near_misses.insert(prev_id);
                    }
                }
            }
            let mut t = self.turn(s, at, captured.then(|| text.clone()));
            if same_request {
                t.request_hash = prev_hash;
            }
            turns.push(t);
        }
        self.end_chat(&mut turns);
        self.c.turns.extend(turns);
    }

    /// A failed last call (abandon), a client gone mid-stream, or an error mid-way that the
    /// user got past (a near miss).
    fn end_chat(&mut self, turns: &mut [Turn]) {
        let n = turns.len();
        if self.rng.chance(self.spec.abandon_share) {
            let last = &mut turns[n - 1];
            match self.rng.below(3) {
                0 => last.outcome = "error".into(),
                1 => last.answer_empty = Some(true),
                _ => {
                    last.refusal = Some(true);
                    self.c
                        .planted
                        .insert((last.call_id.clone(), Signal::Refusal));
                }
            }
            self.c
                .planted
                .insert((last.call_id.clone(), Signal::Abandon));
        } else if self.rng.chance(0.05) {
            let t = &mut turns[self.rng.below(n as u64) as usize];
            t.client_closed = true;
            t.outcome = "client_closed".into();
            self.c.planted.insert((t.call_id.clone(), Signal::Abandon));
        } else if n > 1 && self.rng.chance(0.1) {
            let t = &mut turns[self.rng.below(n as u64 - 1) as usize];
            t.outcome = "error".into();
        }
    }

    /// An agent trace: a user question, then tool rounds, then the answer.
    fn agent(&mut self, s: usize, mut at: i64) {
        const TOOLS: [&str; 3] = ["search_orders", "get_invoice", "lookup_customer"];
        let question = INTENTS[self.rng.below(INTENTS.len() as u64) as usize]
            .question
            .to_string();
        let looping = self.rng.chance(self.spec.loop_share);
        let erroring = self.rng.chance(self.spec.tool_error_share);
        let rounds = if looping {
            3 + self.rng.below(4)
        } else {
            1 + self.rng.below(4)
        } as usize;
        let tool = TOOLS[self.rng.below(3) as usize];
        // Near misses: the same tool with other arguments each round, or the same twice.
        let vary_args = !looping && self.rng.chance(0.5);
        let error_round = erroring.then(|| self.rng.below(rounds as u64) as usize);
        let mut results: Vec<String> = Vec::new();
        for r in 0..=rounds {
            let mut t = self.turn(s, at, Some(question.clone()));
            t.tool_results = std::mem::take(&mut results);
            if r > 0 && error_round == Some(r - 1) {
                self.plant(&t.call_id, Signal::ToolError);
            }
            if r < rounds {
                let id = if vary_args || (!looping && r >= 2) {
                    100 + r
                } else {
                    100
                };
                // The same arguments in another key order and spacing still count as the same.
                let args = if r % 2 == 0 {
                    format!(r#"{{"customer_id": "cu-{s}", "ref": {id}}}"#)
                } else {
                    format!(r#"{{"ref":{id},"customer_id":"cu-{s}"}}"#)
                };
                t.tool_calls = vec![(tool.to_string(), args)];
                if looping && r == 2 {
                    self.plant(&t.call_id, Signal::Loop);
                }
                let pool = if error_round == Some(r) {
                    ERRORS
                } else {
                    OK_RESULTS
                };
                results.push(pool[self.rng.below(pool.len() as u64) as usize].to_string());
            }
            self.c.turns.push(t);
            at += 1_000 + self.rng.below(5_000) as i64;
        }
    }

    /// Another intent: from the same family (a near miss) with `near_miss_share`, else from
    /// the same topic or any, never the same intent.
    fn follow_up(&mut self, intent: usize) -> usize {
        let cur: &Intent = &INTENTS[intent];
        let near = self.rng.chance(self.spec.near_miss_share);
        let same_topic = self.rng.chance(0.6);
        let pool: Vec<usize> = (0..INTENTS.len())
            .filter(|&j| j != intent)
            .filter(|&j| {
                if near {
                    INTENTS[j].family == cur.family
                } else {
                    INTENTS[j].family != cur.family
                }
            })
            .filter(|&j| near || !same_topic || INTENTS[j].topic == cur.topic)
            .collect();
        if pool.is_empty() {
            return (intent + 1) % INTENTS.len();
        }
        pool[self.rng.below(pool.len() as u64) as usize]
    }

    /// A rephrase a user types: one or two phrase swaps, and a prefix or a suffix.
    fn edit(&mut self, question: &str) -> String {
        let mut q = question.to_string();
        let swaps = 1 + self.rng.below(2);
        for _ in 0..swaps {
            let fits: Vec<&(&str, &str)> =
                SWAPS.iter().filter(|(from, _)| q.contains(from)).collect();
            if let Some(&&(from, to)) = fits.get(self.rng.below(fits.len().max(1) as u64) as usize)
            {
                q = q.replacen(from, to, 1);
            }
        }
        if self.rng.chance(0.6) {
            q = format!(
                "{} {q}",
                PREFIXES[self.rng.below(PREFIXES.len() as u64) as usize]
            );
        }
        if self.rng.chance(0.4) {
            q = format!(
                "{q} {}",
                SUFFIXES[self.rng.below(SUFFIXES.len() as u64) as usize]
            );
        }
        if q == question {
            q.push_str(" again");
        }
        q
    }
}

const ERRORS: &[&str] = &[
    r#"{"error": "order not found"}"#,
    r#"{"error": {"code": 500, "message": "backend down"}}"#,
    "Error: timeout after 30s",
    "Traceback (most recent call last):\n  File \"tool.py\", line 3",
    "HTTP/1.1 503 Service Unavailable",
    "500 Internal Server Error",
    r#"{"isError": true, "content": []}"#,
    r#"{"status": 404, "message": "no such customer"}"#,
    "ValueError: invalid literal for int()",
];

const OK_RESULTS: &[&str] = &[
    r#"{"orders": [{"id": "o-1", "status": "shipped"}]}"#,
    r#"{"error": null, "items": []}"#,
    r#"{"status": 200, "total": 42.5}"#,
    "404 results found for the query",
    "No errors found in the log",
    "errors: 0, warnings: 2",
    "customer cu-1: active since 2024",
];

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
}
