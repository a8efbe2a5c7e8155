//! Times a scan of about 100,000 generated turns (issue 29's budget: scan and cluster 100,000
//! calls in under 60 s). Run: `cargo run --release -p seam-signals --example scan [TURNS]`.

use std::collections::BTreeMap;
use std::time::Instant;

use seam_signals::synth::{Spec, generate};
use seam_signals::{Options, Sketch, normalize, scan};

fn main() {
    let want: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let t0 = Instant::now();
    // About 3.3 turns a session at the default shares.
    let corpus = generate(
        29,
        &Spec {
            sessions: want * 10 / 33,
            ..Spec::default()
        },
    );
    let generated = t0.elapsed();

    let opts = Options {
        now_ms: Some(corpus.now_ms),
        ..Options::default()
    };
    let t1 = Instant::now();
    let out = scan(&corpus.turns, &opts);
    let scanned = t1.elapsed();

    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &out.flags {
        *per.entry(f.signal.as_str()).or_default() += 1;
    }
    println!(
        "{} turns generated in {:.2} s",
        corpus.turns.len(),
        generated.as_secs_f64()
    );
    println!(
        "scan: {:.3} s ({:.1} µs a turn), {} flags {per:?}",
        scanned.as_secs_f64(),
        scanned.as_secs_f64() * 1e6 / corpus.turns.len() as f64,
        out.flags.len()
    );

    // What the rephrase check costs: sketches, then the MinHash estimate against exact Jaccard.
    let texts: Vec<String> = corpus
        .turns
        .iter()
        .filter_map(|t| t.user_text.as_deref())
        .map(normalize)
        .collect();
    let t2 = Instant::now();
    let sketches: Vec<Sketch> = texts.iter().map(|t| Sketch::new(t)).collect();
    let sketched = t2.elapsed();
    let t3 = Instant::now();
    let est: f64 = sketches.windows(2).map(|w| w[0].estimate(&w[1])).sum();
    let estimated = t3.elapsed();
    let t4 = Instant::now();
    let exact: f64 = sketches.windows(2).map(|w| w[0].jaccard(&w[1])).sum();
    let exacted = t4.elapsed();
    println!(
        "{} texts: sketches {:.3} s; {} pairs: MinHash estimate {:.1} ms, exact Jaccard {:.1} ms (mean {:.3} vs {:.3})",
        texts.len(),
        sketched.as_secs_f64(),
        sketches.len().saturating_sub(1),
        estimated.as_secs_f64() * 1e3,
        exacted.as_secs_f64() * 1e3,
        est / sketches.len() as f64,
        exact / sketches.len() as f64
    );
}
