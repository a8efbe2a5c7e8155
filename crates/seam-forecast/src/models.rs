//! The candidate models behind one `predict(train, horizon)` (§3).

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use augurs_core::{Fit, Forecast, Predict};
use augurs_ets::AutoETS;
use augurs_mstl::{FittedTrendModel, MSTLModel, TrendModel};

use crate::Model;

/// Hours of history a model needs before it is a candidate.
pub(crate) fn min_train(m: Model) -> usize {
    match m {
        Model::RunRate => 24,
        Model::SeasonalNaive24 => 48,
        // stlrs refuses a period longer than half the series.
        Model::SeasonalNaive168 | Model::Mstl => 336,
    }
}

/// Candidates for `n` hours of history, simplest first.
pub(crate) fn candidates(n: usize) -> Vec<Model> {
    [
        Model::RunRate,
        Model::SeasonalNaive24,
        Model::SeasonalNaive168,
        Model::Mstl,
    ]
    .into_iter()
    .filter(|m| min_train(*m) <= n)
    .collect()
}

/// Hours the run-rate averages over.
const RUN_RATE_HOURS: usize = 168;
/// MSTL sees at most the last 6 weeks: enough for its seasons and a daily trend, and its cost
/// grows with the length (1,000 series × 13 fits must stay under 30 s).
const MSTL_MAX_TRAIN: usize = 6 * 168;

/// `horizon` hourly forecasts after `train`; `None` when the model cannot fit this input.
pub(crate) fn predict(m: Model, train: &[f64], horizon: usize) -> Option<Vec<f64>> {
    if train.len() < min_train(m) {
        return None;
    }
    match m {
        Model::RunRate => Some(vec![run_rate(train); horizon]),
        Model::SeasonalNaive24 => Some(seasonal_naive(train, 24, horizon)),
        Model::SeasonalNaive168 => Some(seasonal_naive(train, 168, horizon)),
        Model::Mstl => mstl(
            &train[train.len().saturating_sub(MSTL_MAX_TRAIN)..],
            horizon,
        ),
    }
}

/// Mean of the last min(168 h, history) hours.
pub(crate) fn run_rate(train: &[f64]) -> f64 {
    let k = train.len().min(RUN_RATE_HOURS);
    if k == 0 {
        return 0.0;
    }
    train[train.len() - k..].iter().sum::<f64>() / k as f64
}

fn seasonal_naive(train: &[f64], m: usize, horizon: usize) -> Vec<f64> {
    let last = &train[train.len() - m..];
    (0..horizon).map(|j| last[j % m]).collect()
}

/// MSTL(24, 168) with AutoETS on daily levels as the trend model. augurs' own intervals are
/// never asked for (`level = None`): they treat the seasonal components as known.
fn mstl(train: &[f64], horizon: usize) -> Option<Vec<f64>> {
    let (lo, hi) = train
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    // A constant series has nothing to decompose, and AutoETS has panicked on one.
    if hi - lo <= 1e-9 * hi.abs().max(1.0) {
        return None;
    }
    let run = || -> Option<Vec<f64>> {
        let mut params = stlrs::MstlParams::new();
        params.iterations(1);
        let model = MSTLModel::new(vec![24, 168], DailyEts).mstl_params(params);
        let fitted = model.fit(train).ok()?;
        let f = fitted.predict(horizon, None).ok()?;
        f.point.iter().all(|v| v.is_finite()).then_some(f.point)
    };
    catch_unwind(AssertUnwindSafe(run)).ok().flatten()
}

/// A trend model on daily means of the deseasonalised series (§3 step 4): AutoETS with an
/// additive error and an optional (damped) trend on ~90 points instead of ~2,160, spread
/// back over the hours. A 90-day trend needs no hourly resolution, and this is what keeps
/// 1,000 series under the 30 s budget.
#[derive(Debug, Clone, Copy)]
struct DailyEts;

#[derive(Debug)]
struct DailyEtsFitted {
    /// Daily forecasts, one per lead day, filled in by `predict_inplace`.
    model: augurs_ets::FittedAutoETS,
    /// The in-sample hourly values (the daily mean of each hour's day).
    in_sample: Vec<f64>,
    n: usize,
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Daily means of `y`, in whole days counted back from its end (a partial first day dropped).
fn daily_means(y: &[f64]) -> Vec<f64> {
    let days = y.len() / 24;
    let skip = y.len() - days * 24;
    y[skip..]
        .chunks(24)
        .map(|c| c.iter().sum::<f64>() / 24.0)
        .collect()
}

impl TrendModel for DailyEts {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed("AutoETS on daily means")
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn FittedTrendModel + Sync + Send>, BoxError> {
        let days = daily_means(y);
        let model = AutoETS::new(1, "AZN")?.fit(&days)?;
        let skip = y.len() - days.len() * 24;
        let mut in_sample = vec![days.first().copied().unwrap_or(0.0); skip];
        for d in &days {
            in_sample.extend(std::iter::repeat_n(*d, 24));
        }
        Ok(Box::new(DailyEtsFitted {
            model,
            in_sample,
            n: y.len(),
        }))
    }
}

impl FittedTrendModel for DailyEtsFitted {
    fn predict_inplace(
        &self,
        horizon: usize,
        _level: Option<f64>,
        forecast: &mut Forecast,
    ) -> Result<(), BoxError> {
        let days = horizon.div_ceil(24);
        let daily = self.model.predict(days, None)?;
        forecast.point = (0..horizon).map(|j| daily.point[j / 24]).collect();
        forecast.intervals = None;
        Ok(())
    }

    fn predict_in_sample_inplace(
        &self,
        _level: Option<f64>,
        forecast: &mut Forecast,
    ) -> Result<(), BoxError> {
        forecast.point.clone_from(&self.in_sample);
        forecast.intervals = None;
        Ok(())
    }

    fn training_data_size(&self) -> Option<usize> {
        Some(self.n)
    }
}
