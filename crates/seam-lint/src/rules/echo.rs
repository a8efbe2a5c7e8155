//! System-prompt echo: an assistant turn that repeats a run of its system (or developer)
//! prompt word for word, after normalization: the model learns to recite its instructions.

use crate::example::{Example, Role};
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

pub const ECHO: &str = "system-prompt-echo";

/// Words in a row shared with the system prompt that make an echo; a shorter prompt echoes
/// only whole (and at least [`MIN_WORDS`] words).
const RUN: usize = 8;
const MIN_WORDS: usize = 4;

pub fn check(ex: &Example, emit: &mut dyn FnMut(&'static str, usize, &str)) {
    let system: Vec<String> = ex
        .messages
        .iter()
        .filter(|m| matches!(m.role, Role::System | Role::Developer))
        .map(|m| seam_signals::normalize(&m.text))
        .collect();
    if system.is_empty() {
        return;
    }
    let mut grams = HashSet::new();
    let mut whole = Vec::new();
    for s in &system {
        let words: Vec<&str> = s.split(' ').filter(|w| !w.is_empty()).collect();
        if words.len() < RUN {
            if words.len() >= MIN_WORDS {
                whole.push(words.join(" "));
            }
            continue;
        }
        grams.extend(words.windows(RUN).map(hash));
    }
    for (i, m) in ex.messages.iter().enumerate() {
        if m.role != Role::Assistant || m.text.is_empty() {
            continue;
        }
        let norm = seam_signals::normalize(&m.text);
        let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
        let found = words
            .windows(RUN.min(words.len().max(1)))
            .find(|w| w.len() == RUN && grams.contains(&hash(w)))
            .map(|w| w.join(" "))
            .or_else(|| {
                let joined = words.join(" ");
                whole.iter().find(|s| has_phrase(&joined, s)).cloned()
            });
        if let Some(span) = found {
            emit(ECHO, i, &span);
        }
    }
}

fn hash(words: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    words.hash(&mut h);
    h.finish()
}

/// `phrase` in `text` on word boundaries (both normalized: words split by single spaces).
fn has_phrase(text: &str, phrase: &str) -> bool {
    format!(" {text} ").contains(&format!(" {phrase} "))
}
