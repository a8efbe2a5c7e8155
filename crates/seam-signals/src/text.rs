//! Text similarity for the rephrase signal: normalization, word shingles, MinHash signatures
//! and exact Jaccard. Deterministic hashing (no per-process seed), so a scan gives the same
//! flags on every run and machine.

/// MinHash signature length: the estimate's standard error at J = 0.5 is √(0.25/64) ≈ 0.06.
pub const SIG_LEN: usize = 64;

/// Words of a text that are compared: a pasted document's first 4,096 words say whether it
/// was sent again, and keep a sketch's cost bounded (64 hashes a shingle).
pub const MAX_WORDS: usize = 4096;

/// Lowercase, drop apostrophes inside words ("don't" → "dont"), every other non-alphanumeric
/// character becomes a space, whitespace collapsed. Letters and digits of any script are kept.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c == '\'' || c == '\u{2019}' {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// A text's shingles (hashed words and pairs of adjacent words, English function words left
/// out, sorted, deduplicated) and their MinHash signature. Function words are most of a short
/// question ("how do i … my …"): kept, they make any two questions of a topic look alike.
#[derive(Debug, Clone)]
pub struct Sketch {
    shingles: Vec<u64>,
    /// The MinHash signature (public for banded near-duplicate search, as seam-lint does).
    pub sig: [u64; SIG_LEN],
}

impl Sketch {
    pub fn new(normalized: &str) -> Sketch {
        let words: Vec<u64> = content_words(normalized)
            .iter()
            .map(|w| fnv(w.as_bytes()))
            .collect();
        let mut shingles: Vec<u64> = words.iter().map(|&w| mix(w)).collect();
        shingles.extend(
            words
                .windows(2)
                .map(|p| mix(p[0] ^ p[1].rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15)),
        );
        shingles.sort_unstable();
        shingles.dedup();
        let mut sig = [u64::MAX; SIG_LEN];
        for &h in &shingles {
            for (i, slot) in sig.iter_mut().enumerate() {
                let v = mix(h ^ SEEDS[i]);
                if v < *slot {
                    *slot = v;
                }
            }
        }
        Sketch { shingles, sig }
    }

    pub fn is_empty(&self) -> bool {
        self.shingles.is_empty()
    }

    /// The MinHash signature: LSH bands of it give clustering its candidate pairs.
    pub(crate) fn signature(&self) -> &[u64; SIG_LEN] {
        &self.sig
    }

    /// The MinHash estimate of the Jaccard similarity: the share of equal signature slots.
    pub fn estimate(&self, other: &Sketch) -> f64 {
        if self.is_empty() || other.is_empty() {
            return 0.0;
        }
        let same = self
            .sig
            .iter()
            .zip(&other.sig)
            .filter(|(a, b)| a == b)
            .count();
        same as f64 / SIG_LEN as f64
    }

    /// Exact Jaccard similarity |A ∩ B| / |A ∪ B| of the shingle sets (0 when either is empty).
    pub fn jaccard(&self, other: &Sketch) -> f64 {
        let (a, b) = (&self.shingles, &other.shingles);
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        let (mut i, mut j, mut inter) = (0, 0, 0usize);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    inter += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        inter as f64 / (a.len() + b.len() - inter) as f64
    }
}

/// The words a text is compared on: the first [`MAX_WORDS`] of a normalized text, English
/// function words left out, a plural `s` dropped. A text of function words only ("why not?")
/// keeps them all: they are then its content.
pub(crate) fn content_words(normalized: &str) -> Vec<&str> {
    let all = normalized
        .split(' ')
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS);
    let words: Vec<&str> = all
        .clone()
        .filter(|w| STOPWORDS.binary_search(w).is_err())
        .map(singular)
        .collect();
    if words.is_empty() {
        return all.collect();
    }
    words
}

#[cfg(test)]
pub fn stopwords() -> &'static [&'static str] {
    STOPWORDS
}

/// "invoices" and "invoice" as one word: a final "s" dropped from words over three letters
/// (not "ss", "us", "is": "address", "status", "this"). English only, and crude on purpose.
fn singular(w: &str) -> &str {
    match w.strip_suffix('s') {
        Some(stem) if w.len() > 3 && !stem.ends_with(['s', 'u', 'i']) => stem,
        _ => w,
    }
}

/// FNV-1a, 64-bit.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finalizer: a cheap, well-mixed bijection on u64.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One seed per signature slot: slot i's hash function is mix(h ^ SEEDS[i]).
const SEEDS: [u64; SIG_LEN] = {
    let mut s = [0u64; SIG_LEN];
    let mut i = 0;
    let mut x: u64 = 0x5eed_5eed_5eed_5eed;
    while i < SIG_LEN {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        s[i] = x ^ (x >> 33);
        i += 1;
    }
    s
};

/// English function words, sorted (binary search). Other languages keep every word.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "but", "by", "can", "could", "did", "do", "does", "doing", "for", "from",
    "had", "has", "have", "he", "her", "here", "him", "his", "how", "i", "if", "in", "into", "is",
    "it", "its", "just", "me", "mean", "my", "no", "not", "now", "of", "ok", "on", "or", "our",
    "please", "she", "should", "so", "some", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "to", "too", "up", "us", "very", "was", "way", "we",
    "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "yes", "you",
    "your",
];
