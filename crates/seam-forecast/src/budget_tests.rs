//! Budget projections to a window's reset (`budget::project`): the first hour, a crossing
//! mid-window, never and already crossed, and uncalibrated intervals.

use crate::budget::project;
use crate::synth::{self, Spec};
use crate::tests::{START, opts};
use crate::{DAY_MS, IntervalKind, SeriesForecast, forecast};

fn steady() -> SeriesForecast {
    let s = synth::generate(8, &Spec::default(), START);
    let f = forecast(&s, &[], &opts(30, 60));
    assert_ne!(f.intervals, IntervalKind::Uncalibrated);
    f
}

#[test]
fn budget_reset_within_the_first_hour_projects_spent_without_division() {
    let f = steady();
    let p = project(&f, 0.0, 100.0, f.start_ms + 30 * 60_000);
    assert_eq!(p.at_reset.q50, 0.0);
    assert!(p.at_reset.to_array().iter().all(|v| v.is_finite()));
    assert_eq!(p.crossing_ms.q975, None);
    assert!(!p.exceed_projected);
}

#[test]
fn budget_crossed_mid_window_names_the_hour() {
    let f = steady();
    let reset = f.start_ms + 10 * DAY_MS;
    let ten_days = f.cumulative(reset).q50;
    let limit = 100.0 + ten_days / 2.0;
    let p = project(&f, 100.0, limit, reset);
    assert!(p.exceed_projected, "{p:?}");
    let mid = p.crossing_ms.q50.unwrap_or(i64::MAX);
    assert!(
        mid > f.start_ms + 3 * DAY_MS && mid < f.start_ms + 7 * DAY_MS,
        "{p:?}"
    );
    // The high quantile crosses first.
    assert!(p.crossing_ms.q975.unwrap_or(i64::MAX) <= mid);
    assert_eq!(p.p_exceed_label, "≥ 97.5%");
}

#[test]
fn budget_never_crossed_and_already_exceeded() {
    let f = steady();
    let reset = f.start_ms + 5 * DAY_MS;
    let p = project(&f, 10.0, 1e12, reset);
    assert_eq!(p.crossing_ms, crate::Quantiles::default());
    assert!(!p.exceed_projected);
    assert_eq!(p.p_exceed_label, "< 2.5%");
    let p = project(&f, 500.0, 400.0, reset);
    assert_eq!(p.crossing_ms.q025, Some(f.start_ms));
    assert_eq!(p.crossing_ms.q975, Some(f.start_ms));
    assert!(p.exceed_projected);
}

#[test]
fn uncalibrated_intervals_never_project_an_exceed() {
    let one_day = synth::generate(
        2,
        &Spec {
            days: 2,
            ..Spec::default()
        },
        START,
    );
    let f = forecast(&one_day, &[], &opts(7, 2));
    assert_eq!(f.intervals, IntervalKind::Uncalibrated);
    let p = project(&f, 1000.0, 1.0, f.start_ms + 3 * DAY_MS);
    assert!(!p.exceed_projected);
    assert!(
        p.p_exceed_label.ends_with("(uncalibrated)"),
        "{}",
        p.p_exceed_label
    );
}
