//! What changed between a recorded answer and its replay (docs/canaries.md): kept with each
//! canary result so that a failure says what moved, not only that something did.

use super::assertions::structured_json;
use super::words::{TextDiff, word_diff};
use crate::graders::{json, refusal};
use crate::{Output, ToolCall};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A replay against its recording. Every field is written (`null` or `[]` when nothing
/// changed) and may be left out when read.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(default)]
pub struct Diff {
    /// The answer's text, word by word; `None` when its words are the same.
    pub text: Option<TextDiff>,
    pub tool_calls: ToolCallsDiff,
    /// The answer refused and now does not, or the reverse (the `refusal` grader's test).
    pub refusal: Option<Flip>,
    /// The answer was a JSON object or array and now is not, or the reverse.
    pub json: Option<JsonChange>,
    pub finish_reason: Option<FinishReasonChange>,
    /// The replay's latency over the recording's; `None` when either was not measured (or
    /// the recording's was 0). A measurement, not a change: [`Diff::is_empty`] ignores it.
    pub latency_ratio: Option<f64>,
    /// The replay's cost over the recording's; `None` when either was not priced (or the
    /// recording cost nothing). Ignored by [`Diff::is_empty`] like the latency.
    pub cost_ratio: Option<f64>,
}

/// Tool calls matched by name: a recorded call and a replayed one of the same tool are the
/// same call (with the same arguments first, then in order), whatever else they carry.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(default)]
pub struct ToolCallsDiff {
    /// Tools the replay calls that the recording did not (in the replay's order; a name
    /// twice when it is called twice more). A renamed tool is one removed and one added.
    pub added: Vec<String>,
    /// Tools the recording called that the replay does not (in the recording's order).
    pub removed: Vec<String>,
    /// Calls of the same tool with other arguments.
    pub arguments_changed: Vec<ArgumentsChange>,
}

impl ToolCallsDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.arguments_changed.is_empty()
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ArgumentsChange {
    pub name: String,
    /// The arguments as the model wrote them (JSON text, or whatever it wrote).
    pub recorded: String,
    pub replayed: String,
    /// The top-level arguments that differ (added, removed or changed), sorted; empty when
    /// either side is not a JSON object.
    pub keys: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flip {
    pub from: bool,
    pub to: bool,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonChange {
    pub was: bool,
    pub now: bool,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FinishReasonChange {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// How `replayed` differs from `recorded`.
pub fn diff(recorded: &Output, replayed: &Output) -> Diff {
    let refused = (
        refusal::refused(recorded).is_some(),
        refusal::refused(replayed).is_some(),
    );
    let json = (
        structured_json(recorded.text_or_empty()),
        structured_json(replayed.text_or_empty()),
    );
    Diff {
        text: word_diff(recorded.text_or_empty(), replayed.text_or_empty()),
        tool_calls: tool_calls(&recorded.tool_calls, &replayed.tool_calls),
        refusal: (refused.0 != refused.1).then_some(Flip {
            from: refused.0,
            to: refused.1,
        }),
        json: (json.0 != json.1).then_some(JsonChange {
            was: json.0,
            now: json.1,
        }),
        finish_reason: (recorded.finish_reason != replayed.finish_reason).then(|| {
            FinishReasonChange {
                from: recorded.finish_reason.clone(),
                to: replayed.finish_reason.clone(),
            }
        }),
        latency_ratio: ratio(recorded.latency_ms, replayed.latency_ms),
        cost_ratio: ratio(recorded.cost_usd, replayed.cost_usd),
    }
}

impl Diff {
    /// Whether nothing changed: the text's words, the tool calls, refusal, JSON and finish
    /// reason are the same (latency and cost are measured, not compared: the assertions
    /// judge them).
    pub fn is_empty(&self) -> bool {
        self.text.is_none()
            && self.tool_calls.is_empty()
            && self.refusal.is_none()
            && self.json.is_none()
            && self.finish_reason.is_none()
    }

    /// The changes as text, one a line, then the latency and cost ratios when measured.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = &self.text {
            out.push(format!(
                "answer: {} ({} word(s) removed, {} added)",
                t.compact, t.removed_words, t.added_words
            ));
        }
        for name in &self.tool_calls.removed {
            out.push(format!("tool call removed: `{name}`"));
        }
        for name in &self.tool_calls.added {
            out.push(format!("tool call added: `{name}`"));
        }
        for c in &self.tool_calls.arguments_changed {
            let which = if c.keys.is_empty() {
                String::new()
            } else {
                format!(" ({})", c.keys.join(", "))
            };
            out.push(format!(
                "tool call `{}`: arguments changed{which}: {} -> {}",
                c.name,
                short(&c.recorded),
                short(&c.replayed)
            ));
        }
        if let Some(f) = self.refusal {
            out.push(if f.to {
                "refusal: the recording answered, the replay refuses".to_string()
            } else {
                "refusal: the recording refused, the replay answers".to_string()
            });
        }
        if let Some(j) = self.json {
            out.push(if j.was {
                "json: the recording was JSON, the replay is not".to_string()
            } else {
                "json: the replay is JSON, the recording was not".to_string()
            });
        }
        if let Some(f) = &self.finish_reason {
            let name = |r: &Option<String>| r.clone().unwrap_or_else(|| "none".into());
            out.push(format!(
                "finish reason: {} -> {}",
                name(&f.from),
                name(&f.to)
            ));
        }
        if let Some(r) = self.latency_ratio {
            out.push(format!("latency: {r:.2}x the recording's"));
        }
        if let Some(r) = self.cost_ratio {
            out.push(format!("cost: {r:.2}x the recording's"));
        }
        out
    }
}

fn tool_calls(recorded: &[ToolCall], replayed: &[ToolCall]) -> ToolCallsDiff {
    let mut left: Vec<Option<&ToolCall>> = recorded.iter().map(Some).collect();
    let mut right: Vec<Option<&ToolCall>> = replayed.iter().map(Some).collect();
    // Identical calls first, so that a call repeated with new arguments is paired with the
    // one it replaced rather than with its unchanged twin.
    for l in left.iter_mut() {
        let Some(r) = l.and_then(|a| {
            right
                .iter_mut()
                .find(|r| r.is_some_and(|b| b.name == a.name && same_arguments(a, b)))
        }) else {
            continue;
        };
        *l = None;
        *r = None;
    }
    let mut arguments_changed = Vec::new();
    for l in left.iter_mut() {
        let Some(a) = *l else { continue };
        let Some(r) = right
            .iter_mut()
            .find(|r| r.is_some_and(|b| b.name == a.name))
        else {
            continue;
        };
        if let Some(b) = r.take() {
            arguments_changed.push(ArgumentsChange {
                name: a.name.clone(),
                recorded: a.arguments.clone(),
                replayed: b.arguments.clone(),
                keys: changed_keys(&a.arguments, &b.arguments),
            });
        }
        *l = None;
    }
    ToolCallsDiff {
        added: names(right),
        removed: names(left),
        arguments_changed,
    }
}

fn names(calls: Vec<Option<&ToolCall>>) -> Vec<String> {
    calls
        .into_iter()
        .flatten()
        .map(|c| c.name.clone())
        .collect()
}

/// Arguments compared as JSON (numbers by value, keys in any order), else as text.
fn same_arguments(a: &ToolCall, b: &ToolCall) -> bool {
    match (parse(&a.arguments), parse(&b.arguments)) {
        (Some(x), Some(y)) => json::same(&x, &y),
        _ => a.arguments.trim() == b.arguments.trim(),
    }
}

fn changed_keys(a: &str, b: &str) -> Vec<String> {
    let (Some(Value::Object(x)), Some(Value::Object(y))) = (parse(a), parse(b)) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = x
        .keys()
        .chain(y.keys())
        .filter(|k| match (x.get(*k), y.get(*k)) {
            (Some(v), Some(w)) => !json::same(v, w),
            _ => true,
        })
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn parse(s: &str) -> Option<Value> {
    serde_json::from_str(s).ok()
}

fn ratio(recorded: Option<f64>, replayed: Option<f64>) -> Option<f64> {
    let (a, b) = (recorded?, replayed?);
    let r = b / a;
    (a > 0.0 && b >= 0.0 && r.is_finite()).then_some(r)
}

/// Arguments cut for a line of text.
fn short(s: &str) -> String {
    const MAX: usize = 80;
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}
