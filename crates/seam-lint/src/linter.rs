//! The linter: every rule over one example at a time, tallies kept per rule, the report at
//! the end. Memory: the tallies (a few examples per rule) and the duplicate search's ~0.5 KB
//! an example; each example is dropped once checked.

use crate::example::{self, Example, Problem, Role};
use crate::read::Line;
use crate::report::{Report, RuleReport, Tokens};
use crate::rules::custom::{Custom, Level, RuleFile};
use crate::rules::{self, BUILTIN, Hit, Rule, Scope, Severity, clip};
use crate::rules::{behaviour::Behaviour, dups::Dups, pii::Pii, shorthand::Shorthand};
use crate::tokens::{self, Counter};
use seam_evals::contamination::{Index, Place};
use std::sync::Arc;

/// Examples kept per rule for the report.
pub const EXAMPLES_KEPT: usize = 5;
/// Repeated answers are reported from this many examples unless the rules file says otherwise.
pub const MIN_REPEAT: u32 = 5;

/// What to lint against.
#[derive(Default)]
pub struct Options {
    /// The model to be fine-tuned: its tokenizer and per-example context.
    pub model: Option<String>,
    /// Internal terms, one per entry (`--glossary`'s lines).
    pub glossary: Vec<String>,
    pub rules: RuleFile,
    /// The eval cases of `[evals] dir`, when a config names one.
    pub contamination: Option<Arc<Index>>,
    /// Dollars per million training tokens, when known; never guessed.
    pub training_price: Option<f64>,
    /// Epochs of the job; by default as OpenAI picks them (`tokens::default_epochs`).
    pub epochs: Option<u64>,
    /// The judge rule: the examples it picks are kept for [`crate::judge::run`].
    pub judge: Option<crate::judge::Spec>,
}

#[derive(Default)]
struct Tally {
    hits: u64,
    examples: Vec<Hit>,
}

pub struct Linter {
    rules: Vec<Rule>,
    off: Vec<bool>,
    tallies: Vec<Tally>,
    behaviour: Behaviour,
    shorthand: Shorthand,
    pii: Pii,
    dups: Dups,
    custom: Vec<Custom>,
    contamination: Option<Arc<Index>>,
    counter: Counter,
    model: Option<String>,
    context: Option<u64>,
    training_price: Option<f64>,
    epochs: Option<u64>,
    judge: Option<crate::judge::Spec>,
    pending: Vec<crate::judge::Pending>,
    stats: Stats,
}

#[derive(Default)]
struct Stats {
    lines: u64,
    blank: u64,
    examples: u64,
    assistant_turns: u64,
    tokens: u64,
    billed: u64,
    max_tokens: u64,
    max_line: usize,
}

impl Linter {
    pub fn new(options: Options) -> Result<Linter, String> {
        let Options {
            model,
            glossary,
            rules: file,
            contamination,
            training_price,
            epochs,
            judge,
        } = options;
        let mut rules: Vec<Rule> = BUILTIN
            .iter()
            .map(|(id, severity, scope, message)| Rule {
                id: id.to_string(),
                severity: *severity,
                scope: *scope,
                message: message.to_string(),
            })
            .collect();
        let mut off = vec![false; rules.len()];
        for (id, level) in &file.severity {
            let i = rules::builtin(id);
            if i >= rules.len() {
                return Err(format!("[severity]: `{id}` is not a built-in rule"));
            }
            match level {
                Level::Off => off[i] = true,
                Level::Error => rules[i].severity = Severity::Error,
                Level::Warning => rules[i].severity = Severity::Warning,
                Level::Info => rules[i].severity = Severity::Info,
            }
        }
        for c in &file.rules {
            rules.push(Rule {
                id: c.id.clone(),
                severity: c.severity,
                scope: Scope::Turn,
                message: c.message.clone(),
            });
            off.push(false);
        }
        if contamination.is_none() {
            off[rules::builtin(rules::CONTAMINATION)] = true;
        }
        if judge.is_none() {
            off[rules::builtin(crate::judge::JUDGE)] = true;
        }
        let tallies = rules.iter().map(|_| Tally::default()).collect();
        Ok(Linter {
            off,
            tallies,
            behaviour: Behaviour::new(file.queues.as_deref()),
            shorthand: Shorthand::new(&glossary)?,
            pii: Pii::new(file.addresses)?,
            dups: Dups::new(file.min_repeat.unwrap_or(MIN_REPEAT)),
            custom: file.rules,
            contamination,
            counter: Counter::new(model.as_deref()),
            context: model.as_deref().and_then(tokens::context_of),
            model,
            training_price,
            epochs,
            judge,
            pending: Vec::new(),
            stats: Stats::default(),
            rules,
        })
    }

    /// The rules, built-in then custom, in report order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Lints one JSONL line; its hits (none for a blank line, which is skipped).
    pub fn lint_line(&mut self, line: &Line) -> Vec<Hit> {
        self.stats.lines += 1;
        if line.too_long {
            let span = format!(
                "the line is over {} MiB: not read",
                crate::read::MAX_LINE_BYTES >> 20
            );
            let mut hits = Vec::new();
            self.record(
                rules::builtin(example::INVALID_JSON),
                line.number,
                None,
                &span,
                &mut hits,
            );
            return hits;
        }
        if line.is_blank() {
            self.stats.blank += 1;
            return Vec::new();
        }
        self.stats.max_line = self.stats.max_line.max(line.raw.len());
        let (ex, problems) = example::parse(line.number, line.content(), line.terminated);
        self.lint_parsed(line.number, ex.as_ref(), problems)
    }

