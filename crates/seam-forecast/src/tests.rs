//! Behaviour a user sees: statuses for bad input, the accuracy targets on a few generated
//! series, holiday and level-shift warnings, the conformal ranks by hand, budget projections.

use crate::budget::project;
use crate::intervals::{conformal_rank, order_offsets};
use crate::synth::{self, Spec};
use crate::{
    DAY_MS, HOUR_MS, IntervalKind, Model, Options, Period, Series, SeriesForecast, Status, forecast,
};

/// 2026-01-05 00:00 UTC, a Monday.
pub(crate) const START: i64 = 1_767_571_200_000;

fn at_day(day: i64) -> i64 {
    START + day * DAY_MS
}

pub(crate) fn opts(horizon_days: usize, as_of_day: i64) -> Options {
    Options {
        as_of_ms: Some(at_day(as_of_day)),
        ..Options::new(horizon_days * 24, at_day(as_of_day))
    }
}

fn no_nan(f: &SeriesForecast) {
    assert!(f.point.iter().all(|v| v.is_finite()), "NaN in point");
    for b in &f.daily {
        for v in [b.point, b.lo80, b.hi80, b.lo95, b.hi95] {
            assert!(v.is_finite(), "NaN in band {b:?}");
        }
        assert!(
            b.lo95 <= b.lo80 && b.lo80 <= b.hi80 && b.hi80 <= b.hi95,
            "unordered {b:?}"
        );
    }
}

#[test]
fn conformal_ranks_match_hand_computed_values() {
    // ⌊(n+1)α/2⌋ below the median, ⌈(n+1)(1-α/2)⌉ above it.
    assert_eq!(conformal_rank(9, 100), Some(1)); // ⌊10 × 0.1⌋
    assert_eq!(conformal_rank(9, 900), Some(9)); // ⌈10 × 0.9⌉
    assert_eq!(conformal_rank(8, 100), None); // ⌊0.9⌋ = 0: no 80% interval from 8 errors
    assert_eq!(conformal_rank(39, 25), Some(1)); // ⌊40 × 0.025⌋
    assert_eq!(conformal_rank(39, 975), Some(39)); // ⌈39.0⌉
    assert_eq!(conformal_rank(38, 975), None); // ⌈38.025⌉ = 39 > 38
    assert_eq!(conformal_rank(19, 200), Some(4)); // ⌊4.0⌋
    assert_eq!(conformal_rank(19, 800), Some(16)); // ⌈16.0⌉
    assert_eq!(conformal_rank(100, 100), Some(10)); // ⌊10.1⌋
    assert_eq!(conformal_rank(100, 900), Some(91)); // ⌈90.9⌉
    assert_eq!(conformal_rank(100, 500), Some(51)); // ⌈50.5⌉
    let sorted: Vec<f64> = (1..=9).map(f64::from).collect();
    let (q, clamped) = order_offsets(&sorted);
    assert_eq!(
        (q[1], q[5]),
        (1.0, 9.0),
        "80% bounds from 9 errors are the extremes"
    );
    assert!(clamped, "95% ranks do not exist for 9 errors");
    let sorted: Vec<f64> = (1..=39).map(f64::from).collect();
    let (q, clamped) = order_offsets(&sorted);
    assert_eq!(q, [1.0, 4.0, 8.0, 20.0, 32.0, 36.0, 39.0]);
    assert!(!clamped);
}

#[test]
fn no_history_no_usage_and_short_history_are_statuses_not_forecasts() {
    let empty = Series {
        start_ms: START,
        values: vec![],
    };
    assert_eq!(forecast(&empty, &[], &opts(7, 0)).status, Status::NoHistory);
    let zeros = Series {
        start_ms: START,
        values: vec![0.0; 24 * 30],
    };
    let f = forecast(&zeros, &[], &opts(7, 30));
    assert_eq!(f.status, Status::NoUsage);
    assert!(f.point.is_empty());
    let short = Series {
        start_ms: START,
        values: vec![5.0; 10],
    };
    let f = forecast(
        &short,
        &[],
        &opts(7, 0).clone_with_as_of(START + 10 * HOUR_MS),
    );
    assert_eq!(f.status, Status::Insufficient { hours: 10 });
}

