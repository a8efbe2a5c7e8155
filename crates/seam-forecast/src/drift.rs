//! The level's trend before a calendar gap that runs to the end of the history (§5 step 4):
//! measured on the weeks before the gap, carried across it damped when it is clear against its
//! noise and the last week before the gap is on its line (a slowdown or rush right before a
//! holiday is not a trend), and the uncertainty of the level so extrapolated.

/// Days before a gap the trend is measured on, at most.
const TREND_DAYS: usize = 56;
/// Fewer whole unmasked days than this and no trend is measured.
const TREND_MIN_DAYS: usize = 21;
/// The last days before the gap, checked against the line of the days before them.
const LAST_DAYS: usize = 7;
/// A slope is a trend when it is this many standard errors from 0; the last week is off the
/// line when its mean is this many standard errors from it.
const Z: f64 = 2.0;
/// Daily damping of a carried trend: the upper bound `forecast::ets` puts on φ, so a long gap
/// never carries more than ~50 days of growth.
const DAMPING: f64 = 0.98;

/// A day's position in days from the gap's start (its centre, negative) and its level.
type Point = (f64, f64);

/// A straight line through daily levels at day positions `x` (negative before the gap).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Line {
    intercept: f64,
    slope: f64,
    /// Standard error of the slope.
    se: f64,
    /// Residual standard deviation.
    sigma: f64,
    mean_x: f64,
    sxx: f64,
    n: usize,
}

fn fit(points: &[Point]) -> Option<Line> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let sse: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let sigma = (sse / (nf - 2.0)).sqrt();
    Some(Line {
        intercept,
        slope,
        se: sigma / sxx.sqrt(),
        sigma,
        mean_x,
        sxx,
        n,
    })
}

/// The trend of the level (actual ÷ seasonal profile) before a gap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Drift {
    line: Line,
    /// Clear against its noise and the last week on its line: the fill follows it.
    pub carried: bool,
}

impl Drift {
    /// Measure on `(x, level)` for the whole unmasked days before a gap, `x` the day's centre
    /// in days from the gap's start (negative). `None` under [`TREND_MIN_DAYS`] days, or when
    /// a level is not positive (refunds: a line through them says nothing of usage).
    pub(crate) fn measure(days: &[Point]) -> Option<Drift> {
        if days.len() < TREND_MIN_DAYS || days.iter().any(|p| !(p.1 > 0.0 && p.1.is_finite())) {
            return None;
        }
        let line = fit(days)?;
        let cut = -(LAST_DAYS as f64);
        let (last, early): (Vec<Point>, Vec<Point>) = days.iter().partition(|p| p.0 > cut);
        // The last week's mean against the line of the weeks before it, with the error of
        // both the mean and the line's prediction there.
        let on_line = match (fit(&early), last.len()) {
            (Some(e), k) if k > 0 => {
                let kx = last.iter().map(|p| p.0).sum::<f64>() / k as f64;
                let ky = last.iter().map(|p| p.1).sum::<f64>() / k as f64;
                let se = e.sigma
                    * (1.0 / k as f64 + 1.0 / e.n as f64 + (kx - e.mean_x).powi(2) / e.sxx).sqrt();
                (ky - e.intercept - e.slope * kx).abs() <= Z * se
            }
            _ => false,
        };
        let clear = line.slope.abs() >= Z * line.se;
        Some(Drift {
            line,
            carried: clear && on_line,
        })
    }

    /// When carried, the level `x` days after the gap's start: the line at the start (eight
    /// weeks of days estimate it better than the last one), then its slope damped; never
    /// below 0.
    pub(crate) fn level(&self, x: f64) -> Option<f64> {
        self.carried
            .then(|| (self.line.intercept + self.line.slope * damped(x)).max(0.0))
    }

