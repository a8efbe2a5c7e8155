//! Phase 7, account: tokens and cost. Usage comes from the provider; when it never arrives
//! (a stream cut short), an offline tokenizer estimates it and the record says so.

use seam_config::Config;
use seam_wire::{RequestBody, Usage};
use serde_json::{Map, Value};
use std::sync::OnceLock;
use tiktoken_rs::CoreBPE;

/// Tokens OpenAI's chat format adds per message, on top of its content.
const PER_MESSAGE_OVERHEAD: u64 = 4;

fn bpe() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

/// Loads the tokenizer ahead of the first estimate (it takes a moment).
pub fn warm_up() {
    std::thread::spawn(|| {
        let _ = bpe();
    });
}

pub fn count_tokens(text: &str) -> u64 {
    match bpe() {
        Some(b) => b.encode_ordinary(text).len() as u64,
        // Without the tokenizer, ~4 characters a token is the usual rule of thumb.
        None => text.chars().count().div_ceil(4) as u64,
    }
}

/// Estimated input tokens of an OpenAI request body (chat messages or embeddings input).
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
    match body.get("input") {
        Some(Value::String(s)) => count_tokens(s),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => count_tokens(s),
                Value::Array(toks) => toks.len() as u64,
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

/// USD for the usage, priced by the served model when it has a price, else by the model
/// Seam asked for. No price configured means a cost of 0 (and the model is reported).
pub fn cost(config: &Config, served: Option<&str>, asked: &str, usage: Usage) -> f64 {
    served
        .and_then(|m| config.price(m))
        .or_else(|| config.price(asked))
        .map(|p| p.cost(usage.input_tokens, usage.output_tokens))
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