impl Options {
    fn clone_with_as_of(&self, as_of: i64) -> Options {
        Options {
            as_of_ms: Some(as_of),
            now_ms: as_of,
            ..self.clone()
        }
    }
}

#[test]
fn a_stopped_series_is_reported_stopped_not_projected_as_zero() {
    let mut s = synth::generate(1, &Spec::default(), START);
    let last_active = 29 * 24 + 23;
    for v in &mut s.values[30 * 24..] {
        *v = 0.0;
    }
    let f = forecast(&s, &[], &opts(14, 40));
    assert_eq!(
        f.status,
        Status::Stopped {
            last_active_ms: START + last_active as i64 * HOUR_MS
        }
    );
    assert!(f.point.is_empty());
    // Three quiet days are not a stop.
    let f = forecast(&s, &[], &opts(14, 33));
    assert_eq!(f.status, Status::Ok);
}

#[test]
fn one_day_constant_and_nan_input_forecast_without_nan() {
    let one_day = synth::generate(
        2,
        &Spec {
            days: 1,
            ..Spec::default()
        },
        START,
    );
    let f = forecast(&one_day, &[], &opts(7, 1));
    assert_eq!(f.status, Status::Ok);
    assert_eq!(f.model, Some(Model::RunRate));
    assert_eq!(f.intervals, IntervalKind::Uncalibrated);
    assert_eq!(f.point.len(), 7 * 24);
    no_nan(&f);

    let constant = Series {
        start_ms: START,
        values: vec![3.0; 24 * 40],
    };
    let f = forecast(&constant, &[], &opts(30, 40));
    assert_eq!(f.status, Status::Ok);
    assert!(
        f.point.iter().all(|v| (v - 3.0).abs() < 1e-9),
        "constant stays constant"
    );
    assert_eq!(f.mase, None, "MASE has no scale on a constant series");
    no_nan(&f);

    let mut nan = synth::generate(3, &Spec::default(), START);
    nan.values[100] = f64::NAN;
    nan.values[200] = f64::INFINITY;
    let f = forecast(&nan, &[], &opts(30, 90));
    assert_eq!(f.status, Status::Ok);
    no_nan(&f);
    let q = f.cumulative(at_day(120));
    assert!(q.to_array().iter().all(|v| v.is_finite()));
}

#[test]
fn seasonal_series_beats_the_run_rate_and_intervals_cover() {
    // Targets of the accuracy bench on a few series: median MASE ratio ≤ 0.8, and 80% coverage
    // in 75-85% widened by the sampling error of 140 days (± 3.4 points a standard deviation).
    let mut ratios = Vec::new();
    let (mut inside, mut points) = (0, 0);
    for seed in 0..10u64 {
        let spec = Spec {
            days: 74,
            trend_per_day: 0.002 * (seed % 3) as f64,
            noise: 0.1 + 0.02 * seed as f64,
            ..Spec::default()
        };
        let s = synth::generate(seed, &spec, START);
        let f = forecast(&s, &[], &opts(14, 60));
        assert_eq!(f.status, Status::Ok);
        no_nan(&f);
        ratios.push(f.mase.unwrap_or(9.0) / f.mase_run_rate.unwrap_or(1.0));
        let truth = &s.values[60 * 24..];
        for (d, b) in f.daily.iter().enumerate() {
            let a: f64 = truth[d * 24..(d + 1) * 24].iter().sum();
            inside += usize::from(a >= b.lo80 && a <= b.hi80);
            points += 1;
        }
    }
    ratios.sort_by(f64::total_cmp);
    assert!(ratios[5] <= 0.8, "MASE ratios {ratios:?}");
    let cov = inside as f64 / points as f64;
    assert!(
        (0.6..=0.97).contains(&cov),
        "80% coverage {cov} on {points} days"
    );
}

