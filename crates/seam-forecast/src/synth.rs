//! The committed, seeded generator of hourly usage for the accuracy bench, the tests and the
//! demo: daily and weekly seasonality, a linear trend, multiplicative noise, holiday troughs
//! and a level shift. Deterministic: its own small PRNG (SplitMix64), no global state.

use crate::{DAY_MS, HOUR_MS, Series};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Days of hourly values.
    pub days: usize,
    /// Daily swing: the hour-of-day factor is 1 + daily_amp·cos(2π(h − 14)/24) (peak 14:00 UTC).
    pub daily_amp: f64,
    /// Weekly swing: weekdays × (1 + 0.4·weekly_amp), Saturday and Sunday × (1 − weekly_amp).
    pub weekly_amp: f64,
    /// Linear trend: the level on day d is base·(1 + trend_per_day·d).
    pub trend_per_day: f64,
    /// Standard deviation of the multiplicative hourly noise (0.2 = ±20%).
    pub noise: f64,
    /// Troughs: (first day, length in days, depth); traffic on those days is × (1 − depth).
    pub holidays: Vec<(usize, usize, f64)>,
    /// From this day on, traffic is × factor.
    pub level_shift: Option<(usize, f64)>,
    /// Mean hourly level on day 0 before seasonality.
    pub base: f64,
}

impl Default for Spec {
    fn default() -> Spec {
        Spec {
            days: 90,
            daily_amp: 0.5,
            weekly_amp: 0.3,
            trend_per_day: 0.0,
            noise: 0.15,
            holidays: Vec::new(),
            level_shift: None,
            base: 100.0,
        }
    }
}

impl Spec {
    /// `seam demo`'s holiday story (issue 28), with another trend if wanted: 100 days from
    /// 2025-10-24 at base 4 (+0.2% a day in the demo), traffic × 0.65 on days 59-69 (22 December
    /// to 1 January). The demo forecasts from the first 70 days.
    pub fn holiday_story(trend_per_day: f64) -> Spec {
        Spec {
            days: 100,
            daily_amp: 0.5,
            weekly_amp: 0.3,
            trend_per_day,
            noise: 0.15,
            holidays: vec![(59, 11, 0.35)],
            level_shift: None,
            base: 4.0,
        }
    }
}

/// SplitMix64: tiny, fast and good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// The noiseless level of hour `i` (hours from `start_ms`, which should be a UTC midnight).
pub fn expected(spec: &Spec, start_ms: i64, i: usize) -> f64 {
    let at = start_ms + i as i64 * HOUR_MS;
    let day = i / 24;
    let hour = at.rem_euclid(DAY_MS) / HOUR_MS;
    // 1970-01-01 was a Thursday: Monday = 0.
    let weekday = (at.div_euclid(DAY_MS) + 3).rem_euclid(7);
    let daily =
        1.0 + spec.daily_amp * (2.0 * std::f64::consts::PI * (hour as f64 - 14.0) / 24.0).cos();
    let weekly = if weekday >= 5 {
        1.0 - spec.weekly_amp
    } else {
        1.0 + 0.4 * spec.weekly_amp
    };
    let trend = (1.0 + spec.trend_per_day * day as f64).max(0.0);
    let holiday: f64 = spec
        .holidays
        .iter()
        .filter(|(s, len, _)| day >= *s && day < s + len)
        .map(|(_, _, depth)| 1.0 - depth)
        .product();
    let shift = match spec.level_shift {
        Some((d, f)) if day >= d => f,
        _ => 1.0,
    };
    spec.base * daily * weekly * trend * holiday * shift
}

/// `spec.days` of hourly values from `start_ms`, the same for the same seed.
pub fn generate(seed: u64, spec: &Spec, start_ms: i64) -> Series {
    let mut rng = Rng::new(seed);
    let values = (0..spec.days * 24)
        .map(|i| (expected(spec, start_ms, i) * (1.0 + spec.noise * rng.normal())).max(0.0))
        .collect();
    Series { start_ms, values }
}
