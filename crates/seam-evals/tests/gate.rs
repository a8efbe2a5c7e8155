//! The gate's decisions as `seam eval gate` will report them: each rule of issue 24 on runs
//! built to trigger it, and what the report and the printout say.

use seam_evals::{
    Decision, DifferenceMethod, GateConfig, GateError, GateReport, PairedCase, Reason, Run,
    TestMethod, Verdict, gate, render,
};

const PASS: Verdict = Verdict::Pass;
const FAIL: Verdict = Verdict::Fail;

fn case(id: impl Into<String>, baseline: Verdict, candidate: Verdict) -> PairedCase {
    PairedCase::new(id, Run::new(baseline), Run::new(candidate))
}

/// `n` cases: the first `pass_to_fail` flip pass->fail, the next `fail_to_pass` fail->pass,
/// then `both_fail` fail on both, the rest pass on both.
fn runs(n: usize, pass_to_fail: usize, fail_to_pass: usize, both_fail: usize) -> Vec<PairedCase> {
    (0..n)
        .map(|i| {
            let id = format!("case-{i:05}");
            if i < pass_to_fail {
                case(id, PASS, FAIL)
            } else if i < pass_to_fail + fail_to_pass {
                case(id, FAIL, PASS)
            } else if i < pass_to_fail + fail_to_pass + both_fail {
                case(id, FAIL, FAIL)
            } else {
                case(id, PASS, PASS)
            }
        })
        .collect()
}

fn decide(cases: &[PairedCase]) -> GateReport {
    decide_with(cases, &GateConfig::default())
}

fn decide_with(cases: &[PairedCase], config: &GateConfig) -> GateReport {
    match gate(cases, config) {
        Ok(report) => report,
        Err(e) => panic!("gate refused: {e}"),
    }
}

#[test]
fn a_release_a_threshold_gate_would_ship_is_blocked_for_the_cases_it_broke() {
    // 100 cases, baseline 95% and candidate 86%: above an 80% threshold, but 9 cases the
    // baseline passed now fail and none went the other way.
    let report = decide(&runs(100, 9, 0, 5));
    assert_eq!(report.decision, Decision::Fail);
    assert_eq!(report.decision.exit_code(), 1);
    assert_eq!(report.candidate.rate, Some(0.86));
    assert_eq!(
        (report.counts.pass_to_fail, report.counts.fail_to_pass),
        (9, 0)
    );
    assert_eq!(report.test.method, TestMethod::McnemarExact);
    assert_eq!(report.test.p, 2.0 / 512.0);
    assert!(
        matches!(report.reasons[..], [Reason::SignificantDrop { drop, .. }] if (drop - 0.09).abs() < 1e-12)
    );
    let broken: Vec<String> = (0..9).map(|i| format!("case-{i:05}")).collect();
    assert_eq!(report.flipped.pass_to_fail, broken);
    assert!(report.flipped.fail_to_pass.is_empty());
    let text = render(&report);
    assert!(text.starts_with("gate: FAIL"), "{text}");
    assert!(
        text.contains("pass->fail (9): case-00000, case-00001"),
        "{text}"
    );
    assert!(
        text.contains("9 pass->fail, 0 fail->pass  (p = 0.0039, exact McNemar)"),
        "{text}"
    );
}

#[test]
fn no_real_change_on_a_large_run_passes_and_says_what_it_could_have_seen() {
    // 3,000 cases, 20 flips each way.
    let report = decide(&runs(3_000, 20, 20, 300));
    assert_eq!(report.decision, Decision::Pass);
    assert_eq!(report.decision.exit_code(), 0);
    assert_eq!(report.test.p, 1.0);
    let Some(mde) = report.mde else {
        panic!("no MDE")
    };
    assert!(mde > 0.005 && mde < 0.02, "{mde}");
    assert!(matches!(
        report.reasons[..],
        [Reason::NoSignificantDrop { .. }]
    ));
    assert!(
        render(&report).contains("detectable  drops of "),
        "{}",
        render(&report)
    );
}

