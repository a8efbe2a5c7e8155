//! The gate: a candidate run against a baseline run on the cases both have, decided by
//! pure arithmetic on their verdicts (no store, no clock), so the CLI, `/api/` and the
//! demo print the same decision for the same runs.
//!
//! Rules (issue 24, docs/evals.md "Statistics"), in order:
//! 1. **fail** when the pass rate dropped significantly (p < alpha) by more than the margin,
//!    or a required case did not pass on the candidate, or a case is missing or errored on
//!    either side (every rule that holds is listed);
//! 2. **inconclusive** when nothing was compared, or when the minimum detectable effect
//!    exceeds the margin, unless the interval of the difference already excludes a drop
//!    of the margin (then a larger run could not change the answer: **pass**);
//! 3. else **pass**.

mod config;
mod input;
mod render;
mod report;

pub use config::{DEFAULT_SEED, GateConfig, MIN_RESAMPLES};
pub use input::{PairedCase, Run, Verdict};
pub use render::render;
pub use report::{
    BySide, Decision, Difference, DifferenceMethod, FlakyCase, Flipped, GateReport, PassCount,
    Reason, RepeatRates, Repeats, ScoreDifference, Test, TestMethod,
};

use crate::stats::{
    Confidence, Interval, PairedCounts, Unit, bootstrap_mean, mcnemar_exact,
    minimum_detectable_effect, newcombe_paired_difference, pass_k_rate, sign_flip_exact, wilson,
};
use input::Side;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GateError {
    #[error("gate setting {key} = {value}: {reason}")]
    Config {
        key: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("case {id:?} appears more than once")]
    DuplicateCase { id: String },
    #[error("case {id:?}: a {side} run's score {value} is not a number")]
    Score {
        id: String,
        side: &'static str,
        value: f64,
    },
    #[error(
        "the baseline ran each case {baseline} time(s) and the candidate {candidate}: pass^k compares runs with the same number of repeats"
    )]
    RepeatsDiffer { baseline: usize, candidate: usize },
}

/// A unit of resampling (a group, or a case without one): its net flip (candidate minus
/// baseline), its compared cases, and its scored cases' summed score difference and count.
#[derive(Debug, Clone, Copy, Default)]
struct UnitSums {
    net: i64,
    cases: u32,
    score_diff: f64,
    scored: u32,
}

struct Compared<'a> {
    case: &'a PairedCase,
    baseline: Side,
    candidate: Side,
}

