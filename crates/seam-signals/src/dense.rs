//! Embeddings (dense vectors from a model, fetched by the caller) in place of the lexical
//! measures: cosine for the rephrase signal, and clusters by centroid linkage on cosine.
//! The sparse agglomeration (`agglomerate.rs`) finds its candidate pairs through shared
//! terms, which dense vectors do not have, so this module compares every pair once; the
//! caller bounds how many texts it embeds (`seam-control`'s embedder), and the cost with it.
//! Top terms, ids and sizes are still those of the TF-IDF features: a reader wants words.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};

use crate::cluster::{ClusterOptions, Clustering, Distinct, describe, distinct, keep, tf_idf};
use crate::coverage::CaseMatch;
use crate::pairs::UnionFind;

/// Where the embeddings of texts are: the caller fetched them (through a route) and keys
/// them as it likes; `None` for a text it has none for.
pub trait Vectors {
    fn vector(&self, text: &str) -> Option<&[f32]>;
}

impl Vectors for HashMap<String, Vec<f32>> {
    fn vector(&self, text: &str) -> Option<&[f32]> {
        self.get(text).map(Vec::as_slice)
    }
}

/// The rephrase signal by embeddings: a pair of turns both with a vector is a rephrase when
/// their cosine reaches `rephrase_threshold`; a pair without is compared lexically.
pub struct Dense<'a> {
    pub vectors: &'a dyn Vectors,
    pub rephrase_threshold: f64,
}

pub use seam_wire::cosine;

/// A neighbour kept this far under the threshold may still reach it once its cluster's
/// centroid moves; farther ones are dropped (each kept one costs a product per merge).
const KEEP_MARGIN: f64 = 0.15;
/// Neighbours a group keeps (the most similar).
const MAX_NEIGHBOURS: usize = 48;

/// [`crate::cluster_in`] on embeddings: the texts (deduplicated on their normalized form, as
/// the lexical clustering does) merged by centroid linkage on cosine while the best pair
/// reaches `opts.threshold`. `None` when a text has no vector or the vectors' sizes differ
/// (the caller falls back to the lexical clustering and says so).
pub fn cluster_dense(
    texts: &[&str],
    background: &[&str],
    vectors: &dyn Vectors,
    opts: &ClusterOptions,
) -> Option<Clustering> {
    let (d, empty) = distinct(texts);
    let dense = distinct_vectors(&d, texts, vectors)?;
    let weights: Vec<f64> = d.members.iter().map(|m| m.len() as f64).collect();
    let groups = centroid_linkage(&dense, &weights, opts.threshold);
    let (features, sparse) = tf_idf(&d, background);
    let mut out = Clustering {
        empty,
        ..Clustering::default()
    };
    let kept = keep(groups, &d, opts, &mut out);
    let mut seen: HashSet<String> = HashSet::new();
    for g in kept {
        let centre = weighted_sum(g.iter().map(|&k| (dense[k].as_slice(), weights[k])));
        let score = |k: usize| cosine(&dense[k], &centre).unwrap_or(0.0);
        let c = describe(&g, &d, &sparse, &features, opts, &mut seen, Some(&score));
        out.clusters.push(c);
    }
    Some(out)
}

/// Each cluster's nearest case by the cosine of the cluster's mean embedding (each turn
/// counted) and the case's; cases without a vector are skipped. `None` as in
/// [`cluster_dense`].
pub fn match_cases_dense(
    texts: &[&str],
    clustering: &Clustering,
    cases: &[&str],
    vectors: &dyn Vectors,
    cover_threshold: f64,
) -> Option<Vec<CaseMatch>> {
    let case_vectors: Vec<Option<&[f32]>> = cases.iter().map(|c| vectors.vector(c)).collect();
    let mut out = Vec::with_capacity(clustering.clusters.len());
    for (ci, cluster) in clustering.clusters.iter().enumerate() {
        let members: Vec<&[f32]> = cluster
            .members
            .iter()
            .filter_map(|&i| texts.get(i))
            .map(|t| vectors.vector(t))
            .collect::<Option<_>>()?;
        let centre = weighted_sum(members.iter().map(|v| (*v, 1.0)));
        let mut best: Option<(usize, f64)> = None;
        for (j, v) in case_vectors.iter().enumerate() {
            let Some(s) = v.and_then(|v| cosine(&centre, v)) else {
                continue;
            };
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((j, s));
            }
        }
        let similarity = best.map_or(0.0, |(_, s)| s.max(0.0));
        out.push(CaseMatch {
            cluster: ci,
            case: best.map(|(j, _)| j),
            similarity,
            covered: best.is_some() && similarity >= cover_threshold,
        });
    }
    Some(out)
}

