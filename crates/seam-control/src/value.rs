//! The value report (docs/evals.md "Value ledger"): the ledger entries of a period, with who
//! overrode a blocked candidate and which regressions a newer decision counts, summed per
//! prompt and in total. One implementation for `seam report value` and the dashboard's
//! `/ui/value`, so that both print the same figures.

use crate::{ControlError, Result, change};
use seam_evals::value::{Estimate, LedgerEntry, METHOD, ValueRow, sum_row};
use seam_store::{Audit, AuditRecord, Evals};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const DAY_MS: i64 = 86_400_000;

/// One ledger entry as the report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportEntry {
    pub id: String,
    pub created_ms: i64,
    /// With `overridden_by` and `counted_in_newer` filled in.
    pub entry: LedgerEntry,
    /// A side's release made with `--allow-contamination` naming cases of the entry's
    /// dataset: `candidate REL: N cases (NAME: REASON)`, one line per side.
    pub contamination: Vec<String>,
}

/// The entries made in [`start_ms`, `end_ms`), oldest first, and their sums.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueReport {
    pub start_ms: i64,
    pub end_ms: i64,
    pub entries: Vec<ReportEntry>,
    /// One per prompt, in name order.
    pub rows: Vec<ValueRow>,
    pub total: ValueRow,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of the UTC day `ms` falls in.
fn civil(ms: i64) -> (i64, i64, i64) {
    let z = ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD` of the UTC day `ms` falls in.
pub fn iso_date(ms: i64) -> String {
    let (y, m, d) = civil(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2026Q4` -> [start, end) in ms, UTC calendar months.
pub fn quarter(q: &str) -> Result<(i64, i64)> {
    let bad = || {
        ControlError::Invalid(format!(
            "quarter `{q}`: expected a year and a quarter, such as 2026Q4"
        ))
    };
    let (y, n) = q.trim().split_once(['Q', 'q']).ok_or_else(bad)?;
    let y: i64 = y.parse().map_err(|_| bad())?;
    let n: i64 = n.parse().map_err(|_| bad())?;
    if !(1970..=9999).contains(&y) || !(1..=4).contains(&n) {
        return Err(bad());
    }
    let start = days_from_civil(y, 3 * n - 2, 1) * DAY_MS;
    let end = if n == 4 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, 3 * n + 1, 1)
    } * DAY_MS;
    Ok((start, end))
}

/// The quarter `ms` falls in, as [`quarter`] reads it (`2026Q4`).
pub fn quarter_of(ms: i64) -> String {
    let (y, m, _) = civil(ms);
    format!("{y}Q{}", (m - 1) / 3 + 1)
}

/// Who deployed a blocked candidate anyway: `eval_gate.overridden` entries, by (candidate,
/// baseline) release.
fn overrides(audit: &[AuditRecord]) -> BTreeMap<(String, String), String> {
    let field = |s: &Option<String>| {
        s.as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .and_then(|v| {
                v.get("release")
                    .and_then(|r| r.as_str())
                    .map(str::to_string)
            })
    };
    audit
        .iter()
        .filter(|a| a.action == change::GATE_OVERRIDDEN.action)
        .filter_map(|a| Some(((field(&a.after)?, field(&a.before)?), a.actor.clone())))
        .collect()
}

/// What `--allow-contamination` let into either side's release of `e`'s dataset.
fn contamination(audit: &[AuditRecord], e: &LedgerEntry) -> Vec<String> {
    [("candidate", &e.release), ("baseline", &e.baseline_release)]
        .into_iter()
        .filter_map(|(side, release)| {
            let release = release.as_deref()?;
            let (cases, by) = crate::contamination::allowed_cases(audit, release, &e.dataset);
            (!cases.is_empty()).then(|| {
                format!(
                    "{side} {release}: {} case{} of {} ({})",
                    cases.len(),
                    if cases.len() == 1 { "" } else { "s" },
                    e.dataset,
                    by.join("; ")
                )
            })
        })
        .collect()
}

