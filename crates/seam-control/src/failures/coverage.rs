//! `seam coverage`: the flagged calls' user turns clustered (`seam_signals::cluster`), each
//! cluster held against the eval datasets' case inputs, the clusters no case is close to
//! ("uncovered failure modes") first.

use super::embed::{Embedder, MAX_CLUSTER_TEXTS};
use super::scan::{Scanned, Window, scan_window};
use crate::Result;
use seam_evals::dataset::{Case, Dataset};
use seam_signals::{
    CaseMatch, ClusterOptions, Clustering, cluster_dense, cluster_in, match_cases,
    match_cases_dense,
};
use seam_store::{Failures, Records, Tenants};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// An example's text is cut to this many characters in a report (the call has the rest).
const EXAMPLE_CHARS: usize = 160;

#[derive(Debug, Clone)]
pub struct CoverageOptions {
    pub signals: seam_signals::Options,
    pub cluster: ClusterOptions,
    /// Nearest-case similarity at or above which a cluster counts as covered.
    pub cover_threshold: f64,
}

/// One failure mode: flagged user turns that read alike.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterView {
    pub id: String,
    pub size: usize,
    /// Of the flagged calls with text.
    pub share: f64,
    pub signals: BTreeMap<String, usize>,
    pub routes: Vec<String>,
    pub releases: Vec<String>,
    pub top_terms: Vec<String>,
    pub examples: Vec<Example>,
    pub nearest_case: Option<CaseRef>,
    pub similarity: f64,
    pub covered: bool,
    /// Every member's call id (what `seam coverage export` writes cases from).
    #[serde(skip)]
    pub calls: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub call_id: String,
    /// The user turn, cut to a line.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseRef {
    pub dataset: String,
    pub case_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoverageReport {
    pub since_ms: i64,
    pub until_ms: i64,
    pub datasets: Vec<String>,
    pub cases: usize,
    /// Calls with at least one signal.
    pub flagged_calls: usize,
    /// Of those, the calls with captured user text: what is clustered.
    pub flagged_with_text: usize,
    /// Uncovered first, then largest first.
    pub clusters: Vec<ClusterView>,
    /// Clusters under `min_cluster_size`, shown only in aggregate (privacy).
    pub small_clusters: usize,
    pub small_cluster_calls: usize,
    /// Share of the flagged calls with text that fall in a covered cluster.
    pub covered_share: f64,
    pub cover_threshold: f64,
    pub scanned: Scanned,
    pub method: &'static str,
    /// What the clusters and the coverage compared texts with: "lexical", "embeddings via
    /// route `…`", or "lexical (…)" saying why the route's embeddings were not used.
    pub similarity: String,
}

pub const METHOD: &str = "clusters: TF-IDF of the flagged calls' last user turns (the window's \
other user turns weigh the words), near duplicates joined by MinHash-LSH, then centroid linkage \
at cosine >= the cluster threshold; coverage: the nearest eval case input to a cluster's \
centroid by the same features";

pub const METHOD_EMBEDDINGS: &str = "clusters: the flagged calls' last user turns embedded through \
the route, merged by centroid linkage while the centroids' cosine is >= the embedding cluster \
threshold (top terms from TF-IDF); coverage: the eval case input whose embedding is nearest \
(cosine) to a cluster's mean embedding";