/// One unit vector per distinct text (its first member's embedding), all of one size.
fn distinct_vectors(d: &Distinct, texts: &[&str], vectors: &dyn Vectors) -> Option<Vec<Vec<f32>>> {
    let mut out: Vec<Vec<f32>> = Vec::with_capacity(d.texts.len());
    for members in &d.members {
        let v = vectors.vector(texts.get(*members.first()?)?)?;
        if out.first().is_some_and(|f| f.len() != v.len()) {
            return None;
        }
        let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return None;
        }
        out.push(v.iter().map(|x| (f64::from(*x) / norm) as f32).collect());
    }
    Some(out)
}

fn weighted_sum<'a>(vs: impl Iterator<Item = (&'a [f32], f64)>) -> Vec<f32> {
    let mut sum: Vec<f64> = Vec::new();
    for (v, w) in vs {
        if sum.is_empty() {
            sum = vec![0.0; v.len()];
        }
        for (s, x) in sum.iter_mut().zip(v) {
            *s += f64::from(*x) * w;
        }
    }
    sum.into_iter().map(|x| x as f32).collect()
}

/// Centroid linkage on cosine: repeatedly merge the two groups whose summed vectors (each
/// text weighted by how often it was sent) have the highest cosine, while it reaches
/// `threshold`. Every pair is compared once at the start; afterwards a merged group is
/// compared only with both sides' kept neighbours. Returns groups of indices, each sorted,
/// in order of their first index. Deterministic: ties go to the smallest indices.
pub(crate) fn centroid_linkage(
    units: &[Vec<f32>],
    weights: &[f64],
    threshold: f64,
) -> Vec<Vec<usize>> {
    let n = units.len();
    let floor = threshold - KEEP_MARGIN;
    let mut neighbours: Vec<Vec<(f64, u32)>> = vec![Vec::new(); n];
    let mut heap = BinaryHeap::new();
    for a in 0..n {
        for b in a + 1..n {
            let s = cosine(&units[a], &units[b]).unwrap_or(-1.0);
            if s >= floor {
                neighbours[a].push((s, b as u32));
                neighbours[b].push((s, a as u32));
            }
            if s >= threshold {
                heap.push(Pair {
                    sim: s,
                    a,
                    b,
                    va: 0,
                    vb: 0,
                });
            }
        }
    }
    let mut neighbours: Vec<Vec<u32>> = neighbours
        .into_iter()
        .map(|mut ns| {
            ns.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            ns.truncate(MAX_NEIGHBOURS);
            ns.into_iter().map(|(_, h)| h).collect()
        })
        .collect();
    let mut sums: Vec<Vec<f32>> = units
        .iter()
        .zip(weights)
        .map(|(v, w)| v.iter().map(|x| x * *w as f32).collect())
        .collect();
    let mut uf = UnionFind::new(n);
    let mut version = vec![0u32; n];
    while let Some(p) = heap.pop() {
        let (a, b) = (p.a, p.b);
        if uf.find(a) != a || uf.find(b) != b || version[a] != p.va || version[b] != p.vb {
            continue;
        }
        let sb = std::mem::take(&mut sums[b]);
        sums[a].iter_mut().zip(&sb).for_each(|(x, y)| *x += y);
        // The smaller root wins (`UnionFind::union`), and a < b: the merged sum stays at `a`.
        uf.union(a, b);
        version[a] += 1;
        let mut live: Vec<usize> = std::mem::take(&mut neighbours[p.a])
            .into_iter()
            .chain(std::mem::take(&mut neighbours[p.b]))
            .map(|h| uf.find(h as usize))
            .filter(|&h| h != a)
            .collect();
        live.sort_unstable();
        live.dedup();
        let mut scored: Vec<(f64, usize)> = live
            .into_iter()
            .map(|h| (cosine(&sums[a], &sums[h]).unwrap_or(-1.0), h))
            .filter(|&(s, _)| s >= floor)
            .collect();
        scored.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        scored.truncate(MAX_NEIGHBOURS);
        for &(s, h) in &scored {
            if s >= threshold {
                let (x, y) = (a.min(h), a.max(h));
                heap.push(Pair {
                    sim: s,
                    a: x,
                    b: y,
                    va: version[x],
                    vb: version[y],
                });
            }
        }
        neighbours[a] = scored.into_iter().map(|(_, h)| h as u32).collect();
    }
    uf.groups(|_| true)
}

