//! Intervals from the backtest's own errors (§4): split-conformal order statistics of daily-total
//! errors, normalised per lead bucket so one pool serves every lead; cumulative-sum offsets for
//! budgets; extrapolation beyond the backtest's lead; cross-fitted coverage.

use crate::{Coverage, IntervalKind, Quantiles};

/// [`crate::QUANTILE_LEVELS`] in thousandths, so the conformal ranks are exact integers.
const LEVELS_MILLI: [usize; 7] = [25, 100, 200, 500, 800, 900, 975];
/// Standard normal quantiles at the same levels, for the uncalibrated fallback.
const NORMAL_Z: [f64; 7] = [-1.96, -1.2816, -0.8416, 0.0, 0.8416, 1.2816, 1.96];
/// Lead-day buckets (0-based, end exclusive) whose errors share one scale.
const BUCKETS: [(usize, usize); 4] = [(0, 1), (1, 3), (3, 7), (7, 14)];
/// Fewer pooled errors than this and the 80% ranks do not exist: uncalibrated.
pub(crate) const MIN_ERRORS_80: usize = 9;
/// Fewer than this and the 95% bounds are the extreme errors seen.
pub(crate) const MIN_ERRORS_95: usize = 39;

/// The 1-based rank of the order statistic for probability `milli`/1000 among `n` errors:
/// ⌊(n+1)p⌋ below the median, ⌈(n+1)p⌉ from it up (split conformal's finite-sample ranks).
/// `None` when that rank falls outside 1..=n (too few errors for this level).
pub(crate) fn conformal_rank(n: usize, milli: usize) -> Option<usize> {
    let x = (n + 1) * milli;
    let k = if milli < 500 {
        x / 1000
    } else {
        x.div_ceil(1000)
    };
    (1..=n).contains(&k).then_some(k)
}

/// Offsets at each quantile level from sorted errors, clamping a missing rank to the extreme
/// error; the bool says whether any rank was clamped.
pub(crate) fn order_offsets(sorted: &[f64]) -> ([f64; 7], bool) {
    let n = sorted.len();
    let mut clamped = false;
    let q = LEVELS_MILLI.map(|milli| match conformal_rank(n, milli) {
        Some(k) => sorted[k - 1],
        None => {
            clamped = true;
            if milli < 500 {
                sorted[0]
            } else {
                sorted[n - 1]
            }
        }
    });
    (q, clamped)
}

/// Calibrated offsets per lead day within the backtest's lead.
#[derive(Debug, Clone)]
pub(crate) struct Calibration {
    pub daily: Vec<[f64; 7]>,
    pub cum: Vec<[f64; 7]>,
    /// The 95% ranks did not exist: its bounds are the extreme errors.
    pub extreme95: bool,
}

fn bucket_of(d: usize) -> usize {
    BUCKETS
        .iter()
        .position(|(a, b)| d >= *a && d < *b)
        .unwrap_or(BUCKETS.len() - 1)
}

fn rms(v: impl Iterator<Item = f64>) -> f64 {
    let (s, k) = v.fold((0.0, 0usize), |(s, k), x| (s + x * x, k + 1));
    if k == 0 { 0.0 } else { (s / k as f64).sqrt() }
}

/// One origin's errors per lead day; `None` where the day is not comparable (calendar hours).
pub(crate) type Errors = Vec<Option<f64>>;

/// Pool errors standardised by `scale[d]` and turn the pooled order statistics back into
/// offsets per lead.
fn pooled(errors: &[&Errors], scale: &[f64]) -> Option<(Vec<[f64; 7]>, bool)> {
    let mut z: Vec<f64> = errors
        .iter()
        .flat_map(|e| {
            e.iter()
                .enumerate()
                .filter_map(|(d, x)| x.map(|x| standardise(x, scale[d])))
        })
        .collect();
    if z.len() < MIN_ERRORS_80 {
        return None;
    }
    z.sort_by(f64::total_cmp);
    let (q, clamped) = order_offsets(&z);
    Some((scale.iter().map(|s| q.map(|x| x * s)).collect(), clamped))
}

