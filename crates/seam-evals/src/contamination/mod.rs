//! The contamination guard (issue 26, docs/evals.md "Contamination guard"): whether a text (a
//! release's messages, tools, few-shot turns; a fine-tuning file's lines) contains eval cases,
//! by the decontamination literature's measures, each case's input and expected output
//! indexed separately:
//!
//! - exact containment of the normalized case, for cases shorter than the any-n-gram length
//!   (13 words), which have no such n-gram; shorter than `min_words`, not checked (said so);
//! - any shared word 13-gram (GPT-3; lm-evaluation-harness uses 13);
//! - the share of the case's distinct 8-grams present (PaLM flags at 70%);
//! - the longest shared span in tokens (ConTAM, arXiv 2411.03923), shown with the span;
//! - MinHash near-duplicates over 5-gram shingles, 14 bands x 8 hashes (Lee et al.,
//!   arXiv 2107.06499, as datatrove sets them), each confirmed by exact Jaccard.
//!
//! Text is normalized first ([`normalize()`]). An index is built once per set of dataset
//! versions and thresholds and kept in memory for the life of the process ([`load_dir`]).

mod check;
mod index;
mod minhash;
mod ngrams;
mod normalize;

pub use check::{Finding, Metric, Place};
pub use index::{Index, Loaded, MAX_PART_BYTES, Part, load_dir};
pub use normalize::normalize;

/// When a case counts as found in a text (`[evals.contamination]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Any shared word n-gram of this length flags a case (default 13); cases shorter than
    /// this are checked by exact containment only.
    pub ngram: usize,
    /// The n-gram length of the share measure (default 8).
    pub share_ngram: usize,
    /// The share of a case's `share_ngram`-grams present that flags it (default 0.70).
    pub share: f64,
    /// The exact Jaccard similarity of 5-gram shingles that flags a near-duplicate (default 0.75).
    pub jaccard: f64,
    /// Parts of a case with fewer words are not checked (default 3): "yes" or "42" as an
    /// expected output would be found in almost any prompt.
    pub min_words: usize,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            ngram: 13,
            share_ngram: 8,
            share: 0.70,
            jaccard: 0.75,
            min_words: 3,
        }
    }
}

impl Thresholds {
    /// The first value out of range, named by its key.
    pub fn check(&self) -> Result<(), String> {
        if !(2..=64).contains(&self.ngram) {
            return Err(format!("ngram: {} is out of range (2 to 64)", self.ngram));
        }
        if !(2..=self.ngram).contains(&self.share_ngram) {
            return Err(format!(
                "share_ngram: {} is out of range (2 to ngram, {})",
                self.share_ngram, self.ngram
            ));
        }
        for (key, v) in [("share", self.share), ("jaccard", self.jaccard)] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(format!("{key}: {v} is out of range (above 0, at most 1)"));
            }
        }
        if !(1..=self.ngram).contains(&self.min_words) {
            return Err(format!(
                "min_words: {} is out of range (1 to ngram, {})",
                self.min_words, self.ngram
            ));
        }
        Ok(())
    }
}
