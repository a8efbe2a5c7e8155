//! The minimum detectable effect: the smallest drop in pass rate the gate would flag with
//! probability `power` at this run's size and flip rate, so that "no regression found" says
//! what it could have seen.
//!
//! The gate's test looks at the net flip `T = sum of per-case differences` (candidate minus
//! baseline, each -1, 0 or +1). Under no change its variance is `V = sum over groups of S^2`,
//! `S` a group's net flip; without groups that is `b + c`, the number of flipped cases (the
//! null variance of McNemar's test; with groups, the clustered variance of Miller, "Adding
//! Error Bars to Evals", arXiv 2411.00640, section on clustered standard errors and power).
//! A drop `delta` (a fraction of the `n` cases) is detected with probability `power` at
//! two-sided level `alpha` when
//!
//! ```text
//!     delta * n >= (z(1 - alpha/2) + z(power)) * sqrt(V_delta)
//! ```
//!
//! With the observed `V` for `V_delta` this is `delta = Z sqrt(V) / n`, `Z` the sum of the
//! two quantiles. But a drop of `delta` needs at least `delta * n` flipped cases, so
//! `V_delta >= delta * n`, which gives `delta >= Z^2 / n`: a run where nothing flipped is
//! not credited with seeing every drop. And no drop smaller than `m / n` can be significant,
//! `m` the fewest one-way flips the exact test calls significant (6 at alpha 0.05). The MDE
//! is the largest of the three, capped at 1.

use super::{mcnemar_exact, normal_quantile};

/// The minimum detectable drop, as a fraction of the cases (0.05 is 5 points), for `n`
/// compared cases whose groups' net flips have squares summing to `flip_variance` (`b + c`
/// without groups). `None` with no case, or `alpha` or `power` outside (0, 1).
pub fn minimum_detectable_effect(
    n: u64,
    flip_variance: f64,
    alpha: f64,
    power: f64,
) -> Option<f64> {
    if n == 0 || !(alpha > 0.0 && alpha < 1.0) || !(power > 0.0 && power < 1.0) {
        return None;
    }
    let z = normal_quantile(1.0 - alpha / 2.0) + normal_quantile(power);
    let nf = n as f64;
    let observed = z * flip_variance.max(0.0).sqrt() / nf;
    let least_flips = z * z / nf;
    let least_significant = smallest_significant_count(alpha) as f64 / nf;
    Some(observed.max(least_flips).max(least_significant).min(1.0))
}

/// The fewest flips, all one way and none back, that the exact McNemar test calls
/// significant at `alpha` (`2 / 2^m < alpha`); 0 for an `alpha` outside (0, 1).
pub fn smallest_significant_count(alpha: f64) -> u64 {
    if !(alpha > 0.0 && alpha < 1.0) {
        return 0;
    }
    // 2^-1074 is the smallest f64, so the loop ends by 1076 at the latest.
    (1..=1100)
        .find(|&m| mcnemar_exact(m, 0) < alpha)
        .unwrap_or(1100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_one_way_flips_at_five_percent() {
        // 2/2^5 = 0.0625, 2/2^6 = 0.03125.
        assert_eq!(smallest_significant_count(0.05), 6);
        assert_eq!(smallest_significant_count(0.0625), 6);
        assert_eq!(smallest_significant_count(0.07), 5);
    }

    #[test]
    fn the_largest_bound_wins() {
        let z: f64 = 1.959_963_984_540_054 + 0.841_621_233_572_914_4;
        // Many flips: the observed variance decides.
        let got = minimum_detectable_effect(1_000, 300.0, 0.05, 0.8).unwrap_or(f64::NAN);
        assert!((got - z * 300f64.sqrt() / 1_000.0).abs() < 1e-12);
        // Nothing flipped: Z^2/n, not 0.
        let got = minimum_detectable_effect(1_000, 0.0, 0.05, 0.8).unwrap_or(f64::NAN);
        assert!((got - z * z / 1_000.0).abs() < 1e-12);
        // Tiny runs cannot detect anything smaller than everything.
        assert_eq!(minimum_detectable_effect(5, 0.0, 0.05, 0.8), Some(1.0));
        assert_eq!(minimum_detectable_effect(0, 0.0, 0.05, 0.8), None);
    }
}