/// A pair to merge, best first: highest cosine, then the smallest indices.
struct Pair {
    sim: f64,
    a: usize,
    b: usize,
    va: u32,
    vb: u32,
}

impl Ord for Pair {
    fn cmp(&self, o: &Pair) -> Ordering {
        self.sim
            .total_cmp(&o.sim)
            .then_with(|| o.a.cmp(&self.a))
            .then_with(|| o.b.cmp(&self.b))
    }
}
impl PartialOrd for Pair {
    fn partial_cmp(&self, o: &Pair) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl PartialEq for Pair {
    fn eq(&self, o: &Pair) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Pair {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::mix;
    use crate::{Options, Signal, Turn, scan, scan_dense};

    /// A deterministic value in [-1, 1) from a seed.
    fn noise(seed: u64) -> f32 {
        ((mix(seed) >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
    }

    fn unit(seed: u64, dims: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dims as u64).map(|d| noise(seed * 1_000 + d)).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    /// `centre` moved by noise of size `spread`.
    fn near(centre: &[f32], seed: u64, spread: f32) -> Vec<f32> {
        let jitter = unit(seed, centre.len());
        centre
            .iter()
            .zip(jitter)
            .map(|(c, j)| c + spread * j)
            .collect()
    }

    #[test]
    fn planted_clusters_are_recovered_and_outliers_left_small() {
        const DIMS: usize = 48;
        let mut texts: Vec<String> = Vec::new();
        let mut vectors: HashMap<String, Vec<f32>> = HashMap::new();
        let mut truth: Vec<Option<usize>> = Vec::new();
        // Three modes of 12 wordings each, interleaved with 10 unrelated questions.
        for i in 0..46u64 {
            let (text, v, mode) = if i % 4 == 3 && i < 40 {
                (
                    format!("unrelated question number {i}"),
                    unit(500 + i, DIMS),
                    None,
                )
            } else {
                let m = (i % 3) as usize;
                let centre = unit(m as u64 + 1, DIMS);
                (
                    format!("mode {m} wording {i}"),
                    near(&centre, 900 + i, 0.35),
                    Some(m),
                )
            };
            vectors.insert(text.clone(), v);
            texts.push(text);
            truth.push(mode);
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let opts = ClusterOptions {
            threshold: 0.75,
            min_cluster_size: 3,
            ..ClusterOptions::default()
        };
        let c = cluster_dense(&refs, &[], &vectors, &opts).expect("every text has a vector");
        assert_eq!(c.clusters.len(), 3, "{c:?}");
        for cl in &c.clusters {
            let modes: HashSet<Option<usize>> = cl.members.iter().map(|&i| truth[i]).collect();
            assert_eq!(modes.len(), 1, "a cluster mixes modes: {cl:?}");
            let m = truth[cl.members[0]];
            assert!(m.is_some(), "an unrelated question made a cluster");
            let planted = truth.iter().filter(|t| **t == m).count();
            assert_eq!(cl.members.len(), planted, "mode {m:?} split");
            assert!(cl.id.contains("mode"), "ids come from the words: {}", cl.id);
        }
        assert_eq!(c.small_docs, truth.iter().filter(|t| t.is_none()).count());

        // Held against cases: one near mode 0's centre, one unrelated.
        let cases = ["case near mode zero", "case about something else"];
        vectors.insert(cases[0].into(), near(&unit(1, DIMS), 7, 0.2));
        vectors.insert(cases[1].into(), unit(4242, DIMS));
        let m = match_cases_dense(&refs, &c, &cases, &vectors, 0.7).expect("vectors");
        for (cl, m) in c.clusters.iter().zip(&m) {
            let mode0 = truth[cl.members[0]] == Some(0);
            assert_eq!(m.covered, mode0, "{cl:?} {m:?}");
            if mode0 {
                assert_eq!(m.case, Some(0));
                assert!(m.similarity > 0.8, "{m:?}");
            }
        }

        // A text without a vector: no dense clustering (the caller falls back and says so).
        let mut more = refs.clone();
        more.push("never embedded");
        assert!(cluster_dense(&more, &[], &vectors, &opts).is_none());
    }

    #[test]
    fn linkage_merges_by_centroid_not_by_a_chain() {
        // Points along an arc: each is close to the next (cosine 0.95) but the ends are far
        // apart. Single-link would chain them all; centroid linkage at 0.9 must not.
        let arc: Vec<Vec<f32>> = (0..12)
            .map(|i| {
                let a = i as f32 * 0.3;
                vec![a.cos(), a.sin()]
            })
            .collect();
        let groups = centroid_linkage(&arc, &[1.0; 12], 0.9);
        assert!(groups.len() > 1, "{groups:?}");
        assert!(groups.iter().all(|g| g.len() < 12));
        // Identical points merge whatever their weights.
        let same = vec![vec![1.0, 0.0]; 3];
        assert_eq!(
            centroid_linkage(&same, &[1.0, 5.0, 2.0], 0.99),
            vec![vec![0, 1, 2]]
        );
    }

    fn turn(id: &str, at_ms: i64, text: &str) -> Turn {
        Turn {
            call_id: id.into(),
            session: Some(format!("s-{}", &id[..1])),
            at_ms,
            user_text: Some(text.into()),
            outcome: "ok".into(),
            ..Turn::default()
        }
    }

    #[test]
    fn rephrase_by_cosine_where_both_turns_have_vectors_else_lexical() {
        // a1/a2 share no content word (lexically not a rephrase), but their embeddings agree;
        // b1/b2 share most words, but their embeddings disagree; c1/c2 have no vectors.
        let turns = [
            turn("a1", 0, "how do i reset my password"),
            turn("a2", 30_000, "i forgot my login credentials"),
            turn("b1", 0, "change my billing address"),
            turn("b2", 30_000, "change my email address"),
            turn("c1", 0, "export invoices to csv"),
            turn("c2", 30_000, "export my invoices as csv please"),
        ];
        let opts = Options::default();
        let plain = scan(&turns, &opts);
        let lexical: Vec<&str> = plain
            .flags
            .iter()
            .filter(|f| f.signal == Signal::Rephrase)
            .map(|f| f.call_id.as_str())
            .collect();
        assert_eq!(lexical, ["b1", "c1"]);

        let mut vectors: HashMap<String, Vec<f32>> = HashMap::new();
        vectors.insert(
            turns[0].user_text.clone().unwrap_or_default(),
            vec![1.0, 0.1, 0.0],
        );
        vectors.insert(
            turns[1].user_text.clone().unwrap_or_default(),
            vec![0.95, 0.2, 0.0],
        );
        vectors.insert(
            turns[2].user_text.clone().unwrap_or_default(),
            vec![0.0, 1.0, 0.0],
        );
        vectors.insert(
            turns[3].user_text.clone().unwrap_or_default(),
            vec![0.0, 0.3, 1.0],
        );
        let dense = Dense {
            vectors: &vectors,
            rephrase_threshold: 0.85,
        };
        let out = scan_dense(&turns, &opts, &dense);
        let flagged: Vec<(&str, &str)> = out
            .flags
            .iter()
            .filter(|f| f.signal == Signal::Rephrase)
            .map(|f| (f.call_id.as_str(), f.evidence.as_str()))
            .collect();
        assert_eq!(flagged.len(), 2, "{flagged:?}");
        assert_eq!(flagged[0].0, "a1");
        assert!(
            flagged[0].1.contains("embeddings' cosine 0.99"),
            "{flagged:?}"
        );
        assert_eq!(flagged[1].0, "c1");
        assert!(flagged[1].1.contains("Jaccard"), "{flagged:?}");
        // What is worth embedding: every turn of a pair within the window.
        assert_eq!(crate::rephrase_texts(&turns, &opts), [0, 1, 2, 3, 4, 5]);
        let late = [
            turn("d1", 0, "one question"),
            turn("d2", 500_000, "another one"),
        ];
        assert!(crate::rephrase_texts(&late, &opts).is_empty());
    }
}
