//! Times clustering about 100,000 flagged turns and matching the clusters to the eval cases
//! (issue 29's budget: scan and cluster 100,000 calls in under 60 s). Two runs: the synth
//! corpus' flagged turns as generated (many repeat word for word), then each with one or two
//! words from a 20,000-word vocabulary added, so that almost every text is distinct (what
//! varied real traffic costs). Run:
//! `cargo run --release -p seam-signals --example cluster [FLAGGED [THRESHOLD]]`.

use std::time::Instant;

use seam_signals::synth::{MODES, Spec, generate_modes};
use seam_signals::{ClusterOptions, Clustering, DEFAULT_COVER_THRESHOLD, cluster, match_cases};

fn main() {
    let want: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    // 2,000 sessions and 60 a mode give about 1,900 flagged turns.
    let t0 = Instant::now();
    let mc = generate_modes(
        29,
        &Spec {
            sessions: 2000 * want / 1900,
            ..Spec::default()
        },
        60 * want / 1900,
    );
    let (texts, modes) = mc.flagged();
    println!(
        "{} turns, {} flagged turns with text, generated and scanned in {:.2} s",
        mc.corpus.turns.len(),
        texts.len(),
        t0.elapsed().as_secs_f64()
    );
    let cases: Vec<&str> = mc.cases.iter().map(String::as_str).collect();
    run("as generated", &texts, &modes, &cases);
    let varied: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let h = mix(i as u64);
            let extra = if h.is_multiple_of(2) {
                format!(" w{}", (h >> 8) % 20_000)
            } else {
                format!(" w{} w{}", (h >> 8) % 20_000, (h >> 32) % 20_000)
            };
            format!("{t}{extra}")
        })
        .collect();
    run("with noise words", &varied, &modes, &cases);
}

fn run(label: &str, texts: &[String], modes: &[Option<usize>], cases: &[&str]) {
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let t1 = Instant::now();
    let threshold = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(seam_signals::DEFAULT_THRESHOLD);
    let opts = ClusterOptions {
        threshold,
        ..ClusterOptions::default()
    };
    let c = cluster(&texts, &opts);
    let clustered = t1.elapsed();
    let t2 = Instant::now();
    let m = match_cases(&texts, &c, cases, DEFAULT_COVER_THRESHOLD);
    let matched = t2.elapsed();
    println!(
        "{label}: cluster {:.2} s ({} clusters, {} small holding {}), match {} cases {:.2} s",
        clustered.as_secs_f64(),
        c.clusters.len(),
        c.small,
        c.small_docs,
        cases.len(),
        matched.as_secs_f64()
    );
    for (mi, mode) in MODES.iter().enumerate() {
        let (ci, hits, total, size) = best(&c, modes, mi);
        println!(
            "  {:<26} purity {:.3} recall {:.3} covered {} (want {})",
            mode.name,
            hits as f64 / size.max(1) as f64,
            hits as f64 / total.max(1) as f64,
            ci.is_some_and(|ci| m[ci].covered),
            mode.covered
        );
    }
}

fn best(c: &Clustering, modes: &[Option<usize>], m: usize) -> (Option<usize>, usize, usize, usize) {
    let total = modes.iter().filter(|x| **x == Some(m)).count();
    c.clusters
        .iter()
        .enumerate()
        .map(|(ci, cl)| {
            let hits = cl.members.iter().filter(|&&i| modes[i] == Some(m)).count();
            (hits, ci, cl.members.len())
        })
        .max_by_key(|&(hits, ci, _)| (hits, std::cmp::Reverse(ci)))
        .map_or((None, 0, total, 0), |(hits, ci, size)| {
            (Some(ci), hits, total, size)
        })
}

/// SplitMix64's finalizer: which noise words a text gets, the same on every run.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
