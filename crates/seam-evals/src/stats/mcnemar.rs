//! The exact McNemar test: of the `b + c` cases that flipped between two runs, are the
//! `b` pass->fail flips too many (or too few) for a fair coin? Under the null of no change
//! each flip goes either way with probability 1/2, so `b ~ Binomial(b + c, 1/2)` and the
//! two-sided p-value is `min(1, 2 P(X <= min(b, c)))` (the distribution is symmetric, so
//! doubling the smaller tail equals summing every outcome no more likely than the one seen).
//!
//! The mid-p variant is not used: it is less conservative but its size can exceed alpha,
//! and the gate's promise is a false-alarm rate of at most alpha.

/// The two-sided exact McNemar p-value of `b` pass->fail and `c` fail->pass flips;
/// 1 when nothing flipped.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let m = b.saturating_add(c);
    let k = b.min(c);
    if m == 0 || 2 * k >= m {
        return 1.0;
    }
    (2.0 * binomial_half_cdf(k, m)).min(1.0)
}

/// `P(X <= k)` for `X ~ Binomial(m, 1/2)` with `k < m / 2`, summed from the largest term
/// `P(X = k)` down, each term from the next by the ratio `i / (m - i + 1)`, so no factorial
/// overflows and a tail below 1e-300 underflows to 0 rather than to garbage.
pub(crate) fn binomial_half_cdf(k: u64, m: u64) -> f64 {
    debug_assert!(2 * k < m);
    let p_k = binomial_half_pmf_at(k, m);
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut i = k;
    while i > 0 && term > sum * 1e-17 {
        term *= i as f64 / (m - i + 1) as f64;
        sum += term;
        i -= 1;
    }
    p_k * sum
}

/// `P(X = k) = C(m, k) / 2^m` for `k < m / 2`, as a product of the ratios
/// `(m - i + 1) / i` (each at least 1) with the power of two kept apart as an integer
/// exponent: no logarithm of a large number is summed, so the relative error stays near
/// `k` roundings (about 1e-14 at thousands of flips), and `k = 0` gives `2^-m` exactly.
fn binomial_half_pmf_at(k: u64, m: u64) -> f64 {
    const STEP: i32 = 1000;
    let mut mantissa = 1.0_f64;
    let mut exponent = -i64::try_from(m).unwrap_or(i64::MAX);
    for i in 1..=k {
        mantissa *= (m - i + 1) as f64 / i as f64;
        if mantissa > 2f64.powi(STEP) {
            mantissa *= 2f64.powi(-STEP);
            exponent += i64::from(STEP);
        }
    }
    // Apply 2^exponent in steps the f64 range allows; what is left below 2^-1074 is 0.
    while exponent < -i64::from(STEP) && mantissa > 0.0 {
        mantissa *= 2f64.powi(-STEP);
        exponent += i64::from(STEP);
    }
    mantissa * 2f64.powi(i32::try_from(exponent).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_flipped_or_as_many_each_way_is_no_evidence() {
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        assert_eq!(mcnemar_exact(5, 5), 1.0);
        assert_eq!(mcnemar_exact(1, 0), 1.0);
    }

    #[test]
    fn symmetric_in_direction() {
        assert_eq!(mcnemar_exact(9, 2), mcnemar_exact(2, 9));
    }

    #[test]
    fn all_one_way_is_two_over_two_to_the_m() {
        // P(X <= 0) = 2^-m exactly, doubled.
        assert_eq!(mcnemar_exact(6, 0), 2.0 / 64.0);
        assert_eq!(mcnemar_exact(0, 20), 2.0 / 1_048_576.0);
    }
}
