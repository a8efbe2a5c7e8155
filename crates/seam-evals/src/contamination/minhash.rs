//! MinHash near-duplicates (Broder; Lee et al., arXiv 2107.06499) as datatrove sets them:
//! word 5-gram shingles, 14 bands of 8 hashes, each candidate confirmed by exact Jaccard.

use super::ngrams::Set;
use super::ngrams::ngrams;
use super::normalize::mix;

pub const SHINGLE: usize = 5;
pub const BANDS: usize = 14;
pub const ROWS: usize = 8;
const HASHES: usize = BANDS * ROWS;

/// A text's distinct 5-gram shingles, sorted.
pub fn shingles(tokens: &[u64]) -> Vec<u64> {
    let mut s = ngrams(tokens, SHINGLE);
    s.sort_unstable();
    s.dedup();
    s
}

/// The MinHash signature of a non-empty shingle set: per hash function, the least value.
/// The functions are `a * x + b` (mod 2^64, `a` odd) over shingles already mixed to 64 bits,
/// as datatrove's `(a * x + b) mod p`: a multiply and an add each, which keeps the index of
/// 10,000 cases within seconds even unoptimized.
fn signature(shingles: &[u64]) -> [u64; HASHES] {
    let mut sig = [u64::MAX; HASHES];
    for &s in shingles {
        for ((m, a), b) in sig.iter_mut().zip(&SEEDS).zip(SEEDS.iter().rev()) {
            let h = s.wrapping_mul(*a | 1).wrapping_add(*b);
            *m = (*m).min(h);
        }
    }
    sig
}

/// The signature's band keys (one per band, the band's number mixed in), empty for no shingles.
pub fn band_keys(shingles: &[u64]) -> Vec<u64> {
    if shingles.is_empty() {
        return Vec::new();
    }
    let sig = signature(shingles);
    sig.chunks(ROWS)
        .enumerate()
        .map(|(b, rows)| super::ngrams::ngram(rows) ^ mix(b as u64 + 1))
        .collect()
}

/// The exact Jaccard similarity of two sorted, distinct shingle lists.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let large: Set = large.iter().copied().collect();
    let shared = small.iter().filter(|s| large.contains(s)).count();
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// Fixed seeds, so a signature is the same in every process.
const SEEDS: [u64; HASHES] = {
    let mut out = [0u64; HASHES];
    let mut x: u64 = 0x5eed_c0ff_ee00_0001;
    let mut i = 0;
    while i < HASHES {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out[i] = z ^ (z >> 31);
        i += 1;
    }
    out
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_sets_share_every_band_and_jaccard_is_exact() {
        let a = shingles(&(0..40).collect::<Vec<u64>>());
        assert_eq!(band_keys(&a), band_keys(&a));
        assert_eq!(band_keys(&a).len(), BANDS);
        let b = shingles(&(20..60).collect::<Vec<u64>>());
        // 36 shingles each, 16 shared: 16 / 56.
        assert!((jaccard(&a, &b) - 16.0 / 56.0).abs() < 1e-12);
        assert!(band_keys(&[]).is_empty());
    }

    #[test]
    fn similar_sets_mostly_share_a_band() {
        // Jaccard 0.8 (40 of 50): a band matches with probability 1 - (1 - 0.8^8)^14, 0.96.
        let mut hit = 0;
        for k in 0..200u64 {
            let base: Vec<u64> = (0..50).map(|i| mix(k * 1000 + i)).collect();
            let mut a = base[..45].to_vec();
            let mut b = base[5..].to_vec();
            a.sort_unstable();
            b.sort_unstable();
            let (ka, kb) = (band_keys(&a), band_keys(&b));
            if ka.iter().zip(&kb).any(|(x, y)| x == y) {
                hit += 1;
            }
        }
        assert!(hit > 180, "{hit} of 200");
    }
}
