//! A text against the index: every case part found in it, with every measure.

use super::index::{Entry, Index, Part};
use super::minhash;
use super::ngrams::{contains, longest_shared_span, ngram_set, ngrams};
use super::normalize::{normalize, word_hash, words};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A text to check and where it is (e.g. "message 2 (assistant)", "tool `refund` description").
#[derive(Debug, Clone)]
pub struct Place {
    pub label: String,
    pub text: String,
}

/// The measure that flagged a case, the first of these that holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The whole normalized case is in the text.
    Contained,
    /// A word n-gram (13) of the case is in the text.
    SharedNgram,
    /// At least the threshold's share of the case's 8-grams are in the text.
    NgramShare,
    /// MinHash found it and exact Jaccard of 5-gram shingles reaches the threshold.
    NearDuplicate,
}

/// One case part found in one place.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub dataset: String,
    pub file: String,
    pub line: usize,
    pub case: String,
    pub part: Part,
    pub place: String,
    pub metric: Metric,
    pub contained: bool,
    pub shared_ngram: bool,
    /// The share of the case's distinct share-n-grams in the text.
    pub ngram_share: f64,
    /// Exact Jaccard of 5-gram shingles, when MinHash made the case a candidate.
    pub jaccard: Option<f64>,
    /// The longest run of words shared, in tokens (0 when under 5 words).
    pub longest_span: usize,
    /// That run, normalized (at most 40 words shown).
    pub span: String,
}

impl Finding {
    /// One line: the case, its file and line, where, the measure and the shared span.
    pub fn describe(&self) -> String {
        let metric = match self.metric {
            Metric::Contained => "contained whole".to_string(),
            Metric::SharedNgram => "shares a 13-gram".to_string(),
            Metric::NgramShare => {
                format!("{:.0}% of its 8-grams present", self.ngram_share * 100.0)
            }
            Metric::NearDuplicate => format!(
                "near-duplicate (Jaccard {:.2})",
                self.jaccard.unwrap_or(0.0)
            ),
        };
        format!(
            "case `{}` ({}:{}), its {}, in {}: {metric}; 8-gram share {:.2}, longest shared span {} tokens: \"{}\"",
            self.case,
            self.file,
            self.line,
            self.part.as_str(),
            self.place,
            self.ngram_share,
            self.longest_span,
            self.span
        )
    }
}

#[derive(Default)]
struct Hits {
    any: bool,
    grams: usize,
    near: bool,
    contained: bool,
}

impl Index {
    /// Every case part found in any of `places`, in dataset, line, part and place order.
    pub fn check(&self, places: &[Place]) -> Vec<Finding> {
        let mut out = Vec::new();
        for p in places {
            self.check_one(p, &mut out);
        }
        out.sort_by(|a, b| {
            (&a.file, a.line, a.part, &a.place).cmp(&(&b.file, b.line, b.part, &b.place))
        });
        out
    }

    fn check_one(&self, place: &Place, out: &mut Vec<Finding>) {
        let t = &self.thresholds;
        let norm = normalize(&place.text);
        let ws = words(&norm);
        let toks: Vec<u64> = ws.iter().map(|w| word_hash(w)).collect();
        let mut hits: BTreeMap<u32, Hits> = BTreeMap::new();
        for g in ngram_set(&toks, t.ngram) {
            for &e in self.any.get(&g).into_iter().flatten() {
                hits.entry(e).or_default().any = true;
            }
        }
        for g in ngram_set(&toks, t.share_ngram) {
            for &e in self.share.get(&g).into_iter().flatten() {
                hits.entry(e).or_default().grams += 1;
            }
        }
        let shingles = minhash::shingles(&toks);
        let near: BTreeSet<u32> = minhash::band_keys(&shingles)
            .into_iter()
            .flat_map(|k| self.bands.get(&k).into_iter().flatten().copied())
            .collect();
        for e in near {
            hits.entry(e).or_default().near = true;
        }
        for (&len, by_hash) in &self.short {
            let found: BTreeSet<u32> = ngrams(&toks, len)
                .into_iter()
                .flat_map(|g| by_hash.get(&g).into_iter().flatten().copied())
                .collect();
            for e in found {
                hits.entry(e).or_default().contained = true;
            }
        }
        for (e, h) in hits {
            let entry = &self.entries[e as usize];
            if let Some(f) = self.finding(entry, h, &toks, &shingles, &ws, place) {
                out.push(f);
            }
        }
    }

    fn finding(
        &self,
        entry: &Entry,
        h: Hits,
        toks: &[u64],
        shingles: &[u64],
        ws: &[&str],
        place: &Place,
    ) -> Option<Finding> {
        let t = &self.thresholds;
        let share = if entry.grams == 0 {
            0.0
        } else {
            h.grams as f64 / entry.grams as f64
        };
        // Hashes decide candidates; the tokens decide containment, so a collision flags nothing.
        let contained = (h.contained || share >= 1.0) && contains(toks, &entry.tokens);
        let jaccard = h.near.then(|| minhash::jaccard(&entry.shingles, shingles));
        let metric = if contained {
            Metric::Contained
        } else if entry.short {
            return None;
        } else if h.any {
            Metric::SharedNgram
        } else if share >= t.share {
            Metric::NgramShare
        } else if jaccard.is_some_and(|j| j >= t.jaccard) {
            Metric::NearDuplicate
        } else {
            return None;
        };
        let (len, at) = if contained {
            let n = entry.tokens.len();
            let at = toks
                .windows(n)
                .position(|w| w == entry.tokens.as_slice())
                .unwrap_or(0);
            (n, at)
        } else {
            longest_shared_span(&entry.tokens, toks, minhash::SHINGLE).unwrap_or((0, 0))
        };
        let shown = &ws[at.min(ws.len())..(at + len.min(40)).min(ws.len())];
        let mut span = shown.join(" ");
        if len > 40 {
            span.push_str(" ...");
        }
        let source = &self.datasets[entry.dataset];
        Some(Finding {
            dataset: source.name.clone(),
            file: source.file.clone(),
            line: entry.line,
            case: entry.case.clone(),
            part: entry.part,
            place: place.label.clone(),
            metric,
            contained,
            shared_ngram: h.any || (contained && !entry.short),
            ngram_share: share,
            jaccard,
            longest_span: len,
            span,
        })
    }
}
