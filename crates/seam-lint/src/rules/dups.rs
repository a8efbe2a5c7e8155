//! Near-duplicate examples (MinHash over the user and assistant text, banded so that each
//! example is compared with a few candidates only) and the same answer repeated across many
//! examples. Memory grows with the examples: ~0.5 KB each (a signature and its bands).

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
        Dups {
            sigs: Vec::new(),
            slots: 0,
            lines: Vec::new(),
            bands: HashMap::new(),
            answers: HashMap::new(),
            min_repeat,
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
                None => {
                    self.bands.insert(key, me);
                }
            }
        }
        self.sigs.extend_from_slice(&sig);
        self.lines.push(ex.line as u32);
        if let Some((other, s)) = best {
            let line = self.lines[other as usize];
            emit(
                NEAR_DUPLICATE,
                0,
                &format!("a near duplicate of line {line} (similarity {s:.2})"),
            );
        }
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
            let a = self.answers.entry(h.finish()).or_insert(Answer {
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
