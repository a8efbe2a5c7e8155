//! Clustering flagged turns and matching clusters to eval cases, on the synth corpus with
//! planted failure modes: purity and recall of each mode's best cluster, covered/uncovered per
//! mode, and the edge cases. Prints the numbers
//! (`cargo test -p seam-signals --test clusters -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};

use seam_signals::synth::{MODES, ModeCorpus, Spec, generate_modes};
use seam_signals::{ClusterOptions, Clustering, DEFAULT_COVER_THRESHOLD, cluster, match_cases};

/// The flagged calls' user turns, in call order, with the mode of each (None: background).
struct Flagged {
    texts: Vec<String>,
    mode: Vec<Option<usize>>,
    cases: Vec<String>,
}

fn flagged() -> Flagged {
    let mc: ModeCorpus = generate_modes(29, &Spec::default(), 60);
    let (texts, mode) = mc.flagged();
    Flagged {
        texts,
        mode,
        cases: mc.cases,
    }
}

/// Per mode: (best cluster index, hits, mode's flagged turns, cluster size).
fn best_clusters(f: &Flagged, c: &Clustering) -> Vec<(Option<usize>, usize, usize, usize)> {
    (0..MODES.len())
        .map(|m| {
            let total = f.mode.iter().filter(|x| **x == Some(m)).count();
            let best = c
                .clusters
                .iter()
                .enumerate()
                .map(|(ci, cl)| {
                    let hits = cl.members.iter().filter(|&&i| f.mode[i] == Some(m)).count();
                    (hits, std::cmp::Reverse(ci), cl.members.len())
                })
                .max();
            match best {
                Some((hits, std::cmp::Reverse(ci), size)) if hits > 0 => {
                    (Some(ci), hits, total, size)
                }
                _ => (None, 0, total, 0),
            }
        })
        .collect()
}

#[test]
fn planted_modes_cluster_pure_and_whole() {
    let f = flagged();
    let texts: Vec<&str> = f.texts.iter().map(String::as_str).collect();
    let background = f.mode.iter().filter(|m| m.is_none()).count();
    println!(
        "{} flagged turns ({} from {} planted modes, {} background)",
        texts.len(),
        texts.len() - background,
        MODES.len(),
        background
    );
    println!("threshold  clusters  small  min-purity  min-recall");
    for t in [0.2, 0.25, 0.3, 0.325, 0.35, 0.375, 0.4, 0.5, 0.6] {
        let opts = ClusterOptions {
            threshold: t,
            ..ClusterOptions::default()
        };
        let c = cluster(&texts, &opts);
        let best = best_clusters(&f, &c);
        let purity = best
            .iter()
            .map(|&(_, h, _, s)| h as f64 / s.max(1) as f64)
            .fold(1.0, f64::min);
        let recall = best
            .iter()
            .map(|&(_, h, n, _)| h as f64 / n.max(1) as f64)
            .fold(1.0, f64::min);
        println!(
            "{t:.3}      {:>5}  {:>5}  {purity:.3}       {recall:.3}   {}",
            c.clusters.len(),
            c.small,
            best.iter()
                .map(|&(_, h, n, s)| format!(
                    "{:.2}/{:.2}",
                    h as f64 / s.max(1) as f64,
                    h as f64 / n.max(1) as f64
                ))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }

    let c = cluster(&texts, &ClusterOptions::default());
    let best = best_clusters(&f, &c);
    let matches = match_cases(
        &texts,
        &c,
        &f.cases.iter().map(String::as_str).collect::<Vec<_>>(),
        DEFAULT_COVER_THRESHOLD,
    );
    println!(
        "mode                   cluster                          purity recall  covered sim   nearest case"
    );
    for (m, &(ci, hits, total, size)) in best.iter().enumerate() {
        let mode = &MODES[m];
        let ci = ci.unwrap_or_else(|| panic!("mode {} in no cluster", mode.name));
        let (purity, recall) = (hits as f64 / size as f64, hits as f64 / total as f64);
        let cm = &matches[ci];
        println!(
            "{:<22} {:<32} {purity:.3}  {recall:.3}   {:<5}   {:.3} {:?}",
            mode.name,
            c.clusters[ci].id,
            cm.covered,
            cm.similarity,
            cm.case.map(|k| f.cases[k].as_str())
        );
        assert!(purity >= 0.9, "{}: purity {purity:.3}", mode.name);
        assert!(recall >= 0.8, "{}: recall {recall:.3}", mode.name);
        assert_eq!(
            cm.covered, mode.covered,
            "{}: covered {:.3}",
            mode.name, cm.similarity
        );
    }
    let mut by_size = BTreeMap::new();
    for cl in &c.clusters {
        *by_size.entry(cl.members.len()).or_insert(0) += 1;
    }
    println!(
        "clusters {} (sizes {by_size:?}), small {} holding {}, empty {}",
        c.clusters.len(),
        c.small,
        c.small_docs,
        c.empty
    );
}

#[test]
fn cover_threshold_sweep() {
    let f = flagged();
    let texts: Vec<&str> = f.texts.iter().map(String::as_str).collect();
    let cases: Vec<&str> = f.cases.iter().map(String::as_str).collect();
    let c = cluster(&texts, &ClusterOptions::default());
    let best = best_clusters(&f, &c);
    let m = match_cases(&texts, &c, &cases, DEFAULT_COVER_THRESHOLD);
    let sims: Vec<(bool, f64)> = best
        .iter()
        .zip(MODES)
        .filter_map(|(b, mode)| b.0.map(|ci| (mode.covered, m[ci].similarity)))
        .collect();
    let lowest_covered = sims.iter().filter(|s| s.0).map(|s| s.1).fold(1.0, f64::min);
    let highest_uncovered = sims
        .iter()
        .filter(|s| !s.0)
        .map(|s| s.1)
        .fold(0.0, f64::max);
    println!(
        "cover threshold  wrong modes  (covered modes >= {lowest_covered:.3}, uncovered <= {highest_uncovered:.3})"
    );
    for t in [0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 0.7] {
        let wrong = sims.iter().filter(|&&(cov, s)| (s >= t) != cov).count();
        println!("{t:.2}             {wrong}");
    }
    assert!(
        highest_uncovered < DEFAULT_COVER_THRESHOLD && DEFAULT_COVER_THRESHOLD <= lowest_covered
    );
    // Every cluster has a match, in order, and the covered flag follows the threshold.
    assert_eq!(m.len(), c.clusters.len());
    for (i, x) in m.iter().enumerate() {
        assert_eq!(x.cluster, i);
        assert_eq!(
            x.covered,
            x.case.is_some() && x.similarity >= DEFAULT_COVER_THRESHOLD
        );
    }
}

#[test]
fn empty_input_and_texts_without_features() {
    let opts = ClusterOptions::default();
    assert_eq!(cluster(&[], &opts), Clustering::default());
    let c = cluster(&["", "   ", "?!", "…"], &opts);
    assert_eq!((c.clusters.len(), c.small, c.empty), (0, 0, 4));
    assert!(match_cases(&[], &c, &["a case"], 0.45).is_empty());
}

#[test]
fn one_text_is_a_small_cluster_or_its_own() {
    let c = cluster(
        &["why is my invoice in dollars"],
        &ClusterOptions::default(),
    );
    assert_eq!((c.clusters.len(), c.small, c.small_docs), (0, 1, 1));
    let opts = ClusterOptions {
        min_cluster_size: 1,
        ..ClusterOptions::default()
    };
    let c = cluster(&["why is my invoice in dollars"], &opts);
    assert_eq!(c.clusters.len(), 1);
    assert_eq!(c.clusters[0].members, vec![0]);
    assert_eq!(c.clusters[0].examples, vec![0]);
    // Equal weights: terms in alphabetical order.
    assert_eq!(c.clusters[0].id, "dollar-invoice");
    // No cases: nothing covers it.
    let m = match_cases(&["why is my invoice in dollars"], &c, &[], 0.45);
    assert_eq!(
        (m[0].case, m[0].covered, m[0].similarity),
        (None, false, 0.0)
    );
}

#[test]
fn non_english_texts_cluster_by_their_own_words() {
    let texts = [
        "как оплатить счёт в евро",
        "счёт в евро не оплачивается",
        "оплатить счёт в евро нельзя",
        "請求書をユーロで支払う",
        "請求書をユーロで支払う",
        "請求書をユーロで支払う",
        "facture en euros impossible à payer",
        "payer la facture en euros",
        "la facture en euros ne passe pas",
    ];
    let opts = ClusterOptions {
        min_cluster_size: 3,
        ..ClusterOptions::default()
    };
    let c = cluster(&texts, &opts);
    let groups: Vec<Vec<usize>> = c.clusters.iter().map(|c| c.members.clone()).collect();
    println!("{:?}", c.clusters.iter().map(|c| &c.id).collect::<Vec<_>>());
    assert_eq!(groups, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8]]);
    assert!(c.clusters.iter().any(|c| c.id.contains("евро")));
}

