//! Near-duplicate examples (MinHash over the user and assistant text, banded so that each
//! example is compared with a few candidates only) and the same answer repeated across many
//! examples. Memory grows with the examples, ~0.5 KB each (a signature and its bands), up to
//! [`MAX_INDEXED`] of them (~250 MB) and [`MAX_ANSWERS`] distinct answers: past those a file
//! of any size still streams in bounded memory, later examples compared with those indexed
//! only, and the report says so.

use crate::example::{Example, Role};
use crate::rules::clip;
use seam_signals::{Sketch, normalize};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

pub const NEAR_DUPLICATE: &str = "near-duplicate";
pub const REPEATED_ANSWER: &str = "repeated-answer";

/// The estimated Jaccard similarity from which two examples are near duplicates.
pub const SIMILAR: f64 = 0.8;
/// Bands of the signature: 16 of 4 slots find a pair at J = 0.8 with probability ~0.9998.
const BANDS: usize = 16;
/// An answer needs this many words to count as repeated (a "Thanks!" is not a habit).
const MIN_ANSWER_WORDS: usize = 4;
/// Lines kept per repeated answer for the report.
const LINES_KEPT: usize = 5;
/// Examples whose signatures are kept for later ones to be compared with.
pub const MAX_INDEXED: usize = 500_000;
/// Distinct answers counted (~50 bytes each).
pub const MAX_ANSWERS: usize = 2_000_000;

pub struct Dups {
    /// Each example's signature, slots cut to 32 bits (half the memory, collisions ~2^-32).
    sigs: Vec<u32>,
    slots: usize,
    lines: Vec<u32>,
    /// (band, band hash) -> the first example with it.
    bands: HashMap<u64, u32>,
    answers: HashMap<u64, Answer>,
    /// In how many examples an answer must be to be reported.
    pub min_repeat: u32,
    max_indexed: usize,
    max_answers: usize,
    /// Examples past `max_indexed`, and answers past `max_answers`.
    unindexed: u64,
    answers_dropped: u64,
}

/// Kept for every distinct answer: no heap allocation until it is seen twice.
struct Answer {
    count: u32,
    lines: [u32; LINES_KEPT],
    text: Option<Box<str>>,
}

/// An answer found in many examples.
#[derive(Debug, Clone)]
pub struct Repeated {
    pub count: u32,
    /// The first few lines it is on.
    pub lines: Vec<u32>,
    pub text: String,
}

impl Dups {
    pub fn new(min_repeat: u32) -> Dups {
        Dups::with_caps(min_repeat, MAX_INDEXED, MAX_ANSWERS)
    }

    fn with_caps(min_repeat: u32, max_indexed: usize, max_answers: usize) -> Dups {
        Dups {
            max_indexed,
            max_answers,
            sigs: Vec::new(),
            slots: 0,
            lines: Vec::new(),
            bands: HashMap::new(),
            answers: HashMap::new(),
            min_repeat,
            unindexed: 0,
            answers_dropped: 0,
        }
    }