/// The actual spend of `entries`' runs, each run once.
fn spend(entries: &[&LedgerEntry]) -> f64 {
    let runs: BTreeMap<&str, f64> = entries
        .iter()
        .flat_map(|e| e.run_spend_usd.iter().map(|(r, u)| (r.as_str(), *u)))
        .collect();
    runs.values().sum()
}

/// The rows, one per prompt in name order, and the total.
pub fn rows(entries: &[LedgerEntry]) -> (Vec<ValueRow>, ValueRow) {
    let mut by_prompt: BTreeMap<&str, Vec<&LedgerEntry>> = BTreeMap::new();
    for e in entries {
        by_prompt
            .entry(e.prompt.as_deref().unwrap_or("(none)"))
            .or_default()
            .push(e);
    }
    let rows = by_prompt
        .iter()
        .map(|(p, es)| sum_row(p, es, spend(es)))
        .collect();
    let all: Vec<&LedgerEntry> = entries.iter().collect();
    (rows, sum_row("TOTAL", &all, spend(&all)))
}

/// The value report of the entries made in [`start_ms`, `end_ms`). Any signed-in user may
/// read it.
pub async fn report(
    store: &(impl Evals + Audit + ?Sized),
    start_ms: i64,
    end_ms: i64,
) -> Result<ValueReport> {
    let audit = store.list_audit().await?;
    let overridden = overrides(&audit);
    let mut entries = Vec::new();
    for rec in store.value_entries(start_ms, end_ms).await? {
        let mut e: LedgerEntry = serde_json::from_str(&rec.entry).map_err(|e| {
            ControlError::Invalid(format!("value ledger entry {} is unreadable: {e}", rec.id))
        })?;
        if e.blocked
            && let (Some(c), Some(b)) = (&e.release, &e.baseline_release)
        {
            e.overridden_by = overridden.get(&(c.clone(), b.clone())).cloned();
        }
        entries.push(ReportEntry {
            id: rec.id,
            created_ms: rec.created_ms,
            contamination: contamination(&audit, &e),
            entry: e,
        });
    }
    // The same regression gated again: only the newest decision of a pair counts it.
    let mut seen = BTreeSet::new();
    for e in entries.iter_mut().rev().map(|r| &mut r.entry) {
        if let (true, Some(c), Some(b)) = (e.blocked, &e.release, &e.baseline_release) {
            e.counted_in_newer = !seen.insert((c.clone(), b.clone()));
        }
    }
    let ledger: Vec<LedgerEntry> = entries.iter().map(|r| r.entry.clone()).collect();
    let (rows, total) = rows(&ledger);
    Ok(ValueReport {
        start_ms,
        end_ms,
        entries,
        rows,
        total,
    })
}

impl ValueReport {
    /// The period's first and last day (`end_ms` is exclusive).
    pub fn dates(&self) -> (String, String) {
        (iso_date(self.start_ms), iso_date(self.end_ms - 1))
    }

    /// The rows and then the total.
    pub fn all_rows(&self) -> impl Iterator<Item = &ValueRow> {
        self.rows.iter().chain(std::iter::once(&self.total))
    }

    /// The report as one JSON document: the rows, the entries and the method.
    pub fn json(&self) -> Value {
        let (from, to) = self.dates();
        let runs: BTreeSet<&str> = self
            .entries
            .iter()
            .flat_map(|e| e.entry.run_spend_usd.keys().map(String::as_str))
            .collect();
        let entries: Vec<&LedgerEntry> = self.entries.iter().map(|e| &e.entry).collect();
        json!({
            "period_start": from,
            "period_end": to,
            "since_ms": self.start_ms,
            "until_ms": self.end_ms,
            "prompts": self.rows,
            "total": self.total,
            "eval_runs": runs.len(),
            "entries": entries,
            "estimates": "failures_avoided, cost_avoided_usd and cost_avoided_per_usd are ESTIMATES; eval_spend_usd is actual",
            "method": METHOD,
        })
    }

