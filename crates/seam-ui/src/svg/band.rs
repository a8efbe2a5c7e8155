//! A forecast chart: history as a line, the forecast as a dashed line inside its 95% and 80%
//! bands, calendar periods shaded, limits as horizontal lines, and the forecast's start
//! marked. Drawn like the dashboard's other charts (presentation attributes, no `style=`);
//! `seam forecast --plot` writes the same SVG to a file.

use super::{Frame, c, esc, nice_ceiling, runs};
use std::fmt::Write;

/// What a [`band_chart`] draws; times in ms (UTC).
#[derive(Debug, Clone, Default)]
pub struct BandChart {
    /// The title, also the chart's accessible name.
    pub title: String,
    /// The values' unit, after each axis label ("USD", "tokens", "calls").
    pub unit: String,
    pub history: Vec<(i64, f64)>,
    pub forecast: Vec<(i64, f64)>,
    /// (time, low, high) of the 80% and 95% intervals.
    pub band80: Vec<(i64, f64, f64)>,
    pub band95: Vec<(i64, f64, f64)>,
    /// Calendar periods: (start, end, name).
    pub shaded: Vec<(i64, i64, String)>,
    /// Horizontal lines: (value, label), e.g. a limit.
    pub lines: Vec<(f64, String)>,
    /// Where the forecast starts (a vertical rule).
    pub start: Option<i64>,
}

const HISTORY: &str = "#2754c5";
const FORECAST: &str = "#a3261b";
const BAND95: &str = "#f3d9d6";
const BAND80: &str = "#e6aea8";
const SHADE: &str = "#eef0f4";
const LIMIT: &str = "#1d2330";

/// The value axis' label: compact (12k, 1.5M) so a wide range still fits.
fn axis_label(v: f64, unit: &str) -> String {
    let a = v.abs();
    let n = if a >= 1e6 {
        format!("{}M", short(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", short(v / 1e3))
    } else {
        short(v)
    };
    if unit == "USD" { format!("${n}") } else { n }
}

fn short(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// The chart as one `<svg>` element, 640 × 260.
pub fn band_chart(chart: &BandChart) -> String {
    let (w, h) = (640u32, 260u32);
    let (left, right, top, bottom) = (60.0, 14.0, 30.0, 28.0);
    let (wf, hf) = (f64::from(w), f64::from(h));
    let times = chart
        .history
        .iter()
        .map(|p| p.0)
        .chain(chart.forecast.iter().map(|p| p.0))
        .chain(chart.band95.iter().map(|p| p.0));
    let (from, to) = times.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
    let (from, to) = if from > to {
        (0, 1)
    } else {
        (from, to.max(from + 1))
    };
    let values = chart
        .history
        .iter()
        .chain(chart.forecast.iter())
        .map(|p| p.1)
        .chain(chart.band95.iter().flat_map(|b| [b.1, b.2]))
        .chain(chart.band80.iter().flat_map(|b| [b.1, b.2]))
        .chain(chart.lines.iter().map(|l| l.0))
        .filter(|v| v.is_finite());
    let lo = values.clone().fold(0.0, f64::min);
    let hi = nice_ceiling(values.fold(0.0, f64::max) - lo) + lo;
    let frame = Frame {
        w: wf,
        h: hf,
        left,
        right,
        top,
        bottom,
        lo,
        hi,
        from,
        to,
    };
    let (x, y) = (|t| frame.x(t), |v| frame.y(v));
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        esc(&chart.title),
        esc(&chart.title)
    );
    for (start, end, name) in &chart.shaded {
        if *end <= from || *start >= to {
            continue;
        }
        let (x0, x1) = (x(*start), x(*end));
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{SHADE}\"><title>{}</title></rect>\
             <text x=\"{}\" y=\"{}\" font-size=\"9\" fill=\"#5d6778\">{}</text>",
            c(x0),
            c(top),
            c((x1 - x0).max(1.0)),
            c(hf - top - bottom),
            esc(name),
            c(x0 + 2.0),
            c(top + 10.0),
            esc(name)
        );
    }
    frame.axes(&mut out, |v| axis_label(v, &chart.unit));
    for (band, fill) in [(&chart.band95, BAND95), (&chart.band80, BAND80)] {
        band_polygon(&mut out, band, fill, &x, &y);
    }
    if let Some(t) = chart.start.filter(|t| (from..=to).contains(t)) {
        let _ = write!(
            out,
            "<line x1=\"{x}\" y1=\"{t0}\" x2=\"{x}\" y2=\"{b}\" stroke=\"#5d6778\" stroke-dasharray=\"2 3\"/>",
            x = c(x(t)),
            t0 = c(top),
            b = c(hf - bottom),
        );
    }
    for (v, label) in chart.lines.iter().filter(|l| l.0.is_finite()) {
        let _ = write!(
            out,
            "<line x1=\"{l}\" y1=\"{y}\" x2=\"{r}\" y2=\"{y}\" stroke=\"{LIMIT}\" stroke-width=\"1.5\" \
             stroke-dasharray=\"6 3\"/><text x=\"{r}\" y=\"{ty}\" font-size=\"10\" text-anchor=\"end\" \
             fill=\"{LIMIT}\">{}</text>",
            esc(label),
            l = c(left),
            r = c(wf - right),
            y = c(y(*v)),
            ty = c(y(*v) - 3.0),
        );
    }
    line(&mut out, &chart.history, HISTORY, None, &x, &y);
    line(&mut out, &chart.forecast, FORECAST, Some("5 3"), &x, &y);
    let legend = [
        (HISTORY, "history"),
        (FORECAST, "forecast"),
        (BAND80, "80% interval"),
        (BAND95, "95% interval"),
    ];
    for (i, (colour, name)) in legend.iter().enumerate() {
        let lx = left + 120.0 * i as f64;
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"8\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"17\" font-size=\"11\" fill=\"#1d2330\">{name}</text>",
            c(lx),
            c(lx + 14.0),
        );
    }
    out.push_str("</svg>");
    out
}

