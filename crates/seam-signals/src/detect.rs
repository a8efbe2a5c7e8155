//! The scan: per-call signals, then per session (rephrase, regenerate, abandon at the end) and
//! per trace (loop).

use std::collections::{BTreeMap, HashMap};

use crate::dense::Dense;
use crate::text::{SIG_LEN, Sketch, normalize};
use crate::tool_error::{canonical_args, tool_error};
use crate::{Coverage, Flag, Options, Scan, Signal, Turn, Unchecked};

/// MinHash prefilter margin: a pair whose estimate is this far below the threshold is not
/// confirmed exactly. 0.2 is over three standard errors of a 64-slot estimate.
const PREFILTER_MARGIN: f64 = 0.2;
const _: () = assert!(
    SIG_LEN == 64,
    "re-derive PREFILTER_MARGIN for another signature length"
);

/// Flags keyed by (call, signal): one each, the first evidence kept.
type Flags = BTreeMap<(String, Signal), String>;

pub fn scan(turns: &[Turn], opts: &Options, dense: Option<&Dense>) -> Scan {
    let mut flags = Flags::new();
    let mut coverage = Coverage {
        turns: turns.len(),
        ..Coverage::default()
    };
    let now = opts
        .now_ms
        .unwrap_or_else(|| turns.iter().map(|t| t.at_ms).max().unwrap_or(0));

    for t in turns {
        if t.user_text.is_some() {
            coverage.text_turns += 1;
        } else {
            coverage.metadata_only_turns += 1;
        }
        per_call(t, &mut flags);
    }

    let mut sessions: HashMap<&str, Vec<&Turn>> = HashMap::new();
    let mut traces: HashMap<&str, Vec<&Turn>> = HashMap::new();
    let mut no_session = 0;
    for t in turns {
        match t.session.as_deref().or(t.trace.as_deref()) {
            Some(s) => sessions.entry(s).or_default().push(t),
            None => no_session += 1,
        }
        if let Some(tr) = t.trace.as_deref().or(t.session.as_deref())
            && !t.tool_calls.is_empty()
        {
            traces.entry(tr).or_default().push(t);
        }
    }
    let mut unchecked = Counts::default();
    for group in sessions.values_mut() {
        group.sort_by(|a, b| (a.at_ms, &a.call_id).cmp(&(b.at_ms, &b.call_id)));
        session(group, opts, dense, now, &mut flags, &mut unchecked);
    }
    for group in traces.values_mut() {
        group.sort_by(|a, b| (a.at_ms, &a.call_id).cmp(&(b.at_ms, &b.call_id)));
        loops(group, opts.loop_repeats.max(2), &mut flags);
    }

    let mut add = |signal, turns, reason| {
        if turns > 0 {
            coverage.unchecked.push(Unchecked {
                signal,
                turns,
                reason,
            });
        }
    };
    add(
        Signal::Rephrase,
        coverage.metadata_only_turns,
        "no captured text",
    );
    add(Signal::Rephrase, no_session, "no session or trace");
    add(Signal::Regenerate, no_session, "no session or trace");
    add(
        Signal::Regenerate,
        unchecked.no_hash_no_text,
        "no request hash and no captured text",
    );
    add(
        Signal::Abandon,
        no_session,
        "no session or trace: only a client closing mid-stream is seen",
    );
    add(
        Signal::Abandon,
        unchecked.open_sessions,
        "session still open (last call within abandon_idle_secs)",
    );

    let flags = flags
        .into_iter()
        .map(|((call_id, signal), evidence)| Flag {
            call_id,
            signal,
            evidence,
        })
        .collect();
    Scan { flags, coverage }
}

#[derive(Default)]
/// Turns a session-level signal could not look at, counted across sessions.
struct Counts {
    no_hash_no_text: usize,
    open_sessions: usize,
}

fn flag(flags: &mut Flags, call_id: &str, signal: Signal, evidence: impl FnOnce() -> String) {
    flags
        .entry((call_id.to_string(), signal))
        .or_insert_with(evidence);
}

