//! Clusters of flagged turns (issue 29, step 5): the questions users rephrase or give up on,
//! grouped so that a reader sees "invoices in a foreign currency: 412 turns" rather than 412
//! flags. TF-IDF vectors (`features.rs`); stage one links near-identical texts (candidate
//! pairs from MinHash-LSH on the rephrase signal's signatures, not every pair: 100,000 turns
//! are 5·10⁹ pairs; single-link at cosine `TIGHT`); stage two merges those groups by centroid
//! linkage down to `threshold` (`agglomerate.rs`), which does not chain as single-link does.
//! Deterministic: no random seed, ties broken by input order.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::agglomerate::agglomerate;
use crate::features::{Features, Vector, centroid, dot, sum_sorted};
use crate::pairs::{UnionFind, windowed_pairs};
use crate::text::{SIG_LEN, Sketch, mix, normalize};

/// LSH: the 64-slot signature cut into `BANDS` bands of `ROWS` slots; two texts are candidates
/// when one band is equal. At shingle Jaccard 0.5 a pair is a candidate with probability
/// 1 - (1 - 0.5⁴)¹⁶ ≈ 0.64, at 0.7 ≈ 0.98: stage one wants near-identical texts, and
/// single-link needs only one edge into a group; what LSH misses, stage two's centroids catch.
const BANDS: usize = 16;
const ROWS: usize = SIG_LEN / BANDS;

/// In a bucket larger than this, each text is compared with the next `WINDOW` only: a bucket
/// of near-identical texts needs a chain, not all its pairs.
const WINDOW: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterOptions {
    /// Centroid cosine at or above which two groups merge (stage two).
    pub threshold: f64,
    /// Clusters with fewer texts are counted in `Clustering::small` only.
    pub min_cluster_size: usize,
    /// Terms of the centroid reported per cluster.
    pub top_terms: usize,
    /// Distinct member texts nearest the centroid reported per cluster.
    pub examples: usize,
}

impl Default for ClusterOptions {
    fn default() -> ClusterOptions {
        ClusterOptions {
            threshold: DEFAULT_THRESHOLD,
            min_cluster_size: 5,
            top_terms: 5,
            examples: 3,
        }
    }
}

/// Calibrated on the synth failure modes (docs/design/failures.md §4): purity ≥ 0.99 and
/// recall ≥ 0.87 for every mode; 0.2 merges topics, 0.35 splits modes.
pub const DEFAULT_THRESHOLD: f64 = 0.3;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// A slug of the top three terms ("invoice-currency-euro"), "-2", "-3" on a repeat.
    pub id: String,
    /// Indices into the input, sorted.
    pub members: Vec<usize>,
    /// The centroid's largest weights, largest first.
    pub top_terms: Vec<(String, f64)>,
    /// Members nearest the centroid, best first, one per distinct text.
    pub examples: Vec<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Clustering {
    /// Clusters of at least `min_cluster_size` texts, largest first.
    pub clusters: Vec<Cluster>,
    /// Clusters below the minimum size, and the texts in them: shown only in aggregate.
    pub small: usize,
    pub small_docs: usize,
    /// Texts with no features (empty after normalization).
    pub empty: usize,
}

/// Texts deduplicated on their normalized form: the same question asked 500 times is one
/// vector and one signature, and no bucket holds 500 copies of it.
pub(crate) struct Distinct {
    /// Normalized text of each distinct text.
    pub texts: Vec<String>,
    /// For each distinct text, the input indices that normalize to it (ascending).
    pub members: Vec<Vec<usize>>,
}

pub(crate) fn distinct(texts: &[&str]) -> (Distinct, usize) {
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut d = Distinct {
        texts: Vec::new(),
        members: Vec::new(),
    };
    let mut empty = 0;
    for (i, t) in texts.iter().enumerate() {
        let n = normalize(t);
        if n.is_empty() {
            empty += 1;
            continue;
        }
        if let Some(&k) = at.get(&n) {
            d.members[k].push(i);
            continue;
        }
        at.insert(n.clone(), d.texts.len());
        d.texts.push(n);
        d.members.push(vec![i]);
    }
    (d, empty)
}

pub fn cluster(texts: &[&str], opts: &ClusterOptions) -> Clustering {
    cluster_in(texts, &[], opts)
}

/// [`cluster`], with the IDF fitted on `texts` and `background` (the traffic's other user
/// turns): a word every flagged turn of one failure mode shares is rare in the traffic as a
/// whole, which is what makes it the mode's word. Fitted on the flagged turns alone, a mode
/// that is most of them would make its own words look common and split into its wordings.
pub fn cluster_in(texts: &[&str], background: &[&str], opts: &ClusterOptions) -> Clustering {
    let (d, empty) = distinct(texts);
    let (features, vectors) = tf_idf(&d, background);
    let groups = link(&d, &vectors, TIGHT);
    let groups = merge(groups, &d, &vectors, opts.threshold);

    let mut out = Clustering {
        empty,
        ..Clustering::default()
    };
    let kept = keep(groups, &d, opts, &mut out);
    let mut seen: HashSet<String> = HashSet::new();
    for g in kept {
        let c = describe(&g, &d, &vectors, &features, opts, &mut seen, None);
        out.clusters.push(c);
    }
    out
}

/// TF-IDF of the distinct texts, the IDF fitted with `background` too (see `cluster_in`).
pub(crate) fn tf_idf(d: &Distinct, background: &[&str]) -> (Features, Vec<Vector>) {
    let features = Features::fit(
        d.texts
            .iter()
            .map(String::as_str)
            .chain(background.iter().copied()),
    );
    let vectors = (0..d.texts.len()).map(|i| features.vector(i)).collect();
    (features, vectors)
}

