//! Charts as inline SVG, drawn on the server from numbers (no script, no `style=`, which the
//! CSP forbids: colours are presentation attributes). The only text from outside is a
//! series' or a bar's label, escaped here. Values that are not finite (NaN, infinity) are
//! left out: a gap in a line, a bar not drawn.

use std::fmt::Write;

pub(crate) mod band;
pub(crate) mod forecast;

/// How a chart's values read on its axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Unit {
    /// A share, drawn as a percentage (0.25 is 25%).
    Rate,
    /// A plain number.
    Number,
}

impl Unit {
    fn label(self, v: f64) -> String {
        match self {
            Unit::Rate => format!("{}%", trim(v * 100.0)),
            Unit::Number => trim(v),
        }
    }
}

/// One line of a [`line_chart`]: points of (time in ms, value).
pub(crate) struct Series<'a> {
    pub label: &'a str,
    pub points: Vec<(i64, f64)>,
}

/// The series' colours, in order (at most three series are drawn).
const COLOURS: [&str; 3] = ["#2754c5", "#a3261b", "#2f8a4c"];

/// Text for inside an SVG element or attribute.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A number without needless decimals: 0.5, 12, 1.25.
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// A coordinate, to one decimal.
fn c(v: f64) -> String {
    format!("{v:.1}")
}

/// The smallest of 1, 2, 2.5, 5 times a power of ten at or above `v` (1 for nothing).
fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|n| *n >= v * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

fn open(class: &str, w: u32, h: u32, label: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{class}\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">",
        esc(label)
    )
}

/// Runs of consecutive finite points, each drawn as one polyline (a NaN is a gap).
fn runs(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            if let Some(last) = out.last_mut() {
                last.push((x, y));
            }
        } else if out.last().is_some_and(|l| !l.is_empty()) {
            out.push(Vec::new());
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

/// Draws runs of points (already in pixels) in `colour`: a polyline per run, a dot for a
/// run of one point.
fn draw(out: &mut String, runs: &[Vec<(f64, f64)>], colour: &str) {
    for run in runs {
        if let [(x, y)] = run.as_slice() {
            let _ = write!(
                out,
                "<circle cx=\"{}\" cy=\"{}\" r=\"2\" fill=\"{colour}\"/>",
                c(*x),
                c(*y)
            );
        } else {
            let pts: Vec<String> = run
                .iter()
                .map(|(x, y)| format!("{},{}", c(*x), c(*y)))
                .collect();
            let _ = write!(
                out,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>",
                pts.join(" ")
            );
        }
    }
}

/// A small line of `values`, evenly spaced, from 0 (or the lowest value, if below) to the
/// highest; `label` says what it is to a screen reader.
pub(crate) fn sparkline(values: &[f64], label: &str) -> String {
    let (w, h, pad) = (120u32, 24u32, 2.0);
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let lo = finite.iter().copied().fold(0.0, f64::min);
    let mut hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !hi.is_finite() || hi <= lo {
        hi = lo + 1.0;
    }
    let (wf, hf) = (f64::from(w), f64::from(h));
    let step = if values.len() > 1 {
        (wf - 2.0 * pad) / (values.len() - 1) as f64
    } else {
        0.0
    };
    let pts: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = if values.len() > 1 {
                pad + i as f64 * step
            } else {
                wf / 2.0
            };
            (x, hf - pad - (v - lo) / (hi - lo) * (hf - 2.0 * pad))
        })
        .collect();
    let mut out = open("spark", w, h, label);
    let _ = write!(
        out,
        "<line x1=\"0\" y1=\"{b}\" x2=\"{w}\" y2=\"{b}\" stroke=\"#d8dde6\"/>",
        b = c(hf - pad)
    );
    draw(&mut out, &runs(&pts), COLOURS[0]);
    out.push_str("</svg>");
    out
}