/// Signals one call shows on its own.
fn per_call(t: &Turn, flags: &mut Flags) {
    if t.client_closed || t.outcome == "client_closed" {
        flag(flags, &t.call_id, Signal::Abandon, || {
            "client closed the stream mid-way".into()
        });
    }
    if t.refusal == Some(true) {
        flag(flags, &t.call_id, Signal::Refusal, || {
            "the model refused".into()
        });
    }
    if let Some(reason @ ("length" | "max_tokens")) = t.finish_reason.as_deref() {
        flag(flags, &t.call_id, Signal::Truncated, || {
            format!("finish reason {reason}")
        });
    }
    let n = t.tool_results.len();
    if let Some((i, rule)) = t
        .tool_results
        .iter()
        .enumerate()
        .find_map(|(i, r)| tool_error(r).map(|rule| (i, rule)))
    {
        flag(flags, &t.call_id, Signal::ToolError, || {
            format!("tool result {} of {n}: {rule}", i + 1)
        });
    }
}

/// A user turn: a request whose last turn is the user's (no tool results sent).
struct UserTurn<'a> {
    turn: &'a Turn,
    /// Normalized text and its sketch; `None` without captured text.
    text: Option<(String, Sketch)>,
}

fn session(
    group: &[&Turn],
    opts: &Options,
    dense: Option<&Dense>,
    now: i64,
    flags: &mut Flags,
    unchecked: &mut Counts,
) {
    let regen_ms = i64::from(opts.regenerate_secs) * 1000;
    let rephrase_ms = i64::from(opts.rephrase_secs) * 1000;

    // Regenerate by request hash: any call, against the last call with the same hash.
    let mut last_by_hash: HashMap<&str, &Turn> = HashMap::new();
    for &t in group {
        let Some(h) = t.request_hash.as_deref() else {
            if t.user_text.is_none() {
                unchecked.no_hash_no_text += 1;
            }
            continue;
        };
        if let Some(prev) = last_by_hash.insert(h, t) {
            let gap = t.at_ms.saturating_sub(prev.at_ms);
            if gap <= regen_ms {
                flag(flags, &prev.call_id, Signal::Regenerate, || {
                    format!(
                        "same request again {} s later (call {})",
                        gap / 1000,
                        t.call_id
                    )
                });
            }
        }
    }

    // Consecutive user turns: the same question again is a regenerate, a similar one a rephrase.
    let mut prev: Option<UserTurn> = None;
    for &t in group.iter().filter(|t| t.tool_results.is_empty()) {
        let text = t
            .user_text
            .as_deref()
            .map(normalize)
            .filter(|n| !n.is_empty())
            .map(|n| {
                let sketch = Sketch::new(&n);
                (n, sketch)
            });
        let cur = UserTurn { turn: t, text };
        if let Some(p) = &prev {
            compare(
                p,
                &cur,
                regen_ms,
                rephrase_ms,
                opts.rephrase_threshold,
                dense,
                flags,
            );
        }
        prev = Some(cur);
    }

    // The session ended on a failed call, and has been idle long enough to call it ended.
    if let Some(&last) = group.last() {
        let failed = matches!(last.outcome.as_str(), "error" | "refused" | "rejected")
            || last.refusal == Some(true)
            || last.answer_empty == Some(true);
        if failed {
            if now.saturating_sub(last.at_ms) >= i64::from(opts.abandon_idle_secs) * 1000 {
                let why = if last.refusal == Some(true) {
                    "a refusal".to_string()
                } else if last.answer_empty == Some(true) && last.outcome == "ok" {
                    "an empty answer".to_string()
                } else {
                    format!("outcome {}", last.outcome)
                };
                flag(flags, &last.call_id, Signal::Abandon, || {
                    format!("session ended after {why}")
                });
            } else {
                unchecked.open_sessions += 1;
            }
        }
    }
}

