//! Key phrases: the words of a recorded answer that a later answer should still say (docs/
//! canaries.md "Default assertions").
//!
//! A heuristic that is easy to predict rather than clever: the text is split on whitespace,
//! each token trimmed of what is not a letter or digit at either end (`"ORD-1234."` is
//! `ORD-1234`, `$42.50,` is `42.50`), then taken in three passes, each in the order of the
//! text:
//!
//! 1. tokens with a digit (ids, amounts, dates);
//! 2. capitalised words that do not open a sentence (names, products), not `I` and its
//!    contractions; a token opens a sentence when it is the first of a line or follows one
//!    ending in `.`, `!` or `?` (tokens without a letter or digit, as a list's `-`, are skipped
//!    over);
//! 3. words of 8 letters or more, longest first.
//!
//! Duplicates are dropped ignoring case (the assertion is `icontains-all`), and so is a token
//! longer than 64 characters (a URL or an encoded blob is a poor phrase) or one an assertion
//! value may not hold (`{{`, `file://`).

use std::collections::HashSet;

/// Longer tokens are not phrases.
const MAX_CHARS: usize = 64;
/// Shorter words are too common to be worth keeping in pass 3.
const LONG_WORD: usize = 8;

/// Up to `max` key phrases of `text`, in the order of the passes above.
pub fn key_phrases(text: &str, max: usize) -> Vec<String> {
    let tokens = tokens(text);
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut take = |word: &str, out: &mut Vec<String>| {
        if out.len() < max && seen.insert(word.to_lowercase()) {
            out.push(word.to_string());
        }
    };
    for t in tokens
        .iter()
        .filter(|t| t.word.chars().any(|c| c.is_numeric()))
    {
        take(t.word, &mut out);
    }
    for t in tokens
        .iter()
        .filter(|t| !t.opens_sentence && capitalised(t.word))
    {
        take(t.word, &mut out);
    }
    let mut long: Vec<&Token<'_>> = tokens
        .iter()
        .filter(|t| t.word.chars().all(char::is_alphabetic))
        .filter(|t| t.word.chars().count() >= LONG_WORD)
        .collect();
    // A stable sort keeps words of one length in the order of the text.
    long.sort_by_key(|t| std::cmp::Reverse(t.word.chars().count()));
    for t in long {
        take(t.word, &mut out);
    }
    out
}

struct Token<'a> {
    word: &'a str,
    opens_sentence: bool,
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut opens = true;
        for raw in line.split_whitespace() {
            let word = raw.trim_matches(|c: char| !c.is_alphanumeric());
            if word.is_empty() {
                continue;
            }
            if usable(word) {
                out.push(Token {
                    word,
                    opens_sentence: opens,
                });
            }
            let end = raw.trim_end_matches(['"', '\'', ')', ']', '\u{201d}', '\u{2019}', '*']);
            opens = end.ends_with(['.', '!', '?']);
        }
    }
    out
}

fn usable(word: &str) -> bool {
    word.chars().count() <= MAX_CHARS && !word.contains("{{") && !word.starts_with("file://")
}

fn capitalised(word: &str) -> bool {
    let mut chars = word.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !first.is_uppercase() || chars.next().is_none() {
        return false;
    }
    // "I" is excluded by length above; its contractions here.
    !matches!(
        word.to_lowercase().replace('\u{2019}', "'").as_str(),
        "i'm" | "i'll" | "i've" | "i'd"
    )
}

#[cfg(test)]
mod tests {
    use super::key_phrases;

    #[test]
    fn digits_then_names_then_long_words() {
        let t = "Your refund of $42.50 for order ORD-1234 was approved by Sarah from Acme, \
                 who processed it; expect it within 5 business days.";
        assert_eq!(
            key_phrases(t, 5),
            ["42.50", "ORD-1234", "5", "Sarah", "Acme"]
        );
        assert_eq!(
            key_phrases(t, 10),
            [
                "42.50",
                "ORD-1234",
                "5",
                "Sarah",
                "Acme",
                "processed",
                "approved",
                "business"
            ]
        );
    }

    #[test]
    fn sentence_openers_and_i_are_not_names() {
        let t = "Thanks for waiting. I checked with Billing! Done? Yes. I'm sure Paris is right.";
        assert_eq!(key_phrases(t, 5), ["Billing", "Paris"]);
        // Each line opens a sentence, and a bullet does not stop the next word opening it.
        assert_eq!(
            key_phrases("- Refunds\n- Returns via Zendesk", 5),
            ["Zendesk"]
        );
    }

    #[test]
    fn longest_words_first_stable_and_deduplicated_ignoring_case() {
        let t = "the integration and configuration of the deployment; Deployment again";
        // "Deployment" is capitalised mid-sentence, so pass 2 takes it first; pass 3 skips
        // "deployment" as a duplicate.
        assert_eq!(
            key_phrases(t, 5),
            ["Deployment", "configuration", "integration"]
        );
    }

    #[test]
    fn punctuation_is_trimmed_and_unusable_tokens_are_dropped() {
        let long = "a".repeat(70) + "1";
        let t = format!("(\"ID-7\"), {{{{name}}}} x{{{{y file://etc/7 {long}");
        assert_eq!(key_phrases(&t, 5), ["ID-7"]);
        assert!(key_phrases("", 5).is_empty());
        assert!(key_phrases("ok, sure thing.", 5).is_empty());
        assert!(key_phrases("Order 1 and 2", 0).is_empty());
    }
}