/// The groups of at least `min_cluster_size` turns, largest first (equal sizes in the order
/// of their first text); the others are counted in `out.small` and `out.small_docs`.
pub(crate) fn keep(
    groups: Vec<Vec<usize>>,
    d: &Distinct,
    opts: &ClusterOptions,
    out: &mut Clustering,
) -> Vec<Vec<usize>> {
    let size = |g: &Vec<usize>| -> usize { g.iter().map(|&k| d.members[k].len()).sum() };
    let mut kept: Vec<Vec<usize>> = Vec::new();
    for g in groups {
        let n = size(&g);
        if n >= opts.min_cluster_size.max(1) {
            kept.push(g);
        } else {
            out.small += 1;
            out.small_docs += n;
        }
    }
    kept.sort_by_key(|g| (std::cmp::Reverse(size(g)), d.members[g[0]][0]));
    kept
}

/// Single-link groups of distinct texts (indices into `d`), each sorted, in first-seen order.
fn link(d: &Distinct, vectors: &[Vector], threshold: f64) -> Vec<Vec<usize>> {
    let n = vectors.len();
    let mut uf = UnionFind::new(n);
    let mut keys: Vec<(u64, u32)> = Vec::with_capacity(n * BANDS);
    for (k, text) in d.texts.iter().enumerate() {
        if vectors[k].is_empty() {
            continue;
        }
        let sketch = Sketch::new(text);
        let sig = sketch.signature();
        for b in 0..BANDS {
            let key = sig[b * ROWS..(b + 1) * ROWS]
                .iter()
                .fold(mix(b as u64), |h, &s| mix(h ^ s));
            keys.push((key, k as u32));
        }
    }
    keys.sort_unstable();
    windowed_pairs(&keys, WINDOW, |a, b| {
        if uf.find(a) != uf.find(b) && dot(&vectors[a], &vectors[b]) >= threshold {
            uf.union(a, b);
        }
    });
    uf.groups(|k| !vectors[k].is_empty())
}

/// Tight groups merged by centroid linkage (`agglomerate.rs`): each group's vector is the sum
/// of its turns' vectors.
fn merge(
    groups: Vec<Vec<usize>>,
    d: &Distinct,
    vectors: &[Vector],
    threshold: f64,
) -> Vec<Vec<usize>> {
    let sums: Vec<Vector> = groups
        .iter()
        .map(|g| {
            sum_sorted(
                g.iter()
                    .flat_map(|&k| {
                        let times = d.members[k].len() as f64;
                        vectors[k].iter().map(move |&(t, w)| (t, w * times))
                    })
                    .collect(),
            )
        })
        .collect();
    agglomerate(sums, threshold)
        .into_iter()
        .map(|merged| {
            let mut g: Vec<usize> = merged
                .iter()
                .flat_map(|&m| groups[m].iter().copied())
                .collect();
            g.sort_unstable();
            g
        })
        .collect()
}

/// Stage one links texts this alike (single-link): the same question with a prefix or a
/// word changed. High enough not to chain (purity 1.0 on the planted modes at 0.5-0.7).
const TIGHT: f64 = 0.6;

/// A kept group as a [`Cluster`]: members, the centroid's top terms, examples, an id. The
/// examples are the distinct texts nearest the TF-IDF centroid, or those `nearness` scores
/// highest (the embeddings' centroid, when the group was made by them).
pub(crate) fn describe(
    group: &[usize],
    d: &Distinct,
    vectors: &[Vector],
    features: &Features,
    opts: &ClusterOptions,
    seen: &mut HashSet<String>,
    nearness: Option<&dyn Fn(usize) -> f64>,
) -> Cluster {
    // Weighted by how often each distinct text was sent: the centroid of the turns.
    let c = centroid(
        group
            .iter()
            .flat_map(|&k| std::iter::repeat_n(&vectors[k], d.members[k].len())),
    );
    let mut by_weight = c.clone();
    by_weight.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| features.terms[a.0 as usize].cmp(&features.terms[b.0 as usize]))
    });
    let top_terms: Vec<(String, f64)> = by_weight
        .iter()
        .take(opts.top_terms)
        .map(|&(id, w)| (features.terms[id as usize].clone(), w))
        .collect();
    let mut nearest: Vec<(f64, usize)> = group
        .iter()
        .map(|&k| {
            let near = nearness.map_or_else(|| dot(&vectors[k], &c), |f| f(k));
            (near, d.members[k][0])
        })
        .collect();
    nearest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut members: Vec<usize> = group
        .iter()
        .flat_map(|&k| d.members[k].iter().copied())
        .collect();
    members.sort_unstable();
    Cluster {
        id: slug(&by_weight, features, seen),
        members,
        top_terms,
        examples: nearest
            .into_iter()
            .take(opts.examples)
            .map(|(_, i)| i)
            .collect(),
    }
}

/// The top three single words of the centroid joined by "-" (pairs repeat their words),
/// each cut to 24 characters, made unique with "-2", "-3", … (the first free one)
fn slug(by_weight: &Vector, features: &Features, seen: &mut HashSet<String>) -> String {
    let words: Vec<String> = by_weight
        .iter()
        .map(|&(id, _)| features.terms[id as usize].as_str())
        .filter(|t| !t.contains(' '))
        .take(3)
        .map(|t| t.chars().take(24).collect())
        .collect();
    let base = if words.is_empty() {
        "cluster".to_string()
    } else {
        words.join("-")
    };
    if seen.insert(base.clone()) {
        return base;
    }
    let mut k = 2;
    loop {
        let id = format!("{base}-{k}");
        if seen.insert(id.clone()) {
            return id;
        }
        k += 1;
    }
}
