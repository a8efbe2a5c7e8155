//! The interval of the difference between two paired pass rates: Newcombe's method 10
//! (Newcombe 1998, "Improved confidence intervals for the difference between binomial
//! proportions based on paired data", Stat Med 17:2635-2650), the "square-and-add" of the
//! two rates' Wilson intervals with a correction for the pairing.
//!
//! Why this one: it is built from the same Wilson intervals the gate shows for each rate
//! (so the numbers agree with each other), it is closed-form (Tango's score interval needs
//! an iterative root search), it stays inside [-1, 1], and its coverage stays close to
//! nominal in small samples (Newcombe's and later evaluations, e.g. Fagerland, Lydersen and
//! Laake 2014, Stat Med 33:2850-2875). It is the method R's `contingencytables` (the
//! companion of Fagerland et al.'s book) calls `Newcombe_square_and_add_CI_paired_2x2`;
//! its published value for Cavo et al. (2012) is one of the tests.

use super::{Confidence, Interval, wilson};
use serde::{Deserialize, Serialize};

/// The paired 2x2 table of two runs over the same cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PairedCounts {
    pub both_pass: u64,
    /// Passed on the baseline, failed on the candidate (McNemar's `b`).
    pub pass_to_fail: u64,
    /// Failed on the baseline, passed on the candidate (McNemar's `c`).
    pub fail_to_pass: u64,
    pub both_fail: u64,
}

impl PairedCounts {
    pub fn n(&self) -> u64 {
        self.both_pass + self.pass_to_fail + self.fail_to_pass + self.both_fail
    }

    pub fn baseline_passes(&self) -> u64 {
        self.both_pass + self.pass_to_fail
    }

    pub fn candidate_passes(&self) -> u64 {
        self.both_pass + self.fail_to_pass
    }

    /// Candidate rate minus baseline rate, `(c - b) / n`; `None` with no cases.
    pub fn difference(&self) -> Option<f64> {
        let n = self.n();
        (n > 0).then(|| (self.fail_to_pass as f64 - self.pass_to_fail as f64) / n as f64)
    }
}

/// Newcombe's method-10 interval of candidate rate minus baseline rate; `None` with no cases.
pub fn newcombe_paired_difference(
    counts: &PairedCounts,
    confidence: Confidence,
) -> Option<Interval> {
    let n = counts.n();
    let estimate = counts.difference()?;
    // Newcombe's table with the candidate as the first measurement: p1 the candidate's rate.
    let (a, b, c, d) = (
        counts.both_pass as f64,
        counts.fail_to_pass as f64,
        counts.pass_to_fail as f64,
        counts.both_fail as f64,
    );
    let first = wilson(counts.candidate_passes(), n, confidence).ok()?;
    let second = wilson(counts.baseline_passes(), n, confidence).ok()?;
    let (p1, p2) = (first.rate?, second.rate?);
    let (l1, u1) = (first.interval.low, first.interval.high);
    let (l2, u2) = (second.interval.low, second.interval.high);
    let nf = n as f64;
    // The correlation of the two rates, phi, from the table; with Newcombe's adjustment its
    // numerator is AD - BC shrunk by N/2 toward 0 when positive (0 in between).
    let marginals = (a + b) * (c + d) * (a + c) * (b + d);
    let phi = if marginals == 0.0 {
        0.0
    } else {
        let cross = a * d - b * c;
        let adjusted = if cross > nf / 2.0 {
            cross - nf / 2.0
        } else if cross >= 0.0 {
            0.0
        } else {
            cross
        };
        adjusted / marginals.sqrt()
    };
    let below =
        ((p1 - l1).powi(2) + (u2 - p2).powi(2) - 2.0 * phi * (p1 - l1) * (u2 - p2)).max(0.0);
    let above =
        ((p2 - l2).powi(2) + (u1 - p1).powi(2) - 2.0 * phi * (p2 - l2) * (u1 - p1)).max(0.0);
    Some(Interval {
        low: (estimate - below.sqrt()).max(-1.0),
        high: (estimate + above.sqrt()).min(1.0),
    })
}
