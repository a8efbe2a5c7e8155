//! Usage and spend forecasts (issue 28; method in docs/forecasts.md and docs/design/forecasts.md).
//!
//! Pure: a dense hourly series and the calendar periods that apply to it go in, a
//! [`SeriesForecast`] comes out (model chosen by a rolling-origin backtest, intervals calibrated
//! from that backtest's own errors, holiday multipliers, warnings). No IO, no clock: the caller
//! passes `now_ms`.
//!
//! ```
//! use seam_forecast::{DAY_MS, Options, Period, Status, budget, forecast, synth};
//!
//! let start = 1_767_571_200_000; // 2026-01-05 00:00 UTC
//! let series = synth::generate(1, &synth::Spec { days: 30, ..Default::default() }, start);
//! let t = start + 30 * DAY_MS;
//! let calendar: Vec<Period> = vec![]; // every occurrence overlapping history and horizon
//! let f = forecast(&series, &calendar, &Options::new(14 * 24, t));
//! assert_eq!(f.status, Status::Ok);
//! // The sum over the next 7 days, and a 10-day budget window with 500 already spent.
//! let week = f.cumulative(t + 7 * DAY_MS);
//! assert!(week.q10 <= week.q50 && week.q50 <= week.q90);
//! let p = budget::project(&f, 500.0, 1e9, t + 10 * DAY_MS);
//! assert!(!p.exceed_projected && p.crossing_ms.q975.is_none());
//! ```

mod backtest;
pub mod budget;
mod classify;
mod clean;
mod drift;
mod engine;
mod intervals;
mod models;
mod shift;
pub mod synth;

#[cfg(test)]
mod budget_tests;
#[cfg(test)]
mod gap_tests;
#[cfg(test)]
mod tests;

use serde::Serialize;

pub use engine::{forecast, forecast_all};

/// One hour in ms.
pub const HOUR_MS: i64 = 3_600_000;
/// One day in ms.
pub const DAY_MS: i64 = 86_400_000;
/// The longest horizon forecast: 400 days.
pub const MAX_HORIZON_HOURS: usize = 400 * 24;

/// A dense hourly series, hour-aligned UTC: `values[i]` is the hour starting at
/// `start_ms + i * HOUR_MS`. A missing hour is a real 0, not unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub start_ms: i64,
    pub values: Vec<f64>,
}

/// A calendar period (holiday or special period), `end_ms` exclusive, already filtered to the
/// series' tenant. Recurring occurrences are matched by `name`: the caller passes every
/// occurrence overlapping the history and the horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub name: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// What to forecast and from when.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Hours to forecast from T (at most [`MAX_HORIZON_HOURS`]; more is read as that).
    pub horizon_hours: usize,
    /// T: forecast from this time (floored to the hour) instead of the end of the history.
    pub as_of_ms: Option<i64>,
    /// The real now; the series is read as zeros between its end and now (a missing hour is 0).
    pub now_ms: i64,
    /// Relative change of the deseasonalised level that raises a warning (0.20 = 20%).
    pub shift_threshold: f64,
}

impl Options {
    /// `horizon_hours` ahead of `now_ms`, with the default 20% shift threshold.
    pub fn new(horizon_hours: usize, now_ms: i64) -> Options {
        Options {
            horizon_hours,
            as_of_ms: None,
            now_ms,
            shift_threshold: 0.20,
        }
    }
}

/// Whether the series was forecast, and why not.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// No hour at all before T.
    NoHistory,
    /// Every hour before T is zero.
    NoUsage,
    /// Nothing since `last_active_ms` for max(7 days, 3 × the median gap between active hours):
    /// reported, never projected as zero.
    Stopped {
        last_active_ms: i64,
    },
    /// Under 24 hours since the first active hour.
    Insufficient {
        hours: usize,
    },
}