fn compare(
    p: &UserTurn,
    c: &UserTurn,
    regen_ms: i64,
    rephrase_ms: i64,
    threshold: f64,
    dense: Option<&Dense>,
    flags: &mut Flags,
) {
    let (Some((pn, ps)), Some((cn, cs))) = (&p.text, &c.text) else {
        return;
    };
    let gap = c.turn.at_ms.saturating_sub(p.turn.at_ms);
    if pn == cn {
        if gap <= regen_ms {
            flag(flags, &p.turn.call_id, Signal::Regenerate, || {
                format!(
                    "same question again {} s later (call {})",
                    gap / 1000,
                    c.turn.call_id
                )
            });
        }
        return;
    }
    if gap > rephrase_ms {
        return;
    }
    if let Some(dense) = dense
        && let (Some(pt), Some(ct)) = (&p.turn.user_text, &c.turn.user_text)
        && let (Some(pv), Some(cv)) = (dense.vectors.vector(pt), dense.vectors.vector(ct))
        && let Some(cos) = crate::dense::cosine(pv, cv)
    {
        if cos >= dense.rephrase_threshold {
            flag(flags, &p.turn.call_id, Signal::Rephrase, || {
                format!(
                    "next user turn {} s later is similar, embeddings' cosine {cos:.2} (call {})",
                    gap / 1000,
                    c.turn.call_id
                )
            });
        }
        return;
    }
    if ps.estimate(cs) < threshold - PREFILTER_MARGIN {
        return;
    }
    let j = ps.jaccard(cs);
    if j >= threshold {
        flag(flags, &p.turn.call_id, Signal::Rephrase, || {
            format!(
                "next user turn {} s later is similar, Jaccard {j:.2} (call {})",
                gap / 1000,
                c.turn.call_id
            )
        });
    }
}

/// The same tool with the same arguments `repeats` times in one trace: flag the call that
/// reached `repeats`, once per (tool, arguments).
fn loops(group: &[&Turn], repeats: usize, flags: &mut Flags) {
    let mut counts: HashMap<(&str, String), (usize, Option<&str>)> = HashMap::new();
    for &t in group {
        for (name, args) in &t.tool_calls {
            let entry = counts
                .entry((name.as_str(), canonical_args(args)))
                .or_insert((0, None));
            entry.0 += 1;
            if entry.0 == repeats {
                entry.1 = Some(t.call_id.as_str());
            }
        }
    }
    // Sorted, so that a call in two loops keeps the same evidence on every run.
    let mut found: Vec<(&str, &str, usize)> = counts
        .into_iter()
        .filter_map(|((name, _), (n, call))| call.map(|c| (c, name, n)))
        .collect();
    found.sort_unstable();
    for (call, name, n) in found {
        flag(flags, call, Signal::Loop, || {
            format!("tool {name} called {n} times with the same arguments in one trace")
        });
    }
}

/// The turns `compare` would judge for a rephrase: both of each pair of consecutive user turns
/// of a session, within `rephrase_secs`, with different normalized texts.
pub fn rephrase_texts(turns: &[Turn], opts: &Options) -> Vec<usize> {
    let rephrase_ms = i64::from(opts.rephrase_secs) * 1000;
    let mut sessions: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, t) in turns.iter().enumerate() {
        if t.tool_results.is_empty()
            && let Some(s) = t.session.as_deref().or(t.trace.as_deref())
        {
            sessions.entry(s).or_default().push(i);
        }
    }
    let mut out: Vec<usize> = Vec::new();
    for group in sessions.values_mut() {
        group.sort_by(|&a, &b| {
            (turns[a].at_ms, &turns[a].call_id).cmp(&(turns[b].at_ms, &turns[b].call_id))
        });
        let norm: Vec<Option<String>> = group
            .iter()
            .map(|&i| {
                turns[i]
                    .user_text
                    .as_deref()
                    .map(normalize)
                    .filter(|n| !n.is_empty())
            })
            .collect();
        for w in 1..group.len() {
            let (a, b) = (group[w - 1], group[w]);
            let gap = turns[b].at_ms.saturating_sub(turns[a].at_ms);
            if let (Some(x), Some(y)) = (&norm[w - 1], &norm[w])
                && x != y
                && gap <= rephrase_ms
            {
                out.extend([a, b]);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