/// Tick steps for a time axis, in ms: the first giving at most six ticks is used.
const TIME_STEPS: [i64; 12] = [
    60_000,
    300_000,
    900_000,
    1_800_000,
    3_600_000,
    3 * 3_600_000,
    6 * 3_600_000,
    12 * 3_600_000,
    86_400_000,
    2 * 86_400_000,
    7 * 86_400_000,
    30 * 86_400_000,
];

/// The ticks of a time axis from `from` to `to` (ms): multiples of a step, so days fall
/// on midnight UTC; labelled `HH:MM` (UTC) under a day's step, else `MM-DD`.
pub(crate) fn time_ticks(from: i64, to: i64) -> Vec<(i64, String)> {
    if to <= from {
        return Vec::new();
    }
    let span = to - from;
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 6)
        .unwrap_or(span / 6 + 1);
    let mut t = from.div_euclid(step) * step;
    if t < from {
        t += step;
    }
    let mut out = Vec::new();
    while t <= to && out.len() < 8 {
        let stamp = seam_store::timestamp(t);
        let label = if step < 86_400_000 {
            stamp.get(11..16)
        } else {
            stamp.get(5..10)
        };
        out.push((t, label.unwrap_or("").to_string()));
        t += step;
    }
    out
}

/// Where a chart draws (pixels) and the value and time ranges it maps there.
pub(crate) struct Frame {
    pub w: f64,
    pub h: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub lo: f64,
    pub hi: f64,
    pub from: i64,
    pub to: i64,
}

impl Frame {
    pub fn x(&self, t: i64) -> f64 {
        let span = (self.to - self.from).max(1) as f64;
        self.left
            + (t.clamp(self.from, self.to) - self.from) as f64 / span
                * (self.w - self.left - self.right)
    }

    pub fn y(&self, v: f64) -> f64 {
        self.h
            - self.bottom
            - (v - self.lo) / (self.hi - self.lo) * (self.h - self.top - self.bottom)
    }

    /// Five value ticks with grid lines, labelled by `label`; the time ticks; the time axis,
    /// marked UTC.
    pub fn axes(&self, out: &mut String, label: impl Fn(f64) -> String) {
        let (l, r, base) = (c(self.left), c(self.w - self.right), self.h - self.bottom);
        for i in 0..=4 {
            let v = self.lo + (self.hi - self.lo) * f64::from(i) / 4.0;
            let y = self.y(v);
            let _ = write!(
                out,
                "<line x1=\"{l}\" y1=\"{yy}\" x2=\"{r}\" y2=\"{yy}\" stroke=\"#e6e9ef\"/>\
                 <text x=\"{tx}\" y=\"{ty}\" font-size=\"10\" text-anchor=\"end\" fill=\"#5d6778\">{}</text>",
                esc(&label(v)),
                yy = c(y),
                tx = c(self.left - 4.0),
                ty = c(y + 3.0),
            );
        }
        for (t, text) in time_ticks(self.from, self.to) {
            let _ = write!(
                out,
                "<line x1=\"{x}\" y1=\"{b}\" x2=\"{x}\" y2=\"{b2}\" stroke=\"#5d6778\"/>\
                 <text x=\"{x}\" y=\"{ty}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5d6778\">{}</text>",
                esc(&text),
                x = c(self.x(t)),
                b = c(base),
                b2 = c(base + 4.0),
                ty = c(base + 15.0),
            );
        }
        let _ = write!(
            out,
            "<line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#5d6778\"/>\
             <text x=\"{r}\" y=\"{ty}\" font-size=\"10\" text-anchor=\"end\" fill=\"#5d6778\">UTC</text>",
            b = c(base),
            ty = c(self.h - 2.0),
        );
    }
}

