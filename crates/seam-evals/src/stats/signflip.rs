//! The exact McNemar test for cases that share a context (a dataset `group`): flips within a
//! group tend to go together, so counting them as independent coin tosses overstates the
//! evidence. The test works on each group's net flip `S = (fail->pass) - (pass->fail)` and
//! asks how often random signs on the groups' `|S|` give a total at least as far from zero
//! as the one seen (a sign-flip randomization test, exact, computed by convolution rather
//! than by enumerating `2^groups` sign patterns).
//!
//! With every group a single case, `|S|` is 1 for each flipped case and the test is exactly
//! the exact McNemar test (the tests check this).

/// The two-sided exact sign-flip p-value of groups' net flips; 1 when every sum is 0.
pub fn sign_flip_exact(group_sums: &[i64]) -> f64 {
    let observed: i64 = group_sums.iter().sum();
    // Sizes |S| of the groups that flipped on balance, counted by size: groups of the same
    // size combine into one binomial, so the common case (many single cases) costs O(n).
    let mut by_size: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
    for &s in group_sums {
        if s != 0 {
            *by_size.entry(s.unsigned_abs()).or_default() += 1;
        }
    }
    if by_size.is_empty() || observed == 0 {
        return 1.0;
    }
    let total: u64 = by_size.iter().map(|(size, count)| size * count).sum();
    // dist[u] = P(U = u) where U is the sum of |S| over the groups given a + sign; the total
    // is then 2U - total. Largest count first: its binomial is the starting distribution.
    let mut sizes: Vec<(u64, u64)> = by_size.into_iter().collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut dist = vec![1.0_f64];
    for (size, count) in sizes {
        let pmf = binomial_half_pmf(count);
        let step = usize::try_from(size).unwrap_or(usize::MAX);
        let mut next = vec![0.0_f64; dist.len() + step.saturating_mul(pmf.len() - 1)];
        for (u, &p_u) in dist.iter().enumerate() {
            if p_u == 0.0 {
                continue;
            }
            for (x, &p_x) in pmf.iter().enumerate() {
                next[u + step * x] += p_u * p_x;
            }
        }
        dist = next;
    }
    let bound = observed.unsigned_abs();
    let p: f64 = dist
        .iter()
        .enumerate()
        .filter(|&(u, _)| (2 * u as u64).abs_diff(total) >= bound)
        .map(|(_, &p)| p)
        .sum();
    p.min(1.0)
}

/// `P(X = x)` for `X ~ Binomial(m, 1/2)`, x = 0..=m, by the log of `C(m, x)` so a large `m`
/// underflows in the tails to 0 instead of overflowing.
fn binomial_half_pmf(m: u64) -> Vec<f64> {
    let base = -(m as f64) * std::f64::consts::LN_2;
    let mut ln_choose = 0.0;
    let mut out = Vec::with_capacity(usize::try_from(m).unwrap_or(0).saturating_add(1));
    out.push(base.exp());
    for x in 1..=m {
        ln_choose += ((m - x + 1) as f64 / x as f64).ln();
        out.push((ln_choose + base).exp());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::mcnemar_exact;

    #[test]
    fn single_case_groups_give_the_exact_mcnemar_p() {
        for (b, c) in [(9u64, 2u64), (3, 0), (12, 30), (7, 7), (150, 110)] {
            let sums: Vec<i64> = std::iter::repeat_n(-1, b as usize)
                .chain(std::iter::repeat_n(1, c as usize))
                .chain(std::iter::repeat_n(0, 40))
                .collect();
            let (flip, exact) = (sign_flip_exact(&sums), mcnemar_exact(b, c));
            assert!(
                (flip - exact).abs() <= 1e-12 * exact.max(1e-300),
                "b={b} c={c}: sign flip {flip}, exact McNemar {exact}"
            );
        }
    }

    #[test]
    fn one_group_can_never_be_significant() {
        // A single group that flipped 50 cases: a coin toss, whatever its size.
        assert_eq!(sign_flip_exact(&[-50]), 1.0);
        assert_eq!(sign_flip_exact(&[]), 1.0);
        assert_eq!(sign_flip_exact(&[0, 0]), 1.0);
    }
}
