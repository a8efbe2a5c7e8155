//! The Wilson score interval of a proportion: the interval of the values `p` that a score
//! test at the given level would not reject. Unlike the normal ("Wald") interval it stays
//! inside [0, 1], is not zero-width at 0 or n successes, and keeps close to its nominal
//! coverage down to a few dozen trials (Bowyer et al., arXiv 2503.01747, on eval sizes).

use super::{Confidence, Interval, StatsError};
use serde::{Deserialize, Serialize};

/// A pass rate with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Proportion {
    pub successes: u64,
    pub n: u64,
    /// `successes / n`; `None` when `n` is 0.
    pub rate: Option<f64>,
    /// The Wilson interval; [0, 1] when `n` is 0 (nothing is known).
    pub interval: Interval,
}

/// `successes` out of `n`, with its Wilson score interval at `confidence`.
pub fn wilson(successes: u64, n: u64, confidence: Confidence) -> Result<Proportion, StatsError> {
    if successes > n {
        return Err(StatsError::Counts { successes, n });
    }
    if n == 0 {
        return Ok(Proportion {
            successes,
            n,
            rate: None,
            interval: Interval {
                low: 0.0,
                high: 1.0,
            },
        });
    }
    let z = confidence.z();
    let z2 = z * z;
    let nf = n as f64;
    let p = successes as f64 / nf;
    let denominator = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    // At 0 and n successes the bound is exactly 0 or 1; rounding must not leave -1e-17.
    let low = if successes == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let high = if successes == n {
        1.0
    } else {
        (center + half).min(1.0)
    };
    Ok(Proportion {
        successes,
        n,
        rate: Some(p),
        interval: Interval { low, high },
    })
}
