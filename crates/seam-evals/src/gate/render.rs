//! The gate's printout: the decision, then the numbers behind it as a short table, then the
//! reasons and the cases to look at, so a person reads the verdict in a few seconds.

use super::report::{GateReport, p_value, points, signed_points};
use super::{DifferenceMethod, TestMethod};
use crate::stats::{Interval, Proportion};
use std::fmt::Write;

/// Case ids listed per line before "and N more" (the JSON has them all).
const LISTED: usize = 10;

/// The report as text for a terminal; ids are printed escaped, as a dataset may hold any
/// string.
pub fn render(report: &GateReport) -> String {
    let mut out = String::new();
    let c = &report.config;
    let level = (1.0 - c.alpha) * 100.0;
    let _ = writeln!(
        out,
        "gate: {}  (alpha {}, margin {})",
        report.decision.as_str().to_uppercase(),
        c.alpha,
        points(c.margin)
    );
    let rate_label = match &report.repeats {
        Some(r) => format!("pass^{}", r.k),
        None => "pass rate".to_string(),
    };
    let mut rows: Vec<(String, String)> = Vec::new();
    rows.push((
        rate_label,
        format!(
            "{} -> {}",
            proportion(&report.baseline),
            proportion(&report.candidate)
        ),
    ));
    if let Some(r) = &report.repeats {
        rows.push((
            "per run".to_string(),
            format!(
                "{} -> {}",
                percent(r.baseline.per_run),
                percent(r.candidate.per_run)
            ),
        ));
    }
    let method = match report.difference.method {
        DifferenceMethod::Newcombe => "Newcombe",
        DifferenceMethod::GroupBootstrap => "bootstrap over groups",
    };
    rows.push((
        "difference".to_string(),
        match report.difference.estimate {
            Some(d) => format!(
                "{} {}  ({level:.0}%, {method})",
                signed_points(d),
                interval_points(report.difference.interval)
            ),
            None => "-".to_string(),
        },
    ));
    let test = match report.test.method {
        TestMethod::McnemarExact => "exact McNemar",
        TestMethod::GroupSignFlip => "exact sign-flip over groups",
    };
    rows.push((
        "flipped".to_string(),
        format!(
            "{} pass->fail, {} fail->pass  (p = {}, {test})",
            report.counts.pass_to_fail,
            report.counts.fail_to_pass,
            p_value(report.test.p)
        ),
    ));
    if let Some(s) = &report.scores {
        rows.push((
            "mean score".to_string(),
            format!(
                "{:.3} -> {:.3}, {:+.3} {}  ({} cases, {} resamples{})",
                s.baseline_mean,
                s.candidate_mean,
                s.difference,
                match s.interval {
                    Some(i) => format!("[{:+.3}, {:+.3}]", i.low, i.high),
                    None => "[-]".to_string(),
                },
                s.cases,
                s.resamples,
                if s.by_group { " of groups" } else { "" }
            ),
        ));
    }
    rows.push((
        "detectable".to_string(),
        match report.mde {
            Some(mde) => format!(
                "drops of {} or more  ({:.0}% power; margin {})",
                points(mde),
                c.power * 100.0,
                points(c.margin)
            ),
            None => "-".to_string(),
        },
    ));
    rows.push((
        "cases".to_string(),
        format!(
            "{} compared of {}{}",
            report.compared,
            report.cases,
            if report.grouped {
                format!(", in {} groups", report.units)
            } else {
                String::new()
            }
        ),
    ));
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let _ = writeln!(out, "  {:<width$}  baseline -> candidate", "");
    for (key, value) in rows {
        let _ = writeln!(out, "  {key:<width$}  {value}");
    }
    for reason in &report.reasons {
        let _ = writeln!(out, "  - {reason}");
    }
    let lists = [
        ("pass->fail", &report.flipped.pass_to_fail),
        ("fail->pass", &report.flipped.fail_to_pass),
        ("required, not passing", &report.required_failures),
        ("missing on baseline", &report.missing.baseline),
        ("missing on candidate", &report.missing.candidate),
        ("errored on baseline", &report.errored.baseline),
        ("errored on candidate", &report.errored.candidate),
    ];
    for (label, ids) in lists {
        if !ids.is_empty() {
            let _ = writeln!(out, "{label} ({}): {}", ids.len(), id_list(ids));
        }
    }
    out
}

fn proportion(p: &Proportion) -> String {
    match p.rate {
        Some(rate) => format!(
            "{:.1}% [{:.1}, {:.1}]",
            rate * 100.0,
            p.interval.low * 100.0,
            p.interval.high * 100.0
        ),
        None => "-".to_string(),
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

fn interval_points(interval: Option<Interval>) -> String {
    match interval {
        Some(i) => format!("[{:+.1}, {:+.1}]", i.low * 100.0, i.high * 100.0),
        None => "[-]".to_string(),
    }
}

fn id_list(ids: &[String]) -> String {
    let mut out: Vec<String> = ids.iter().take(LISTED).map(|id| escaped(id)).collect();
    if ids.len() > LISTED {
        out.push(format!("and {} more", ids.len() - LISTED));
    }
    out.join(", ")
}

/// An id as typed when it is plain, else quoted with escapes: a terminal must not run what
/// a dataset's id holds.
fn escaped(id: &str) -> String {
    let plain = !id.is_empty()
        && id
            .chars()
            .all(|ch| !ch.is_control() && ch != ',' && ch != '"' && !ch.is_whitespace());
    if plain {
        id.to_string()
    } else {
        format!("{id:?}")
    }
}
