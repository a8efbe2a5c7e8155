//! Token counts as OpenAI's cookbook checker counts them (content tokens, 3 a message, 3 to
//! prime the answer), the target model's context for one example, and the estimated epochs
//! and billed tokens of a fine-tuning job.

use crate::example::Example;
use seam_tokens::Encoding;

/// Tokens the chat format adds per message, and once per example (the cookbook's numbers).
const PER_MESSAGE: u64 = 3;
const PER_EXAMPLE: u64 = 3;

/// The cookbook's default epochs: 3, raised so that a small set is seen at least 100 times,
/// lowered so that a large one is seen at most 25,000 times, within 1 to 25.
pub const TARGET_EPOCHS: u64 = 3;
const MIN_TARGET_EXAMPLES: u64 = 100;
const MAX_TARGET_EXAMPLES: u64 = 25_000;
const MIN_EPOCHS: u64 = 1;
const MAX_EPOCHS: u64 = 25;

/// The longest training example (tokens) of the fine-tunable models we know, by name prefix.
/// A model not here has no context check (the report says so).
const CONTEXTS: &[(&str, u64)] = &[
    ("gpt-4.1", 65_536),
    ("gpt-4o-mini", 65_536),
    ("gpt-4o", 65_536),
    ("gpt-3.5-turbo", 16_385),
];

/// The per-example token limit of `model`, if known.
pub fn context_of(model: &str) -> Option<u64> {
    CONTEXTS
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map(|(_, n)| *n)
}

/// Which encoding a model's tokens are counted in: `cl100k_base` for GPT-3.5 and GPT-4,
/// `o200k_base` otherwise (the GPT-4o family and later).
fn encoding(model: Option<&str>) -> Encoding {
    let old = model.is_some_and(|m| {
        m.starts_with("gpt-3.5")
            || (m.starts_with("gpt-4") && !m.starts_with("gpt-4o") && !m.starts_with("gpt-4.1"))
    });
    if old {
        Encoding::Cl100kBase
    } else {
        Encoding::O200kBase
    }
}

/// A counter for one target model.
#[derive(Clone, Copy)]
pub struct Counter {
    encoding: Encoding,
}

impl Counter {
    pub fn new(model: Option<&str>) -> Counter {
        Counter {
            encoding: encoding(model),
        }
    }

    pub fn text(&self, text: &str) -> u64 {
        seam_tokens::count_or_estimate(self.encoding, text)
    }

    /// An example's tokens: its messages' text and tool calls, plus the format's overhead.
    pub fn example(&self, example: &Example) -> u64 {
        let mut n = PER_EXAMPLE;
        for m in &example.messages {
            n += PER_MESSAGE + self.text(&m.text);
            for c in &m.calls {
                n += self.text(&c.name) + self.text(&c.arguments);
            }
        }
        n
    }
}

/// The epochs a job on `examples` examples runs by default.
pub fn default_epochs(examples: u64) -> u64 {
    if examples == 0 {
        return TARGET_EPOCHS;
    }
    if examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES {
        MAX_EPOCHS.min(MIN_TARGET_EXAMPLES.div_ceil(examples))
    } else if examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES {
        MIN_EPOCHS.max(MAX_TARGET_EXAMPLES / examples)
    } else {
        TARGET_EPOCHS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_follow_the_cookbook() {
        assert_eq!(default_epochs(10), 10);
        assert_eq!(default_epochs(2), 25);
        assert_eq!(default_epochs(1_000), 3);
        assert_eq!(default_epochs(20_000), 1);
    }

    #[test]
    fn known_models_have_a_context() {
        assert_eq!(context_of("gpt-4o-mini-2024-07-18"), Some(65_536));
        assert_eq!(context_of("gpt-3.5-turbo-0125"), Some(16_385));
        assert_eq!(context_of("llama-3"), None);
    }
}
