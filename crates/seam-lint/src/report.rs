//! The report: per rule its hits, their share of assistant turns and a few examples (line,
//! turn, matched span); a summary line per severity; token counts with epochs and cost; and
//! the `--max RULE=SHARE` thresholds that make CI fail.

use crate::rules::{Hit, Rule, Severity};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Clone, Serialize)]
pub struct Tokens {
    pub model: Option<String>,
    /// The model's per-example limit, when the model is known.
    pub context: Option<u64>,
    /// Tokens in all examples.
    pub total: u64,
    pub max_example: u64,
    pub epochs: u64,
    /// Tokens trained on: each example's (cut to the context) times the epochs.
    pub trained: u64,
    /// Dollars, when the training price is known.
    pub cost: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    #[serde(flatten)]
    pub rule: Rule,
    pub hits: u64,
    /// Hits over assistant turns.
    pub share: f64,
    pub examples: Vec<Hit>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeveritySummary {
    pub severity: Severity,
    /// Rules of this severity with a hit.
    pub rules: usize,
    pub hits: u64,
}

/// A `--max RULE=SHARE` threshold and how the file fared.
#[derive(Debug, Clone, Serialize)]
pub struct Threshold {
    pub rule: String,
    pub max: f64,
    pub share: f64,
    pub exceeded: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub lines: u64,
    pub blank_lines: u64,
    pub examples: u64,
    pub assistant_turns: u64,
    pub tokens: Tokens,
    pub rules: Vec<RuleReport>,
    pub summary: Vec<SeveritySummary>,
    pub thresholds: Vec<Threshold>,
    /// What the judge rule did, when it ran.
    pub judge: Option<crate::judge::Judged>,
    /// What the report could not do in full (said, never silent).
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(
        lines: u64,
        blank_lines: u64,
        examples: u64,
        assistant_turns: u64,
        tokens: Tokens,
        rules: Vec<RuleReport>,
    ) -> Report {
        let summary = [Severity::Error, Severity::Warning, Severity::Info]
            .into_iter()
            .map(|severity| {
                let of: Vec<&RuleReport> = rules
                    .iter()
                    .filter(|r| r.rule.severity == severity && r.hits > 0)
                    .collect();
                SeveritySummary {
                    severity,
                    rules: of.len(),
                    hits: of.iter().map(|r| r.hits).sum(),
                }
            })
            .collect();
        Report {
            lines,
            blank_lines,
            examples,
            assistant_turns,
            tokens,
            rules,
            summary,
            thresholds: Vec::new(),
            judge: None,
            notes: Vec::new(),
        }
    }

    /// The judge's verdicts as the `judge` rule's hits, its share over the examples judged.
    /// Call before [`Report::apply_thresholds`].
    pub fn add_judged(&mut self, judged: crate::judge::Judged) {
        if let Some(r) = self
            .rules
            .iter_mut()
            .find(|r| r.rule.id == crate::judge::JUDGE)
        {
            r.hits = judged.failed.len() as u64;
            // Over the verdicts: an example the judge gave none for is neither a pass nor a hit.
            r.share = r.hits as f64 / judged.judged.saturating_sub(judged.errored).max(1) as f64;
            r.examples = judged
                .failed
                .iter()
                .take(crate::linter::EXAMPLES_KEPT)
                .map(|(line, reason)| Hit {
                    rule: crate::rules::builtin(crate::judge::JUDGE),
                    line: *line,
                    turn: None,
                    span: crate::rules::clip(reason),
                })
                .collect();
        }
        self.judge = Some(judged);
        for s in &mut self.summary {
            let of = self
                .rules
                .iter()
                .filter(|r| r.rule.severity == s.severity && r.hits > 0);
            s.rules = of.clone().count();
            s.hits = of.map(|r| r.hits).sum();
        }
    }