#[test]
fn a_one_megabyte_text_is_cut_not_choked_on() {
    let big = "invoice currency ".repeat(1 << 16);
    assert!(big.len() >= 1 << 20);
    let texts = [
        big.as_str(),
        "invoice currency",
        "the invoice currency",
        "currency of my invoice",
        "webhooks failing",
    ];
    let opts = ClusterOptions {
        min_cluster_size: 2,
        ..ClusterOptions::default()
    };
    let c = cluster(&texts, &opts);
    assert_eq!(c.clusters.len(), 1);
    assert_eq!(c.clusters[0].members, vec![0, 1, 2, 3]);
    assert_eq!((c.small, c.small_docs), (1, 1));
    let m = match_cases(&texts, &c, &[big.as_str(), "webhooks"], 0.45);
    assert_eq!((m[0].case, m[0].covered), (Some(0), true));
}

#[test]
fn clustering_is_deterministic_and_ids_unique() {
    let f = flagged();
    let texts: Vec<&str> = f.texts.iter().map(String::as_str).collect();
    let (a, b) = (
        cluster(&texts, &ClusterOptions::default()),
        cluster(&texts, &ClusterOptions::default()),
    );
    assert_eq!(a, b);
    let ids: BTreeSet<&str> = a.clusters.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), a.clusters.len());
    for w in a.clusters.windows(2) {
        assert!(w[0].members.len() >= w[1].members.len(), "largest first");
    }
    for c in &a.clusters {
        assert!(c.members.windows(2).all(|p| p[0] < p[1]), "members sorted");
        assert!(c.examples.iter().all(|e| c.members.contains(e)));
        assert!(!c.top_terms.is_empty() && c.top_terms.len() <= 5);
    }
    let total: usize =
        a.clusters.iter().map(|c| c.members.len()).sum::<usize>() + a.small_docs + a.empty;
    assert_eq!(
        total,
        texts.len(),
        "every text in a cluster, a small one, or empty"
    );
}
