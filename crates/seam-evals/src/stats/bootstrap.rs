//! The paired bootstrap of a mean difference: resample the units (cases, or the groups cases
//! share) with replacement, take the mean per-case difference of each resample, and read the
//! interval off the resampled means' percentiles. Resampling whole groups keeps the cases
//! that move together together, which is what "clustered" intervals mean (Miller, "Adding
//! Error Bars to Evals", arXiv 2411.00640).
//!
//! Work is O(units x resamples) with one allocation (the resampled means): each unit carries
//! its precomputed sum of differences and its case count, so a resample is a loop of random
//! indices and two additions.

use super::{Confidence, Interval, SplitMix64};
use serde::{Deserialize, Serialize};

/// What is resampled: a case (`count` 1) or a group of `count` cases, with the sum of their
/// per-case differences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub sum: f64,
    pub count: u32,
}

/// The percentile interval at `confidence` of the mean per-case difference over `units`,
/// from `resamples` resamples drawn by SplitMix64 from `seed`. `None` with no unit, no case
/// or no resample. A resample's mean is the sum of its units' sums over the sum of their
/// counts (groups of unequal size weigh by their cases); the percentile is the linear
/// interpolation between order statistics (R's type 7, numpy's default).
pub fn bootstrap_mean(
    units: &[Unit],
    resamples: u32,
    seed: u64,
    confidence: Confidence,
) -> Option<Interval> {
    let cases: u64 = units.iter().map(|u| u64::from(u.count)).sum();
    if units.is_empty() || cases == 0 || resamples == 0 {
        return None;
    }
    let g = units.len() as u64;
    let mut rng = SplitMix64::new(seed);
    let mut means = Vec::with_capacity(resamples as usize);
    for _ in 0..resamples {
        let (mut sum, mut count) = (0.0_f64, 0_u64);
        for _ in 0..g {
            let unit = &units[rng.below(g) as usize];
            sum += unit.sum;
            count += u64::from(unit.count);
        }
        // Only empty units drawn every time give 0 cases; such a resample says nothing.
        if count > 0 {
            means.push(sum / count as f64);
        }
    }
    if means.is_empty() {
        return None;
    }
    means.sort_by(f64::total_cmp);
    Some(Interval {
        low: percentile(&means, confidence.tail()),
        high: percentile(&means, 1.0 - confidence.tail()),
    })
}

/// The `q`-quantile of sorted `values` by linear interpolation (type 7).
fn percentile(values: &[f64], q: f64) -> f64 {
    let h = (values.len() - 1) as f64 * q;
    let i = h.floor() as usize;
    match values.get(i + 1) {
        Some(&next) => values[i] + (h - i as f64) * (next - values[i]),
        None => values[i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases(diffs: &[f64]) -> Vec<Unit> {
        diffs.iter().map(|&d| Unit { sum: d, count: 1 }).collect()
    }

    #[test]
    fn same_seed_same_interval_other_seed_other_interval() {
        // Distinct values, so that resampled means rarely tie at the percentiles.
        let diffs: Vec<f64> = (1..=40)
            .map(|i| (f64::from(i) * 0.618_034).fract() - 0.4)
            .collect();
        let units = cases(&diffs);
        let a = bootstrap_mean(&units, 2_000, 1, Confidence::NINETY_FIVE);
        assert_eq!(a, bootstrap_mean(&units, 2_000, 1, Confidence::NINETY_FIVE));
        assert_ne!(a, bootstrap_mean(&units, 2_000, 2, Confidence::NINETY_FIVE));
    }

    #[test]
    fn a_constant_difference_has_a_zero_width_interval() {
        let got = bootstrap_mean(&cases(&[0.25; 30]), 500, 9, Confidence::NINETY_FIVE);
        assert_eq!(
            got,
            Some(Interval {
                low: 0.25,
                high: 0.25
            })
        );
    }

    #[test]
    fn nothing_to_resample_is_none() {
        assert_eq!(bootstrap_mean(&[], 100, 1, Confidence::NINETY_FIVE), None);
        assert_eq!(
            bootstrap_mean(&cases(&[1.0]), 0, 1, Confidence::NINETY_FIVE),
            None
        );
    }

    #[test]
    fn percentile_interpolates_between_order_statistics() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 1.0), 5.0);
        assert_eq!(percentile(&v, 0.1), 1.4);
    }
}
