//! Text as the decontamination literature compares it: Unicode NFKC, lowercase, punctuation
//! stripped, whitespace collapsed; then words, each hashed once so n-grams are cheap.

use unicode_normalization::UnicodeNormalization;

/// `text` normalized: NFKC (so full-width, ligature and compatibility forms compare equal),
/// lowercase, every character that is neither alphanumeric nor whitespace removed (so
/// "don't" is "dont" and "a, b." is "a b"), runs of whitespace one space, trimmed.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else if c.is_alphanumeric() {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// The words of normalized text.
pub fn words(normalized: &str) -> Vec<&str> {
    normalized.split(' ').filter(|w| !w.is_empty()).collect()
}

/// A word's 64-bit hash (FNV-1a, then mixed): stable across runs and processes.
pub fn word_hash(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// SplitMix64's finalizer: a cheap, well-spread 64-bit mix.
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The hashes of `text`'s words, after normalization.
pub fn tokens(text: &str) -> Vec<u64> {
    words(&normalize(text)).into_iter().map(word_hash).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_punctuation_width_and_spaces_do_not_matter() {
        assert_eq!(
            normalize("  Hello,   WORLD!\n\tIt's  ok. "),
            "hello world its ok"
        );
        // Full-width letters and the "fi" ligature are their plain forms under NFKC.
        assert_eq!(normalize("ＨＥＬＬＯ ﬁne"), "hello fine");
        assert_eq!(normalize("...!?"), "");
        assert_eq!(words("a b  c"), vec!["a", "b", "c"]);
        assert_eq!(tokens("A, b"), tokens("a b"));
    }
}
