//! Rolling-origin backtest (§3 step 5-6, §4): origins, MASE, the model choice, and the chosen
//! model's errors on daily totals for the intervals.

use std::borrow::Cow;

use crate::models::{self, min_train};
use crate::{CandidateScore, Model};

/// At most this many origins, `ORIGIN_STEP_HOURS` apart back from the latest.
const MAX_ORIGINS: usize = 12;
/// Origins two days apart see more different training windows than daily ones (their level
/// errors are less alike), which keeps the intervals from being too narrow.
const ORIGIN_STEP_HOURS: usize = 48;
/// Lead of the backtest, days, at most.
const MAX_LEAD_DAYS: usize = 14;
/// Fewer origins than this and the most demanding candidates are dropped.
const MIN_ORIGINS: usize = 3;
/// A simpler candidate within this factor of the best score wins.
const TIE: f64 = 1.02;

/// What the backtest found.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// Origins (hour indices into the history, the first held-out hour), oldest first.
    pub origins: Vec<usize>,
    pub lead_days: usize,
    pub scores: Vec<CandidateScore>,
    pub chosen: Model,
    /// Seasonal period of the MASE scale (168, or 24 under 14 days).
    pub scale_m: usize,
    /// The chosen model's signed errors (actual − forecast) of each lead day's total,
    /// `[origin][lead day]`; `None` for a day with calendar hours, whose actuals are not
    /// what the unmultiplied model forecasts (and whose fill would flatter it).
    pub day_errors: Vec<Vec<Option<f64>>>,
}

/// Backtest every candidate (each origin's training data filled from what was known then) and
/// score against `raw` with holiday hours (`mask`) left out. `horizon_days` caps the lead.
pub(crate) fn run(raw: &[f64], mask: &[bool], horizon_days: usize) -> Outcome {
    let n = raw.len();
    let days = n / 24;
    let lead_days = MAX_LEAD_DAYS
        .min(days.saturating_sub(14))
        .min(horizon_days)
        .max(1);
    let lead = lead_days * 24;
    let mut cands = models::candidates(n);
    let origins_for = |need: usize| -> Vec<usize> {
        let mut o: Vec<usize> = (0..MAX_ORIGINS)
            .filter_map(|k| n.checked_sub(lead + ORIGIN_STEP_HOURS * k))
            .filter(|o| *o >= need)
            .collect();
        o.reverse();
        o
    };
    let possible = origins_for(min_train(Model::RunRate)).len();
    let mut origins = origins_for(cands.iter().map(|m| min_train(*m)).max().unwrap_or(24));
    while cands.len() > 1 && origins.len() < MIN_ORIGINS.min(possible) {
        let need = cands.iter().map(|m| min_train(*m)).max().unwrap_or(24);
        cands.retain(|m| min_train(*m) < need);
        origins = origins_for(cands.iter().map(|m| min_train(*m)).max().unwrap_or(24));
    }
    let scale_m = if origins.first().is_some_and(|o| *o >= 336) {
        168
    } else {
        24
    };
    let scales: Vec<f64> = origins
        .iter()
        .map(|o| mase_scale(raw, mask, *o, scale_m))
        .collect();
    let use_mase = !origins.is_empty() && scales.iter().all(|s| *s > 0.0);

    // Each origin's training data is filled from what was known then: a gap's fill reads the
    // weeks after it, which must not leak the held-out days into the training.
    let trains: Vec<Cow<[f64]>> = origins
        .iter()
        .map(|o| {
            if mask[..*o].contains(&true) {
                Cow::Owned(crate::clean::fill(&raw[..*o], &mask[..*o]))
            } else {
                Cow::Borrowed(&raw[..*o])
            }
        })
        .collect();
    let mut scores = Vec::new();
    let mut preds: Vec<(Model, Vec<Vec<f64>>)> = Vec::new();
    for m in cands {
        let mut per_origin = Vec::with_capacity(origins.len());
        for train in &trains {
            match models::predict(m, train, lead) {
                Some(p) => per_origin.push(p),
                None => break,
            }
        }
        if per_origin.len() < origins.len() {
            continue; // failed at some origin: not a candidate for this series
        }
        let maes: Vec<f64> = origins
            .iter()
            .zip(&per_origin)
            .map(|(o, p)| mae(&raw[*o..*o + lead], &mask[*o..*o + lead], p))
            .collect();
        let mean_mae = mean(&maes);
        let mase = use_mase.then(|| {
            mean(
                &maes
                    .iter()
                    .zip(&scales)
                    .map(|(a, s)| a / s)
                    .collect::<Vec<_>>(),
            )
        });
        scores.push(CandidateScore {
            model: m,
            mase,
            mae: mean_mae,
        });
        preds.push((m, per_origin));
    }
    let score = |c: &CandidateScore| c.mase.unwrap_or(c.mae);
    let best = scores.iter().map(score).fold(f64::INFINITY, f64::min);
    let chosen = scores
        .iter()
        .find(|c| score(c) <= best * TIE || best <= 0.0 && score(c) <= 0.0)
        .map(|c| c.model)
        .unwrap_or(Model::RunRate);
    let day_errors = preds
        .iter()
        .find(|(m, _)| *m == chosen)
        .map(|(_, per_origin)| {
            origins
                .iter()
                .zip(per_origin)
                .map(|(o, p)| day_errors(&raw[*o..*o + lead], &mask[*o..*o + lead], p))
                .collect()
        })
        .unwrap_or_default();
    Outcome {
        origins,
        lead_days,
        scores,
        chosen,
        scale_m,
        day_errors,
    }
}

/// In-sample MAE of the seasonal naive with period `m` over `[m, origin)`, holiday hours out.
fn mase_scale(raw: &[f64], mask: &[bool], origin: usize, m: usize) -> f64 {
    let (sum, k) = (m..origin)
        .filter(|t| !mask[*t] && !mask[*t - m])
        .fold((0.0, 0usize), |(s, k), t| {
            (s + (raw[t] - raw[t - m]).abs(), k + 1)
        });
    if k == 0 { 0.0 } else { sum / k as f64 }
}

fn mae(actual: &[f64], mask: &[bool], pred: &[f64]) -> f64 {
    let (sum, k) = actual
        .iter()
        .zip(mask)
        .zip(pred)
        .filter(|((_, m), _)| !**m)
        .fold((0.0, 0usize), |(s, k), ((a, _), p)| {
            (s + (a - p).abs(), k + 1)
        });
    if k == 0 { 0.0 } else { sum / k as f64 }
}

fn day_errors(actual: &[f64], mask: &[bool], pred: &[f64]) -> Vec<Option<f64>> {
    actual
        .chunks(24)
        .zip(mask.chunks(24))
        .zip(pred.chunks(24))
        .map(|((a, m), p)| {
            (!m.contains(&true)).then(|| a.iter().sum::<f64>() - p.iter().sum::<f64>())
        })
        .collect()
}

pub(crate) fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}
