//! Holidays (§5): mask calendar hours, fill them from the seasonal pattern, and learn each
//! holiday's effect as a multiplier for its future occurrences.

use std::collections::BTreeMap;

use crate::drift::{self, Drift};
use crate::{DAY_MS, HOUR_MS, Multiplier, Period};

/// Weeks of history around a gap that the fill's seasonal profile is read from.
const PROFILE_WEEKS: usize = 4;
/// Days around a gap whose level (relative to the profile) the fill ramps between.
const LEVEL_DAYS: usize = 7;
/// Holidays this long or longer get one multiplier per day offset.
const PER_DAY_MIN_DAYS: i64 = 3;
const MULT_MIN: f64 = 0.05;
const MULT_MAX: f64 = 2.0;

/// Which of the `n` hours from `start_ms` fall in a calendar period.
pub(crate) fn mask(periods: &[Period], start_ms: i64, n: usize) -> Vec<bool> {
    let mut m = vec![false; n];
    for p in periods {
        let (a, b) = hour_range(p, start_ms, n);
        m[a..b].iter_mut().for_each(|x| *x = true);
    }
    m
}

/// The hour indices `[a, b)` of `p` within `n` hours from `start_ms` (empty when outside).
fn hour_range(p: &Period, start_ms: i64, n: usize) -> (usize, usize) {
    let idx = |ms: i64| -> usize {
        let h = (ms - start_ms).div_euclid(HOUR_MS)
            + i64::from((ms - start_ms).rem_euclid(HOUR_MS) != 0);
        usize::try_from(h.max(0)).unwrap_or(0).min(n)
    };
    let a = usize::try_from((p.start_ms - start_ms).div_euclid(HOUR_MS).max(0))
        .unwrap_or(0)
        .min(n);
    let b = idx(p.end_ms);
    (a, b.max(a))
}

/// The series with masked hours replaced by the seasonal profile of the weeks around each gap,
/// scaled by a level ramping from the week before the gap to the week after, as
/// `forecast::na.interp` does with its seasonally adjusted series. When the gap runs to the
/// end the level before it is held, following the trend of the weeks before when that is
/// clear (see [`crate::drift`]).
pub(crate) fn fill(values: &[f64], mask: &[bool]) -> Vec<f64> {
    let mut out = values.to_vec();
    let n = values.len();
    let mut i = 0;
    while i < n {
        if !mask[i] {
            i += 1;
            continue;
        }
        let a = i;
        while i < n && mask[i] {
            i += 1;
        }
        fill_gap(values, mask, a, i, &mut out);
    }
    out
}

/// What a gap's fill reads from the weeks around it: the seasonal profile and the unmasked
/// hours before and after.
struct Around {
    profile: Vec<f64>,
    period: usize,
    pre: Vec<usize>,
    post: Vec<usize>,
}

impl Around {
    /// `None` when there is nothing to learn a pattern from.
    fn of(values: &[f64], mask: &[bool], a: usize, b: usize) -> Option<Around> {
        let n = values.len();
        let span = PROFILE_WEEKS * 168;
        let unmasked = |r: std::ops::Range<usize>| r.filter(|j| !mask[*j]).collect::<Vec<_>>();
        let (pre, post) = (
            unmasked(a.saturating_sub(span)..a),
            unmasked(b..(b + span).min(n)),
        );
        let (reference, period) = if pre.len() >= 168 {
            (pre.clone(), 168)
        } else if pre.len() + post.len() >= 168 {
            ([pre.clone(), post.clone()].concat(), 168)
        } else if pre.len() + post.len() >= 24 {
            ([pre.clone(), post.clone()].concat(), 24)
        } else {
            return None;
        };
        Some(Around {
            profile: profile(values, &reference, period),
            period,
            pre,
            post,
        })
    }