#[test]
fn a_small_run_with_no_flip_is_inconclusive_not_a_pass() {
    // Nothing changed on 30 cases, but a drop of 2 points is 0.6 of a case: invisible.
    let report = decide(&runs(30, 0, 0, 3));
    assert_eq!(report.decision, Decision::Inconclusive);
    assert_eq!(report.decision.exit_code(), 3);
    assert!(matches!(report.reasons[..], [Reason::Underpowered { mde, .. }] if mde > 0.2));
    let difference = report.difference.interval.map(|i| i.low);
    assert!(matches!(difference, Some(low) if low < -0.02));
}

#[test]
fn an_improvement_on_a_small_run_passes_because_the_interval_rules_out_a_drop() {
    // 30 of 100 cases fixed, none broken: the run is too small to see every 2-point drop,
    // but its interval already excludes one.
    let report = decide(&runs(100, 0, 30, 10));
    assert_eq!(report.decision, Decision::Pass);
    assert!(matches!(report.reasons[..], [Reason::NonInferior { low, .. }] if low > -0.02));
}

#[test]
fn a_significant_drop_within_the_margin_passes_and_says_so() {
    // 10,000 cases, 150 broken and 50 fixed: a real 1-point drop, inside the 2-point margin.
    let report = decide(&runs(10_000, 150, 50, 1_000));
    assert_eq!(report.decision, Decision::Pass);
    assert!(report.test.p < 1e-6);
    assert!(
        matches!(report.reasons[..], [Reason::DropWithinMargin { drop, .. }] if (drop - 0.01).abs() < 1e-12)
    );
}

#[test]
fn a_required_case_that_fails_fails_the_gate_whatever_the_rates() {
    let mut cases = runs(3_000, 0, 0, 100);
    cases[0] = case("case-00000", FAIL, FAIL).required();
    cases[1] = case("case-00001", PASS, PASS).required();
    let report = decide(&cases);
    assert_eq!(report.decision, Decision::Fail);
    assert_eq!(report.required_failures, ["case-00000"]);
    assert!(matches!(
        report.reasons[..],
        [Reason::RequiredFailed { count: 1 }]
    ));
}

#[test]
fn missing_and_errored_cases_fail_the_gate_and_are_named() {
    let mut cases = runs(3_000, 0, 0, 100);
    cases[3].candidate.clear();
    cases[4].baseline = vec![Run::new(Verdict::Error)];
    cases[5].candidate = vec![Run::new(Verdict::Missing)];
    cases[6] = case("case-00006", PASS, Verdict::Error).required();
    let report = decide(&cases);
    assert_eq!(report.decision, Decision::Fail);
    assert_eq!(report.missing.candidate, ["case-00003", "case-00005"]);
    assert!(report.missing.baseline.is_empty());
    assert_eq!(report.errored.baseline, ["case-00004"]);
    assert_eq!(report.errored.candidate, ["case-00006"]);
    assert_eq!(report.required_failures, ["case-00006"]);
    assert_eq!(report.compared, 2_996);
    assert_eq!(
        report.reasons,
        [
            Reason::RequiredFailed { count: 1 },
            Reason::Missing {
                baseline: 0,
                candidate: 2
            },
            Reason::Errored {
                baseline: 1,
                candidate: 1
            },
        ]
    );
    let text = render(&report);
    assert!(
        text.contains("missing on candidate (2): case-00003, case-00005"),
        "{text}"
    );
    assert!(
        text.contains("errored on baseline (1): case-00004"),
        "{text}"
    );
}

#[test]
fn nothing_to_compare_is_inconclusive_and_every_number_is_absent_not_made_up() {
    let report = decide(&[]);
    assert_eq!(report.decision, Decision::Inconclusive);
    assert_eq!(report.reasons, [Reason::NothingCompared]);
    assert_eq!(report.baseline.rate, None);
    assert_eq!(report.difference.estimate, None);
    assert_eq!(report.difference.interval, None);
    assert_eq!(report.mde, None);
    assert_eq!(report.test.p, 1.0);
    let text = render(&report);
    assert!(text.contains("difference  -"), "{text}");
}

