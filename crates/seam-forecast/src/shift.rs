//! Level shifts and holiday troughs (§6), on deseasonalised daily levels.

use crate::clean::median;
use crate::{DAY_MS, Period};

/// Shortest segment binary segmentation considers, days.
const MIN_SEGMENT_DAYS: usize = 7;
/// Penalty per split in units of σ²·ln(days): BIC counts 3 parameters (break, level, slope);
/// one more keeps noise and slow trends from splitting.
const SPLIT_PENALTY: f64 = 4.0;
/// Days the holiday-trough measure calls recent, and the days before them it compares with.
const RECENT_DAYS: usize = 14;
const BASE_DAYS: usize = 28;

/// Whole-day totals counted back from the end of `values` (a partial first day dropped).
pub(crate) fn daily_totals(values: &[f64]) -> Vec<f64> {
    let days = values.len() / 24;
    values[values.len() - days * 24..]
        .chunks(24)
        .map(|c| c.iter().sum())
        .collect()
}

/// Each day's weight within the week (mean 1), by position modulo 7: the median ratio of a
/// day to the mean of the 7 days around it.
fn weekday_profile(days: &[f64]) -> [f64; 7] {
    let mut ratios: [Vec<f64>; 7] = Default::default();
    for i in 0..days.len() {
        let (a, b) = window7(i, days.len());
        let m = days[a..b].iter().sum::<f64>() / (b - a) as f64;
        if b - a == 7 && m > 0.0 {
            ratios[i % 7].push(days[i] / m);
        }
    }
    let mut p = [1.0; 7];
    for (slot, r) in p.iter_mut().zip(ratios.iter_mut()) {
        *slot = median(r).unwrap_or(1.0).max(1e-6);
    }
    let mean = p.iter().sum::<f64>() / 7.0;
    p.map(|x| x / mean)
}

fn window7(i: usize, n: usize) -> (usize, usize) {
    if n < 7 {
        return (0, n);
    }
    let a = i.saturating_sub(3).min(n - 7);
    (a, a + 7)
}

/// The holiday-trough warning: the last 14 days' actual level (deseasonalised by the
/// weekday profile) against the 28 days before, when the gap reaches `threshold` and the 14
/// days overlap a calendar period.
pub(crate) fn holiday_trough(
    raw: &[f64],
    filled: &[f64],
    t_ms: i64,
    periods: &[Period],
    threshold: f64,
) -> Option<String> {
    let (raw_d, filled_d) = (daily_totals(raw), daily_totals(filled));
    let n = raw_d.len();
    if n < RECENT_DAYS + MIN_SEGMENT_DAYS {
        return None;
    }
    let recent_from = t_ms - RECENT_DAYS as i64 * DAY_MS;
    let overlap = |p: &Period| (p.end_ms.min(t_ms) - p.start_ms.max(recent_from)).max(0);
    let period = periods
        .iter()
        .filter(|p| overlap(p) > 0)
        .max_by_key(|p| overlap(p))?;
    let base_from = n.saturating_sub(RECENT_DAYS + BASE_DAYS);
    let prof = weekday_profile(&filled_d[base_from..]);
    let level = |d: &[f64], from: usize, to: usize| -> f64 {
        (from..to)
            .map(|i| d[i] / prof[(i - base_from) % 7])
            .sum::<f64>()
            / (to - from) as f64
    };
    let base = level(&filled_d, base_from, n - RECENT_DAYS);
    let recent = level(&raw_d, n - RECENT_DAYS, n);
    if base <= 0.0 {
        return None;
    }
    let change = recent / base - 1.0;
    if change.abs() < threshold {
        return None;
    }
    let pct = (change.abs() * 100.0).round();
    let dir = if change < 0.0 { "below" } else { "above" };
    Some(format!(
        "the last {RECENT_DAYS} days are {pct}% {dir} the seasonal level and overlap {}: the \
         forecast does not treat them as the new baseline",
        period.name
    ))
}

/// A change of level: the first day of the new level (index into the whole days counted back
/// from the end) and the new level ÷ the old one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shift {
    pub day: usize,
    pub days: usize,
    pub factor: f64,
}

