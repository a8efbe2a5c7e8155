//! Offline token counts for OpenAI's `o200k_base` and `cl100k_base`, equal to tiktoken's
//! (`encode_ordinary(text).len()` of tiktoken-rs, which the tests hold them to), from a
//! table that holds only what counting needs.
//!
//! tiktoken-rs's `CoreBPE` keeps every token three times over (a bytes-to-rank map of owned
//! keys, a rank-to-bytes map, a sorted list) plus 128 clones of its regex: ~35 MiB of heap
//! resident for `o200k_base` (examples/footprint.rs; ~7 MiB here, 1.25 MiB of it the index).
//! Seam never decodes, so here the tokens are one static byte arena in rank order (written
//! by build.rs from tiktoken-rs's bundled rank files, embedded in the binary) and the only
//! heap is an index of u32 ranks (`vocab.rs`), the pre-tokenizer's automaton (`split.rs`)
//! and its caches. Merging (`merge.rs`) follows tiktoken's order.

mod merge;
mod split;
mod vocab;

use split::Splitter;
use std::sync::OnceLock;
use vocab::Vocab;

/// A vocabulary with its pre-tokenization pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, o-series and later.
    O200kBase,
    /// GPT-3.5 and GPT-4.
    Cl100kBase,
}

/// tiktoken-rs's `O200K_BASE_PAT_STR` with `\s+(?!\S)` emulated (see split.rs).
const O200K_PATTERNS: &[(&str, bool)] = &[
    (
        concat!(
            r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            r"|\p{N}{1,3}",
            r"| ?[^\s\p{L}\p{N}]+[\r\n/]*",
            r"|\s*[\r\n]+",
            r"|\s+$",
        ),
        false,
    ),
    (r"\s+\s", true),
    (r"\s+", false),
];

/// tiktoken-rs's `cl100k_base` pattern: possessive quantifiers as greedy ones (split.rs),
/// `\s+(?!\S)` emulated; its `\s++$` already takes a run at the end.
const CL100K_PATTERNS: &[(&str, bool)] = &[
    (
        concat!(
            r"'(?i:[sdmt]|ll|ve|re)",
            r"|[^\r\n\p{L}\p{N}]?\p{L}+",
            r"|\p{N}{1,3}",
            r"| ?[^\s\p{L}\p{N}]+[\r\n]*",
            r"|\s+$",
            r"|\s*[\r\n]",
        ),
        false,
    ),
    (r"\s+\s", true),
    (r"\s", false),
];

static O200K_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_base.bytes"));
static O200K_STARTS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_base.starts"));
static CL100K_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k_base.bytes"));
static CL100K_STARTS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k_base.starts"));

/// Counts tokens of one encoding.
pub struct Counter {
    vocab: Vocab,
    splitter: Splitter,
}

impl Counter {
    /// Builds the index (a few milliseconds; [`counter`] does it once per process).
    /// `None` if the embedded data or the pattern is unusable, which the tests rule out.
    pub fn load(encoding: Encoding) -> Option<Counter> {
        let (bytes, starts, patterns) = match encoding {
            Encoding::O200kBase => (O200K_BYTES, O200K_STARTS, O200K_PATTERNS),
            Encoding::Cl100kBase => (CL100K_BYTES, CL100K_STARTS, CL100K_PATTERNS),
        };
        Some(Counter {
            vocab: Vocab::new(bytes, starts)?,
            splitter: Splitter::new(patterns).ok()?,
        })
    }

    /// The number of tokens tiktoken's `encode_ordinary` makes of `text` (special tokens
    /// such as `<|endoftext|>` count as the ordinary text they are).
    pub fn count(&self, text: &str) -> usize {
        let mut scratch = merge::Scratch::default();
        self.splitter
            .pieces(text)
            .map(|piece| merge::count(&self.vocab, piece.as_bytes(), &mut scratch))
            .sum()
    }

    /// How many tokens the vocabulary has (special tokens aside).
    pub fn vocabulary_len(&self) -> usize {
        self.vocab.len()
    }

    /// Heap bytes of the rank index (the regex and its caches aside).
    pub fn index_heap_bytes(&self) -> usize {
        self.vocab.heap_bytes()
    }
}

/// `text`'s tokens in `encoding`; should the counter not load (the tests rule it out), the
/// usual rule of thumb of ~4 characters a token.
pub fn count_or_estimate(encoding: Encoding, text: &str) -> u64 {
    match counter(encoding) {
        Some(c) => c.count(text) as u64,
        None => text.chars().count().div_ceil(4) as u64,
    }
}

/// The process's counter for `encoding`, built on first use.
pub fn counter(encoding: Encoding) -> Option<&'static Counter> {
    static O200K: OnceLock<Option<Counter>> = OnceLock::new();
    static CL100K: OnceLock<Option<Counter>> = OnceLock::new();
    let cell = match encoding {
        Encoding::O200kBase => &O200K,
        Encoding::Cl100kBase => &CL100K,
    };
    cell.get_or_init(|| Counter::load(encoding)).as_ref()
}