    /// Checks each `(rule, max share)`; an unknown rule is an error naming it.
    pub fn apply_thresholds(&mut self, max: &[(String, f64)]) -> Result<(), String> {
        for (id, limit) in max {
            let Some(r) = self.rules.iter().find(|r| &r.rule.id == id) else {
                let known: Vec<&str> = self.rules.iter().map(|r| r.rule.id.as_str()).collect();
                return Err(format!(
                    "--max {id}: no such rule (rules: {})",
                    known.join(", ")
                ));
            };
            self.thresholds.push(Threshold {
                rule: id.clone(),
                max: *limit,
                share: r.share,
                exceeded: r.share > *limit,
            });
        }
        Ok(())
    }

    /// Whether any threshold is exceeded (exit code 1).
    pub fn failed(&self) -> bool {
        self.thresholds.iter().any(|t| t.exceeded)
    }

    /// The report as text.
    pub fn text(&self) -> String {
        let mut o = String::new();
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        let _ = writeln!(
            o,
            "{} examples on {} lines ({} blank), {} assistant turns",
            self.examples, self.lines, self.blank_lines, self.assistant_turns
        );
        let t = &self.tokens;
        let model = t.model.as_deref().unwrap_or("no --model");
        let context = match t.context {
            Some(c) => format!("context {c}"),
            None => "context unknown: no per-example limit checked".to_string(),
        };
        let _ = writeln!(
            o,
            "tokens: {} in all, {} in the longest example ({model}, {context})",
            t.total, t.max_example
        );
        let cost = match t.cost {
            Some(c) => format!("${c:.2}"),
            None => "unknown (no training price: set `training` in the model's [prices], or pass --training-price DOLLARS per million tokens)"
                .to_string(),
        };
        let _ = writeln!(
            o,
            "training: {} epochs, ~{} tokens trained on, cost {cost}",
            t.epochs, t.trained
        );
        if let Some(j) = &self.judge {
            let spend = match j.spend {
                Some(d) => format!("~${d:.4}"),
                None => "unknown (no [prices] for the route's model)".to_string(),
            };
            let _ = writeln!(
                o,
                "judge: {} examples judged ({} from the cache, {} calls, {} errors), ~{} input + {} output tokens, spend {spend}",
                j.judged, j.cached, j.calls, j.errored, j.input_tokens, j.output_tokens
            );
            for e in &j.errors {
                let _ = writeln!(o, "  judge error: {e}");
            }
        }
        for r in self.rules.iter().filter(|r| r.hits > 0) {
            let _ = writeln!(
                o,
                "\n{} [{}] {} hits, {:.2}% of {}: {}",
                r.rule.id,
                r.rule.severity.as_str(),
                r.hits,
                r.share * 100.0,
                if r.rule.id == crate::judge::JUDGE {
                    "examples judged"
                } else {
                    "assistant turns"
                },
                r.rule.message
            );
            for h in &r.examples {
                let turn = h.turn.map(|t| format!(" message {t}")).unwrap_or_default();
                let _ = writeln!(o, "  line {}{turn}: {}", h.line, h.span);
            }
        }
        o.push('\n');
        for s in &self.summary {
            let _ = writeln!(
                o,
                "{}: {} hits across {} rules",
                s.severity.as_str(),
                s.hits,
                s.rules
            );
        }
        for th in &self.thresholds {
            let verdict = if th.exceeded { "EXCEEDED" } else { "ok" };
            let _ = writeln!(o, "--max {}={}: {:.4} {verdict}", th.rule, th.max, th.share);
        }
        o
    }
}

/// Parses `RULE=SHARE` (a share from 0 to 1, `0.02` for 2%).
pub fn parse_max(s: &str) -> Result<(String, f64), String> {
    let (rule, share) = s
        .split_once('=')
        .ok_or_else(|| format!("--max `{s}`: write RULE=SHARE, such as reflexive-apology=0.02"))?;
    let share: f64 = share
        .trim()
        .parse()
        .map_err(|_| format!("--max `{s}`: `{share}` is not a number"))?;
    if !(0.0..=1.0).contains(&share) {
        return Err(format!("--max `{s}`: the share must be from 0 to 1"));
    }
    Ok((rule.trim().to_string(), share))
}