fn standardise(x: f64, s: f64) -> f64 {
    if s > 0.0 { x / s } else { 0.0 }
}

/// Daily-total and cumulative-sum offsets from `errors[origin][lead day]`. Daily errors share
/// a scale per lead bucket (day 1, 2-3, 4-7, 8-14); cumulative sums get a scale per lead day,
/// never shrinking with the lead. `None` under [`MIN_ERRORS_80`] errors.
pub(crate) fn calibrate(errors: &[&Errors], lead_days: usize) -> Option<Calibration> {
    if errors.is_empty() || lead_days == 0 {
        return None;
    }
    let bucket_scale: Vec<f64> = (0..BUCKETS.len())
        .map(|b| {
            rms(errors
                .iter()
                .flat_map(|e| e.iter().enumerate())
                .filter(|(d, _)| bucket_of(*d) == b)
                .filter_map(|(_, x)| *x))
        })
        .collect();
    let daily_scale: Vec<f64> = (0..lead_days).map(|d| bucket_scale[bucket_of(d)]).collect();
    let (daily, extreme95) = pooled(errors, &daily_scale)?;
    let cum_errors: Vec<Errors> = errors.iter().map(|e| running_sum(e)).collect();
    let mut cum_scale: Vec<f64> = (0..lead_days)
        .map(|d| rms(cum_errors.iter().filter_map(|c| c[d])))
        .collect();
    for d in 1..cum_scale.len() {
        cum_scale[d] = cum_scale[d].max(cum_scale[d - 1]);
    }
    let refs: Vec<&Errors> = cum_errors.iter().collect();
    let (cum, _) = pooled(&refs, &cum_scale)?;
    Some(Calibration {
        daily,
        cum,
        extreme95,
    })
}

/// The error of the sum to each lead day. Days without an error count at the mean of the
/// days with one (the sum over d days ≈ d × their mean error), so a holiday in the held-out
/// days neither drops the origin nor pretends the model was right on it.
fn running_sum(e: &[Option<f64>]) -> Errors {
    let (mut sum, mut seen) = (0.0, 0usize);
    e.iter()
        .enumerate()
        .map(|(d, x)| {
            if let Some(x) = x {
                sum += x;
                seen += 1;
            }
            (seen > 0).then(|| sum * (d + 1) as f64 / seen as f64)
        })
        .collect()
}

/// Offsets for `days` lead days: calibrated within the backtest's lead; beyond it daily
/// offsets grow by √(d / lead) and cumulative ones linearly (a level error persists, so its
/// effect on a sum grows with the days summed).
pub(crate) fn extend(
    c: &Calibration,
    days: usize,
) -> (Vec<[f64; 7]>, Vec<IntervalKind>, Vec<Quantiles>) {
    let lead = c.daily.len();
    let mut daily = Vec::with_capacity(days);
    let mut kinds = Vec::with_capacity(days);
    let mut cum = Vec::with_capacity(days);
    for d in 0..days {
        if d < lead {
            daily.push(c.daily[d]);
            cum.push(Quantiles::from_array(c.cum[d]));
            kinds.push(IntervalKind::Calibrated);
        } else {
            let r = (d + 1) as f64 / lead as f64;
            daily.push(c.daily[lead - 1].map(|x| x * r.sqrt()));
            cum.push(Quantiles::from_array(c.cum[lead - 1].map(|x| x * r)));
            kinds.push(IntervalKind::Extrapolated);
        }
    }
    (daily, kinds, cum)
}

