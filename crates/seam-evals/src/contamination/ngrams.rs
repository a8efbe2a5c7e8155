//! Word n-grams as 64-bit hashes of their words' hashes.

use super::normalize::mix;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for keys that are already well-mixed 64-bit hashes: it keeps them as they are,
/// where the default SipHash would hash them again (most of the index's build time).
#[derive(Default)]
pub struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub type Build = BuildHasherDefault<Prehashed>;
/// A map keyed by a hash.
pub type Map<V> = HashMap<u64, V, Build>;
/// A set of hashes.
pub type Set = HashSet<u64, Build>;

/// The hash of each window of `n` tokens, in order (none when there are fewer than `n`).
pub fn ngrams(tokens: &[u64], n: usize) -> Vec<u64> {
    if n == 0 || tokens.len() < n {
        return Vec::new();
    }
    tokens.windows(n).map(ngram).collect()
}

/// One window's hash: order matters ("a b" is not "b a").
pub fn ngram(window: &[u64]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15_u64 ^ window.len() as u64;
    for t in window {
        h = mix(h.rotate_left(5) ^ t);
    }
    h
}

/// The distinct n-grams.
pub fn ngram_set(tokens: &[u64], n: usize) -> Set {
    ngrams(tokens, n).into_iter().collect()
}

/// The longest run of equal tokens shared by `a` and `b`, found by extending each shared
/// `seed`-gram (so a span shorter than `seed` is not seen): (length, start in `b`).
pub fn longest_shared_span(a: &[u64], b: &[u64], seed: usize) -> Option<(usize, usize)> {
    if seed == 0 || a.len() < seed || b.len() < seed {
        return None;
    }
    let mut at: Map<Vec<usize>> = Map::default();
    for (j, h) in ngrams(b, seed).into_iter().enumerate() {
        at.entry(h).or_default().push(j);
    }
    let mut best: Option<(usize, usize)> = None;
    for (i, h) in ngrams(a, seed).into_iter().enumerate() {
        let Some(starts) = at.get(&h) else { continue };
        for &j in starts {
            // Only from the start of a run: extending from its middle finds nothing longer.
            if i > 0 && j > 0 && a[i - 1] == b[j - 1] {
                continue;
            }
            let len = a[i..]
                .iter()
                .zip(&b[j..])
                .take_while(|(x, y)| x == y)
                .count();
            if len >= seed && best.is_none_or(|(l, _)| len > l) {
                best = Some((len, j));
            }
        }
    }
    best
}

/// Whether `needle` occurs as a contiguous run in `hay`.
pub fn contains(hay: &[u64], needle: &[u64]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_containment() {
        let a = [1, 2, 3, 4, 5, 6];
        let b = [9, 2, 3, 4, 5, 8, 1, 2];
        assert_eq!(longest_shared_span(&a, &b, 2), Some((4, 1)));
        assert_eq!(longest_shared_span(&a, &b, 5), None);
        assert!(contains(&b, &[3, 4, 5]));
        assert!(!contains(&b, &[3, 5]));
        assert_ne!(ngram(&[1, 2]), ngram(&[2, 1]));
        assert!(ngrams(&a, 7).is_empty());
    }
}