    /// Standard deviation of the level `x` days after the gap's start that the trend brings.
    /// Carried: the line's own error there (its mean's and its slope's). Not carried: the
    /// level is held from the last week, and the slope left out (or its error, whichever is
    /// larger) grows over the distance from that week's centre.
    pub(crate) fn level_sd(&self, x: f64) -> f64 {
        let l = &self.line;
        if self.carried {
            (l.sigma * l.sigma / l.n as f64 + (l.se * (x - l.mean_x)).powi(2)).sqrt()
        } else {
            l.slope.abs().max(l.se) * damped(x + LEVEL_CENTRE_DAYS)
        }
    }
}

/// ∫₀ˣ φˢ ds: the days of growth a damped trend carries over `x` days.
fn damped(x: f64) -> f64 {
    let x = x.max(0.0);
    (1.0 - DAMPING.powf(x)) / -DAMPING.ln()
}

/// Day positions of the whole unmasked days before hour `a`, up to [`TREND_DAYS`] of them,
/// with each day's hour indices, for [`Drift::measure`].
pub(crate) fn days_before(a: usize, mask: &[bool]) -> Vec<(f64, std::ops::Range<usize>)> {
    (0..TREND_DAYS)
        .filter_map(|k| {
            let end = a.checked_sub(24 * k)?;
            let start = end.checked_sub(24)?;
            (!mask[start..end].contains(&true)).then(|| (-(k as f64) - 0.5, start..end))
        })
        .collect()
}

/// Days before the gap that a held level (the mean of the last [`LAST_DAYS`]) is centred on.
const LEVEL_CENTRE_DAYS: f64 = LAST_DAYS as f64 / 2.0;

#[cfg(test)]
mod tests {
    use super::*;

    fn line(slope: f64, noise: impl Fn(usize) -> f64) -> Vec<Point> {
        (0..56)
            .map(|k| {
                let x = -(k as f64) - 0.5;
                (x, 1.0 + slope * x + noise(k))
            })
            .collect()
    }

    /// A fixed ±3% zig-zag: noise without a trend of its own.
    fn zigzag(k: usize) -> f64 {
        [0.03, -0.02, 0.01, -0.03, 0.02, -0.01, 0.0][k % 7]
    }

    #[test]
    fn a_clear_steady_trend_is_carried_and_a_flat_one_is_not() {
        let d = Drift::measure(&line(0.002, zigzag)).expect("56 days");
        assert!(d.carried, "{d:?}");
        assert!((d.line.slope - 0.002).abs() < 0.0005, "{d:?}");
        // Damped: less than 14 days of growth over 14 days, but most of it.
        let rise = d.level(14.0).unwrap_or(0.0) - d.level(0.0).unwrap_or(0.0);
        assert!(rise > 0.002 * 12.0 && rise < 0.002 * 14.0, "{rise}");
        assert!(d.level_sd(28.0) > d.level_sd(14.0), "grows with the gap");
        let d = Drift::measure(&line(0.0, zigzag)).expect("56 days");
        assert!(!d.carried, "{d:?}");
        assert_eq!(d.level(14.0), None);
    }

    #[test]
    fn a_slowdown_in_the_last_week_is_not_carried() {
        // Flat for seven weeks, then 15% down in the week before the holiday: the line
        // through all eight weeks slopes down clearly, but the last week is off the line of
        // the weeks before it.
        let days = line(0.0, |k| zigzag(k) - if k < 7 { 0.15 } else { 0.0 });
        let d = Drift::measure(&days).expect("56 days");
        assert!(d.line.slope < -0.001, "{d:?}");
        assert!(!d.carried, "{d:?}");
        assert_eq!(d.level(14.0), None);
        // Its uncertainty still counts the slope it did not carry.
        assert!(d.level_sd(14.0) >= d.line.slope.abs() * 14.0, "{d:?}");
    }

    #[test]
    fn the_damped_distance_grows_slower_than_the_days_and_is_bounded() {
        assert!((damped(1.0) - 1.0).abs() < 0.02);
        assert!(damped(14.0) < 14.0 && damped(14.0) > 12.0);
        assert!(damped(10_000.0) < 50.0);
        assert_eq!(damped(-3.0), 0.0);
    }
}
