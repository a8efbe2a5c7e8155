//! Budget projection to a limit window's reset (§7): spent so far plus the calibrated
//! cumulative forecast. No rate is divided by elapsed time anywhere, so the first hour of a
//! window is no special case.

use serde::Serialize;

use crate::{HOUR_MS, IntervalKind, Quantiles, SeriesForecast, Status};

/// A limit's projection at its window's reset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    /// `spent` + the cumulative forecast over `[T, reset)`, per quantile.
    pub at_reset: Quantiles,
    /// Per quantile, the start of the first forecast hour by whose end spent + the cumulative
    /// forecast reaches the limit; T when already reached; `None` if not before the reset.
    pub crossing_ms: Quantiles<Option<i64>>,
    /// P(total at reset ≥ limit) ≥ 0.8: the 20th percentile at reset reaches the limit, and the
    /// intervals are calibrated (or extrapolated), never uncalibrated.
    pub exceed_projected: bool,
    /// The chance of exceeding the limit by the reset, read off the quantiles ("≥ 80%",
    /// "< 2.5%", ..), with " (uncalibrated)" when the intervals are.
    pub p_exceed_label: String,
}

/// Project a limit whose window resets at `reset_ms`, with `spent` already used in
/// `[window start, T)`.
pub fn project(f: &SeriesForecast, spent: f64, limit: f64, reset_ms: i64) -> Projection {
    let t = f.start_ms;
    let ok = f.status == Status::Ok && !f.point.is_empty();
    let hours = if reset_ms <= t || !ok {
        0
    } else {
        usize::try_from((reset_ms - t) / HOUR_MS).unwrap_or(usize::MAX)
    }
    .min(f.point.len());
    let at_reset = f.cumulative_hours(hours).map(|c| spent + c);
    let mut crossing = [None; 7];
    if spent >= limit {
        crossing = [Some(t); 7];
    } else {
        let (mut point, mut base) = (0.0, 0.0);
        for h in 1..=hours {
            point += f.point[h - 1];
            base += f.base_point[h - 1];
            let q = f.cumulative_from(h, point, base).to_array();
            for (c, v) in crossing.iter_mut().zip(q) {
                if c.is_none() && spent + v >= limit {
                    *c = Some(t + (h as i64 - 1) * HOUR_MS);
                }
            }
            if crossing.iter().all(Option::is_some) {
                break;
            }
        }
    }
    let calibrated = ok && f.intervals != IntervalKind::Uncalibrated;
    Projection {
        at_reset,
        crossing_ms: Quantiles::from_array(crossing),
        exceed_projected: calibrated && at_reset.q20 >= limit,
        p_exceed_label: label(&at_reset, limit, calibrated || !ok),
    }
}

fn label(q: &Quantiles, limit: f64, calibrated: bool) -> String {
    const TEXT: [&str; 7] = [
        "≥ 97.5%",
        "≥ 90%",
        "≥ 80%",
        "≥ 50%",
        "≥ 20%",
        "≥ 10%",
        "≥ 2.5%",
    ];
    let s = q
        .to_array()
        .iter()
        .position(|v| *v >= limit)
        .map_or("< 2.5%", |i| TEXT[i]);
    if calibrated {
        s.to_string()
    } else {
        format!("{s} (uncalibrated)")
    }
}
