//! A word-level diff of two answers' texts, compact enough for a terminal line or a table
//! cell: `[-removed words-]` and `{+added words+}` inline in the unchanged text, long unchanged
//! stretches cut to a few words around each change.

use serde::{Deserialize, Serialize};
use similar::{ChangeTag, TextDiff as Similar};

/// How many unchanged words are kept on each side of a change.
pub const CONTEXT_WORDS: usize = 5;
/// What stands for the unchanged words left out.
pub const ELLIPSIS: &str = "…";

/// The answer's text, recorded against replayed.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TextDiff {
    /// `the refund [-was approved-] {+is pending+} …`: unchanged words as they were (at most
    /// [`CONTEXT_WORDS`] either side of a change, the rest as `…`), removed ones in `[-…-]`,
    /// added ones in `{+…+}`.
    pub compact: String,
    /// Words (whitespace-separated) the replay no longer has.
    pub removed_words: usize,
    /// Words the replay has that the recording did not.
    pub added_words: usize,
}

/// The diff of `old` to `new`, `None` when they have the same words (a change of
/// whitespace alone is none).
pub fn word_diff(old: &str, new: &str) -> Option<TextDiff> {
    if old.split_whitespace().eq(new.split_whitespace()) {
        return None;
    }
    let d = Similar::from_words(old, new);
    let mut runs: Vec<Run> = Vec::new();
    let (mut removed_words, mut added_words) = (0, 0);
    for c in d.iter_all_changes() {
        let token = c.value();
        let word = !token.trim().is_empty();
        match c.tag() {
            ChangeTag::Equal => match runs.last_mut() {
                Some(Run::Same(s)) => s.push_str(token),
                _ => runs.push(Run::Same(token.to_string())),
            },
            tag => {
                if !matches!(runs.last(), Some(Run::Changed { .. })) {
                    runs.push(Run::Changed {
                        removed: String::new(),
                        added: String::new(),
                    });
                }
                if let Some(Run::Changed { removed, added }) = runs.last_mut() {
                    if tag == ChangeTag::Delete {
                        removed.push_str(token);
                        removed_words += usize::from(word);
                    } else {
                        added.push_str(token);
                        added_words += usize::from(word);
                    }
                }
            }
        }
    }
    let runs = bridge(runs);
    let last = runs.len().saturating_sub(1);
    // Whitespace is collapsed to single spaces so that the diff stays on one line.
    let mut pieces: Vec<String> = Vec::with_capacity(runs.len());
    for (i, run) in runs.iter().enumerate() {
        match run {
            Run::Same(s) => pieces.push(elide(s, i == 0, i == last)),
            Run::Changed { removed, added } => {
                let (removed, added) = (collapse(removed), collapse(added));
                if !removed.is_empty() {
                    pieces.push(format!("[-{removed}-]"));
                }
                if !added.is_empty() {
                    pieces.push(format!("{{+{added}+}}"));
                }
            }
        }
    }
    pieces.retain(|p| !p.is_empty());
    Some(TextDiff {
        compact: pieces.join(" "),
        removed_words,
        added_words,
    })
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

enum Run {
    Same(String),
    Changed { removed: String, added: String },
}

/// Joins two changes separated by whitespace alone into one, so that a replaced phrase reads
/// `[-was approved-] {+is pending+}` rather than word by word.
fn bridge(runs: Vec<Run>) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::with_capacity(runs.len());
    let mut it = runs.into_iter().peekable();
    while let Some(run) = it.next() {
        let gap = matches!(&run, Run::Same(s) if s.trim().is_empty());
        let between = matches!(out.last(), Some(Run::Changed { .. }))
            && matches!(it.peek(), Some(Run::Changed { .. }));
        if let (true, true, Run::Same(ws)) = (gap, between, &run)
            && let Some(Run::Changed { removed, added }) = it.next()
            && let Some(Run::Changed {
                removed: r,
                added: a,
            }) = out.last_mut()
        {
            for (side, more) in [(r, removed), (a, added)] {
                if !side.trim().is_empty() && !more.trim().is_empty() {
                    side.push_str(ws);
                }
                side.push_str(&more);
            }
            continue;
        }
        out.push(run);
    }
    out
}

/// An unchanged stretch cut to [`CONTEXT_WORDS`] words next to each change: only its end
/// when it opens the text, only its start when it closes it.
fn elide(s: &str, first: bool, last: bool) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    let keep_head = if first { 0 } else { CONTEXT_WORDS };
    let keep_tail = if last { 0 } else { CONTEXT_WORDS };
    if (first && last) || words.len() <= keep_head + keep_tail + 1 {
        return words.join(" ");
    }
    let head = &words[..keep_head];
    let tail = &words[words.len() - keep_tail..];
    let mut kept: Vec<&str> = head.to_vec();
    kept.push(ELLIPSIS);
    kept.extend_from_slice(tail);
    kept.join(" ")
}

#[cfg(test)]
mod tests {
    use super::word_diff;

    #[test]
    fn same_text_is_no_diff() {
        assert_eq!(word_diff("a b", "a b"), None);
        assert_eq!(word_diff("a b\n", " a\n\nb"), None);
    }

    #[test]
    fn a_replaced_phrase_reads_as_one_change() {
        let d = word_diff(
            "Your refund was approved today.",
            "Your refund is pending today.",
        );
        let d = d.expect("a diff");
        assert_eq!(
            d.compact,
            "Your refund [-was approved-] {+is pending+} today."
        );
        assert_eq!((d.removed_words, d.added_words), (2, 2));
    }

    #[test]
    fn additions_and_removals_alone() {
        let d = word_diff("order shipped", "order shipped late").expect("a diff");
        assert_eq!(d.compact, "order shipped {+late+}");
        assert_eq!((d.removed_words, d.added_words), (0, 1));
        let d = word_diff("the order shipped", "order shipped").expect("a diff");
        assert_eq!(d.compact, "[-the-] order shipped");
        assert_eq!((d.removed_words, d.added_words), (1, 0));
        let d = word_diff("", "hello there").expect("a diff");
        assert_eq!(d.compact, "{+hello there+}");
        assert_eq!((d.removed_words, d.added_words), (0, 2));
    }

    #[test]
    fn long_unchanged_stretches_are_cut() {
        let old = "one two three four five six seven eight nine ten eleven twelve \
                   thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty";
        let new = old.replace("ten", "TEN");
        let d = word_diff(old, &new).expect("a diff");
        assert_eq!(
            d.compact,
            "… five six seven eight nine [-ten-] {+TEN+} eleven twelve thirteen fourteen fifteen …"
        );
        let new = old.replace("ten", "TEN").replace("seventeen", "SEVENTEEN");
        let d = word_diff(old, &new).expect("a diff");
        assert_eq!(
            d.compact,
            "… five six seven eight nine [-ten-] {+TEN+} eleven twelve thirteen fourteen fifteen \
             sixteen [-seventeen-] {+SEVENTEEN+} eighteen nineteen twenty"
        );
    }
}