    /// The level of `idx` relative to the profile; `None` under a day of hours.
    fn level(&self, values: &[f64], idx: impl Iterator<Item = usize>) -> Option<f64> {
        let (y, p, k) = idx.fold((0.0, 0.0, 0usize), |(y, p, k), j| {
            (y + values[j], p + self.profile[j % self.period], k + 1)
        });
        (k >= 24 && p > 0.0).then(|| y / p)
    }

    /// The levels of the weeks just before and just after the gap.
    fn near_levels(&self, values: &[f64]) -> (Option<f64>, Option<f64>) {
        (
            self.level(values, self.pre.iter().rev().take(LEVEL_DAYS * 24).copied()),
            self.level(values, self.post.iter().take(LEVEL_DAYS * 24).copied()),
        )
    }

    /// The level's trend over the weeks before the gap starting at `a`.
    fn drift(&self, values: &[f64], mask: &[bool], a: usize) -> Option<Drift> {
        let days: Vec<(f64, f64)> = drift::days_before(a, mask)
            .into_iter()
            .filter_map(|(x, r)| self.level(values, r).map(|l| (x, l)))
            .collect();
        Drift::measure(&days)
    }
}

fn fill_gap(values: &[f64], mask: &[bool], a: usize, b: usize, out: &mut [f64]) {
    let Some(around) = Around::of(values, mask, a, b) else {
        return; // nothing to learn a pattern from: keep the actuals
    };
    let near = around.near_levels(values);
    let (r0, r1) = match near {
        (Some(x), Some(y)) => (x, y),
        (Some(x), None) => (x, x),
        (None, Some(y)) => (y, y),
        (None, None) => (1.0, 1.0),
    };
    let (profile, period) = (&around.profile, around.period);
    if near.1.is_none() {
        // The level after the gap is never observed: follow the trend before it, if clear.
        let drift = around.drift(values, mask, a);
        for (k, j) in (a..b).enumerate() {
            let x = (k as f64 + 0.5) / 24.0;
            let level = drift.and_then(|d| d.level(x)).unwrap_or(r0);
            out[j] = profile[j % period] * level;
        }
        return;
    }
    let len = (b - a) as f64;
    for (k, j) in (a..b).enumerate() {
        let frac = (k as f64 + 0.5) / len;
        out[j] = profile[j % period] * (r0 + (r1 - r0) * frac);
    }
}

/// For a history whose last calendar gap is followed by under a day of unmasked hours (the
/// level after it never observed): the relative standard deviation of the level at the end
/// of the history due to the trend before the gap (carried or not), grown with the gap.
pub(crate) fn end_level_sd(values: &[f64], mask: &[bool]) -> Option<f64> {
    let n = values.len();
    let b = n - mask.iter().rev().take_while(|m| !**m).count();
    let a = b - mask[..b].iter().rev().take_while(|m| **m).count();
    if a == b {
        return None;
    }
    let around = Around::of(values, mask, a, b)?;
    let (Some(r0), None) = around.near_levels(values) else {
        return None;
    };
    let drift = around.drift(values, mask, a)?;
    let x = (n - a) as f64 / 24.0;
    let level = drift.level(x).unwrap_or(r0);
    let sd = drift.level_sd(x) / level;
    (level > 0.0 && sd.is_finite()).then_some(sd)
}

/// Median of the reference hours at each position of the period (hour of day or of week);
/// a position with no reference hour takes the mean of the others.
fn profile(values: &[f64], reference: &[usize], period: usize) -> Vec<f64> {
    let mut slots: Vec<Vec<f64>> = vec![Vec::new(); period];
    for j in reference {
        slots[*j % period].push(values[*j]);
    }
    let medians: Vec<Option<f64>> = slots.iter_mut().map(|s| median(s)).collect();
    let known: Vec<f64> = medians.iter().flatten().copied().collect();
    let fallback = if known.is_empty() {
        0.0
    } else {
        known.iter().sum::<f64>() / known.len() as f64
    };
    medians.into_iter().map(|m| m.unwrap_or(fallback)).collect()
}