#[test]
fn all_passing_on_both_sides_has_intervals_at_the_edge() {
    let report = decide(&runs(50, 0, 0, 0));
    assert_eq!(report.baseline.rate, Some(1.0));
    assert_eq!(report.baseline.interval.high, 1.0);
    assert!(report.baseline.interval.low > 0.9 && report.baseline.interval.low < 0.95);
    assert_eq!(report.test.p, 1.0);
    assert_eq!(report.decision, Decision::Inconclusive);
}

#[test]
fn flips_within_groups_count_as_one_unit_each() {
    // 20 groups of 5 cases; two whole groups broke. Case by case that is 10 flips one way
    // (p = 0.002); by group it is 2 of 20 groups, a coin tossed twice.
    let mut cases = Vec::new();
    for g in 0..20 {
        for i in 0..5 {
            let candidate = if g < 2 { FAIL } else { PASS };
            cases.push(
                case(format!("g{g:02}-{i}"), PASS, candidate).in_group(format!("group-{g:02}")),
            );
        }
    }
    let report = decide(&cases);
    assert!(report.grouped);
    assert_eq!(report.units, 20);
    assert_eq!(report.test.method, TestMethod::GroupSignFlip);
    assert!(report.test.mcnemar_p < 0.01, "{}", report.test.mcnemar_p);
    assert_eq!(report.test.p, 0.5);
    assert_eq!(report.difference.method, DifferenceMethod::GroupBootstrap);
    assert_ne!(report.decision, Decision::Fail);
    assert!(render(&report).contains("exact sign-flip over groups"));
}

#[test]
fn scores_get_a_paired_bootstrap_interval() {
    let cases: Vec<PairedCase> = (0..200)
        .map(|i| {
            let base = 0.5 + f64::from(i % 10) / 20.0;
            PairedCase::new(
                format!("s{i:03}"),
                Run::scored(PASS, base),
                Run::scored(PASS, base - 0.05 + f64::from(i % 7) / 100.0),
            )
        })
        .collect();
    let report = decide(&cases);
    let Some(scores) = &report.scores else {
        panic!("no score difference")
    };
    assert_eq!(scores.cases, 200);
    assert_eq!(scores.resamples, 10_000);
    assert!(!scores.by_group);
    let Some(interval) = scores.interval else {
        panic!("no interval")
    };
    assert!(
        interval.contains(scores.difference) && interval.high < 0.0,
        "{interval:?}"
    );
    assert!(decide(&runs(10, 0, 0, 0)).scores.is_none());
}

#[test]
fn repeats_compare_pass_k_and_name_the_flaky_cases() {
    let runs_of = |verdicts: &[Verdict]| verdicts.iter().map(|&v| Run::new(v)).collect::<Vec<_>>();
    let mut cases: Vec<PairedCase> = (0..40)
        .map(|i| PairedCase {
            id: format!("r{i:02}"),
            group: None,
            required: false,
            baseline: runs_of(&[PASS, PASS, PASS]),
            candidate: runs_of(&[PASS, PASS, PASS]),
        })
        .collect();
    cases[0].candidate = runs_of(&[PASS, FAIL, PASS]);
    cases[1].baseline = runs_of(&[FAIL, FAIL, FAIL]);
    cases[1].candidate = runs_of(&[FAIL, FAIL, FAIL]);
    let report = decide(&cases);
    let Some(repeats) = &report.repeats else {
        panic!("no repeats")
    };
    assert_eq!(repeats.k, 3);
    assert_eq!(repeats.candidate.pass_k, Some(38.0 / 40.0));
    assert_eq!(report.candidate.rate, Some(38.0 / 40.0));
    assert_eq!(repeats.candidate.per_run, Some(116.0 / 120.0));
    assert_eq!(repeats.flaky.len(), 1);
    assert_eq!(repeats.flaky[0].id, "r00");
    assert_eq!(report.flipped.pass_to_fail, ["r00"]);
    assert!(render(&report).contains("pass^3"));

    // A side with fewer runs than the others is missing, not silently compared.
    cases[2].candidate.pop();
    assert_eq!(decide(&cases).missing.candidate, ["r02"]);
}

