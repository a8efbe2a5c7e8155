//! Clusters held against eval cases (issue 29, step 6): is there a case in the datasets that
//! asks what a cluster's users asked? A cluster with none is a failure mode no eval watches.
//!
//! Same features as clustering, with the IDF fitted on the flagged texts and the case inputs
//! together (a term common in the cases is no evidence either). A cluster's similarity to a
//! case is the cosine of its centroid (the mean of its turns' vectors) with the case's vector.
//! Why the centroid: it is the cluster's profile, weighted by how often each wording was sent,
//! so a case matching the cluster's common wording scores high and a case sharing one stray
//! word with a few members does not; one number per (cluster, case), and a nearest case.

use serde::Serialize;

use crate::cluster::{Clustering, distinct};
use crate::features::{Features, Vector, centroid, dot};

/// Centroid cosine at or above which a cluster counts as covered by its nearest case.
/// Calibrated on the synth failure modes (docs/design/failures.md §4): covered modes scored
/// 0.66-0.81 against their nearest case, uncovered ones 0.02-0.27 (the highest: "cancel mid
/// cycle, prorated refund" against "how do i cancel my subscription"); 0.45 is midway.
pub const DEFAULT_COVER_THRESHOLD: f64 = 0.45;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseMatch {
    /// Index into `Clustering::clusters`.
    pub cluster: usize,
    /// The nearest case (index into the cases), `None` when no case shares a term.
    pub case: Option<usize>,
    /// Cosine of the cluster's centroid and the nearest case (0 without one).
    pub similarity: f64,
    pub covered: bool,
}

/// One match per cluster, in the clustering's order. `texts` are the texts that were
/// clustered (the same slice, so that member indices point into it).
pub fn match_cases(
    texts: &[&str],
    clustering: &Clustering,
    cases: &[&str],
    cover_threshold: f64,
) -> Vec<CaseMatch> {
    let (d, _) = distinct(texts);
    let features = Features::fit(
        d.texts
            .iter()
            .map(String::as_str)
            .chain(cases.iter().copied()),
    );
    let mut distinct_of: Vec<Option<usize>> = vec![None; texts.len()];
    for (k, members) in d.members.iter().enumerate() {
        for &i in members {
            distinct_of[i] = Some(k);
        }
    }
    let vectors: Vec<Vector> = (0..d.texts.len()).map(|k| features.vector(k)).collect();
    let case_vectors: Vec<Vector> = (0..cases.len())
        .map(|c| features.vector(d.texts.len() + c))
        .collect();
    clustering
        .clusters
        .iter()
        .enumerate()
        .map(|(ci, cluster)| {
            // A member index outside `texts` (another slice was passed) is skipped.
            let c = centroid(
                cluster
                    .members
                    .iter()
                    .filter_map(|&i| distinct_of.get(i).copied().flatten())
                    .map(|k| &vectors[k]),
            );
            let mut best: Option<(usize, f64)> = None;
            for (j, v) in case_vectors.iter().enumerate() {
                let s = dot(&c, v);
                if s > 0.0 && best.is_none_or(|(_, b)| s > b) {
                    best = Some((j, s));
                }
            }
            let similarity = best.map_or(0.0, |(_, s)| s);
            CaseMatch {
                cluster: ci,
                case: best.map(|(j, _)| j),
                similarity,
                covered: best.is_some() && similarity >= cover_threshold,
            }
        })
        .collect()
}
