//! Phase 8 of [`crate::pipeline`], account (for each attempt, through
//! [`crate::call::CallCtx::charge`]): tokens and cost. Usage comes from the provider; when it never arrives
//! (a stream cut short), cannot be read, or claims more than the call could use, an offline
//! tokenizer estimates it and the record says so. [`bill`] is the one place that decides.

use crate::observe::Metrics;
use seam_config::Config;
use seam_tokens::Encoding;
use seam_wire::At;
use seam_wire::{RequestBody, Usage, UsageReport};
use serde_json::{Map, Value};

/// Reported usage above this many times what the call could use is not believed.
const PLAUSIBLE_FACTOR: u64 = 10;
/// The output a request that sets no cap may get: the largest of current models.
const DEFAULT_OUTPUT_CAP: u64 = 131_072;
/// Input allowed for each media part (image, audio, file): what it costs does not show in
/// the request's size (a file id or an image URL is a few bytes).
const MEDIA_PART_TOKENS: u64 = 100_000;

/// What an attempt is billed: the provider's usage, else Seam's estimate (`estimated`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bill {
    pub usage: Usage,
    pub estimated: bool,
    pub cost_usd: f64,
    /// There were tokens to bill and no price for them (see [`price`]): `cost_usd` is 0 for
    /// want of a price, not because they were free.
    pub unpriced: bool,
}

/// Who served an attempt, and for which request.
pub struct Billed<'a> {
    pub provider: &'a str,
    /// The model Seam asked for.
    pub model: &'a str,
    /// The model the provider said it served, if it said.
    pub served: Option<&'a str>,
    pub request: &'a RequestBody,
}

/// What to bill when the provider's usage cannot be taken.
pub enum Fallback<'a> {
    /// An answer came: input estimated from the request, output from the answer
    /// (`output_tokens`, asked only when needed). `finished`: it ran to its end, so usage was
    /// due and its absence is an anomaly.
    Answer {
        finished: bool,
        output_tokens: &'a dyn Fn() -> u64,
    },
    /// A failed attempt the provider likely billed for its input (timeout, 5xx, reset, ...).
    Input,
    /// A failed attempt the provider likely did not bill (refused connection, 429, 4xx).
    Nothing,
}

/// Decides what one attempt is billed, for every path (answers, streams, failures): the
/// usage the provider reported when it reads as whole counts within what the call could
/// plausibly use, else the estimate (marked estimated, and counted in
/// `seam_usage_anomalies_total` when usage was due, unreadable or implausible). Priced by
/// the served model, else the model asked for.
pub fn bill(
    metrics: &Metrics,
    config: &Config,
    who: Billed<'_>,
    report: UsageReport,
    fallback: Fallback<'_>,
) -> Bill {
    let anomaly = match report {
        UsageReport::Reported(u) if plausible(who.request, u.total()) => {
            return priced(config, &who, u, false);
        }
        UsageReport::Reported(_) => Some("implausible"),
        UsageReport::Malformed => Some("malformed"),
        UsageReport::Missing => match fallback {
            Fallback::Answer { finished: true, .. } => Some("missing"),
            _ => None,
        },
    };
    if let Some(reason) = anomaly {
        metrics.usage_anomaly(who.provider, reason);
    }
    let usage = match fallback {
        Fallback::Answer { output_tokens, .. } => Usage {
            input_tokens: estimate_input(who.request),
            output_tokens: output_tokens(),
        },
        Fallback::Input => Usage {
            input_tokens: estimate_input(who.request),
            output_tokens: 0,
        },
        Fallback::Nothing => Usage::default(),
    };
    // Zero for an attempt that was likely not billed is no estimate, unless the provider's
    // own figure was set aside.
    let estimated = anomaly.is_some() || !matches!(fallback, Fallback::Nothing);
    priced(config, &who, usage, estimated)
}

/// Whether `total` reported tokens are within [`plausible_tokens`]. The common case, far
/// below the bound, reads none of the request's fields.
fn plausible(request: &RequestBody, total: u64) -> bool {
    let quick = PLAUSIBLE_FACTOR.saturating_mul(request.raw().len() as u64);
    total <= quick.min(i64::MAX as u64) || total <= plausible_tokens(request)
}

fn priced(config: &Config, who: &Billed<'_>, usage: Usage, estimated: bool) -> Bill {
    let price = price(config, who.served, who.model);
    Bill {
        usage,
        estimated,
        cost_usd: price
            .map(|p| p.cost(usage.input_tokens, usage.output_tokens))
            .unwrap_or(0.0),
        unpriced: price.is_none() && usage.total() > 0,
    }
}