/// Scans `[since_ms, until_ms)` (storing its flags), clusters the flagged calls' user turns
/// and matches each cluster against `datasets`' cases.
pub async fn coverage(
    store: &(impl Failures + Records + ?Sized),
    tenants: &Tenants,
    since_ms: i64,
    until_ms: i64,
    datasets: &[Dataset],
    opts: &CoverageOptions,
    mut embed: Option<&mut Embedder<'_>>,
) -> Result<CoverageReport> {
    let (scanned, window, flags) = scan_window(
        store,
        since_ms,
        until_ms,
        tenants,
        &opts.signals,
        embed.as_deref_mut(),
    )
    .await?;
    let mut signals: HashMap<String, BTreeSet<String>> = HashMap::new();
    for f in flags {
        signals.entry(f.call_id).or_default().insert(f.signal);
    }
    // The flagged calls of this window with text, in the window's order (deterministic).
    let flagged: Vec<usize> = (0..window.calls.len())
        .filter(|&i| signals.contains_key(&window.calls[i].id))
        .collect();
    let with_text: Vec<usize> = flagged
        .iter()
        .copied()
        .filter(|&i| {
            window.turns[i]
                .user_text
                .as_deref()
                .is_some_and(|t| !t.trim().is_empty())
        })
        .collect();
    let texts: Vec<&str> = with_text
        .iter()
        .map(|&i| window.turns[i].user_text.as_deref().unwrap_or_default())
        .collect();
    // The other user turns of the window weigh the words (see `cluster_in`).
    let flagged_set: HashSet<usize> = with_text.iter().copied().collect();
    let background: Vec<&str> = window
        .turns
        .iter()
        .enumerate()
        .filter(|(i, _)| !flagged_set.contains(i))
        .filter_map(|(_, t)| t.user_text.as_deref())
        .filter(|t| !t.trim().is_empty())
        .collect();
    let cases: Vec<(&str, &Case)> = datasets
        .iter()
        .flat_map(|d| d.cases.iter().map(move |c| (d.name.as_str(), c)))
        .collect();
    let case_texts: Vec<String> = cases
        .iter()
        .map(|(_, c)| case_text(c).unwrap_or_default())
        .collect();
    let case_refs: Vec<&str> = case_texts.iter().map(String::as_str).collect();
    let by_embeddings = match embed {
        Some(e) => dense(e, &texts, &background, &case_refs, opts).await,
        None => Err("lexical".to_string()),
    };
    let (clustering, matches, similarity, cover_threshold, method) = match by_embeddings {
        Ok((c, m, similarity, cover)) => (c, m, similarity, cover, METHOD_EMBEDDINGS),
        Err(similarity) => {
            let clustering = cluster_in(&texts, &background, &opts.cluster);
            let matches = match_cases(&texts, &clustering, &case_refs, opts.cover_threshold);
            (
                clustering,
                matches,
                similarity,
                opts.cover_threshold,
                METHOD,
            )
        }
    };
    let total = with_text.len().max(1) as f64;
    let mut clusters: Vec<ClusterView> = clustering
        .clusters
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            let m = matches.iter().find(|m| m.cluster == ci);
            let members: Vec<usize> = c.members.iter().map(|&k| with_text[k]).collect();
            view(
                c,
                &members,
                &window,
                &signals,
                &texts,
                &with_text,
                m.and_then(|m| m.case).and_then(|k| cases.get(k)),
                m.map_or(0.0, |m| m.similarity),
                m.is_some_and(|m| m.covered),
                total,
            )
        })
        .collect();
    clusters.sort_by(|a, b| {
        a.covered
            .cmp(&b.covered)
            .then(b.size.cmp(&a.size))
            .then_with(|| a.id.cmp(&b.id))
    });
    let covered: usize = clusters.iter().filter(|c| c.covered).map(|c| c.size).sum();
    Ok(CoverageReport {
        since_ms,
        until_ms,
        datasets: datasets.iter().map(|d| d.name.clone()).collect(),
        cases: cases.len(),
        flagged_calls: flagged.len(),
        flagged_with_text: with_text.len(),
        clusters,
        small_clusters: clustering.small,
        small_cluster_calls: clustering.small_docs,
        covered_share: covered as f64 / total,
        cover_threshold,
        scanned,
        method,
        similarity,
    })
}

