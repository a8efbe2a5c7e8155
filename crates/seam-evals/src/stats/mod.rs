//! The statistics behind the gate, each a pure function in a file of its own. None of them
//! panics on what a run can hold (no cases, every case passing, no flipped case); where a
//! number does not exist (a rate of zero cases) the result says so with `None`.

mod bootstrap;
mod mcnemar;
mod mde;
mod newcombe;
mod normal;
mod passk;
mod rng;
mod signflip;
mod wilson;

pub use bootstrap::{Unit, bootstrap_mean};
pub use mcnemar::mcnemar_exact;
pub use mde::{minimum_detectable_effect, smallest_significant_count};
pub use newcombe::{PairedCounts, newcombe_paired_difference};
pub use normal::{normal_quantile, normal_upper_tail};
pub use passk::{pass_hat_k, pass_k_rate};
pub use rng::SplitMix64;
pub use signflip::sign_flip_exact;
pub use wilson::{Proportion, wilson};

use serde::{Deserialize, Serialize};

/// A closed interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// A two-sided confidence level in (0, 1), checked once so the functions that take one
/// cannot be handed 95 for 0.95, with its normal quantile computed once (a gate takes it
/// for every interval).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confidence {
    level: f64,
    z: f64,
}

impl Confidence {
    /// 95%, with `z = 1.9599639845400538` (mpmath; the test `ninety_five_is_what_new_computes`
    /// checks `new(0.95)` agrees).
    pub const NINETY_FIVE: Confidence = Confidence {
        level: 0.95,
        z: 1.959_963_984_540_053_8,
    };

    pub fn new(level: f64) -> Result<Confidence, StatsError> {
        if level > 0.0 && level < 1.0 {
            Ok(Confidence {
                level,
                z: normal_quantile(0.5 + level / 2.0),
            })
        } else {
            Err(StatsError::Confidence(level))
        }
    }

    /// The level `1 - alpha` of a two-sided test at `alpha`.
    pub fn from_alpha(alpha: f64) -> Result<Confidence, StatsError> {
        if alpha > 0.0 && alpha < 1.0 {
            Confidence::new(1.0 - alpha)
        } else {
            Err(StatsError::Alpha(alpha))
        }
    }

    pub fn level(self) -> f64 {
        self.level
    }

    /// The normal quantile `z` with `P(|Z| <= z) = level`.
    pub fn z(self) -> f64 {
        self.z
    }

    /// The lower and upper tail probabilities, `(1 - level) / 2` each.
    pub(crate) fn tail(self) -> f64 {
        (1.0 - self.level) / 2.0
    }
}

impl Default for Confidence {
    fn default() -> Self {
        Confidence::NINETY_FIVE
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("confidence level {0} is not between 0 and 1 (write 0.95, not 95)")]
    Confidence(f64),
    #[error("alpha {0} is not between 0 and 1")]
    Alpha(f64),
    #[error("{successes} successes out of {n} trials: more successes than trials")]
    Counts { successes: u64, n: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ninety_five_is_what_new_computes() {
        // Within rounding: 0.95 is not exact in binary, so new(0.95) lands a few ulps away.
        let z = Confidence::new(0.95).map(Confidence::z).unwrap_or(f64::NAN);
        assert!((z - Confidence::NINETY_FIVE.z()).abs() < 1e-14, "{z}");
        let z = Confidence::from_alpha(0.05)
            .map(Confidence::z)
            .unwrap_or(f64::NAN);
        assert!((z - Confidence::NINETY_FIVE.z()).abs() < 1e-14, "{z}");
    }
}