/// Decides the gate for `cases` (a case's runs on the baseline and on the candidate) under
/// `config`. Refuses (an error naming the setting or the case) a bad setting, a duplicate
/// case id, a score that is not a finite number, or sides run with different repeats.
pub fn gate(cases: &[PairedCase], config: &GateConfig) -> Result<GateReport, GateError> {
    config.validate()?;
    let confidence = Confidence::from_alpha(config.alpha).map_err(|_| GateError::Config {
        key: "alpha",
        value: config.alpha.to_string(),
        reason: "must be above 0 and below 0.5",
    })?;
    check_cases(cases)?;
    let k_baseline = cases.iter().map(|c| c.baseline.len()).max().unwrap_or(0);
    let k_candidate = cases.iter().map(|c| c.candidate.len()).max().unwrap_or(0);
    if k_baseline > 0 && k_candidate > 0 && k_baseline != k_candidate {
        return Err(GateError::RepeatsDiffer {
            baseline: k_baseline,
            candidate: k_candidate,
        });
    }

    // Id order: the same runs give the same report (and the same bootstrap draws) whatever
    // order the store returned them in.
    let mut order: Vec<&PairedCase> = cases.iter().collect();
    order.sort_by(|a, b| a.id.cmp(&b.id));

    let mut missing = BySide::default();
    let mut errored = BySide::default();
    let mut required_failures = Vec::new();
    let mut compared = Vec::new();
    for case in order {
        let baseline = Side::collapse(&case.baseline, k_baseline);
        let candidate = Side::collapse(&case.candidate, k_candidate);
        for (side, list_missing, list_errored) in [
            (&baseline, &mut missing.baseline, &mut errored.baseline),
            (&candidate, &mut missing.candidate, &mut errored.candidate),
        ] {
            match side.verdict {
                Verdict::Missing => list_missing.push(case.id.clone()),
                Verdict::Error => list_errored.push(case.id.clone()),
                Verdict::Pass | Verdict::Fail => {}
            }
        }
        if case.required && candidate.verdict != Verdict::Pass {
            required_failures.push(case.id.clone());
        }
        if baseline.compared() && candidate.compared() {
            compared.push(Compared {
                case,
                baseline,
                candidate,
            });
        }
    }

    let mut counts = PairedCounts::default();
    let mut flipped = Flipped::default();
    // Units in the order their first case comes in id order: deterministic, like the rest.
    let mut units: Vec<UnitSums> = Vec::new();
    let mut group_unit: HashMap<&str, usize> = HashMap::new();
    for c in &compared {
        let (base, cand) = (
            c.baseline.verdict == Verdict::Pass,
            c.candidate.verdict == Verdict::Pass,
        );
        let net = match (base, cand) {
            (true, true) => {
                counts.both_pass += 1;
                0
            }
            (false, false) => {
                counts.both_fail += 1;
                0
            }
            (true, false) => {
                counts.pass_to_fail += 1;
                flipped.pass_to_fail.push(c.case.id.clone());
                -1
            }
            (false, true) => {
                counts.fail_to_pass += 1;
                flipped.fail_to_pass.push(c.case.id.clone());
                1
            }
        };
        let index = match &c.case.group {
            Some(group) => *group_unit.entry(group.as_str()).or_insert_with(|| {
                units.push(UnitSums::default());
                units.len() - 1
            }),
            None => {
                units.push(UnitSums::default());
                units.len() - 1
            }
        };
        let unit = &mut units[index];
        unit.net += net;
        unit.cases += 1;
        if let (Some(b), Some(a)) = (c.baseline.score, c.candidate.score) {
            unit.score_diff += a - b;
            unit.scored += 1;
        }
    }
    let n = counts.n();
    let grouped = units.iter().any(|u| u.cases > 1);

    let baseline_rate = rate(counts.baseline_passes(), n, confidence);
    let candidate_rate = rate(counts.candidate_passes(), n, confidence);
    let group_sums: Vec<i64> = units.iter().map(|u| u.net).collect();
    let mcnemar_p = mcnemar_exact(counts.pass_to_fail, counts.fail_to_pass);
    let test = if grouped {
        Test {
            method: TestMethod::GroupSignFlip,
            p: sign_flip_exact(&group_sums),
            mcnemar_p,
        }
    } else {
        Test {
            method: TestMethod::McnemarExact,
            p: mcnemar_p,
            mcnemar_p,
        }
    };
    let difference = if grouped {
        let pass_units: Vec<Unit> = units
            .iter()
            .map(|u| Unit {
                sum: u.net as f64,
                count: u.cases,
            })
            .collect();
        Difference {
            estimate: counts.difference(),
            interval: bootstrap_mean(&pass_units, config.resamples, config.seed, confidence),
            method: DifferenceMethod::GroupBootstrap,
        }
    } else {
        Difference {
            estimate: counts.difference(),
            interval: newcombe_paired_difference(&counts, confidence),
            method: DifferenceMethod::Newcombe,
        }
    };
    let flip_variance: f64 = group_sums.iter().map(|&s| (s as f64) * (s as f64)).sum();
    let mde = minimum_detectable_effect(n, flip_variance, config.alpha, config.power);
    let scores = score_difference(&compared, &units, config, confidence);
    let repeats = repeats(&compared, k_baseline.max(k_candidate));

    let (decision, reasons) = decide(&Evidence {
        config,
        drop: counts.difference().map(|d| -d),
        p: test.p,
        interval: difference.interval,
        mde,
        required_failures: required_failures.len(),
        missing: &missing,
        errored: &errored,
    });

    Ok(GateReport {
        decision,
        reasons,
        config: *config,
        cases: cases.len() as u64,
        compared: n,
        units: units.len() as u64,
        grouped,
        baseline: baseline_rate,
        candidate: candidate_rate,
        counts,
        difference,
        test,
        mde,
        scores,
        repeats,
        flipped,
        required_failures,
        missing,
        errored,
    })
}

fn check_cases(cases: &[PairedCase]) -> Result<(), GateError> {
    let mut seen = HashSet::with_capacity(cases.len());
    for case in cases {
        if !seen.insert(case.id.as_str()) {
            return Err(GateError::DuplicateCase {
                id: case.id.clone(),
            });
        }
        for (side, runs) in [("baseline", &case.baseline), ("candidate", &case.candidate)] {
            if let Some(value) = runs.iter().filter_map(|r| r.score).find(|s| !s.is_finite()) {
                return Err(GateError::Score {
                    id: case.id.clone(),
                    side,
                    value,
                });
            }
        }
    }
    Ok(())
}

fn rate(successes: u64, n: u64, confidence: Confidence) -> crate::stats::Proportion {
    // successes <= n by construction; the fallback is the "nothing known" interval.
    wilson(successes, n, confidence).unwrap_or(crate::stats::Proportion {
        successes,
        n,
        rate: None,
        interval: Interval {
            low: 0.0,
            high: 1.0,
        },
    })
}

