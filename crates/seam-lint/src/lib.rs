//! `seam dataset lint`: a linter for fine-tuning data (issue 30). Pure: no network.
//!
//! A file is read one line at a time (JSONL in OpenAI's chat format, or CSV transcripts), each
//! example checked and dropped: format (the cookbook checker's checks, tokens against the
//! model's context), behaviour packs (reflexive apologies, unbacked commitments, claimed
//! escalations, "as an AI", internal shorthand, personal data, system-prompt echo), near
//! duplicates and repeated answers, eval contamination, and custom TOML rules. The
//! [`Report`] gives each rule's hits with examples; `--fix` writes a cleaned copy.
//!
//! ```
//! use seam_lint::{Format, Linter, Options, lint_reader};
//!
//! let jsonl = concat!(
//!     r#"{"messages":[{"role":"user","content":"What are your hours?"},"#,
//!     r#"{"role":"assistant","content":"I'm so sorry! We open at 9."}]}"#, "\n",
//! );
//! let linter = Linter::new(Options::default()).unwrap();
//! let out = lint_reader(jsonl.as_bytes(), Format::OpenAi, linter, None, &mut |_| {}).unwrap();
//! let apology = out.report.rules.iter().find(|r| r.rule.id == "reflexive-apology").unwrap();
//! assert_eq!((apology.hits, apology.examples[0].line), (1, 1));
//! ```

pub mod csv;
pub mod example;
pub mod fix;
pub mod judge;
mod linter;
pub mod read;
mod report;
pub mod rules;
pub mod synth;
pub mod tokens;

pub use fix::{FixMode, FixSummary, Fixer};
pub use linter::{Linter, Options};
pub use report::{Report, RuleReport, Threshold, Tokens, parse_max};
pub use rules::custom::RuleFile;

use std::io::BufRead;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSONL, one `{"messages": [...]}` a line.
    OpenAi,
    /// CSV transcripts (conversation_id, role, text, timestamp).
    Csv,
}

/// A lint's result: the report, and what `--fix` wrote.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub fixed: Option<FixSummary>,
    /// The examples the judge rule picked, to judge (`judge::run`, then `Report::add_judged`).
    pub judge: Vec<judge::Pending>,
}

/// Lints `input`, calling `progress` with the bytes read now and then. With `fix` (JSONL
/// only), the cleaned and review files are renamed into place once the whole input is read.
/// Errors are bad input (an empty file, an unreadable one, a CSV without its columns).
pub fn lint_reader(
    input: impl BufRead,
    format: Format,
    mut linter: Linter,
    mut fix: Option<Fixer>,
    progress: &mut dyn FnMut(u64),
) -> Result<Outcome, String> {
    match format {
        Format::OpenAi => {
            let mut lines = read::Lines::new(input);
            let mut line = read::Line::default();
            let mut any = false;
            let mut content = false;
            while lines
                .next_into(&mut line)
                .map_err(|e| format!("line {}: cannot read: {e}", line.number + 1))?
            {
                any = true;
                content |= !line.is_blank();
                let hits = linter.lint_line(&line);
                if let Some(f) = fix.as_mut() {
                    f.line(&line, &hits, linter.rules())?;
                }
                if line.number.is_multiple_of(256) {
                    progress(lines.bytes);
                }
            }
            if !any {
                return Err("the file is empty: no examples".into());
            }
            if !content {
                return Err("the file has only blank lines: no examples".into());
            }
        }
        Format::Csv => {
            if fix.is_some() {
                return Err(
                    "--fix works on JSONL: convert the CSV first (seam dataset convert)".into(),
                );
            }
            let mut n = 0u64;
            let rows = csv::read(input, &mut |ex, problems| {
                linter.lint_parsed(ex.line, Some(&ex), problems);
                n += 1;
                if n.is_multiple_of(256) {
                    progress(n);
                }
                Ok(())
            })?;
            if rows == 0 {
                return Err("the file has no rows: no examples".into());
            }
            linter.rows_read(rows);
        }
    }
    let fixed = fix.map(Fixer::finish).transpose()?;
    let judge = linter.take_pending();
    Ok(Outcome {
        report: linter.finish(),
        fixed,
        judge,
    })
}