    pub fn check(&mut self, ex: &Example, emit: &mut dyn FnMut(&'static str, usize, &str)) {
        self.answers_of(ex);
        let sketch = Sketch::new(&normalize(&ex.conversation_text()));
        if sketch.is_empty() {
            return;
        }
        let sig: Vec<u32> = sketch.sig.iter().map(|&s| s as u32).collect();
        self.slots = sig.len();
        let rows = (sig.len() / BANDS).max(1);
        let me = self.lines.len() as u32;
        let mut best: Option<(u32, f64)> = None;
        for (b, band) in sig.chunks(rows).enumerate() {
            let mut h = DefaultHasher::new();
            (b, band).hash(&mut h);
            let key = h.finish();
            match self.bands.get(&key) {
                // A hash collision between two bands of this example: nothing to compare.
                Some(&other) if other == me => {}
                Some(&other) => {
                    let s = self.similarity(other, &sig);
                    if s >= SIMILAR && best.is_none_or(|(_, bs)| s > bs) {
                        best = Some((other, s));
                    }
                }
                None if self.indexing() => {
                    self.bands.insert(key, me);
                }
                None => {}
            }
        }
        if self.indexing() {
            self.sigs.extend_from_slice(&sig);
            self.lines.push(ex.line as u32);
        } else {
            self.unindexed += 1;
        }
        if let Some((other, s)) = best {
            let line = self.lines[other as usize];
            emit(
                NEAR_DUPLICATE,
                0,
                &format!("a near duplicate of line {line} (similarity {s:.2})"),
            );
        }
    }

    fn indexing(&self) -> bool {
        self.lines.len() < self.max_indexed
    }

    /// What the caps left out, as a sentence for the report.
    pub fn capped(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.unindexed > 0 {
            parts.push(format!(
                "near duplicates: the {} examples after the first {} were compared with those, not with each other",
                self.unindexed, self.max_indexed
            ));
        }
        if self.answers_dropped > 0 {
            parts.push(format!(
                "repeated answers: {} answers after {} distinct ones were not counted",
                self.answers_dropped, self.max_answers
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    fn similarity(&self, other: u32, sig: &[u32]) -> f64 {
        let at = other as usize * self.slots;
        let theirs = &self.sigs[at..at + self.slots];
        let same = theirs.iter().zip(sig).filter(|(a, b)| a == b).count();
        same as f64 / self.slots as f64
    }

    fn answers_of(&mut self, ex: &Example) {
        for m in ex.messages.iter().filter(|m| m.role == Role::Assistant) {
            let norm = normalize(&m.text);
            if norm.split(' ').filter(|w| !w.is_empty()).count() < MIN_ANSWER_WORDS {
                continue;
            }
            let mut h = DefaultHasher::new();
            norm.hash(&mut h);
            let key = h.finish();
            if self.answers.len() >= self.max_answers && !self.answers.contains_key(&key) {
                self.answers_dropped += 1;
                continue;
            }
            let a = self.answers.entry(key).or_insert(Answer {
                count: 0,
                lines: [0; LINES_KEPT],
                text: None,
            });
            if let Some(slot) = a.lines.get_mut(a.count as usize) {
                *slot = ex.line as u32;
            }
            a.count += 1;
            if a.count == 2 {
                a.text = Some(clip(&m.text).into());
            }
        }
    }

    /// The answers in at least `min_repeat` examples, most repeated first.
    pub fn repeated(&self) -> Vec<Repeated> {
        let mut out: Vec<Repeated> = self
            .answers
            .values()
            .filter(|a| a.count >= self.min_repeat.max(2))
            .map(|a| Repeated {
                count: a.count,
                lines: a.lines[..(a.count as usize).min(LINES_KEPT)].to_vec(),
                text: a.text.as_deref().unwrap_or_default().to_string(),
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then(a.lines.cmp(&b.lines)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(line: usize, user: &str, answer: &str) -> Example {
        let text = serde_json::json!({"messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": answer},
        ]})
        .to_string();
        crate::example::parse(line, text.as_bytes(), true)
            .0
            .expect("an example")
    }

    #[test]
    fn past_the_caps_examples_are_compared_not_kept_and_the_report_says_so() {
        let mut d = Dups::with_caps(2, 2, 1);
        let mut hits = Vec::new();
        let q = "where is the leeds store and when does it open on sundays";
        let answers = [
            "it is on briggate and opens at ten",
            "we open at nine on briggate street",
        ];
        for (i, a) in answers.iter().chain(answers.iter()).enumerate() {
            d.check(&example(i + 1, q, a), &mut |r, _, m| {
                hits.push((r, m.to_string()))
            });
        }
        assert!(
            hits.iter().all(|(r, _)| *r == NEAR_DUPLICATE) && hits.len() >= 2,
            "{hits:?}"
        );
        let said = d.capped().expect("capped");
        assert!(said.contains("the 2 examples after the first 2"), "{said}");
        assert!(said.contains("after 1 distinct ones"), "{said}");
        assert_eq!(
            d.repeated().len(),
            1,
            "the one answer counted still repeats"
        );
        assert!(Dups::new(2).capped().is_none());
    }
}