    /// Lints an example built elsewhere (a CSV conversation), with its format problems.
    pub fn lint_parsed(
        &mut self,
        line: usize,
        ex: Option<&Example>,
        problems: Vec<Problem>,
    ) -> Vec<Hit> {
        let mut hits = Vec::new();
        for p in problems {
            let i = rules::builtin(p.rule);
            self.record(i, line, p.turn, &p.detail, &mut hits);
        }
        let Some(ex) = ex else { return hits };
        self.stats.examples += 1;
        self.stats.assistant_turns += ex
            .messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .count() as u64;
        self.tokens(ex, &mut hits);
        let mut found: Vec<(usize, usize, String)> = Vec::new();
        {
            let mut emit = |id: &'static str, turn: usize, span: &str| {
                found.push((rules::builtin(id), turn, span.to_string()));
            };
            self.behaviour.check(ex, &mut emit);
            self.shorthand.check(ex, &mut emit);
            self.pii.check(ex, &mut emit);
            rules::echo::check(ex, &mut emit);
            self.dups.check(ex, &mut emit);
        }
        for (c, custom) in self.custom.iter().enumerate() {
            custom.check(ex, &mut |turn, span| {
                found.push((BUILTIN.len() + c, turn, span.to_string()));
            });
        }
        if let Some(index) = &self.contamination {
            let place = Place {
                label: format!("line {line}"),
                text: ex.conversation_text(),
            };
            if let Some(f) = index.check(&[place]).first() {
                found.push((rules::builtin(rules::CONTAMINATION), 0, f.describe()));
            }
        }
        if let Some(p) = self.judge.as_ref().and_then(|j| j.pick(ex)) {
            self.pending.push(p);
        }
        for (rule, turn, span) in found {
            let turn = (self.rules[rule].scope == Scope::Turn).then_some(turn);
            self.record(rule, line, turn, &span, &mut hits);
        }
        hits
    }

    fn tokens(&mut self, ex: &Example, hits: &mut Vec<Hit>) {
        let n = self.counter.example(ex);
        self.stats.tokens += n;
        self.stats.max_tokens = self.stats.max_tokens.max(n);
        self.stats.billed += self.context.map_or(n, |c| n.min(c));
        if let Some(context) = self.context
            && n > context
        {
            let span = format!("{n} tokens, over the model's {context} (the rest is cut off)");
            self.record(
                rules::builtin(rules::OVER_CONTEXT),
                ex.line,
                None,
                &span,
                hits,
            );
        }
    }

    fn record(
        &mut self,
        rule: usize,
        line: usize,
        turn: Option<usize>,
        span: &str,
        out: &mut Vec<Hit>,
    ) {
        if rule >= self.rules.len() || self.off[rule] {
            return;
        }
        let hit = Hit {
            rule,
            line,
            turn,
            span: clip(span),
        };
        let t = &mut self.tallies[rule];
        t.hits += 1;
        if t.examples.len() < EXAMPLES_KEPT {
            t.examples.push(hit.clone());
        }
        out.push(hit);
    }

    /// For CSV transcripts, which are not linted line by line: the rows read, as the lines.
    pub fn rows_read(&mut self, rows: u64) {
        self.stats.lines = rows;
    }

    /// The examples the judge rule picked, for [`crate::judge::run`] (then
    /// [`Report::add_judged`]).
    pub fn take_pending(&mut self) -> Vec<crate::judge::Pending> {
        std::mem::take(&mut self.pending)
    }

    /// The report, once every line is linted.
    pub fn finish(mut self) -> Report {
        let repeat = rules::builtin(rules::dups::REPEATED_ANSWER);
        if !self.off[repeat] {
            for r in self.dups.repeated() {
                let t = &mut self.tallies[repeat];
                t.hits += u64::from(r.count);
                if t.examples.len() < EXAMPLES_KEPT {
                    let lines: Vec<String> = r.lines.iter().map(u32::to_string).collect();
                    t.examples.push(Hit {
                        rule: repeat,
                        line: r.lines.first().copied().unwrap_or(0) as usize,
                        turn: None,
                        span: format!(
                            "in {} examples (lines {}…): {}",
                            r.count,
                            lines.join(", "),
                            r.text
                        ),
                    });
                }
            }
        }
        let s = &self.stats;
        let turns = s.assistant_turns.max(1) as f64;
        let rules = self
            .rules
            .into_iter()
            .zip(self.tallies)
            .zip(self.off)
            .filter(|(_, off)| !off)
            .map(|((rule, t), _)| RuleReport {
                share: t.hits as f64 / turns,
                hits: t.hits,
                examples: t.examples,
                rule,
            })
            .collect();
        let epochs = self
            .epochs
            .unwrap_or_else(|| tokens::default_epochs(s.examples));
        let trained = s.billed.saturating_mul(epochs);
        let capped = self.dups.capped();
        let mut report = Report::new(
            s.lines,
            s.blank,
            s.examples,
            s.assistant_turns,
            Tokens {
                model: self.model,
                context: self.context,
                total: s.tokens,
                max_example: s.max_tokens,
                epochs,
                trained,
                cost: self
                    .training_price
                    .map(|p| trained as f64 * p / 1_000_000.0),
            },
            rules,
        );
        report.notes.extend(capped);
        report
    }
}