/// The clusters and their nearest cases by embeddings: `Err` is the report's `similarity`
/// when they could not be used (the route failed, too many texts, vectors that do not
/// compare), and the caller clusters lexically.
async fn dense(
    e: &mut Embedder<'_>,
    texts: &[&str],
    background: &[&str],
    cases: &[&str],
    opts: &CoverageOptions,
) -> std::result::Result<(Clustering, Vec<CaseMatch>, String, f64), String> {
    let distinct: HashSet<String> = texts.iter().map(|t| seam_signals::normalize(t)).collect();
    if distinct.len() > MAX_CLUSTER_TEXTS {
        return Err(format!(
            "lexical ({} distinct flagged texts: embeddings cluster at most {MAX_CLUSTER_TEXTS})",
            distinct.len()
        ));
    }
    if !e.embed(texts.iter().chain(cases).copied()).await {
        return Err(e.similarity());
    }
    if !e.has_all(texts.iter().copied()) {
        return Err(format!(
            "lexical (not every flagged text was embedded through route `{}`: {})",
            e.route,
            e.similarity()
        ));
    }
    let cluster = ClusterOptions {
        threshold: e.cluster_threshold,
        ..opts.cluster.clone()
    };
    let vectors: &dyn seam_signals::Vectors = &*e;
    let unusable = || {
        format!(
            "lexical (route `{}` gave embeddings of different sizes, or zero ones)",
            e.route
        )
    };
    let clustering = cluster_dense(texts, background, vectors, &cluster).ok_or_else(unusable)?;
    let matches = match_cases_dense(texts, &clustering, cases, vectors, e.cover_threshold)
        .ok_or_else(unusable)?;
    let similarity = format!(
        "embeddings via route `{}` (clusters at cosine >= {:.2})",
        e.route, e.cluster_threshold
    );
    Ok((clustering, matches, similarity, e.cover_threshold))
}

#[allow(clippy::too_many_arguments)]
fn view(
    c: &seam_signals::Cluster,
    members: &[usize],
    window: &Window,
    signals: &HashMap<String, BTreeSet<String>>,
    texts: &[&str],
    with_text: &[usize],
    case: Option<&(&str, &Case)>,
    similarity: f64,
    covered: bool,
    total: f64,
) -> ClusterView {
    let mut by_signal: BTreeMap<String, usize> = BTreeMap::new();
    let mut routes = BTreeSet::new();
    let mut releases = BTreeSet::new();
    for &i in members {
        let call = &window.calls[i];
        for s in signals.get(&call.id).into_iter().flatten() {
            *by_signal.entry(s.clone()).or_default() += 1;
        }
        routes.insert(call.route.clone());
        if let Some(r) = &call.release_id {
            releases.insert(r.clone());
        }
    }
    ClusterView {
        id: c.id.clone(),
        size: c.members.len(),
        share: c.members.len() as f64 / total,
        signals: by_signal,
        routes: routes.into_iter().collect(),
        releases: releases.into_iter().collect(),
        top_terms: c.top_terms.iter().map(|(t, _)| t.clone()).collect(),
        examples: c
            .examples
            .iter()
            .map(|&k| Example {
                call_id: window.calls[with_text[k]].id.clone(),
                text: one_line(texts[k], EXAMPLE_CHARS),
            })
            .collect(),
        nearest_case: case.map(|(d, c)| CaseRef {
            dataset: d.to_string(),
            case_id: c.id.clone(),
        }),
        similarity,
        covered,
        calls: members
            .iter()
            .map(|&i| window.calls[i].id.clone())
            .collect(),
    }
}

/// What a case asks, as a flagged call's last user turn would: its last user message, else
/// its variables' strings.
pub fn case_text(case: &Case) -> Option<String> {
    let from_messages = case.input.as_ref().and_then(|i| {
        i.messages
            .iter()
            .rev()
            .find(|m| m["role"].as_str() == Some("user"))
            .map(|m| strings(&m["content"]))
    });
    from_messages
        .or_else(|| case.variables.as_ref().map(strings))
        .filter(|t| !t.trim().is_empty())
}

fn strings(v: &Value) -> String {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|i| walk(i, out)),
            // A content part: its text, not its `type`.
            Value::Object(o) => match o.get("text") {
                Some(Value::String(t)) => out.push(t),
                _ => o.values().for_each(|i| walk(i, out)),
            },
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    out.join("\n")
}

/// `text` on one line, at most `max` characters (an ellipsis says it was cut).
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