/// A line chart of one to three series over the time from `from` to `to` (ms, UTC), with a
/// value axis from 0 (or the lowest value, if below) to a round number above the highest,
/// time ticks and a legend. Series past the third are left out.
pub(crate) fn line_chart(series: &[Series], from: i64, to: i64, unit: Unit) -> String {
    let (w, h) = (560u32, 220u32);
    let (left, right, top, bottom) = (52.0, 12.0, 28.0, 26.0);
    let (wf, hf) = (f64::from(w), f64::from(h));
    let series = &series[..series.len().min(COLOURS.len())];
    let values = || {
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
    };
    let lo = values().fold(0.0, f64::min);
    let hi = nice_ceiling(values().fold(0.0, f64::max) - lo) + lo;
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
    let names: Vec<&str> = series.iter().map(|s| s.label).collect();
    let mut out = open("chart", w, h, &names.join(", "));
    frame.axes(&mut out, |v| unit.label(v));
    let (x, y) = (|t| frame.x(t), |v| frame.y(v));
    for (i, s) in series.iter().enumerate() {
        let pts: Vec<(f64, f64)> = s.points.iter().map(|&(t, v)| (x(t), y(v))).collect();
        draw(&mut out, &runs(&pts), COLOURS[i]);
        let lx = left + 165.0 * i as f64;
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"8\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"17\" font-size=\"11\" fill=\"#1d2330\">{}</text>",
            c(lx),
            COLOURS[i],
            c(lx + 14.0),
            esc(s.label)
        );
    }
    out.push_str("</svg>");
    out
}

/// A bar per (label, value), from 0 up, each labelled beneath and with its value above.
pub(crate) fn bar_chart(bars: &[(String, f64)], unit: Unit, label: &str) -> String {
    let (w, h) = (560u32, 180u32);
    let (left, right, top, bottom) = (12.0, 12.0, 16.0, 30.0);
    let (wf, hf) = (f64::from(w), f64::from(h));
    let hi = nice_ceiling(
        bars.iter()
            .map(|b| b.1)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max),
    );
    let mut out = open("chart", w, h, label);
    let slot = (wf - left - right) / bars.len().max(1) as f64;
    // A few bars stay narrow, so that their width does not read as a quantity.
    let bar = (slot * 0.8).min(64.0);
    let base = hf - bottom;
    for (i, (name, v)) in bars.iter().enumerate() {
        let cx = left + slot * (i as f64 + 0.5);
        if v.is_finite() && *v > 0.0 {
            let bh = v / hi * (base - top);
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                c(cx - bar / 2.0),
                c(base - bh),
                c(bar),
                c(bh),
                COLOURS[0]
            );
        }
        if v.is_finite() {
            let top_y = base - v.max(0.0) / hi * (base - top) - 3.0;
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#1d2330\">{}</text>",
                c(cx),
                c(top_y),
                esc(&unit.label(*v))
            );
        }
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5d6778\">{}</text>",
            c(cx),
            c(base + 14.0),
            esc(name)
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#5d6778\"/>",
        l = c(left),
        r = c(wf - right),
        b = c(base),
    );
    out.push_str("</svg>");
    out
}

/// `values` counted into `bins` equal bins from their lowest to their highest (one bin when
/// they are all equal): (bin start, bin end, count). Values that are not finite are left out.
pub(crate) fn histogram(values: &[f64], bins: usize) -> Vec<(f64, f64, usize)> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (Some(lo), Some(hi)) = (
        finite.iter().copied().reduce(f64::min),
        finite.iter().copied().reduce(f64::max),
    ) else {
        return Vec::new();
    };
    if hi <= lo || bins <= 1 {
        return vec![(lo, hi, finite.len())];
    }
    let width = (hi - lo) / bins as f64;
    let mut out: Vec<(f64, f64, usize)> = (0..bins)
        .map(|i| (lo + width * i as f64, lo + width * (i + 1) as f64, 0))
        .collect();
    for v in finite {
        let i = (((v - lo) / width) as usize).min(bins - 1);
        out[i].2 += 1;
    }
    out
}

/// A histogram of `values` as a bar chart, each bar labelled with its range.
pub(crate) fn histogram_chart(values: &[f64], bins: usize, label: &str) -> String {
    let bars: Vec<(String, f64)> = histogram(values, bins)
        .into_iter()
        .map(|(a, b, n)| (format!("{}–{}", trim(a), trim(b)), n as f64))
        .collect();
    bar_chart(&bars, Unit::Number, label)
}

#[cfg(test)]
mod tests;
