//! The default assertions of a recorded answer (docs/canaries.md "Default assertions"): what
//! a later answer must keep for the golden to still hold, written in the dataset's `assert`
//! syntax so that a golden is a dataset case and is graded by the same graders.

use super::phrases::key_phrases;
use crate::Output;
use crate::graders::refusal;
use serde_json::{Map, Value, json};

/// How the default assertions are derived. Values out of range are clamped (a factor below 1
/// to 1, so the recording itself always passes; a value that is not finite to its default),
/// so the assertions always parse.
#[derive(Debug, Clone, PartialEq)]
pub struct DeriveOptions {
    /// `[evals] embedding_route` (or the canaries' own): with one, a `similar` assertion.
    pub embedding_route: Option<String>,
    /// The `similar` assertion's threshold (default 0.8; clamped to -1..1).
    pub similarity_threshold: f64,
    /// The latency may grow to this multiple of the recording's (default 2)...
    pub latency_factor: f64,
    /// ... or by this many milliseconds, whichever is more (default 100), so that a fast
    /// recording does not fail on a few milliseconds of jitter.
    pub latency_floor_ms: f64,
    /// The cost may grow to this multiple of the recording's (default 1.5).
    pub cost_factor: f64,
    /// How many key phrases `icontains-all` holds at most (default 5).
    pub max_key_phrases: usize,
}

impl Default for DeriveOptions {
    fn default() -> DeriveOptions {
        DeriveOptions {
            embedding_route: None,
            similarity_threshold: 0.8,
            latency_factor: 2.0,
            latency_floor_ms: 100.0,
            cost_factor: 1.5,
            max_key_phrases: 5,
        }
    }
}

/// Strings longer than this are free text that may change; shorter ones are ids and flags.
pub const MAX_ARGUMENT_CHARS: usize = 64;

/// The default assertions of `recorded`, in this order: its tool calls, refusal or not, JSON
/// when it was, its key phrases, similarity (with an embedding route), latency and cost.
pub fn default_assertions(recorded: &Output, opts: &DeriveOptions) -> Vec<Value> {
    let mut out = tool_calls(recorded);
    out.push(if refusal::refused(recorded).is_some() {
        json!({"type": "refusal"})
    } else {
        json!({"type": "not-refusal"})
    });
    let text = recorded.text_or_empty();
    if structured_json(text) {
        out.push(json!({"type": "is-json"}));
    }
    let phrases = key_phrases(text, opts.max_key_phrases);
    if !phrases.is_empty() {
        out.push(json!({"type": "icontains-all", "value": phrases}));
    }
    if let Some(route) = opts
        .embedding_route
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        && similar_value(text)
    {
        let threshold = clamp(opts.similarity_threshold, -1.0, 1.0, 0.8);
        out.push(json!({"type": "similar", "value": text, "threshold": threshold, "route": route}));
    }
    if let Some(ms) = recorded
        .latency_ms
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        let by_factor = ms * clamp(opts.latency_factor, 1.0, f64::MAX, 2.0);
        let by_floor = ms + clamp(opts.latency_floor_ms, 0.0, f64::MAX, 100.0);
        let max = by_factor.max(by_floor);
        if max.is_finite() {
            out.push(json!({"type": "latency-ms", "max": max}));
        }
    }
    if let Some(usd) = recorded.cost_usd.filter(|c| c.is_finite() && *c > 0.0) {
        let max = usd * clamp(opts.cost_factor, 1.0, f64::MAX, 1.5);
        if max.is_finite() {
            out.push(json!({"type": "cost-usd", "max": max}));
        }
    }
    out
}

/// One `tool-call` per recorded call (identical ones once), or `"none"` without any.
fn tool_calls(recorded: &Output) -> Vec<Value> {
    if recorded.tool_calls.is_empty() {
        return vec![json!({"type": "tool-call", "value": "none"})];
    }
    let mut out: Vec<Value> = Vec::new();
    for call in &recorded.tool_calls {
        let mut value = Map::new();
        value.insert("name".into(), Value::String(call.name.clone()));
        if let Some(args) = compatible_arguments(&call.arguments) {
            value.insert("arguments".into(), Value::Object(args));
        }
        let a = json!({"type": "tool-call", "value": value});
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// The arguments a compatible call must repeat: the scalar ones (numbers, booleans, strings
/// up to [`MAX_ARGUMENT_CHARS`]); `None` when the arguments are not a JSON object or keep
/// nothing.
fn compatible_arguments(arguments: &str) -> Option<Map<String, Value>> {
    let Ok(Value::Object(args)) = serde_json::from_str::<Value>(arguments) else {
        return None;
    };
    let kept: Map<String, Value> = args
        .into_iter()
        .filter(|(_, v)| match v {
            Value::Number(_) | Value::Bool(_) => true,
            Value::String(s) => s.chars().count() <= MAX_ARGUMENT_CHARS,
            _ => false,
        })
        .collect();
    (!kept.is_empty()).then_some(kept)
}

/// Whether `text` is a JSON object or array: an answer of a bare number or quoted string is
/// prose that happens to parse, not structured output.
pub(crate) fn structured_json(text: &str) -> bool {
    matches!(
        serde_json::from_str::<Value>(text.trim()),
        Ok(Value::Object(_) | Value::Array(_))
    )
}

/// Whether `text` can be a `similar` value (one with `{{` or `file://` would be refused).
fn similar_value(text: &str) -> bool {
    !text.trim().is_empty() && !text.contains("{{") && !text.starts_with("file://")
}

fn clamp(v: f64, lo: f64, hi: f64, default: f64) -> f64 {
    if v.is_finite() {
        v.clamp(lo, hi)
    } else {
        default
    }
}
