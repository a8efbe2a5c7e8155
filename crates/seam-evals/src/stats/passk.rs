//! pass^k: the chance that k runs of a case all pass (Yao et al., tau-bench, arXiv
//! 2406.12045), the number a user who retries nothing lives with. From `runs` runs with
//! `passes` passing, `C(passes, k) / C(runs, k)` is its unbiased estimate (it is the share
//! of the k-subsets of the runs that are all passes); with exactly k runs it is 1 when all
//! passed and 0 otherwise.

/// pass^k of one case; `None` when `k` is 0 or more than the case's runs, or the counts
/// are impossible.
pub fn pass_hat_k(passes: u32, runs: u32, k: u32) -> Option<f64> {
    if k == 0 || k > runs || passes > runs {
        return None;
    }
    if passes < k {
        return Some(0.0);
    }
    // C(passes, k) / C(runs, k) = prod_{i<k} (passes - i) / (runs - i): no factorials.
    Some(
        (0..k)
            .map(|i| f64::from(passes - i) / f64::from(runs - i))
            .product(),
    )
}

/// The mean pass^k over cases given as `(passes, runs)`, skipping cases where it is not
/// defined (fewer than k runs); `None` when no case has it.
pub fn pass_k_rate(cases: &[(u32, u32)], k: u32) -> Option<f64> {
    let values: Vec<f64> = cases
        .iter()
        .filter_map(|&(passes, runs)| pass_hat_k(passes, runs, k))
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_k_runs_it_is_all_or_nothing() {
        assert_eq!(pass_hat_k(3, 3, 3), Some(1.0));
        assert_eq!(pass_hat_k(2, 3, 3), Some(0.0));
    }

    #[test]
    fn with_more_runs_it_counts_subsets() {
        // 4 of 5 runs pass: C(4,2)/C(5,2) = 6/10.
        let got = pass_hat_k(4, 5, 2).unwrap_or(f64::NAN);
        assert!((got - 0.6).abs() < 1e-15, "{got}");
        assert_eq!(pass_hat_k(1, 5, 1), Some(0.2));
    }

    #[test]
    fn undefined_cases_are_none() {
        assert_eq!(pass_hat_k(1, 1, 0), None);
        assert_eq!(pass_hat_k(1, 1, 2), None);
        assert_eq!(pass_hat_k(3, 2, 1), None);
        assert_eq!(pass_k_rate(&[], 1), None);
        assert_eq!(pass_k_rate(&[(1, 1), (0, 1), (2, 2)], 2), Some(1.0));
    }
}