pub(crate) fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let k = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[k]
    } else {
        (v[k - 1] + v[k]) / 2.0
    })
}

/// Learned holiday effects, the factor for each forecast hour, and warnings.
pub(crate) struct Effects {
    pub multipliers: Vec<Multiplier>,
    pub hourly: Vec<f64>,
    pub warnings: Vec<String>,
}

/// Multipliers per holiday name (and per day offset for holidays of 3+ days): actual ÷ filled
/// baseline over each past occurrence's hours, median over occurrences, clamped to [0.05, 2];
/// then the factor for each of `horizon` hours from `t_ms`.
pub(crate) fn effects(
    values: &[f64],
    filled: &[f64],
    start_ms: i64,
    periods: &[Period],
    t_ms: i64,
    horizon: usize,
) -> Effects {
    let n = values.len();
    // (name, day offset) -> one ratio per past occurrence.
    let mut ratios: BTreeMap<(String, Option<usize>), Vec<f64>> = BTreeMap::new();
    for p in periods {
        let (a, b) = hour_range(p, start_ms, n);
        if a >= b {
            continue;
        }
        let per_day = p.end_ms - p.start_ms >= PER_DAY_MIN_DAYS * DAY_MS;
        let mut sums: BTreeMap<Option<usize>, (f64, f64)> = BTreeMap::new();
        for j in a..b {
            let at = start_ms + j as i64 * HOUR_MS;
            let key = per_day.then(|| ((at - p.start_ms).max(0) / DAY_MS) as usize);
            let e = sums.entry(key).or_insert((0.0, 0.0));
            e.0 += values[j];
            e.1 += filled[j];
        }
        for (key, (y, base)) in sums {
            if base > 0.0 {
                ratios
                    .entry((p.name.clone(), key))
                    .or_default()
                    .push(y / base);
            }
        }
    }
    let mut multipliers = Vec::new();
    let mut by_name: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut value_of: BTreeMap<(String, Option<usize>), f64> = BTreeMap::new();
    for ((name, off), mut rs) in ratios {
        let occurrences = rs.len();
        let v = median(&mut rs).unwrap_or(1.0).clamp(MULT_MIN, MULT_MAX);
        by_name.entry(name.clone()).or_default().push(v);
        value_of.insert((name.clone(), off), v);
        multipliers.push(Multiplier {
            name,
            day_offset: off,
            value: v,
            occurrences,
        });
    }
    let mut hourly = vec![1.0; horizon];
    let mut warnings = Vec::new();
    let mut unseen: Vec<String> = Vec::new();
    for p in periods {
        let (a, b) = hour_range(p, t_ms, horizon);
        if a >= b {
            continue;
        }
        let Some(seen) = by_name.get_mut(&p.name) else {
            if !unseen.contains(&p.name) {
                unseen.push(p.name.clone());
            }
            continue;
        };
        // A day offset never seen (a longer occurrence) takes the median of the name's offsets.
        let fallback = median(&mut seen.clone()).unwrap_or(1.0);
        let per_day = p.end_ms - p.start_ms >= PER_DAY_MIN_DAYS * DAY_MS;
        for (j, h) in hourly.iter_mut().enumerate().take(b).skip(a) {
            let at = t_ms + j as i64 * HOUR_MS;
            let key = per_day.then(|| ((at - p.start_ms).max(0) / DAY_MS) as usize);
            *h *= value_of
                .get(&(p.name.clone(), key))
                .copied()
                .unwrap_or(fallback);
        }
    }
    for name in unseen {
        warnings.push(format!(
            "no history for {name}: the forecast assumes normal traffic on those days"
        ));
        multipliers.push(Multiplier {
            name,
            day_offset: None,
            value: 1.0,
            occurrences: 0,
        });
    }
    Effects {
        multipliers,
        hourly,
        warnings,
    }
}
