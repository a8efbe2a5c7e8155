//! One series from history to forecast: classify, clean, shift, backtest, fit, calibrate.

use crate::backtest::{self, Outcome};
use crate::classify::{self, History};
use crate::intervals::{self, MIN_ERRORS_95};
use crate::models::{self};
use crate::shift::{self, date};
use crate::{
    Backtest, DAY_MS, DayBand, HOUR_MS, IntervalKind, Model, Options, Period, Quantiles, Series,
    SeriesForecast, Status,
};

/// Days a post-shift level needs before the model is fitted on it alone.
const SHIFT_REFIT_DAYS: usize = 14;

/// Forecast one series. Never panics on any input; a series that cannot be forecast gets a
/// status saying why and no point forecast (a stopped series is never projected as zero).
pub fn forecast(series: &Series, calendar: &[Period], opts: &Options) -> SeriesForecast {
    match classify::classify(series, opts) {
        Ok(h) => forecast_history(h, calendar, opts),
        Err((status, t)) => SeriesForecast::empty(status, t),
    }
}

/// Forecast many series, each with its own calendar and options, on `threads` threads (at
/// least 1), results in input order.
pub fn forecast_all(
    inputs: &[(&Series, &[Period], &Options)],
    threads: usize,
) -> Vec<SeriesForecast> {
    let threads = threads.clamp(1, inputs.len().max(1));
    let mut out: Vec<Option<SeriesForecast>> = vec![None; inputs.len()];
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                s.spawn(move || {
                    (k..inputs.len())
                        .step_by(threads)
                        .map(|i| (i, forecast(inputs[i].0, inputs[i].1, inputs[i].2)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A worker cannot panic short of a bug; its series then say no_history.
            for (i, f) in h.join().unwrap_or_default() {
                out[i] = Some(f);
            }
        }
    });
    out.into_iter()
        .zip(inputs)
        .map(|(f, (s, _, opts))| {
            f.unwrap_or_else(|| SeriesForecast::empty(Status::NoHistory, classify::t_of(s, opts)))
        })
        .collect()
}

impl SeriesForecast {
    pub(crate) fn empty(status: Status, t: i64) -> SeriesForecast {
        SeriesForecast {
            status,
            model: None,
            start_ms: t,
            point: Vec::new(),
            daily: Vec::new(),
            intervals: IntervalKind::Uncalibrated,
            mase: None,
            mase_run_rate: None,
            mase_scale: String::new(),
            coverage: None,
            backtest: Backtest::default(),
            multipliers: Vec::new(),
            warnings: Vec::new(),
            cum_offsets: Vec::new(),
            base_point: Vec::new(),
            nonnegative: true,
        }
    }
}

fn forecast_history(h: History, calendar: &[Period], opts: &Options) -> SeriesForecast {
    let t = h.t_ms;
    let horizon = opts.horizon_hours.min(crate::MAX_HORIZON_HOURS);
    let n = h.values.len();
    let mask = crate::clean::mask(calendar, h.start_ms, n);
    let filled = crate::clean::fill(&h.values, &mask);
    let effects = crate::clean::effects(&h.values, &filled, h.start_ms, calendar, t, horizon);
    let mut warnings = effects.warnings;
    let trough = shift::holiday_trough(&h.values, &filled, t, calendar, opts.shift_threshold);
    if let Some(w) = trough {
        warnings.push(w);
    } else if mask.last() == Some(&true) {
        warnings.push(
            "the history ends inside a calendar period: its hours are filled from the \
             seasonal pattern before it"
                .to_string(),
        );
    }
    let mut from = 0;
    if let Some(s) = shift::level_shift(&filled, opts.shift_threshold) {
        let on = date(t - (s.days as i64) * DAY_MS);
        let pct = ((s.factor - 1.0) * 100.0).round();
        if s.days >= SHIFT_REFIT_DAYS {
            from = n - s.days * 24;
            warnings.push(format!(
                "level shift on {on} ({pct:+}%): the forecast is fitted on the {} days since",
                s.days
            ));
        } else {
            warnings.push(format!(
                "level shift on {on} ({pct:+}%): {} days of new level, the forecast may lag it",
                s.days
            ));
        }
    }
    let (raw, filled, mask) = (&h.values[from..], &filled[from..], &mask[from..]);
    let nonnegative = raw.iter().all(|v| *v >= 0.0);
    let horizon_days = horizon.div_ceil(24);
    let bt = backtest::run(raw, mask, horizon_days.max(1));

    let (model, mut base_point) = [bt.chosen, Model::SeasonalNaive168, Model::RunRate]
        .into_iter()
        .find_map(|m| models::predict(m, filled, horizon).map(|p| (m, p)))
        .unwrap_or((Model::RunRate, vec![models::run_rate(filled); horizon]));
    clean_point(&mut base_point, nonnegative);
    let point: Vec<f64> = base_point
        .iter()
        .zip(&effects.hourly)
        .map(|(p, m)| p * m)
        .collect();

    let errors: Vec<&Vec<Option<f64>>> = bt.day_errors.iter().collect();
    let (mut daily_off, kinds, mut cum_offsets, kind) = match intervals::calibrate(
        &errors,
        bt.lead_days,
    ) {
        Some(c) => {
            if c.extreme95 {
                warnings.push(format!(
                    "only {} backtest errors (95% needs {MIN_ERRORS_95}): the 95% band is the widest error seen",
                    errors.iter().map(|e| e.iter().flatten().count()).sum::<usize>()
                ));
            }
            let (d, k, cum) = intervals::extend(&c, horizon_days);
            let kind = if k.contains(&IntervalKind::Extrapolated) {
                IntervalKind::Extrapolated
            } else {
                IntervalKind::Calibrated
            };
            (d, k, cum, kind)
        }
        None => {
            let (d, cum) = intervals::uncalibrated(&shift::daily_totals(filled), horizon_days);
            let k = vec![IntervalKind::Uncalibrated; horizon_days];
            (d, k, cum, IntervalKind::Uncalibrated)
        }
    };
    // History ending in (or within a week after) calendar hours: the level at T was barely
    // observed, the fill only held it.
    let after = mask.iter().rev().take_while(|m| !**m).count();
    let gap = mask[..mask.len() - after]
        .iter()
        .rev()
        .take_while(|m| **m)
        .count();
    if gap > 0 && after < 168 {
        // The week-to-week movement of the level over the gap, and the error of the trend
        // carried across it (or left out) when the level after it was never observed.
        let walk = shift::gap_level_sd(&filled[..filled.len() - after], gap);
        let sd = walk.hypot(crate::clean::end_level_sd(raw, mask).unwrap_or(0.0));
        let days: Vec<f64> = base_point.chunks(24).map(|c| c.iter().sum()).collect();
        intervals::widen(&mut daily_off, &days, sd);
        let sums: Vec<f64> = days
            .iter()
            .scan(0.0, |s, d| {
                *s += d;
                Some(*s)
            })
            .collect();
        let mut cum: Vec<[f64; 7]> = cum_offsets.iter().map(Quantiles::to_array).collect();
        intervals::widen(&mut cum, &sums, sd);
        cum_offsets = cum.into_iter().map(Quantiles::from_array).collect();
    }
    let daily = bands(t, &point, &base_point, &daily_off, &kinds, nonnegative);
    let coverage = intervals::coverage(&bt.day_errors, bt.lead_days);
    let (mase, mase_run_rate) = mase_pair(&bt, model);
    SeriesForecast {
        status: Status::Ok,
        model: Some(model),
        start_ms: t,
        point,
        daily,
        intervals: kind,
        mase,
        mase_run_rate,
        mase_scale: format!("seasonal naive m={}", bt.scale_m),
        coverage,
        backtest: Backtest {
            origins_ms: bt
                .origins
                .iter()
                .map(|o| h.start_ms + ((from + o) as i64) * HOUR_MS)
                .collect(),
            lead_hours: bt.lead_days * 24,
            candidates: bt.scores.clone(),
        },
        multipliers: effects.multipliers,
        warnings,
        cum_offsets,
        base_point,
        nonnegative,
    }
}

/// Finite, and never below 0 for a series that never is.
fn clean_point(p: &mut [f64], nonnegative: bool) {
    for v in p.iter_mut() {
        if !v.is_finite() || (nonnegative && *v < 0.0) {
            *v = 0.0;
        }
    }
}

fn mase_pair(bt: &Outcome, model: Model) -> (Option<f64>, Option<f64>) {
    let of = |m: Model| bt.scores.iter().find(|c| c.model == m).and_then(|c| c.mase);
    (of(model), of(Model::RunRate))
}

/// One band per 24 h block from T; offsets (calibrated without multipliers) grow with the
/// block's multiplied ÷ unmultiplied point but never shrink below a normal day's width (a
/// multiplier learned from one or two occurrences is itself uncertain), and scale with the
/// share of the block in the horizon.
fn bands(
    t: i64,
    point: &[f64],
    base: &[f64],
    offsets: &[[f64; 7]],
    kinds: &[IntervalKind],
    nonnegative: bool,
) -> Vec<DayBand> {
    point
        .chunks(24)
        .zip(base.chunks(24))
        .enumerate()
        .map(|(d, (p, b))| {
            let (p, b, hours) = (p.iter().sum::<f64>(), b.iter().sum::<f64>(), b.len());
            let scale = if b > 0.0 { (p / b).max(1.0) } else { 1.0 } * hours as f64 / 24.0;
            let mut q = offsets[d].map(|o| p + o * scale);
            intervals::tidy(&mut q, nonnegative);
            let q = Quantiles::from_array(q);
            DayBand {
                start_ms: t + d as i64 * DAY_MS,
                point: p,
                lo80: q.q10,
                hi80: q.q90,
                lo95: q.q025,
                hi95: q.q975,
                kind: kinds[d],
            }
        })
        .collect()
}