#[test]
fn the_forecast_after_a_holiday_trough_does_not_take_it_as_the_baseline() {
    // Ten weeks ending 2026-01-03 with a 40% trough over Christmas–New Year (22 Dec - 2 Jan).
    let start = 1_761_350_400_000; // 2025-10-25
    let t = 1_767_398_400_000; // 2026-01-03
    let holiday = Period {
        name: "Christmas–New Year".into(),
        start_ms: 1_766_361_600_000,
        end_ms: t,
    };
    let spec = Spec {
        days: 100,
        holidays: vec![(58, 12, 0.4)],
        ..Spec::default()
    };
    let s = synth::generate(7, &spec, start);
    let h = ((t - start) / HOUR_MS) as usize;
    let truth: f64 = s.values[h..h + 720].iter().sum();
    let o = Options {
        as_of_ms: Some(t),
        ..Options::new(720, t)
    };
    let f = forecast(&s, std::slice::from_ref(&holiday), &o);
    let sum: f64 = f.point.iter().sum();
    assert!(
        (sum / truth - 1.0).abs() <= 0.10,
        "forecast {sum} vs truth {truth}"
    );
    let rr = s.values[h - 168..h].iter().sum::<f64>() / 168.0 * 720.0;
    assert!(rr / truth - 1.0 <= -0.25, "run-rate {rr} vs truth {truth}");
    let q = f.cumulative(t + 30 * DAY_MS);
    // The level after a trough is unobserved, so the sum's band is the one to check: the truth
    // lies in it, the run-rate far below it.
    assert!(
        q.q025 <= truth && truth <= q.q975,
        "truth {truth} outside the 95% band {q:?}"
    );
    assert!(
        q.q025 > rr,
        "the run-rate {rr} is not below the 95% band {q:?}"
    );
    let w = f
        .warnings
        .iter()
        .find(|w| w.starts_with("the last 14 days are"))
        .unwrap_or_else(|| panic!("no trough warning in {:?}", f.warnings));
    assert!(
        w.contains("below the seasonal level and overlap Christmas–New Year: the forecast does not treat them as the new baseline"),
        "{w}"
    );
    // The next occurrence has no past one in ten weeks: multiplier 1 and a warning.
    let next = Period {
        name: "Christmas–New Year".into(),
        start_ms: t + 10 * DAY_MS,
        end_ms: t + 12 * DAY_MS,
    };
    let f = forecast(&s, &[holiday.clone(), next], &o);
    let m = f
        .multipliers
        .iter()
        .find(|m| m.name == "Christmas–New Year");
    assert!(
        m.is_some_and(|m| m.occurrences == 1 && m.value < 0.8),
        "{:?}",
        f.multipliers
    );
}

#[test]
fn a_recurring_holiday_is_forecast_with_its_learned_multiplier() {
    let spec = Spec {
        days: 90,
        holidays: vec![(20, 2, 0.5), (62, 2, 0.5)],
        noise: 0.05,
        ..Spec::default()
    };
    let s = synth::generate(11, &spec, START);
    let period = |d: i64| Period {
        name: "Founders day".into(),
        start_ms: at_day(d),
        end_ms: at_day(d + 2),
    };
    let cal = [period(20), period(62)];
    let f = forecast(&s, &cal, &opts(14, 55));
    let m = &f.multipliers[0];
    assert_eq!((m.name.as_str(), m.occurrences), ("Founders day", 1));
    assert!((m.value - 0.5).abs() < 0.1, "multiplier {m:?}");
    // Days 62-63 are lead days 7-8: about half the same weekdays a week before.
    let d = |i: usize| f.daily[i].point;
    assert!(
        d(7) < 0.7 * d(0),
        "holiday not applied: {} vs {}",
        d(7),
        d(0)
    );
    assert!(
        d(8) < 0.7 * d(1),
        "holiday not applied: {} vs {}",
        d(8),
        d(1)
    );
    assert!(
        d(9) > 0.8 * d(2),
        "holiday applied after its end: {} vs {}",
        d(9),
        d(2)
    );
    let unseen = Period {
        name: "Unseen".into(),
        start_ms: at_day(60),
        end_ms: at_day(61),
    };
    let f = forecast(&s, &[unseen], &opts(14, 55));
    assert!(
        f.warnings.iter().any(
            |w| w == "no history for Unseen: the forecast assumes normal traffic on those days"
        )
    );
}