/// The most tokens (input and output) one attempt of `request` can plausibly be billed:
/// [`PLAUSIBLE_FACTOR`] times the sum of its input, bounded by its size in bytes (a token is
/// at least a byte, so this needs no tokenizer on the way), an allowance per media part, and
/// its output cap (`max_completion_tokens`, `max_tokens` or the Responses API's
/// `max_output_tokens`, else [`DEFAULT_OUTPUT_CAP`]) for
/// each completion asked; never above what a record can store (i64).
pub fn plausible_tokens(request: &RequestBody) -> u64 {
    let bytes = request.raw().len() as u64;
    let cap = ["max_completion_tokens", "max_tokens", "max_output_tokens"]
        .iter()
        .find_map(|k| request.get::<u64>(k).and_then(Result::ok))
        .unwrap_or(DEFAULT_OUTPUT_CAP);
    let completions = ["n", "best_of"]
        .iter()
        .filter_map(|k| request.get::<u64>(k).and_then(Result::ok))
        .max()
        .unwrap_or(1)
        .max(1);
    let media = ["messages", "input"]
        .iter()
        .filter_map(|k| request.raw_field(k))
        .map(|text| {
            ["\"image_url\"", "\"input_audio\"", "\"file\""]
                .iter()
                .map(|part| text.matches(part).count() as u64)
                .sum::<u64>()
        })
        .sum::<u64>();
    let input = bytes.saturating_add(media.saturating_mul(MEDIA_PART_TOKENS));
    PLAUSIBLE_FACTOR
        .saturating_mul(input.saturating_add(cap.saturating_mul(completions)))
        .min(i64::MAX as u64)
}

/// Tokens OpenAI's chat format adds per message, on top of its content.
const PER_MESSAGE_OVERHEAD: u64 = 4;

/// Builds the tokenizer's index ahead of the first estimate, off the request path.
pub fn warm_up() {
    std::thread::spawn(|| {
        let _ = seam_tokens::counter(Encoding::O200kBase);
    });
}

/// tiktoken's `o200k_base` count (seam-tokens: the same counts from a compact table).
pub fn count_tokens(text: &str) -> u64 {
    seam_tokens::count_or_estimate(Encoding::O200kBase, text)
}

/// Estimated output tokens of a complete answer: its messages' text.
pub fn output_tokens(c: &seam_providers::Complete) -> u64 {
    output_text(&c.to_value())
        .map(|t| count_tokens(&t))
        .unwrap_or(0)
}

fn output_text(body: &Value) -> Option<String> {
    if body.get("object").and_then(Value::as_str) == Some("response") {
        return Some(responses_output_text(body));
    }
    let choices = body.get("choices")?.as_array()?;
    Some(
        choices
            .iter()
            .filter_map(|c| {
                c.at(&["message", "content"])
                    .or_else(|| c.get("text"))
                    .and_then(Value::as_str)
            })
            .collect::<Vec<_>>()
            .join(""),
    )
}

/// The text of a Responses API answer: its messages' text and its function calls' arguments.
fn responses_output_text(body: &Value) -> String {
    let mut out = String::new();
    for item in body
        .get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(a) = item.get("arguments").and_then(Value::as_str) {
            out.push_str(a);
        }
        for part in item
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                out.push_str(t);
            }
        }
    }
    out
}

/// Estimated input tokens of an OpenAI request body (chat messages, embeddings input, a
/// legacy completion's prompt, or a Responses API call's instructions and input).
pub fn estimate_input(body: &RequestBody) -> u64 {
    estimate_input_map(&body.to_map())
}

fn estimate_input_map(body: &Map<String, Value>) -> u64 {
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        return messages
            .iter()
            .map(|m| {
                let content = match m.get("content") {
                    Some(Value::String(s)) => count_tokens(s),
                    Some(Value::Array(parts)) => parts
                        .iter()
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .map(count_tokens)
                        .sum(),
                    _ => 0,
                };
                let calls = m
                    .get("tool_calls")
                    .map(|t| count_tokens(&t.to_string()))
                    .unwrap_or(0);
                content + calls + PER_MESSAGE_OVERHEAD
            })
            .sum::<u64>()
            + body
                .get("tools")
                .map(|t| count_tokens(&t.to_string()))
                .unwrap_or(0);
    }
    let instructions = body
        .get("instructions")
        .and_then(Value::as_str)
        .map_or(0, |s| count_tokens(s) + PER_MESSAGE_OVERHEAD);
    // Embeddings' or a Responses call's input, or a legacy completion's prompt.
    instructions
        + match body.get("input").or_else(|| body.get("prompt")) {
            Some(Value::String(s)) => count_tokens(s),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => count_tokens(s),
                    Value::Array(toks) => toks.len() as u64,
                    // A Responses API input item: a message, a function call or its output.
                    Value::Object(item) => input_item_tokens(item),
                    _ => 0,
                })
                .sum(),
            _ => 0,
        }
}