#[test]
fn bad_input_is_refused_naming_what_is_wrong() {
    let dup = vec![case("a", PASS, PASS), case("a", PASS, FAIL)];
    assert_eq!(
        gate(&dup, &GateConfig::default()),
        Err(GateError::DuplicateCase { id: "a".into() })
    );
    let nan = vec![PairedCase::new(
        "b",
        Run::new(PASS),
        Run::scored(PASS, f64::NAN),
    )];
    assert!(matches!(
        gate(&nan, &GateConfig::default()),
        Err(GateError::Score { ref id, side: "candidate", .. }) if id == "b"
    ));
    let mut repeated = case("c", PASS, PASS);
    repeated.candidate.push(Run::new(PASS));
    assert_eq!(
        gate(&[repeated], &GateConfig::default()),
        Err(GateError::RepeatsDiffer {
            baseline: 1,
            candidate: 2
        })
    );
    for (config, key) in [
        (
            GateConfig {
                alpha: 5.0,
                ..GateConfig::default()
            },
            "alpha",
        ),
        (
            GateConfig {
                margin: -0.1,
                ..GateConfig::default()
            },
            "margin",
        ),
        (
            GateConfig {
                power: 80.0,
                ..GateConfig::default()
            },
            "power",
        ),
        (
            GateConfig {
                resamples: 10,
                ..GateConfig::default()
            },
            "resamples",
        ),
    ] {
        let got = gate(&[], &config);
        assert!(
            matches!(got, Err(GateError::Config { key: k, .. }) if k == key),
            "{got:?}"
        );
        let message = got.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(key), "{message}");
    }
}

#[test]
fn the_order_cases_arrive_in_does_not_change_the_report() {
    let mut cases: Vec<PairedCase> = runs(300, 12, 4, 30)
        .into_iter()
        .enumerate()
        .map(|(i, c)| c.in_group(format!("g{}", i % 40)))
        .collect();
    for (i, c) in cases.iter_mut().enumerate() {
        let s = f64::from(u32::try_from(i % 13).unwrap_or(0)) / 13.0;
        c.baseline[0].score = Some(s);
        c.candidate[0].score = Some(1.0 - s);
    }
    let forward = decide(&cases);
    cases.reverse();
    assert_eq!(decide(&cases), forward);
}

#[test]
fn the_report_serializes_with_its_words() {
    let report = decide(&runs(100, 9, 0, 5));
    let json = match serde_json::to_value(&report) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(json["decision"], "fail");
    assert_eq!(json["reasons"][0]["kind"], "significant_drop");
    assert_eq!(json["test"]["method"], "mcnemar_exact");
    assert_eq!(json["difference"]["method"], "newcombe");
    assert_eq!(json["counts"]["pass_to_fail"], 9);
    assert_eq!(json["config"]["resamples"], 10_000);
    let back: GateReport = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(back, report);
}

#[test]
fn exit_codes() {
    assert_eq!(
        [Decision::Pass, Decision::Fail, Decision::Inconclusive].map(Decision::exit_code),
        [0, 1, 3]
    );
}

#[test]
fn ids_that_could_mislead_a_terminal_are_escaped() {
    let cases = vec![
        case("evil\u{1b}[31m", PASS, FAIL),
        case("plain", PASS, PASS),
    ];
    let text = render(&decide(&cases));
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains(r#""evil\u{1b}[31m""#), "{text}");
}
