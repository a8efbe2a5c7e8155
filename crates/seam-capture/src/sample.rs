//! Sampling decided once per trace: a hash of the trace id, so every call of a trace and
//! every gateway agree without sharing anything.

use sha2::{Digest, Sha256};

/// Separates this use of the hash from any other Seam makes of trace ids.
const DOMAIN: &[u8] = b"seam-capture-sample\0";

/// Whether the trace `trace_id` is captured at `rate` (0.0 to 1.0). Deterministic: the same
/// id and rate answer the same everywhere, and a trace kept at a rate is kept at any higher.
pub fn sampled(trace_id: &str, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate.is_nan() || rate <= 0.0 {
        return false;
    }
    let digest = Sha256::new()
        .chain_update(DOMAIN)
        .chain_update(trace_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // The top 53 bits as a uniform fraction in [0, 1): exact in an f64.
    let unit = (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64;
    unit < rate
}

#[cfg(test)]
mod tests {
    use super::sampled;

    #[test]
    fn the_rate_holds_over_many_traces_within_binomial_noise() {
        let n = 20_000u32;
        for rate in [0.01, 0.1, 0.25, 0.5, 0.9] {
            let kept = (0..n)
                .filter(|i| sampled(&format!("trace-{i:08x}"), rate))
                .count() as f64;
            // Binomial sd = sqrt(n p (1-p)); 5 sd either side: a false failure is ~1 in 3.5 million.
            let (mean, sd) = (
                f64::from(n) * rate,
                (f64::from(n) * rate * (1.0 - rate)).sqrt(),
            );
            assert!(
                (kept - mean).abs() <= 5.0 * sd,
                "rate {rate}: kept {kept}, expected {mean} ± {}",
                5.0 * sd
            );
        }
    }

    #[test]
    fn the_decision_is_the_same_every_time_and_monotone_in_the_rate() {
        for i in 0..2_000 {
            let id = format!("{i}-0192f1a0-7c2b-7000-8000-{i:012}");
            assert_eq!(sampled(&id, 0.3), sampled(&id, 0.3));
            if sampled(&id, 0.3) {
                assert!(sampled(&id, 0.31), "{id}");
            }
        }
        assert!(sampled("x", 1.0) && sampled("x", 7.0));
        assert!(!sampled("x", 0.0) && !sampled("x", -1.0) && !sampled("x", f64::NAN));
        // Fixed: a change of hash or domain would split traces across gateway versions.
        let fixed: Vec<bool> = (0..8).map(|i| sampled(&format!("t{i}"), 0.5)).collect();
        assert_eq!(fixed, [false, false, true, true, false, false, true, true]);
    }
}
