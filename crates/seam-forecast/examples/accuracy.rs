//! Accuracy bench for issue 28 on series from `seam_forecast::synth` (fixed seeds):
//! `nice cargo run --release -p seam-forecast --example accuracy`. Prints a markdown table;
//! bench/results/2026-12-05-forecast.md keeps the committed run.

use std::time::Instant;

use seam_forecast::synth::{self, Rng, Spec};
use seam_forecast::{
    DAY_MS, HOUR_MS, IntervalKind, Options, Period, Series, forecast, forecast_all,
};

/// 2026-01-05 00:00 UTC, a Monday: where the generic series start.
const START_MS: i64 = 1_767_571_200_000;
const HISTORY_DAYS: usize = 90;
const HOLDOUT_DAYS: usize = 30;

fn main() {
    let threads = 2;
    let specs = family(200, 7);
    let mut ratios_bt = Vec::new();
    let mut ratios_out = Vec::new();
    let (mut cal, mut ext) = ([0usize; 3], [0usize; 3]); // in80, in95, points
    let mut models = std::collections::BTreeMap::<&str, usize>::new();
    // Coverage of the calibrated days by kind of series: plain, holiday, level shift.
    let mut by_class = [[0usize; 2]; 3];
    let mut measured = Vec::new();
    for (i, (spec, calendar)) in specs.iter().enumerate() {
        let s = synth::generate(1000 + i as u64, spec, START_MS);
        let t = START_MS + HISTORY_DAYS as i64 * DAY_MS;
        let opts = Options {
            as_of_ms: Some(t),
            ..Options::new(HOLDOUT_DAYS * 24, t)
        };
        let f = forecast(&s, calendar, &opts);
        *models
            .entry(f.model.map_or("none", |m| m.name()))
            .or_default() += 1;
        if let (Some(m), Some(r)) = (f.mase, f.mase_run_rate)
            && r > 0.0
        {
            ratios_bt.push(m / r);
        }
        if let Some(c) = &f.coverage {
            measured.push(c.p80);
        }
        let class = if spec.level_shift.is_some() {
            2
        } else {
            usize::from(!calendar.is_empty())
        };
        let truth = &s.values[HISTORY_DAYS * 24..];
        let hist = &s.values[..HISTORY_DAYS * 24];
        let rr = hist[hist.len() - 168..].iter().sum::<f64>() / 168.0;
        let lead = 14 * 24;
        let mae =
            |p: &dyn Fn(usize) -> f64| (0..lead).map(|j| (truth[j] - p(j)).abs()).sum::<f64>();
        let (m, r) = (mae(&|j| f.point[j]), mae(&|_| rr));
        if r > 0.0 {
            ratios_out.push(m / r);
        }
        for (d, band) in f.daily.iter().enumerate() {
            let actual: f64 = truth[d * 24..(d + 1) * 24].iter().sum();
            let c = if band.kind == IntervalKind::Extrapolated {
                &mut ext
            } else {
                &mut cal
            };
            c[0] += usize::from(actual >= band.lo80 && actual <= band.hi80);
            c[1] += usize::from(actual >= band.lo95 && actual <= band.hi95);
            c[2] += 1;
            if band.kind != IntervalKind::Extrapolated {
                by_class[class][0] += usize::from(actual >= band.lo80 && actual <= band.hi80);
                by_class[class][1] += 1;
            }
        }
    }
    let trough = holiday_trough();

    // Wall time: 1,000 series of 90 days, 30-day horizon, on `threads` threads.
    let big = family(1000, 11);
    let series: Vec<Series> = big
        .iter()
        .enumerate()
        .map(|(i, (spec, _))| synth::generate(5000 + i as u64, spec, START_MS))
        .collect();
    let t = START_MS + HISTORY_DAYS as i64 * DAY_MS;
    let opts = Options::new(HOLDOUT_DAYS * 24, t);
    let inputs: Vec<(&Series, &[Period], &Options)> = series
        .iter()
        .zip(&big)
        .map(|(s, (_, c))| (s, c.as_slice(), &opts))
        .collect();
    let (began, cpu0) = (Instant::now(), cpu_seconds());
    let out = forecast_all(&inputs, threads);
    let wall = began.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;

    println!("| measure | target | result |");
    println!("|---|---|---|");
    println!(
        "| median MASE ratio chosen / run-rate, backtest ({} series) | ≤ 0.8 | {:.3} |",
        ratios_bt.len(),
        median(&mut ratios_bt)
    );
    println!(
        "| median MAE ratio chosen / run-rate, next 14 days held out | ≤ 0.8 | {:.3} |",
        median(&mut ratios_out)
    );
    let pct = |a: usize, n: usize| 100.0 * a as f64 / n.max(1) as f64;
    println!(
        "| 80% coverage, held-out daily totals, calibrated days 1-14 ({} points) | 75-85% | {:.1}% |",
        cal[2],
        pct(cal[0], cal[2])
    );
    println!(
        "| 80% coverage, extrapolated days 15-30 ({} points) | 75-85% | {:.1}% |",
        ext[2],
        pct(ext[0], ext[2])
    );
    println!(
        "| 95% coverage, calibrated days 1-14 | ~95% | {:.1}% |",
        pct(cal[1], cal[2])
    );
    println!(
        "| 95% coverage, extrapolated days 15-30 | ~95% | {:.1}% |",
        pct(ext[1], ext[2])
    );
    for (label, model_err, rr_err, warned, band) in &trough {
        println!(
            "| holiday trough ({label}): 30-day sum after 2 Jan, error of forecast / run-rate | ≤ 10% / ≥ 25% | {:+.1}% / {:+.1}%, truth in the sum's {band}{} |",
            model_err * 100.0,
            rr_err * 100.0,
            if *warned { ", warned" } else { ", NO warning" }
        );
    }
    println!(
        "| wall time, 1,000 series × 90 days hourly, 30-day horizon, {threads} threads | < 30 s | {wall:.1} s ({cpu:.1} s CPU, {} ok) |",
        out.iter().filter(|f| f.model.is_some()).count()
    );
    println!(
        "\n80% coverage, calibrated days, by series: plain {:.1}%, holiday {:.1}%, level shift {:.1}%; \
         median cross-fitted (backtest) 80% coverage printed to users: {:.1}%",
        pct(by_class[0][0], by_class[0][1]),
        pct(by_class[1][0], by_class[1][1]),
        pct(by_class[2][0], by_class[2][1]),
        100.0 * median(&mut measured)
    );
    println!("\nmodels chosen (200 series): {models:?}");
}

