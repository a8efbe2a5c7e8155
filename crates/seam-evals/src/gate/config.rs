//! The gate's settings, with the defaults, checked before any number is computed.

use super::GateError;
use serde::{Deserialize, Serialize};

/// The bootstrap's seed unless one is given: fixed, so a gate run twice on the same runs
/// prints the same intervals. Stored in every report, so any decision can be recomputed.
pub const DEFAULT_SEED: u64 = 0x5ea4_0024;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GateConfig {
    /// Two-sided significance level of the test, and `1 - alpha` the intervals' level.
    pub alpha: f64,
    /// The largest drop in pass rate (a fraction: 0.02 is 2 points) that is not a regression.
    pub margin: f64,
    /// The power at which the minimum detectable effect is computed.
    pub power: f64,
    /// Bootstrap resamples (score difference; pass-rate difference with groups).
    pub resamples: u32,
    pub seed: u64,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            alpha: 0.05,
            margin: 0.02,
            power: 0.8,
            resamples: 10_000,
            seed: DEFAULT_SEED,
        }
    }
}

/// Fewer resamples than this leave the 2.5% tail to a handful of values.
pub const MIN_RESAMPLES: u32 = 100;

impl GateConfig {
    pub fn validate(&self) -> Result<(), GateError> {
        let bad = |key: &'static str, value: String, reason: &'static str| {
            Err(GateError::Config { key, value, reason })
        };
        if !(self.alpha > 0.0 && self.alpha < 0.5) {
            return bad(
                "alpha",
                self.alpha.to_string(),
                "must be above 0 and below 0.5 (0.05 is 5%)",
            );
        }
        if !(self.margin >= 0.0 && self.margin < 1.0) {
            return bad(
                "margin",
                self.margin.to_string(),
                "must be at least 0 and below 1 (0.02 is 2 points)",
            );
        }
        if !(self.power > 0.0 && self.power < 1.0) {
            return bad(
                "power",
                self.power.to_string(),
                "must be above 0 and below 1 (0.8 is 80%)",
            );
        }
        if self.resamples < MIN_RESAMPLES {
            return bad(
                "resamples",
                self.resamples.to_string(),
                "must be at least 100",
            );
        }
        Ok(())
    }
}