/// The candidate models, simplest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Model {
    /// Flat at the mean of the last min(168, history) hours.
    #[serde(rename = "run_rate")]
    RunRate,
    /// Repeats the last day.
    #[serde(rename = "seasonal_naive_24")]
    SeasonalNaive24,
    /// Repeats the last week.
    #[serde(rename = "seasonal_naive_168")]
    SeasonalNaive168,
    /// MSTL with daily and weekly seasons and a damped trend on daily levels.
    #[serde(rename = "mstl")]
    Mstl,
}

impl Model {
    /// The name used in JSON and text output.
    pub fn name(self) -> &'static str {
        match self {
            Model::RunRate => "run_rate",
            Model::SeasonalNaive24 => "seasonal_naive_24",
            Model::SeasonalNaive168 => "seasonal_naive_168",
            Model::Mstl => "mstl",
        }
    }
}

/// Where an interval's width comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalKind {
    /// From the backtest's errors at this lead.
    Calibrated,
    /// Beyond the backtest's lead: the last calibrated width grown with the lead.
    Extrapolated,
    /// Too few backtest errors: the run-rate's day-to-day dispersion. Never fires budget events.
    Uncalibrated,
}

/// The forecast of one 24-hour block from T (lead day `i` covers `[T + 24i h, T + 24(i+1) h)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayBand {
    pub start_ms: i64,
    /// Sum of the hourly point forecast over the block (holiday multipliers applied).
    pub point: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
    /// Calibrated up to the backtest's lead, extrapolated beyond.
    pub kind: IntervalKind,
}

/// Measured coverage of the daily intervals, cross-fitted over the backtest's origins (each
/// origin checked against intervals calibrated on the others).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Share of held-out daily totals inside the 80% interval.
    pub p80: f64,
    /// Share inside the 95% interval.
    pub p95: f64,
    /// Backtest origins used.
    pub origins: usize,
    /// Held-out daily totals checked.
    pub points: usize,
}

/// One candidate's backtest score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateScore {
    pub model: Model,
    /// Mean over origins of MAE / the scale; `None` when the scale is 0 (constant series).
    pub mase: Option<f64>,
    /// Mean absolute hourly error over the held-out hours (holiday hours excluded).
    pub mae: f64,
}

/// The rolling-origin backtest behind the model choice and the intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Backtest {
    /// Each origin (the first held-out hour), oldest first.
    pub origins_ms: Vec<i64>,
    /// Hours forecast from each origin (whole days).
    pub lead_hours: usize,
    /// Every candidate tried, in order of simplicity.
    pub candidates: Vec<CandidateScore>,
}

/// A holiday's learned effect, applied to its future occurrences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Multiplier {
    pub name: String,
    /// Day within the occurrence (0 = its first day) for holidays of 3 days or more.
    pub day_offset: Option<usize>,
    /// Actual ÷ seasonal baseline (median over occurrences, clamped to [0.05, 2]); 1 when
    /// no past occurrence was seen.
    pub value: f64,
    /// Past occurrences (in the history) the value comes from.
    pub occurrences: usize,
}

/// Quantiles at 0.025, 0.1, 0.2, 0.5, 0.8, 0.9 and 0.975 (two-sided 95% and 80% bounds, the
/// 20th percentile that budget events use, the median).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Quantiles<T = f64> {
    pub q025: T,
    pub q10: T,
    pub q20: T,
    pub q50: T,
    pub q80: T,
    pub q90: T,
    pub q975: T,
}

/// The probabilities of [`Quantiles`]' fields, in order.
pub const QUANTILE_LEVELS: [f64; 7] = [0.025, 0.1, 0.2, 0.5, 0.8, 0.9, 0.975];

impl<T: Copy> Quantiles<T> {
    /// The quantiles in the order of [`QUANTILE_LEVELS`].
    pub fn to_array(&self) -> [T; 7] {
        [
            self.q025, self.q10, self.q20, self.q50, self.q80, self.q90, self.q975,
        ]
    }