/// `n` specs spread over the generator's knobs; every 4th has a holiday with a past occurrence
/// in the history and a future one in the holdout, every 5th a level shift.
fn family(n: usize, seed: u64) -> Vec<(Spec, Vec<Period>)> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let mut spec = Spec {
                days: HISTORY_DAYS + HOLDOUT_DAYS,
                daily_amp: 0.2 + 0.6 * rng.uniform(),
                weekly_amp: 0.1 + 0.4 * rng.uniform(),
                trend_per_day: -0.002 + 0.008 * rng.uniform(),
                noise: 0.05 + 0.3 * rng.uniform(),
                base: 10.0 + 1000.0 * rng.uniform(),
                ..Spec::default()
            };
            let mut calendar = Vec::new();
            if i % 4 == 0 {
                // A 4-day holiday on days 40-43 and again on days 96-99 (in the holdout).
                for start in [40usize, 96] {
                    spec.holidays.push((start, 4, 0.6));
                    calendar.push(Period {
                        name: "Spring break".into(),
                        start_ms: START_MS + start as i64 * DAY_MS,
                        end_ms: START_MS + (start as i64 + 4) * DAY_MS,
                    });
                }
            }
            if i % 5 == 0 {
                let day = 45 + (rng.uniform() * 25.0) as usize;
                spec.level_shift = Some((day, 0.6 + 0.9 * rng.uniform()));
            }
            (spec, calendar)
        })
        .collect()
}

/// Ten weeks of history ending 2026-01-03 00:00 UTC with a 40% trough over Christmas–New Year
/// (22 Dec - 2 Jan): the 30-day sum from the forecast and from the run-rate against the truth.
/// Then `seam demo`'s story: ten weeks from 2025-10-24, a 35% trough on 22 Dec - 1 Jan, +0.2%
/// a day, forecast as of 2026-01-02 with the calendar's 22 Dec - 2 Jan.
fn holiday_trough() -> Vec<(String, f64, f64, bool, &'static str)> {
    let t = 1_767_398_400_000; // 2026-01-03
    let xmas = 1_766_361_600_000; // 2025-12-22
    let spec = Spec {
        days: 100,
        trend_per_day: 0.001,
        noise: 0.15,
        holidays: vec![(58, 12, 0.4)],
        ..Spec::default()
    };
    let mut rows: Vec<_> = [1u64, 2, 3, 4, 5]
        .iter()
        .map(|seed| {
            let start = 1_761_350_400_000; // 2025-10-25
            let r = trough_row(*seed, &spec, start, (xmas, t), t);
            (format!("seed {seed}"), r.0, r.1, r.2, r.3)
        })
        .collect();
    let demo = Spec::holiday_story(0.002);
    let start = 1_761_264_000_000; // 2025-10-24
    let r = trough_row(2026, &demo, start, (xmas, t), t - DAY_MS);
    rows.push(("seam demo, seed 2026".into(), r.0, r.1, r.2, r.3));
    rows
}

/// One trough: the forecast from `start` to `t` with the calendar `period`, against the
/// generated next 30 days.
fn trough_row(
    seed: u64,
    spec: &Spec,
    start: i64,
    period: (i64, i64),
    t: i64,
) -> (f64, f64, bool, &'static str) {
    let period = Period {
        name: "Christmas–New Year".into(),
        start_ms: period.0,
        end_ms: period.1,
    };
    let s = synth::generate(seed, spec, start);
    let h = ((t - start) / HOUR_MS) as usize;
    let truth: f64 = s.values[h..h + 720].iter().sum();
    let history = Series {
        start_ms: start,
        values: s.values[..h].to_vec(),
    };
    let opts = Options {
        as_of_ms: Some(t),
        ..Options::new(720, t)
    };
    let f = forecast(&history, std::slice::from_ref(&period), &opts);
    let model: f64 = f.point.iter().sum();
    let rr = s.values[h - 168..h].iter().sum::<f64>() / 168.0 * 720.0;
    let warned = f.warnings.iter().any(|w| w.contains("Christmas–New Year"));
    let q = f.cumulative(t + 30 * DAY_MS);
    let band = if q.q10 <= truth && truth <= q.q90 {
        "80% band"
    } else if q.q025 <= truth && truth <= q.q975 {
        "95% band (not 80%)"
    } else {
        "neither band"
    };
    (model / truth - 1.0, rr / truth - 1.0, warned, band)
}

/// User + system CPU time of this process (Linux /proc, 100 ticks a second), 0 elsewhere.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (field(11) + field(12)) / 100.0
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