/// Without enough backtest errors: a normal band with the day-to-day dispersion of the last
/// two weeks' daily totals (a quarter of the mean when that is 0 or unknown); sums grow with
/// the days. Labelled uncalibrated: never fires a budget event.
pub(crate) fn uncalibrated(daily_totals: &[f64], days: usize) -> (Vec<[f64; 7]>, Vec<Quantiles>) {
    let recent = &daily_totals[daily_totals.len().saturating_sub(14)..];
    let m = crate::backtest::mean(recent);
    let sd = if recent.len() >= 2 {
        (recent.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (recent.len() - 1) as f64).sqrt()
    } else {
        0.0
    };
    let sd = if sd > 0.0 { sd } else { 0.25 * m.abs() };
    let daily = vec![NORMAL_Z.map(|z| z * sd); days];
    let cum = (1..=days)
        .map(|d| Quantiles::from_array(NORMAL_Z.map(|z| z * sd * d as f64)))
        .collect();
    (daily, cum)
}

/// Coverage measured by cross-fitting: each origin's daily totals checked against intervals
/// calibrated on the other origins' errors. `None` with fewer than 2 origins or too few errors.
pub(crate) fn coverage(errors: &[Errors], lead_days: usize) -> Option<Coverage> {
    if errors.len() < 2 {
        return None;
    }
    let (mut in80, mut in95, mut points) = (0usize, 0usize, 0usize);
    for k in 0..errors.len() {
        let others: Vec<&Errors> = errors
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .map(|(_, e)| e)
            .collect();
        let c = calibrate(&others, lead_days)?;
        for (d, e) in errors[k].iter().enumerate() {
            let Some(e) = e else { continue };
            let q = c.daily[d];
            in80 += usize::from(*e >= q[1] && *e <= q[5]);
            in95 += usize::from(*e >= q[0] && *e <= q[6]);
            points += 1;
        }
    }
    (points > 0).then(|| Coverage {
        p80: in80 as f64 / points as f64,
        p95: in95 as f64 / points as f64,
        origins: errors.len(),
        points,
    })
}

/// Add a level uncertainty of relative sd `sd` to offsets around `points[d]` (each lead
/// day's point, daily or cumulative): each bound moves away from the median by the
/// quadrature sum of its offset and z·sd·point, at the normal z of its level.
pub(crate) fn widen(offsets: &mut [[f64; 7]], points: &[f64], sd: f64) {
    for (q, p) in offsets.iter_mut().zip(points) {
        let mid = q[3];
        for (x, z) in q.iter_mut().zip(NORMAL_Z) {
            let d = *x - mid;
            let extra = z * sd * p.abs();
            let dir = if d != 0.0 { d.signum() } else { z.signum() };
            *x = mid + dir * (d * d + extra * extra).sqrt();
        }
    }
}

/// Cumulative offsets after `hours` forecast hours: linear between the ends of lead days
/// (0 at T), linear past the last one.
pub(crate) fn offset_at(cum: &[Quantiles], hours: usize) -> Quantiles {
    if cum.is_empty() || hours == 0 {
        return Quantiles::default();
    }
    let d = hours as f64 / 24.0;
    let i = hours / 24; // whole days done
    let frac = d - i as f64;
    let at = |k: usize| -> [f64; 7] {
        if k == 0 {
            [0.0; 7]
        } else if k <= cum.len() {
            cum[k - 1].to_array()
        } else {
            let last = cum[cum.len() - 1].to_array();
            last.map(|x| x * k as f64 / cum.len() as f64)
        }
    };
    let (a, b) = (at(i), at(i + 1));
    let mut out = [0.0; 7];
    for j in 0..7 {
        out[j] = a[j] + (b[j] - a[j]) * frac;
    }
    Quantiles::from_array(out)
}

/// Quantiles in order, finite, and floored at 0 for a series that is never negative.
pub(crate) fn tidy(q: &mut [f64; 7], nonnegative: bool) {
    for x in q.iter_mut() {
        if !x.is_finite() {
            *x = 0.0;
        }
        if nonnegative && *x < 0.0 {
            *x = 0.0;
        }
    }
    q.sort_by(f64::total_cmp);
}
