//! The signals against the seeded, labelled corpus: rephrase precision and recall, the false
//! rephrase rate on clean traffic, every other signal exactly on its planted cases. Prints the
//! numbers (`cargo test -p seam-signals --test corpus -- --nocapture`).

use std::collections::BTreeSet;

use seam_signals::synth::{Corpus, Spec, generate};
use seam_signals::{Options, Signal, scan};

fn corpus() -> Corpus {
    generate(29, &Spec::default())
}

fn flags_of(c: &Corpus, opts: &Options) -> BTreeSet<(String, Signal)> {
    scan(&c.turns, opts)
        .flags
        .into_iter()
        .map(|f| (f.call_id, f.signal))
        .collect()
}

fn only(set: &BTreeSet<(String, Signal)>, signal: Signal) -> BTreeSet<String> {
    set.iter()
        .filter(|(_, s)| *s == signal)
        .map(|(c, _)| c.clone())
        .collect()
}

struct Rephrase {
    precision: f64,
    recall: f64,
    recall_edited: f64,
    recall_reworded: f64,
    false_rate: f64,
    /// On clean pairs that are not one word away.
    false_rate_far: f64,
    near_miss_rate: f64,
}

fn rephrase(c: &Corpus, threshold: f64) -> Rephrase {
    let opts = Options {
        rephrase_threshold: threshold,
        now_ms: Some(c.now_ms),
        ..Options::default()
    };
    let got = only(&flags_of(c, &opts), Signal::Rephrase);
    let want = only(&c.planted, Signal::Rephrase);
    let hit = got.intersection(&want).count();
    let share = |part: usize, whole: usize| {
        if whole == 0 {
            1.0
        } else {
            part as f64 / whole as f64
        }
    };
    let edited: BTreeSet<_> = want.difference(&c.reworded).cloned().collect();
    Rephrase {
        precision: share(hit, got.len()),
        recall: share(hit, want.len()),
        recall_edited: share(got.intersection(&edited).count(), edited.len()),
        recall_reworded: share(got.intersection(&c.reworded).count(), c.reworded.len()),
        false_rate: share(
            got.intersection(&c.clean_pairs).count(),
            c.clean_pairs.len(),
        ),
        false_rate_far: share(
            got.intersection(&c.clean_pairs)
                .filter(|p| !c.near_misses.contains(*p))
                .count(),
            c.clean_pairs.len() - c.near_misses.len(),
        ),
        near_miss_rate: share(
            got.intersection(&c.near_misses).count(),
            c.near_misses.len(),
        ),
    }
}

#[test]
fn rephrase_precision_recall_and_false_rate_on_clean_traffic() {
    let c = corpus();
    println!(
        "corpus: {} turns, {} planted rephrases ({} reworded), {} clean pairs within 120 s ({} near misses)",
        c.turns.len(),
        only(&c.planted, Signal::Rephrase).len(),
        c.reworded.len(),
        c.clean_pairs.len(),
        c.near_misses.len()
    );
    println!("threshold precision recall (edited, reworded) false-rate (not near) near-miss-rate");
    for t in [0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5] {
        let r = rephrase(&c, t);
        println!(
            "{t:.2}      {:.3}     {:.3}  ({:.3}, {:.3})     {:.4} ({:.4})     {:.3}",
            r.precision,
            r.recall,
            r.recall_edited,
            r.recall_reworded,
            r.false_rate,
            r.false_rate_far,
            r.near_miss_rate
        );
    }
    let r = rephrase(&c, Options::default().rephrase_threshold);
    assert!(r.precision >= 0.9, "precision {:.3}", r.precision);
    assert!(
        r.recall_edited >= 0.9,
        "recall on edited rephrases {:.3}",
        r.recall_edited
    );
    assert!(
        r.false_rate_far <= 0.02,
        "false rephrase rate on clean pairs not one word away {:.4}",
        r.false_rate_far
    );
    // Below the targets, measured and held (docs/design/failures.md, "Limits"): hand
    // rewordings share too few words for any lexical measure, and a question one word away from
    // the previous looks like a rephrase. Embeddings through a route are the plan for both.
    assert!(r.recall >= 0.8, "recall on all rephrases {:.3}", r.recall);
    assert!(
        r.false_rate <= 0.03,
        "false rephrase rate on all clean pairs {:.4}",
        r.false_rate
    );
}

#[test]
fn other_signals_exact_on_planted_cases() {
    let c = corpus();
    let got = flags_of(
        &c,
        &Options {
            now_ms: Some(c.now_ms),
            ..Options::default()
        },
    );
    for signal in Signal::ALL.into_iter().filter(|s| *s != Signal::Rephrase) {
        let (g, w) = (only(&got, signal), only(&c.planted, signal));
        println!(
            "{:<10} planted {:>4}, flagged {:>4}",
            signal.as_str(),
            w.len(),
            g.len()
        );
        assert!(!w.is_empty(), "nothing planted for {}", signal.as_str());
        let missed: Vec<_> = w.difference(&g).take(5).collect();
        let extra: Vec<_> = g.difference(&w).take(5).collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "{}: missed {missed:?}, extra {extra:?}",
            signal.as_str()
        );
    }
}

#[test]
fn the_corpus_is_seeded() {
    let (a, b) = (corpus(), corpus());
    assert_eq!(a.turns, b.turns);
    assert_ne!(generate(30, &Spec::default()).turns, a.turns);
}
