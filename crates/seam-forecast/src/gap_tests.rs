//! The forecast after a calendar period that runs to the end of the history (issue 28's
//! story, as `seam demo` plays it): the level at T was never observed, and a steady trend
//! keeps growing across the gap.

use crate::synth::{self, Spec};
use crate::{DAY_MS, Options, Period, Quantiles, Series, forecast};

/// 2025-10-24 00:00 UTC: `seam demo`'s series start, ten weeks before 2 January 2026.
const START: i64 = 1_761_264_000_000;
const HISTORY_DAYS: usize = 70;
const AHEAD_DAYS: usize = 30;
/// 2025-12-22 00:00 UTC, day 59.
const XMAS: i64 = 1_766_361_600_000;

/// The demo's calendar within the history and horizon: 2025-12-22 to 2026-01-02 inclusive.
fn calendar() -> [Period; 1] {
    [Period {
        name: "Christmas–New Year".into(),
        start_ms: XMAS,
        end_ms: XMAS + 12 * DAY_MS,
    }]
}

/// The generated truth of the 30 days from 2026-01-02 and the quantiles of the forecast sum
/// over them, forecast from the first 70 days as of 2026-01-02 00:00 UTC.
fn thirty_days(seed: u64, spec: &Spec) -> (f64, Quantiles) {
    let full = synth::generate(seed, spec, START);
    let h = HISTORY_DAYS * 24;
    let history = Series {
        start_ms: START,
        values: full.values[..h].to_vec(),
    };
    let truth: f64 = full.values[h..].iter().sum();
    let t = START + HISTORY_DAYS as i64 * DAY_MS;
    let o = Options {
        as_of_ms: Some(t),
        ..Options::new(AHEAD_DAYS * 24, t)
    };
    let f = forecast(&history, &calendar(), &o);
    (truth, f.cumulative(t + AHEAD_DAYS as i64 * DAY_MS))
}

#[test]
fn the_demo_story_lands_within_its_80_percent_band_and_10_percent() {
    let (truth, q) = thirty_days(2026, &Spec::holiday_story(0.002));
    assert!(
        (truth - 3312.0).abs() < 1.0,
        "the demo's truth moved: {truth}"
    );
    assert!(
        (q.q50 / truth - 1.0).abs() <= 0.10,
        "forecast {} vs truth {truth}",
        q.q50
    );
    assert!(
        q.q10 <= truth && truth <= q.q90,
        "truth {truth} outside the 80% band {q:?}"
    );
}

#[test]
fn other_seeds_and_trends_land_within_10_percent_and_their_95_percent_band() {
    for seed in [1, 2] {
        for trend in [0.0, 0.001, 0.003] {
            let (truth, q) = thirty_days(seed, &Spec::holiday_story(trend));
            let case = format!("seed {seed}, trend {trend}: truth {truth}, {q:?}");
            assert!((q.q50 / truth - 1.0).abs() <= 0.10, "{case}");
            assert!(q.q025 <= truth && truth <= q.q975, "{case}");
        }
    }
}

/// How the filled gap's level moves: its last three days ÷ the same weekdays a week before
/// (its first three), and its first week ÷ the actual week before the gap. The fill is the
/// hour-of-week profile times a level, so same-weekday ratios are ratios of levels.
fn gap_growth(spec: &Spec) -> (f64, f64) {
    let h = HISTORY_DAYS * 24;
    let history = &synth::generate(21, spec, START).values[..h];
    let mask = crate::clean::mask(&calendar(), START, h);
    let filled = crate::clean::fill(history, &mask);
    let sum = |v: &[f64], from: usize, days: usize| -> f64 {
        v[from * 24..(from + days) * 24].iter().sum()
    };
    (
        sum(&filled, 66, 3) / sum(&filled, 59, 3) - 1.0,
        sum(&filled, 59, 7) / sum(history, 52, 7) - 1.0,
    )
}

#[test]
fn a_steady_trend_is_carried_across_the_gap_but_a_slowdown_before_it_is_not() {
    // Growing 0.3% a day (about 1.7% a week at this level, less damped): the fill keeps
    // growing. (Its first week is anchored on the trend's line, not the last week's noise.)
    let (within, _) = gap_growth(&Spec::holiday_story(0.003));
    assert!(within > 0.01, "the trend stopped at the gap: {within:+.3}");
    // A flat series whose week before the holiday is 15% down (not in the calendar): a line
    // through the eight weeks slopes down clearly, but the fill holds that week's level and
    // does not extrapolate the drop.
    let mut slow = Spec::holiday_story(0.0);
    slow.holidays.push((52, 7, 0.15));
    let (within, over) = gap_growth(&slow);
    assert!(
        within.abs() < 0.005 && over.abs() < 0.005,
        "the slowdown moved the fill: {within:+.3} within the gap, {over:+.3} over the week before"
    );
}