/// The latest level shift of at least `threshold` in the daily log-levels of `filled`: binary
/// segmentation with piecewise-linear segments (so a steady trend is not a shift) and a
/// BIC-style penalty on a robust noise estimate.
pub(crate) fn level_shift(filled: &[f64], threshold: f64) -> Option<Shift> {
    let days = daily_totals(filled);
    let n = days.len();
    if n < 3 * MIN_SEGMENT_DAYS {
        return None;
    }
    let prof = weekday_profile(&days);
    let mean = days.iter().sum::<f64>() / n as f64;
    if mean <= 0.0 {
        return None;
    }
    let floor = 1e-3 * mean;
    let x: Vec<f64> = days
        .iter()
        .enumerate()
        .map(|(i, d)| (d / prof[i % 7]).max(floor).ln())
        .collect();
    let mut diffs: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let med = median(&mut diffs.clone()).unwrap_or(0.0);
    let mut dev: Vec<f64> = diffs.iter_mut().map(|d| (*d - med).abs()).collect();
    let sigma = (1.4826 * median(&mut dev).unwrap_or(0.0) / 2f64.sqrt()).max(0.01);
    let penalty = SPLIT_PENALTY * sigma * sigma * (n as f64).ln();
    let min_jump = (1.0 + threshold).ln();
    let mut found = None;
    let mut a = 0;
    while let Some((k, jump)) = best_split(&x[a..], penalty) {
        if jump.abs() >= min_jump {
            found = Some(Shift {
                day: a + k,
                days: n - a - k,
                factor: jump.exp(),
            });
        }
        a += k;
    }
    found
}

/// The split of `x` that most reduces the linear-fit SSE, if by more than `penalty`; with the
/// jump at the split (right fit minus left fit there).
fn best_split(x: &[f64], penalty: f64) -> Option<(usize, f64)> {
    let n = x.len();
    if n < 2 * MIN_SEGMENT_DAYS {
        return None;
    }
    let whole = line(x).2;
    let mut best: Option<(usize, f64, f64)> = None;
    for k in MIN_SEGMENT_DAYS..=n - MIN_SEGMENT_DAYS {
        let (la, lb, ls) = line(&x[..k]);
        let (ra, _, rs) = line(&x[k..]);
        let gain = whole - ls - rs;
        if best.is_none_or(|b| gain > b.1) {
            // Left line at x = k versus right line at its own x = 0.
            best = Some((k, gain, ra - (la + lb * k as f64)));
        }
    }
    best.filter(|b| b.1 > penalty).map(|b| (b.0, b.2))
}

/// Least-squares line through `y` at x = 0, 1, ..: (intercept, slope, SSE).
fn line(y: &[f64]) -> (f64, f64, f64) {
    let n = y.len() as f64;
    let mx = (n - 1.0) / 2.0;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = i as f64 - mx;
        sxy += dx * (v - my);
        sxx += dx * dx;
    }
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let a = my - b * mx;
    let sse = y
        .iter()
        .enumerate()
        .map(|(i, v)| (v - a - b * i as f64).powi(2))
        .sum();
    (a, b, sse)
}

/// `YYYY-MM-DD` of a UTC time (Hinnant's civil-from-days).
pub(crate) fn date(ms: i64) -> String {
    let z = ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// How uncertain the level at T is after `gap_hours` of filled calendar hours at the end of
/// the history, as a relative standard deviation: the week-to-week movement of the level (the
/// root mean square of the log ratios of consecutive weekly totals before the gap, drift
/// included), grown as a random walk over the gap's weeks. The backtest never saw such a gap,
/// so its errors do not hold this uncertainty.
pub(crate) fn gap_level_sd(filled: &[f64], gap_hours: usize) -> f64 {
    const FALLBACK: f64 = 0.05;
    let before = &filled[..filled.len().saturating_sub(gap_hours)];
    let weeks: Vec<f64> = before
        .rchunks_exact(168)
        .map(|w| w.iter().sum::<f64>())
        .collect();
    let logs: Vec<f64> = weeks
        .windows(2)
        .filter(|w| w[0] > 0.0 && w[1] > 0.0)
        .map(|w| (w[0] / w[1]).ln())
        .collect();
    let sd = if logs.len() < 3 {
        FALLBACK
    } else {
        (logs.iter().map(|x| x * x).sum::<f64>() / logs.len() as f64)
            .sqrt()
            .max(0.01)
    };
    sd * (gap_hours as f64 / 168.0).sqrt()
}