#[test]
fn an_old_level_shift_refits_and_a_recent_one_warns() {
    let spec = Spec {
        days: 90,
        level_shift: Some((50, 1.6)),
        noise: 0.1,
        ..Spec::default()
    };
    let s = synth::generate(5, &spec, START);
    let f = forecast(&s, &[], &opts(14, 90));
    let w = f.warnings.iter().find(|w| w.starts_with("level shift on"));
    assert!(
        w.is_some_and(|w| w.contains("fitted on the 40 days since")),
        "{:?}",
        f.warnings
    );
    let level = f.daily[..7].iter().map(|d| d.point).sum::<f64>() / 168.0;
    let after = s.values[76 * 24..90 * 24].iter().sum::<f64>() / (14.0 * 24.0);
    assert!(
        (level / after - 1.0).abs() < 0.25,
        "level {level} vs {after}"
    );
    let f = forecast(&s, &[], &opts(14, 58));
    assert!(
        f.warnings.iter().any(|w| w.contains("8 days of new level")),
        "{:?}",
        f.warnings
    );
    // A steady trend is not a shift.
    let trend = Spec {
        trend_per_day: 0.01,
        ..Spec::default()
    };
    let f = forecast(&synth::generate(6, &trend, START), &[], &opts(14, 90));
    assert!(
        !f.warnings.iter().any(|w| w.starts_with("level shift")),
        "{:?}",
        f.warnings
    );
}

#[test]
fn the_generator_is_deterministic() {
    let spec = Spec::default();
    assert_eq!(
        synth::generate(9, &spec, START),
        synth::generate(9, &spec, START)
    );
    assert_ne!(
        synth::generate(9, &spec, START),
        synth::generate(10, &spec, START)
    );
}

#[test]
fn cumulative_quantiles_grow_with_the_window_and_stay_ordered() {
    let s = synth::generate(4, &Spec::default(), START);
    let f = forecast(&s, &[], &opts(30, 60));
    let mut prev = 0.0;
    for d in 1..=30 {
        let q = f.cumulative(at_day(60 + d)).to_array();
        assert!(q.windows(2).all(|w| w[0] <= w[1]), "unordered {q:?}");
        assert!(q[3] >= prev, "median sum shrank at day {d}");
        prev = q[3];
    }
    // The point sum lies inside the 95% band of the sum (the median carries the backtest's bias).
    let sum30: f64 = f.point.iter().sum();
    let q = f.cumulative(at_day(90));
    assert!(q.q025 <= sum30 && sum30 <= q.q975, "{q:?} vs {sum30}");
    assert_eq!(
        f.cumulative(at_day(200)),
        q,
        "past the horizon reads at the horizon"
    );
    assert_eq!(f.cumulative(at_day(60)).q975, 0.0);
}

#[test]
fn extreme_times_and_horizons_do_not_panic() {
    let s = synth::generate(
        12,
        &Spec {
            days: 20,
            ..Spec::default()
        },
        START,
    );
    let far = Options {
        as_of_ms: Some(i64::MAX),
        ..Options::new(24, i64::MAX)
    };
    assert!(matches!(
        forecast(&s, &[], &far).status,
        Status::Stopped { .. }
    ));
    let before = Options {
        as_of_ms: Some(i64::MIN),
        ..Options::new(24, 0)
    };
    assert_eq!(forecast(&s, &[], &before).status, Status::NoHistory);
    let early = Series {
        start_ms: i64::MIN,
        values: vec![1.0; 48],
    };
    assert!(matches!(
        forecast(&early, &[], &opts(1, 0)).status,
        Status::Stopped { .. }
    ));
    let huge = forecast(&s, &[], &Options::new(usize::MAX, at_day(20)));
    assert_eq!(huge.point.len(), crate::MAX_HORIZON_HOURS);
    no_nan(&huge);
}