fn score_difference(
    compared: &[Compared],
    units: &[UnitSums],
    config: &GateConfig,
    confidence: Confidence,
) -> Option<ScoreDifference> {
    let (mut base_sum, mut cand_sum, mut cases) = (0.0, 0.0, 0u64);
    for c in compared {
        if let (Some(b), Some(a)) = (c.baseline.score, c.candidate.score) {
            base_sum += b;
            cand_sum += a;
            cases += 1;
        }
    }
    if cases == 0 {
        return None;
    }
    let score_units: Vec<Unit> = units
        .iter()
        .filter(|u| u.scored > 0)
        .map(|u| Unit {
            sum: u.score_diff,
            count: u.scored,
        })
        .collect();
    let by_group = units.iter().any(|u| u.scored > 1);
    let (baseline_mean, candidate_mean) = (base_sum / cases as f64, cand_sum / cases as f64);
    Some(ScoreDifference {
        cases,
        baseline_mean,
        candidate_mean,
        difference: score_units.iter().map(|u| u.sum).sum::<f64>() / cases as f64,
        interval: bootstrap_mean(&score_units, config.resamples, config.seed, confidence),
        resamples: config.resamples,
        by_group,
    })
}

fn repeats(compared: &[Compared], k: usize) -> Option<Repeats> {
    if k < 2 {
        return None;
    }
    let k = u32::try_from(k).ok()?;
    let rates = |side: fn(&Compared) -> Side| {
        let pairs: Vec<(u32, u32)> = compared
            .iter()
            .map(|c| {
                let s = side(c);
                (s.passes, s.runs)
            })
            .collect();
        let (passes, runs) = pairs.iter().fold((0u64, 0u64), |(p, r), &(a, b)| {
            (p + u64::from(a), r + u64::from(b))
        });
        RepeatRates {
            per_run: (runs > 0).then(|| passes as f64 / runs as f64),
            pass_k: pass_k_rate(&pairs, k),
        }
    };
    let flaky = compared
        .iter()
        .filter(|c| {
            [c.baseline, c.candidate]
                .iter()
                .any(|s| s.passes > 0 && s.passes < s.runs)
        })
        .map(|c| FlakyCase {
            id: c.case.id.clone(),
            baseline: PassCount {
                passes: c.baseline.passes,
                runs: c.baseline.runs,
            },
            candidate: PassCount {
                passes: c.candidate.passes,
                runs: c.candidate.runs,
            },
        })
        .collect();
    Some(Repeats {
        k,
        baseline: rates(|c| c.baseline),
        candidate: rates(|c| c.candidate),
        flaky,
    })
}

struct Evidence<'a> {
    config: &'a GateConfig,
    /// Baseline rate minus candidate rate.
    drop: Option<f64>,
    p: f64,
    interval: Option<Interval>,
    mde: Option<f64>,
    required_failures: usize,
    missing: &'a BySide,
    errored: &'a BySide,
}

fn decide(e: &Evidence) -> (Decision, Vec<Reason>) {
    let GateConfig {
        alpha,
        margin,
        power,
        ..
    } = *e.config;
    let mut fails = Vec::new();
    if let Some(drop) = e.drop
        && e.p < alpha
        && drop > margin
    {
        fails.push(Reason::SignificantDrop {
            drop,
            p: e.p,
            alpha,
            margin,
        });
    }
    if e.required_failures > 0 {
        fails.push(Reason::RequiredFailed {
            count: e.required_failures,
        });
    }
    if !e.missing.is_empty() {
        fails.push(Reason::Missing {
            baseline: e.missing.baseline.len(),
            candidate: e.missing.candidate.len(),
        });
    }
    if !e.errored.is_empty() {
        fails.push(Reason::Errored {
            baseline: e.errored.baseline.len(),
            candidate: e.errored.candidate.len(),
        });
    }
    if !fails.is_empty() {
        return (Decision::Fail, fails);
    }
    // Both exist exactly when some case was compared.
    let (Some(drop), Some(mde)) = (e.drop, e.mde) else {
        return (Decision::Inconclusive, vec![Reason::NothingCompared]);
    };
    if mde > margin {
        return match e.interval {
            Some(interval) if interval.low > -margin => (
                Decision::Pass,
                vec![Reason::NonInferior {
                    low: interval.low,
                    margin,
                    mde,
                }],
            ),
            _ => (
                Decision::Inconclusive,
                vec![Reason::Underpowered { mde, margin, power }],
            ),
        };
    }
    let reason = if e.p < alpha && drop > 0.0 {
        Reason::DropWithinMargin {
            drop,
            p: e.p,
            margin,
        }
    } else {
        Reason::NoSignificantDrop {
            difference: -drop,
            p: e.p,
            alpha,
            mde,
            margin,
        }
    };
    (Decision::Pass, vec![reason])
}
