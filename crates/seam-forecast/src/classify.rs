//! Step 1: where T is, which hours are history, and whether the series can be forecast at all.

use crate::{HOUR_MS, Options, Series, Status};

/// The history to forecast from: hours `[start_ms, t_ms)`, from the first active hour to T.
#[derive(Debug, Clone)]
pub(crate) struct History {
    pub t_ms: i64,
    pub start_ms: i64,
    pub values: Vec<f64>,
}

/// Hours of silence that always make a series stopped, whatever its usual gaps.
const STOPPED_MIN_HOURS: usize = 7 * 24;

/// T: the as-of hour, otherwise the later of the series' end and the current hour (the hours
/// in between are real zeros).
pub(crate) fn t_of(series: &Series, opts: &Options) -> i64 {
    if let Some(as_of) = opts.as_of_ms {
        return floor_hour(as_of);
    }
    let start = floor_hour(series.start_ms);
    let len = i64::try_from(series.values.len()).unwrap_or(i64::MAX / HOUR_MS);
    let end = start.saturating_add(len.saturating_mul(HOUR_MS));
    end.max(floor_hour(opts.now_ms))
}

/// The start of the hour `ms` falls in (saturating at the ends of time).
fn floor_hour(ms: i64) -> i64 {
    ms.saturating_sub(ms.rem_euclid(HOUR_MS))
}

/// The history, or the status that says why there is nothing to forecast.
pub(crate) fn classify(series: &Series, opts: &Options) -> Result<History, (Status, i64)> {
    let t = t_of(series, opts);
    let start = floor_hour(series.start_ms);
    if t <= start || series.values.is_empty() {
        return Err((Status::NoHistory, t));
    }
    let n = usize::try_from(t.saturating_sub(start) / HOUR_MS).unwrap_or(usize::MAX);
    // Non-finite input is read as no usage in that hour: NaN must never reach a model.
    let clean = |v: &f64| if v.is_finite() { *v } else { 0.0 };
    let known = &series.values[..series.values.len().min(n)];
    let Some(first) = known.iter().position(|v| clean(v) != 0.0) else {
        return Err((Status::NoUsage, t));
    };
    let active: Vec<usize> = (first..known.len())
        .filter(|i| clean(&known[*i]) != 0.0)
        .collect();
    let last = *active.last().unwrap_or(&first);
    // Hours after the series' end up to T are zeros; counted, not allocated (T may be far).
    let silent = n - 1 - last;
    if silent >= stopped_after(&active) {
        let last_active_ms = start + i64::try_from(last).unwrap_or(0) * HOUR_MS;
        return Err((Status::Stopped { last_active_ms }, t));
    }
    let mut values: Vec<f64> = known[first..].iter().map(clean).collect();
    values.resize(n - first, 0.0);
    let hours = n - first;
    if hours < 24 {
        return Err((Status::Insufficient { hours }, t));
    }
    Ok(History {
        t_ms: t,
        start_ms: start + i64::try_from(first).unwrap_or(0) * HOUR_MS,
        values,
    })
}

/// Hours of silence after which a series counts as stopped: max(7 days, 3 × the median gap
/// between its active hours), so a tenant that calls once a week is not called stopped.
fn stopped_after(active: &[usize]) -> usize {
    let mut gaps: Vec<usize> = active.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return STOPPED_MIN_HOURS;
    }
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    STOPPED_MIN_HOURS.max(median.saturating_mul(3))
}
