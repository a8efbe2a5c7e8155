//! Text similarity metrics for OpenAI's `text_similarity`, implemented where the definition is
//! public and exact: `fuzzy_match` (the normalized indel similarity of the characters, as
//! rapidfuzz's `fuzz.ratio` / 100) and ROUGE-N / ROUGE-L (F1 over lowercased alphanumeric
//! tokens, as Google's `rouge_score` without stemming, except that letters outside ASCII are
//! kept as letters).

use std::collections::HashMap;

/// The most cells (`n x m`) one LCS table may have: two 7,000-character texts.
const MAX_CELLS: usize = 50_000_000;

/// The length of the longest common subsequence of `a` and `b`, in O(min) memory.
fn lcs<T: PartialEq>(a: &[T], b: &[T]) -> Result<usize, String> {
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        return Err(format!(
            "texts too long to compare ({} x {} > {MAX_CELLS})",
            a.len(),
            b.len()
        ));
    }
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut row = vec![0usize; short.len() + 1];
    for x in long {
        let mut diag = 0;
        for (j, y) in short.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y { diag + 1 } else { up.max(row[j]) };
            diag = up;
        }
    }
    Ok(row[short.len()])
}

/// `1 - indel distance / (|a| + |b|)` over characters: 1 for equal texts (two empty ones too).
pub(crate) fn fuzzy_ratio(a: &str, b: &str) -> Result<f64, String> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return Ok(1.0);
    }
    Ok(2.0 * lcs(&a, &b)? as f64 / total as f64)
}

fn tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn f1(overlap: usize, candidate: usize, reference: usize) -> f64 {
    if overlap == 0 || candidate == 0 || reference == 0 {
        return 0.0;
    }
    let p = overlap as f64 / candidate as f64;
    let r = overlap as f64 / reference as f64;
    2.0 * p * r / (p + r)
}

fn grams(ts: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut m = HashMap::new();
    for g in ts.windows(n) {
        *m.entry(g).or_insert(0) += 1;
    }
    m
}

/// ROUGE-N's F1 of `candidate` against `reference` (n-gram counts clipped).
pub(crate) fn rouge_n(candidate: &str, reference: &str, n: usize) -> f64 {
    let (c, r) = (tokens(candidate), tokens(reference));
    let (cg, rg) = (grams(&c, n), grams(&r, n));
    let overlap = cg
        .iter()
        .map(|(g, k)| (*k).min(rg.get(g).copied().unwrap_or(0)))
        .sum();
    f1(
        overlap,
        c.len().saturating_sub(n - 1),
        r.len().saturating_sub(n - 1),
    )
}

/// ROUGE-L's F1: the longest common subsequence of tokens.
pub(crate) fn rouge_l(candidate: &str, reference: &str) -> Result<f64, String> {
    let (c, r) = (tokens(candidate), tokens(reference));
    Ok(f1(lcs(&c, &r)?, c.len(), r.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_ratio_is_rapidfuzz_ratio() {
        // rapidfuzz.fuzz.ratio("this is a test", "this is a test!") = 96.55...
        let r = fuzzy_ratio("this is a test", "this is a test!").unwrap();
        assert!((r - 0.965_517_241_379_310_3).abs() < 1e-12, "{r}");
        // fuzz.ratio("kitten", "sitting") = 61.538...
        let r = fuzzy_ratio("kitten", "sitting").unwrap();
        assert!((r - 8.0 / 13.0).abs() < 1e-12, "{r}");
        assert_eq!(fuzzy_ratio("", "").unwrap(), 1.0);
        assert_eq!(fuzzy_ratio("abc", "").unwrap(), 0.0);
    }

    #[test]
    fn rouge_scores_as_rouge_score_computes_them() {
        // rouge_score's README example: rouge1 P 0.75, R 0.6667, F 0.70588;
        // rougeL P 0.625, R 0.5556, F 0.58824.
        let (t, p) = (
            "The quick brown fox jumps over the lazy dog",
            "The quick brown dog jumps on the log.",
        );
        assert!((rouge_n(p, t, 1) - 12.0 / 17.0).abs() < 1e-12);
        assert!((rouge_l(p, t).unwrap() - 10.0 / 17.0).abs() < 1e-12);
        // Bigrams: the quick, quick brown shared of 7 and 8 -> P 2/7, R 2/8.
        let want = 2.0 * (2.0 / 7.0) * (2.0 / 8.0) / (2.0 / 7.0 + 2.0 / 8.0);
        assert!((rouge_n(p, t, 2) - want).abs() < 1e-12);
        assert_eq!(rouge_n("", t, 1), 0.0);
    }
}