fn line(
    out: &mut String,
    points: &[(i64, f64)],
    colour: &str,
    dash: Option<&str>,
    x: &impl Fn(i64) -> f64,
    y: &impl Fn(f64) -> f64,
) {
    let pts: Vec<(f64, f64)> = points.iter().map(|&(t, v)| (x(t), y(v))).collect();
    let dash = dash.map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""));
    for run in runs(&pts) {
        let pts: Vec<String> = run
            .iter()
            .map(|(a, b)| format!("{},{}", c(*a), c(*b)))
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"{dash} points=\"{}\"/>",
            pts.join(" ")
        );
    }
}

/// A band as one polygon: along its highs, back along its lows (points with a bound that is
/// not finite are left out).
fn band_polygon(
    out: &mut String,
    band: &[(i64, f64, f64)],
    fill: &str,
    x: &impl Fn(i64) -> f64,
    y: &impl Fn(f64) -> f64,
) {
    let kept: Vec<&(i64, f64, f64)> = band
        .iter()
        .filter(|b| b.1.is_finite() && b.2.is_finite())
        .collect();
    if kept.len() < 2 {
        return;
    }
    let upper = kept.iter().map(|b| (x(b.0), y(b.2)));
    let lower = kept.iter().rev().map(|b| (x(b.0), y(b.1)));
    let pts: Vec<String> = upper
        .chain(lower)
        .map(|(a, b)| format!("{},{}", c(a), c(b)))
        .collect();
    let _ = write!(
        out,
        "<polygon fill=\"{fill}\" stroke=\"none\" points=\"{}\"/>",
        pts.join(" ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn chart() -> BandChart {
        BandChart {
            title: "cost of <acme>".into(),
            unit: "USD".into(),
            history: (0..10).map(|d| (d * DAY, 100.0 + d as f64)).collect(),
            forecast: (10..20).map(|d| (d * DAY, 110.0)).collect(),
            band80: (10..20).map(|d| (d * DAY, 100.0, 120.0)).collect(),
            band95: (10..20).map(|d| (d * DAY, 90.0, 130.0)).collect(),
            shaded: vec![(3 * DAY, 5 * DAY, "Christmas–New Year & <co>".into())],
            lines: vec![(150.0, "daily limit $150".into())],
            start: Some(10 * DAY),
        }
    }

    #[test]
    fn draws_every_part_escaped() {
        let svg = band_chart(&chart());
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<polygon").count(), 2, "both bands");
        assert_eq!(svg.matches("<polyline").count(), 2, "history and forecast");
        assert!(svg.contains("Christmas–New Year &amp; &lt;co&gt;"));
        assert!(svg.contains("cost of &lt;acme&gt;"));
        assert!(svg.contains("daily limit $150"));
        assert!(!svg.contains("style="));
        assert!(svg.contains("$150"), "the axis reaches the limit: {svg}");
    }

    #[test]
    fn an_empty_chart_still_draws() {
        let svg = band_chart(&BandChart::default());
        assert!(svg.starts_with("<svg") && !svg.contains("NaN"));
        let mut odd = chart();
        odd.forecast[3].1 = f64::NAN;
        odd.band80[2].2 = f64::INFINITY;
        let svg = band_chart(&odd);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert_eq!(
            svg.matches("<polyline").count(),
            3,
            "a gap splits the forecast"
        );
    }
}
