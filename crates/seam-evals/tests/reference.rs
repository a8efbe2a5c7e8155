//! The statistics against reference values computed independently of this crate.
//!
//! Unless a comment names a publication, the values were printed by
//! `reference/reference.py` (Python 3.11 + mpmath 1.3 at 50 digits; no scipy), which says
//! how each is computed: mpmath's erfinv for quantiles, the Wilson closed form in mpmath,
//! exact Fractions for McNemar, every sign pattern enumerated for the grouped test, Newcombe's
//! formulas in mpmath, and a second implementation of the documented bootstrap (which must
//! agree to the last bit). Rerun it to regenerate them.

use seam_evals::stats::{
    Confidence, PairedCounts, Unit, bootstrap_mean, mcnemar_exact, minimum_detectable_effect,
    newcombe_paired_difference, normal_quantile, pass_hat_k, sign_flip_exact, wilson,
};

fn close(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= tolerance * want.abs().max(1.0)
}

fn level(l: f64) -> Confidence {
    match Confidence::new(l) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn normal_quantiles() {
    let reference = [
        (0.975, 1.9599639845400538),
        (0.95, 1.6448536269514722),
        (0.995, 2.5758293035489004),
        (0.8, 0.8416212335729144),
        (0.9, 1.2815515655446006),
    ];
    for (p, want) in reference {
        let got = normal_quantile(p);
        assert!(
            close(got, want, 1e-13),
            "quantile({p}) = {got}, want {want}"
        );
    }
}

#[test]
fn wilson_intervals() {
    // (successes, n, level, low, high)
    let reference = [
        (81, 263, 0.95, 0.2552885198782742, 0.36620957698280004),
        (15, 148, 0.95, 0.06238639953073628, 0.16048724172330803),
        (0, 20, 0.95, 0.0, 0.16112515805281932),
        (1, 29, 0.95, 0.006113214292762662, 0.17175521879320285),
        (20, 20, 0.95, 0.8388748419471806, 1.0),
        (0, 1, 0.95, 0.0, 0.7934506856227626),
        (1, 1, 0.95, 0.20654931437723745, 1.0),
        (5, 10, 0.95, 0.23659309051256402, 0.763406909487436),
        (180, 200, 0.95, 0.8505941875672827, 0.9343295513309041),
        (9999, 10000, 0.95, 0.9994337311025987, 0.9999823473263989),
        (5, 10, 0.9, 0.26927182113826714, 0.7307281788617328),
        (37, 50, 0.99, 0.5591399215864181, 0.8646270743891205),
    ];
    for (x, n, l, low, high) in reference {
        let got = match wilson(x, n, level(l)) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert!(
            close(got.interval.low, low, 1e-12) && close(got.interval.high, high, 1e-12),
            "wilson({x}/{n}, {l}) = {:?}, want [{low}, {high}]",
            got.interval
        );
        assert_eq!(got.rate, Some(x as f64 / n as f64));
    }
}

#[test]
fn wilson_matches_newcombes_published_examples() {
    // Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison
    // of seven methods", Stat Med 17:857-872, method 3 (score, no continuity correction),
    // printed to 4 decimals.
    let published = [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ];
    for (x, n, low, high) in published {
        let got = wilson(x, n, Confidence::NINETY_FIVE).map(|p| p.interval);
        let got = match got {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        };
        assert!(
            (got.low - low).abs() < 5e-5 && (got.high - high).abs() < 5e-5,
            "{x}/{n}: {got:?}"
        );
    }
}

#[test]
fn wilson_edge_cases_do_not_panic_and_say_what_they_know() {
    let none = wilson(0, 0, Confidence::NINETY_FIVE);
    assert!(
        matches!(none, Ok(p) if p.rate.is_none() && p.interval.low == 0.0 && p.interval.high == 1.0)
    );
    assert!(wilson(3, 2, Confidence::NINETY_FIVE).is_err());
    assert!(Confidence::new(95.0).is_err());
    assert!(Confidence::new(0.0).is_err());
}

#[test]
fn exact_mcnemar_p_values() {
    // (b, c, p): 2 * sum_{i <= min(b,c)} C(b+c, i) / 2^(b+c), exact Fractions, capped at 1.
    let reference = [
        (0, 0, 1.0),
        (1, 0, 1.0),
        (5, 0, 0.0625),
        (6, 0, 0.03125),
        (9, 2, 0.0654296875),
        (16, 6, 0.052478790283203125),
        (2, 9, 0.0654296875),
        (12, 30, 0.007915897334896727),
        (25, 25, 1.0),
        (26, 25, 1.0),
        (150, 110, 0.01541558283317147),
        (300, 360, 0.02157234823197102),
        (1000, 900, 0.02310884510890107),
        (3000, 2800, 0.008969436001193416),
        (0, 60, 1.734723475976807e-18),
    ];
    for (b, c, want) in reference {
        let got = mcnemar_exact(b, c);
        assert!(
            (got - want).abs() <= 1e-13 * want,
            "mcnemar({b}, {c}) = {got}, want {want}"
        );
    }
}

#[test]
fn sign_flip_over_groups_matches_full_enumeration() {
    // Every one of the 2^groups sign patterns enumerated in Fractions.
    let reference: [(&[i64], f64); 4] = [
        (
            &[3, -1, -2, 2, -4, 1, -1, -1, -3, 5, -2, 0, 0, -1],
            0.7431640625,
        ),
        (&[-3, -2, -4, -1, -5, -2, -1], 0.015625),
        (&[10, -10], 1.0),
        (&[2, 2, 2, 2, 2, -1], 0.0625),
    ];
    for (sums, want) in reference {
        let got = sign_flip_exact(sums);
        assert!((got - want).abs() <= 1e-12, "{sums:?}: {got}, want {want}");
    }
}

fn counts(both_pass: u64, pass_to_fail: u64, fail_to_pass: u64, both_fail: u64) -> PairedCounts {
    PairedCounts {
        both_pass,
        pass_to_fail,
        fail_to_pass,
        both_fail,
    }
}

#[test]
fn newcombe_paired_differences() {
    // (both_pass, pass_to_fail, fail_to_pass, both_fail, level, low, high) of candidate minus
    // baseline, Newcombe (1998) method 10 in mpmath.
    let reference = [
        (
            59,
            16,
            6,
            80,
            0.95,
            -0.11862119563870992,
            -0.004625113933050066,
        ),
        (
            1,
            7,
            1,
            12,
            0.95,
            -0.5069202266861409,
            -0.025559124164859847,
        ),
        (
            150,
            12,
            3,
            35,
            0.95,
            -0.08556751268295834,
            -0.005922781374511533,
        ),
        (10, 0, 0, 0, 0.95, -0.2775327998628892, 0.2775327998628892),
        (0, 0, 0, 10, 0.95, -0.2775327998628892, 0.2775327998628892),
        (0, 5, 0, 0, 0.95, -1.0, -0.38554900569034367),
        (40, 9, 2, 9, 0.9, -0.2091426023413631, -0.024305047617136356),
        (
            8000,
            300,
            250,
            1450,
            0.95,
            -0.009609237181393239,
            -0.0003979498257994154,
        ),
    ];
    for (a, b, c, d, l, low, high) in reference {
        let got = newcombe_paired_difference(&counts(a, b, c, d), level(l));
        let Some(got) = got else {
            panic!("no interval for {a} {b} {c} {d}")
        };
        assert!(
            close(got.low, low, 1e-12) && close(got.high, high, 1e-12),
            "newcombe({a}, {b}, {c}, {d}, {l}) = {got:?}, want [{low}, {high}]"
        );
    }
    assert_eq!(
        newcombe_paired_difference(&counts(0, 0, 0, 0), Confidence::NINETY_FIVE),
        None
    );
}

#[test]
fn newcombe_matches_the_published_cavo_example() {
    // R package contingencytables (Fagerland, Lydersen and Laake, "Statistical Analysis of
    // Contingency Tables", 2017, ch. 8), test-ch8.R: Cavo et al. (2012), table
    // [[59, 6], [16, 80]]: "estimate = -0.0621 (95% CI -0.1186 to -0.0046)". Its first
    // measurement is our candidate: 6 fail->pass, 16 pass->fail.
    let table = counts(59, 16, 6, 80);
    let got = newcombe_paired_difference(&table, Confidence::NINETY_FIVE);
    let Some(got) = got else {
        panic!("no interval")
    };
    let estimate = table.difference().unwrap_or(f64::NAN);
    assert!((estimate + 0.0621).abs() < 5e-5, "{estimate}");
    assert!(
        (got.low + 0.1186).abs() < 5e-5 && (got.high + 0.0046).abs() < 5e-5,
        "{got:?}"
    );
}

// Score differences and groups (sum of differences, cases) embedded in reference.py too.
const SCORE_DIFFS: [f64; 30] = [
    0.12, -0.05, 0.0, 0.31, -0.22, 0.07, 0.0, -0.14, 0.25, 0.03, -0.08, 0.16, 0.0, -0.3, 0.11,
    0.04, -0.01, 0.19, -0.12, 0.06, 0.0, 0.22, -0.04, 0.09, -0.18, 0.13, 0.02, -0.07, 0.27, 0.05,
];
const GROUP_UNITS: [(f64, u32); 12] = [
    (0.4, 3),
    (-0.2, 2),
    (0.0, 1),
    (0.9, 4),
    (-0.5, 3),
    (0.1, 1),
    (0.3, 2),
    (-0.1, 1),
    (0.6, 5),
    (0.2, 2),
    (-0.3, 2),
    (0.0, 3),
];

fn case_units() -> Vec<Unit> {
    SCORE_DIFFS
        .iter()
        .map(|&sum| Unit { sum, count: 1 })
        .collect()
}

fn interval(units: &[Unit], resamples: u32, seed: u64, l: f64) -> (f64, f64) {
    match bootstrap_mean(units, resamples, seed, level(l)) {
        Some(i) => (i.low, i.high),
        None => panic!("no interval"),
    }
}

#[test]
fn bootstrap_reproduces_the_reference_implementation_bit_for_bit() {
    // A second implementation of the documented procedure in Python: SplitMix64, Lemire's
    // bounded integers, per-resample sum of sums over sum of counts, type-7 percentiles.
    assert_eq!(
        interval(&case_units(), 10_000, 24, 0.95),
        (-0.02133333333333333, 0.08033333333333334)
    );
    assert_eq!(
        interval(&case_units(), 2_000, 7, 0.9),
        (-0.009683333333333342, 0.07201666666666667)
    );
    let groups: Vec<Unit> = GROUP_UNITS
        .iter()
        .map(|&(sum, count)| Unit { sum, count })
        .collect();
    assert_eq!(
        interval(&groups, 10_000, 24, 0.95),
        (-0.04347826086956521, 0.121627956081081)
    );
}

#[test]
fn bootstrap_agrees_with_the_normal_approximation_on_a_large_sample() {
    // 2,000 differences from a fixed sequence; the percentile interval of a mean should be
    // within a few percent of mean +- 1.96 sd / sqrt(n) (the bootstrap's own variance uses
    // the divisor n, hence sd with n).
    let diffs: Vec<f64> = (0..2_000)
        .map(|i| ((f64::from(i) * 0.754_877_666).fract() - 0.45) * 0.8)
        .collect();
    let n = diffs.len() as f64;
    let mean = diffs.iter().sum::<f64>() / n;
    let sd = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
    let half = 1.959_963_984_540_054 * sd / n.sqrt();
    let units: Vec<Unit> = diffs.iter().map(|&sum| Unit { sum, count: 1 }).collect();
    let (low, high) = interval(&units, 10_000, 3, 0.95);
    assert!(
        ((mean - low) / half - 1.0).abs() < 0.05,
        "low {low}, normal {}",
        mean - half
    );
    assert!(
        ((high - mean) / half - 1.0).abs() < 0.05,
        "high {high}, normal {}",
        mean + half
    );
}

#[test]
fn minimum_detectable_effects() {
    // (n, flip variance, alpha, power, mde): the formula of docs/evals.md in mpmath.
    let reference = [
        (200, 40.0, 0.05, 0.8, 0.08859390348296597),
        (200, 0.0, 0.05, 0.8, 0.03924439867174545),
        (1000, 30.0, 0.05, 0.8, 0.015344914207335037),
        (500, 190.0, 0.01, 0.9, 0.10634065190992995),
        (20, 3.0, 0.05, 0.8, 0.3924439867174545),
    ];
    for (n, v, alpha, power, want) in reference {
        let got = minimum_detectable_effect(n, v, alpha, power).unwrap_or(f64::NAN);
        assert!(
            close(got, want, 1e-12),
            "mde({n}, {v}) = {got}, want {want}"
        );
    }
}

#[test]
fn pass_hat_k_values() {
    // C(passes, k) / C(runs, k) as Fractions.
    let reference = [
        (3, 3, 3, 1.0),
        (2, 3, 3, 0.0),
        (4, 5, 2, 0.6),
        (7, 10, 3, 0.2916666666666667),
        (10, 10, 5, 1.0),
        (1, 8, 2, 0.0),
    ];
    for (c, n, k, want) in reference {
        let got = pass_hat_k(c, n, k).unwrap_or(f64::NAN);
        assert!(
            (got - want).abs() < 1e-15,
            "pass^{k} of {c}/{n} = {got}, want {want}"
        );
    }
}