fn input_item_tokens(item: &Map<String, Value>) -> u64 {
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => count_tokens(s),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(count_tokens)
            .sum(),
        _ => 0,
    };
    text(item.get("content"))
        + text(item.get("output"))
        + text(item.get("arguments"))
        + PER_MESSAGE_OVERHEAD
}

/// The price of an attempt: the served model's when it has one, else the model Seam asked
/// for (a target's model, or the one a release pins). Neither priced: none, and an attempt
/// with tokens is recorded `unpriced` (the models a route targets without a price are logged
/// at start and on reload, [`unpriced_targets`]).
pub fn price(config: &Config, served: Option<&str>, asked: &str) -> Option<seam_config::Price> {
    served
        .and_then(|m| config.price(m))
        .or_else(|| config.price(asked))
}

/// USD for the usage, priced as [`price`] says; 0 without a price.
pub fn cost(config: &Config, served: Option<&str>, asked: &str, usage: Usage) -> f64 {
    price(config, served, asked)
        .map(|p| p.cost(usage.input_tokens, usage.output_tokens))
        .unwrap_or(0.0)
}

/// The models routes target that have no `[prices."MODEL"]`, each once, in config order.
pub fn unpriced_targets(config: &Config) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for t in config.routes.iter().flat_map(|r| &r.targets) {
        if config.price(&t.model).is_none() && !out.contains(&t.model.as_str()) {
            out.push(&t.model);
        }
    }
    out
}

/// Says, once per start and reload, which targeted models have no price: their calls cost $0
/// in every report and record, flagged `unpriced`, until one is added.
pub fn warn_unpriced(config: &Config) {
    let models = unpriced_targets(config);
    if !models.is_empty() {
        tracing::warn!(
            models = %models.join(", "),
            "models without a price: routes target them but [prices] has no entry; their calls are recorded as unpriced (counted at $0 and marked incomplete in reports) unless the model served has a price"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> RequestBody {
        RequestBody::parse(v.to_string().into()).unwrap()
    }

    #[test]
    fn plausible_usage_is_bounded_by_the_request() {
        let hello = serde_json::json!([{"role": "user", "content": "hello"}]);
        let b = body(serde_json::json!({"messages": hello, "max_tokens": 100}));
        let bytes = b.raw().len() as u64;
        assert_eq!(plausible_tokens(&b), 10 * (bytes + 100));
        assert!(plausible(&b, 10 * (bytes + 100)) && !plausible(&b, 10 * (bytes + 100) + 1));
        let n = body(serde_json::json!({"messages": hello, "max_tokens": 100, "n": 3}));
        assert_eq!(plausible_tokens(&n), 10 * (n.raw().len() as u64 + 300));
        let uncapped = body(serde_json::json!({"messages": hello}));
        assert_eq!(
            plausible_tokens(&uncapped),
            10 * (uncapped.raw().len() as u64 + DEFAULT_OUTPUT_CAP)
        );
        let file = body(
            serde_json::json!({"messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_id": "file-1"}}]}], "max_tokens": 1}),
        );
        assert!(plausible_tokens(&file) >= 10 * MEDIA_PART_TOKENS);
        let huge = body(serde_json::json!({"messages": hello, "max_tokens": u64::MAX}));
        assert_eq!(plausible_tokens(&huge), i64::MAX as u64);
    }

    #[test]
    fn estimates_count_real_tokens() {
        assert_eq!(count_tokens("hello world"), 2);
        let body: Map<String, Value> =
            serde_json::from_str(r#"{"messages": [{"role": "user", "content": "hello world"}]}"#)
                .unwrap();
        assert_eq!(estimate_input_map(&body), 2 + PER_MESSAGE_OVERHEAD);
        let emb: Map<String, Value> =
            serde_json::from_str(r#"{"input": ["hello world", "hello"]}"#).unwrap();
        assert_eq!(estimate_input_map(&emb), 3);
        // A Responses API call: its instructions and input items.
        let responses: Map<String, Value> = serde_json::from_str(
            r#"{"instructions": "hello world", "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "hello world"}]},
                {"type": "function_call_output", "call_id": "c", "output": "hello"}]}"#,
        )
        .unwrap();
        assert_eq!(
            estimate_input_map(&responses),
            2 + 2 + 1 + 3 * PER_MESSAGE_OVERHEAD
        );
        let capped =
            RequestBody::parse(r#"{"input": "hi", "max_output_tokens": 10}"#.into()).unwrap();
        assert_eq!(
            plausible_tokens(&capped),
            10 * (capped.raw().len() as u64 + 10)
        );
    }
}