    /// A header row, then a row per prompt and `TOTAL`, each line ending in `\n`: plain
    /// numbers a spreadsheet reads, an empty cell where nothing was estimated. The method is
    /// not in it (under the table it would break the sheet).
    pub fn csv(&self) -> String {
        let (from, to) = self.dates();
        let mut out = format!("{}\n", HEADERS.join(","));
        for r in self.all_rows() {
            let line: Vec<String> = cells(r, &from, &to, plain)
                .into_iter()
                .map(|c| csv_cell(&c))
                .collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }

    /// A Markdown table with a title and the method under it, each line ending in `\n`.
    pub fn markdown(&self) -> String {
        let (from, to) = self.dates();
        let mut out = format!("# Value of evals, {from} to {to} (ESTIMATES except eval spend)\n\n");
        out.push_str(&format!("| {} |\n", HEADERS.join(" | ")));
        out.push_str(&format!("|{}\n", "---|".repeat(HEADERS.len())));
        for r in self.all_rows() {
            out.push_str(&format!("| {} |\n", cells(r, &from, &to, two).join(" | ")));
        }
        out.push_str(&format!("\nMethod: {METHOD}\n"));
        out
    }
}

/// The CSV's and the Markdown table's columns.
pub const HEADERS: &[&str] = &[
    "prompt",
    "period_start",
    "period_end",
    "decisions",
    "regressions_blocked",
    "overridden",
    "repeated",
    "failures_avoided_estimate",
    "failures_avoided_low",
    "failures_avoided_high",
    "cost_avoided_usd_estimate",
    "cost_avoided_usd_low",
    "cost_avoided_usd_high",
    "blocked_without_failure_cost",
    "eval_spend_usd_actual",
    "cost_avoided_per_eval_usd_estimate",
    "cost_avoided_per_eval_usd_low",
    "cost_avoided_per_eval_usd_high",
];

fn cells(r: &ValueRow, start: &str, end: &str, round: fn(f64) -> String) -> Vec<String> {
    let est = |e: Option<Estimate>| match e {
        Some(e) => vec![round(e.estimate), round(e.low), round(e.high)],
        None => vec![String::new(); 3],
    };
    let mut out = vec![
        r.prompt.clone(),
        start.to_string(),
        end.to_string(),
        r.decisions.to_string(),
        r.regressions_blocked.to_string(),
        r.overridden.to_string(),
        r.repeated.to_string(),
    ];
    out.extend(est(r.failures_avoided));
    out.extend(est(r.cost_avoided_usd));
    out.push(r.without_cost.to_string());
    out.push(round(r.eval_spend_usd));
    out.extend(est(r.cost_avoided_per_usd));
    out
}

/// A plain number a spreadsheet reads: no unit, no thousands separator, at most 6 decimals.
pub fn plain(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn two(x: f64) -> String {
    format!("{x:.2}")
}

/// A CSV field, quoted when it must be (RFC 4180).
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_and_dates() {
        let (s, e) = quarter("2026Q4").unwrap();
        assert_eq!(
            (iso_date(s), iso_date(e - 1)),
            ("2026-10-01".into(), "2026-12-31".into())
        );
        let (s, e) = quarter("2024q1").unwrap();
        assert_eq!(
            (iso_date(s), iso_date(e)),
            ("2024-01-01".into(), "2024-04-01".into())
        );
        assert_eq!(iso_date(0), "1970-01-01");
        for bad in ["2026", "2026Q5", "Q4", "2026Q0", "x2026Q1"] {
            assert!(quarter(bad).is_err(), "{bad}");
        }
        assert_eq!(quarter_of(s), "2024Q1");
        assert_eq!(quarter_of(e - 1), "2024Q1");
        assert_eq!(quarter_of(e), "2024Q2");
        let (s, e) = quarter("2026Q4").unwrap();
        assert_eq!(
            (quarter_of(s), quarter_of(e - 1)),
            ("2026Q4".into(), "2026Q4".into())
        );
        assert_eq!(plain(1234.5), "1234.5");
        assert_eq!(plain(-0.0000001), "0");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
    }
}
