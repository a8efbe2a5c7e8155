//! The gate at the benchmark size: 10,000 cases with scores and 10,000 bootstrap
//! resamples (about 1.2 s in a debug build, a tenth of that optimized; the timing itself
//! belongs to bench/, no clock is read here). What is checked is that the gate's resampling
//! is the plain O(cases x resamples) bootstrap of the per-case differences and nothing
//! more: its interval is, bit for bit, the one `bootstrap_mean` gives on them.

use seam_evals::stats::{Confidence, Unit, bootstrap_mean};
use seam_evals::{Decision, GateConfig, PairedCase, Run, Verdict, gate};

fn cases() -> Vec<PairedCase> {
    (0..10_000u32)
        .map(|i| {
            let base = f64::from(i % 100) / 100.0;
            let cand = f64::from((i * 37) % 100) / 100.0;
            let verdict = |s: f64| {
                if s >= 0.2 {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                }
            };
            PairedCase::new(
                format!("case-{i:05}"),
                Run::scored(verdict(base), base),
                Run::scored(verdict(cand), cand),
            )
        })
        .collect()
}

fn decide(cases: &[PairedCase], config: &GateConfig) -> seam_evals::GateReport {
    match gate(cases, config) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn ten_thousand_cases_with_ten_thousand_resamples() {
    let report = decide(&cases(), &GateConfig::default());
    assert_eq!(report.compared, 10_000);
    assert_eq!(report.decision, Decision::Pass);
    let Some(scores) = &report.scores else {
        panic!("no scores")
    };
    assert_eq!(scores.resamples, 10_000);
    let Some(interval) = scores.interval else {
        panic!("no interval")
    };
    assert!(interval.contains(scores.difference));
    assert!(interval.high - interval.low < 0.02, "{interval:?}");
}

#[test]
fn the_gates_resampling_is_the_bootstrap_of_the_per_case_differences() {
    // Same cases, fewer resamples (the identity does not depend on the count).
    let cases = cases();
    let config = GateConfig {
        resamples: 1_000,
        ..GateConfig::default()
    };
    let report = decide(&cases, &config);
    let Some(scores) = &report.scores else {
        panic!("no scores")
    };
    // In id order (which is also the order built above), from the same seed.
    let units: Vec<Unit> = cases
        .iter()
        .map(|c| Unit {
            sum: c.candidate[0].score.unwrap_or(0.0) - c.baseline[0].score.unwrap_or(0.0),
            count: 1,
        })
        .collect();
    let direct = bootstrap_mean(&units, 1_000, config.seed, Confidence::NINETY_FIVE);
    assert!(direct.is_some());
    assert_eq!(scores.interval, direct);
}