#[test]
fn holiday_hours_are_filled_from_the_seasonal_pattern() {
    let spec = Spec {
        days: 60,
        holidays: vec![(30, 4, 0.5)],
        noise: 0.05,
        ..Spec::default()
    };
    let s = synth::generate(13, &spec, START);
    let cal = [Period {
        name: "Break".into(),
        start_ms: at_day(30),
        end_ms: at_day(34),
    }];
    let mask = crate::clean::mask(&cal, START, s.values.len());
    assert_eq!(mask.iter().filter(|m| **m).count(), 4 * 24);
    let filled = crate::clean::fill(&s.values, &mask);
    let normal = Spec {
        holidays: vec![],
        ..spec.clone()
    };
    let (mut err, mut total) = (0.0, 0.0);
    for (i, v) in filled.iter().enumerate().take(34 * 24).skip(30 * 24) {
        err += (v - synth::expected(&normal, START, i)).abs();
        total += synth::expected(&normal, START, i);
    }
    assert!(
        err / total < 0.10,
        "fill is {:.1}% off the pattern",
        100.0 * err / total
    );
    assert_eq!(
        filled[29 * 24],
        s.values[29 * 24],
        "hours outside the period are kept"
    );
}

#[test]
fn the_json_names_status_model_and_intervals() {
    let s = synth::generate(14, &Spec::default(), START);
    let f = forecast(&s, &[], &opts(14, 60));
    let v = serde_json::to_value(&f).unwrap_or_default();
    assert_eq!(v["status"]["kind"], "ok");
    assert_eq!(v["model"], "mstl");
    assert_eq!(v["intervals"], "calibrated");
    assert_eq!(v["mase_scale"], "seasonal naive m=168");
    assert!(v["coverage"]["p80"].as_f64().is_some_and(|c| c > 0.5));
    assert_eq!(
        v["backtest"]["candidates"].as_array().map(Vec::len),
        Some(4)
    );
    let stopped = SeriesForecast::empty(Status::Stopped { last_active_ms: 5 }, 0);
    let v = serde_json::to_value(&stopped).unwrap_or_default();
    assert_eq!(
        v["status"],
        serde_json::json!({"kind": "stopped", "last_active_ms": 5})
    );
}

#[test]
fn odd_shapes_never_panic_or_produce_nan() {
    let mut rng = synth::Rng::new(42);
    for case in 0..24u64 {
        let days = 1 + (rng.uniform() * 80.0) as usize;
        let mut values: Vec<f64> = (0..days * 24)
            .map(|i| match case % 6 {
                0 => f64::from(u8::from(i % 24 == 9)), // one call a day
                1 => {
                    if rng.uniform() < 0.02 {
                        1e6
                    } else {
                        0.0
                    }
                } // rare spikes
                2 => rng.normal(),                     // refunds: negative values
                3 => 1e12 * (1.0 + rng.uniform()),     // huge
                4 => 1e-9 * rng.uniform(),             // tiny
                _ => {
                    if i / 24 % 10 < 5 {
                        10.0
                    } else {
                        0.0
                    }
                } // on and off
            })
            .collect();
        values[0] = 1.0;
        let s = Series {
            start_ms: START,
            values,
        };
        let cal: Vec<Period> = (0..3)
            .map(|k| {
                let d = (rng.uniform() * 100.0) as i64 - 10;
                Period {
                    name: format!("p{k}"),
                    start_ms: at_day(d),
                    end_ms: at_day(d + 1 + k),
                }
            })
            .collect();
        let f = forecast(&s, &cal, &opts(30, days as i64));
        no_nan(&f);
        let q = f.cumulative(at_day(days as i64 + 20));
        assert!(
            q.to_array().iter().all(|v| v.is_finite()),
            "case {case}: {q:?}"
        );
        let p = project(&f, 1.0, 2.0, at_day(days as i64 + 5));
        assert!(
            p.at_reset.to_array().iter().all(|v| v.is_finite()),
            "case {case}"
        );
    }
}
