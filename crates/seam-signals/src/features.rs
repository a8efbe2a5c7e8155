//! TF-IDF vectors of texts, for clustering flagged turns and matching clusters to eval cases.
//! Terms are the content words of `text.rs` (the same normalization as the rephrase signal),
//! crudely stemmed; tf is sublinear (1 + ln count), vectors are L2-normalised, so a dot
//! product is the cosine. No word pairs: a pair is shared only where the two words are
//! adjacent, so pairs lower a short question's similarity to its other wordings (on the planted
//! modes, min recall at 0.3 was 0.29 with pairs, 0.87 without; docs/design/failures.md §4).

use std::collections::HashMap;

use crate::text::{content_words, normalize};

/// A sparse vector: (term id, weight), sorted by term id.
pub(crate) type Vector = Vec<(u32, f64)>;

/// Terms of each text, interned, and the IDF fitted on them.
pub(crate) struct Features {
    /// Each term as shown: its commonest written form ("failed" for the stem "fail").
    pub terms: Vec<String>,
    /// One per text: its term ids with counts, sorted by id (empty: no features).
    pub counts: Vec<Vec<(u32, u32)>>,
    pub idf: Vec<f64>,
}

impl Features {
    /// Interns the terms of `texts` and fits the IDF on them: ln((1 + n) / (1 + df)) + 1, so a
    /// term in every text still counts a little and none divides by zero.
    pub fn fit<'a>(texts: impl Iterator<Item = &'a str>) -> Features {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut terms: Vec<String> = Vec::new();
        // How often each (term, word as written) was seen: a term is shown as its commonest word.
        let mut written: HashMap<(u32, &str), u32> = HashMap::new();
        let mut counts = Vec::new();
        let normalized: Vec<String> = texts.map(normalize).collect();
        for text in &normalized {
            let mut doc: Vec<u32> = Vec::new();
            for w in content_words(text) {
                let stem = stem(w);
                let id = match ids.get(stem) {
                    Some(&id) => id,
                    None => {
                        let id = terms.len() as u32;
                        terms.push(stem.to_string());
                        ids.insert(stem.to_string(), id);
                        id
                    }
                };
                *written.entry((id, w)).or_insert(0) += 1;
                doc.push(id);
            }
            doc.sort_unstable();
            let mut tf: Vec<(u32, u32)> = Vec::new();
            for id in doc {
                match tf.last_mut() {
                    Some((last, n)) if *last == id => *n += 1,
                    _ => tf.push((id, 1)),
                }
            }
            counts.push(tf);
        }
        let mut shown: Vec<(u32, &str)> = vec![(0, ""); terms.len()];
        for ((id, w), n) in written {
            let best = &mut shown[id as usize];
            if (n, std::cmp::Reverse(w)) > (best.0, std::cmp::Reverse(best.1)) {
                *best = (n, w);
            }
        }
        let terms = shown.into_iter().map(|(_, w)| w.to_string()).collect();
        let mut df = vec![
            0u32;
            counts
                .iter()
                .flatten()
                .map(|&(id, _)| id as usize + 1)
                .max()
                .unwrap_or(0)
        ];
        for doc in &counts {
            for &(id, _) in doc {
                df[id as usize] += 1;
            }
        }
        let n = counts.len() as f64;
        let idf = df
            .iter()
            .map(|&d| ((1.0 + n) / (1.0 + f64::from(d))).ln() + 1.0)
            .collect();
        Features { terms, counts, idf }
    }

    /// Text `i`'s TF-IDF vector, L2-normalised (empty when it has no features).
    pub fn vector(&self, i: usize) -> Vector {
        let mut v: Vector = self.counts[i]
            .iter()
            .map(|&(id, n)| (id, (1.0 + f64::from(n).ln()) * self.idf[id as usize]))
            .collect();
        normalize_l2(&mut v);
        v
    }
}

pub(crate) fn normalize_l2(v: &mut Vector) {
    let norm = v.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
    if norm > 0.0 {
        for (_, w) in v.iter_mut() {
            *w /= norm;
        }
    }
}

/// Dot product of two sorted sparse vectors (the cosine when both are L2-normalised).
pub(crate) fn dot(a: &[(u32, f64)], b: &[(u32, f64)]) -> f64 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

/// The mean of `vectors`, L2-normalised: a cluster's profile, whose largest weights are its
/// top terms.
pub(crate) fn centroid<'a>(vectors: impl Iterator<Item = &'a Vector>) -> Vector {
    let mut sum = sum_sorted(vectors.flat_map(|v| v.iter().copied()).collect());
    normalize_l2(&mut sum);
    sum
}

/// (term, weight) entries in any order, summed per term: a sorted sparse vector.
pub(crate) fn sum_sorted(mut all: Vec<(u32, f64)>) -> Vector {
    all.sort_unstable_by_key(|&(id, _)| id);
    let mut sum: Vector = Vec::new();
    for (id, w) in all {
        match sum.last_mut() {
            Some((last, s)) if *last == id => *s += w,
            _ => sum.push((id, w)),
        }
    }
    sum
}

/// "failing", "failed", "fails" and "fail" as one term: "ing" or "ed" dropped, then a final
/// "e", then a doubled last letter ("cancelling" → "cancel"), keeping three letters. English
/// only and crude on purpose: every form goes through the same steps, so they meet.
fn stem(w: &str) -> &str {
    if !w.is_ascii() || w.len() < 5 {
        return w;
    }
    let mut s = w;
    for suffix in ["ing", "ed"] {
        if let Some(rest) = s.strip_suffix(suffix)
            && rest.len() >= 3
        {
            s = rest;
            break;
        }
    }
    if let Some(rest) = s.strip_suffix('e')
        && rest.len() >= 3
    {
        s = rest;
    }
    let b = s.as_bytes();
    if b.len() > 3 && b[b.len() - 1] == b[b.len() - 2] && b[b.len() - 1] != b's' {
        s = &s[..s.len() - 1];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_a_word_meet_and_short_or_foreign_words_pass() {
        for (words, want) in [
            // As `content_words` gives them: "fails" is already "fail".
            (&["fail", "failed", "failing"][..], "fail"),
            (&["cancel", "cancelled", "cancelling"][..], "cancel"),
            (&["charge", "charged", "charging"][..], "charg"),
        ] {
            for w in words {
                assert_eq!(stem(w), want, "{w}");
            }
        }
        assert_eq!(stem("address"), "address");
        assert_eq!(stem("red"), "red");
        assert_eq!(stem("счётed"), "счётed");
    }

    #[test]
    fn a_term_is_shown_as_its_commonest_form() {
        let f = Features::fit(["webhooks failed", "webhook failed", "failing webhook"].into_iter());
        let mut shown = f.terms.clone();
        shown.sort();
        assert_eq!(shown, ["failed", "webhook"]);
        let v = f.vector(0);
        assert!((dot(&v, &v) - 1.0).abs() < 1e-9, "unit length");
        assert!(
            (dot(&v, &f.vector(2)) - 1.0).abs() < 1e-9,
            "same terms, same vector"
        );
    }
}