    /// From values in the order of [`QUANTILE_LEVELS`].
    pub fn from_array(a: [T; 7]) -> Self {
        Quantiles {
            q025: a[0],
            q10: a[1],
            q20: a[2],
            q50: a[3],
            q80: a[4],
            q90: a[5],
            q975: a[6],
        }
    }

    /// Each quantile through `f`.
    pub fn map<U: Copy>(&self, f: impl FnMut(T) -> U) -> Quantiles<U> {
        Quantiles::from_array(self.to_array().map(f))
    }
}

/// One series' forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesForecast {
    pub status: Status,
    /// The model chosen by the backtest (`None` unless the status is ok).
    pub model: Option<Model>,
    /// The first forecast hour (T).
    pub start_ms: i64,
    /// Hourly point forecast from T, `horizon_hours` long (holiday multipliers applied);
    /// empty unless the status is ok.
    pub point: Vec<f64>,
    /// One band per 24 h block from T.
    pub daily: Vec<DayBand>,
    /// The weakest kind among the daily bands (calibrated, extrapolated or uncalibrated).
    pub intervals: IntervalKind,
    /// The chosen model's backtest MASE.
    pub mase: Option<f64>,
    /// The run-rate's backtest MASE on the same origins and scale.
    pub mase_run_rate: Option<f64>,
    /// The MASE denominator: "seasonal naive m=168" or "seasonal naive m=24" (under 14 days).
    pub mase_scale: String,
    /// Measured coverage of the daily intervals, `None` without enough origins.
    pub coverage: Option<Coverage>,
    pub backtest: Backtest,
    pub multipliers: Vec<Multiplier>,
    /// Human sentences: holiday troughs, level shifts, missing holiday history, small samples.
    pub warnings: Vec<String>,
    /// Calibrated quantile offsets of the cumulative sum at the end of each lead day, relative
    /// to the unmultiplied cumulative point forecast.
    #[serde(skip)]
    cum_offsets: Vec<Quantiles>,
    /// The hourly point forecast before holiday multipliers.
    #[serde(skip)]
    base_point: Vec<f64>,
    /// Whether quantiles are floored at 0 (the history has no negative value).
    #[serde(skip)]
    nonnegative: bool,
}

impl SeriesForecast {
    /// Quantiles of the SUM of the series over `[T, until_ms)`, from calibrated cumulative-sum
    /// errors (never summed hourly bounds). `until_ms` past the horizon is read at the horizon;
    /// at or before T the sum is 0. Not ok: all 0.
    pub fn cumulative(&self, until_ms: i64) -> Quantiles {
        let hours = if until_ms <= self.start_ms {
            0
        } else {
            usize::try_from((until_ms - self.start_ms) / HOUR_MS).unwrap_or(usize::MAX)
        };
        self.cumulative_hours(hours.min(self.point.len()))
    }

    /// [`Self::cumulative`] over the first `hours` forecast hours.
    pub(crate) fn cumulative_hours(&self, hours: usize) -> Quantiles {
        let hours = hours.min(self.point.len());
        let point: f64 = self.point[..hours].iter().sum();
        let base: f64 = self.base_point[..hours].iter().sum();
        self.cumulative_from(hours, point, base)
    }

    /// The quantiles after `hours` forecast hours whose point forecasts sum to `point`
    /// (`base` before holiday multipliers).
    pub(crate) fn cumulative_from(&self, hours: usize, point: f64, base: f64) -> Quantiles {
        if hours == 0 {
            return Quantiles::default();
        }
        // Offsets were calibrated without multipliers: they grow with a multiplier above 1 but
        // keep their width under one below 1 (the multiplier is itself uncertain).
        let scale = if base > 0.0 {
            (point / base).max(1.0)
        } else {
            1.0
        };
        let off = intervals::offset_at(&self.cum_offsets, hours);
        let mut q = off.to_array().map(|o| point + o * scale);
        intervals::tidy(&mut q, self.nonnegative);
        Quantiles::from_array(q)
    }
}
