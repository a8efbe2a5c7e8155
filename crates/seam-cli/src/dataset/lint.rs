//! `seam dataset lint FILE` and `seam dataset convert FILE.csv`: the fine-tuning data linter
//! of crates/seam-lint (docs/lint.md) on the command line. Exit codes: 0 when the file passes,
//! 1 when a `--max` threshold is exceeded, 2 for bad input or usage (nothing is written then).

use crate::cli::StoreArgs;

mod judge;
use clap::{Args, ValueEnum};
use seam_lint::{FixMode, Fixer, Format, Linter, Options, RuleFile, parse_max};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LintFormat {
    /// JSONL, one {"messages": [...]} a line.
    Openai,
    /// CSV transcripts: conversation_id, role, text, timestamp.
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FixArg {
    /// Drop each example a rule (error or warning) hit.
    DropExample,
    /// Cut each conversation before the first turn hit; drop it when no answer is left.
    DropTurn,
}

#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// The dataset: JSONL in the chat format, or CSV transcripts.
    pub file: PathBuf,
    /// The file's format; by default csv for a .csv file, else openai.
    #[arg(long, value_enum)]
    pub format: Option<LintFormat>,
    /// The model to fine-tune: its tokenizer and per-example token limit.
    #[arg(long)]
    pub model: Option<String>,
    /// Internal terms the bot should not say, one a line.
    #[arg(long, value_name = "FILE")]
    pub glossary: Option<PathBuf>,
    /// Custom rules, allowed escalation queues, severities (TOML; docs/lint.md).
    #[arg(long, value_name = "FILE.toml")]
    pub rules: Option<PathBuf>,
    /// Fail (exit 1) when a rule's hits exceed this share of assistant turns: RULE=0.02.
    #[arg(long = "max", value_name = "RULE=SHARE")]
    pub max: Vec<String>,
    /// Write a cleaned copy (and a review file of what was removed and why).
    #[arg(long, value_enum)]
    pub fix: Option<FixArg>,
    /// The cleaned file; by default NAME.clean.jsonl beside the input.
    #[arg(long, requires = "fix")]
    pub out: Option<PathBuf>,
    /// Epochs of the job; by default as OpenAI picks them for the file's size.
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Dollars per million training tokens, for the cost estimate; default: `training` in the
    /// config's `[prices."MODEL"]` for `--model` (none is guessed).
    #[arg(long, value_name = "DOLLARS")]
    pub training_price: Option<f64>,
    /// The judge rule: a sample of the examples graded against this rubric (a text file) by
    /// a model through a Seam route; verdicts cached by content hash.
    #[arg(long, value_name = "FILE", requires = "gateway")]
    pub judge_rubric: Option<PathBuf>,
    /// The route the judge is called through; by default the config's `[evals] judge_route`.
    #[arg(long, value_name = "ROUTE")]
    pub judge_route: Option<String>,
    /// The share of examples the judge grades, from 0 to 1.
    #[arg(long, default_value_t = 0.05, value_name = "SHARE")]
    pub judge_sample: f64,
    /// The judge's verdicts; by default NAME.judge-cache.jsonl beside the input.
    #[arg(long, value_name = "FILE")]
    pub judge_cache: Option<PathBuf>,
    /// The gateway the judge is called through (e.g. http://127.0.0.1:8080).
    #[arg(long, value_name = "URL")]
    pub gateway: Option<String>,
    /// The gateway key the judge's calls are made with.
    #[arg(long, env = "SEAM_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Output as JSON (one document; the same facts as the text).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// CSV transcripts: conversation_id, role, text and optionally timestamp.
    pub file: PathBuf,
    /// The JSONL to write; by default NAME.jsonl beside the input.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output as JSON (one document; the same facts as the text).
    #[arg(long)]
    pub json: bool,
}

/// Exit code 2: bad input or usage.
fn bad(message: String) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

pub(crate) async fn lint(store: &StoreArgs, a: LintArgs) -> anyhow::Result<()> {
    let thresholds: Vec<(String, f64)> = a
        .max
        .iter()
        .map(|m| parse_max(m))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| bad(e));
    let format = match a.format {
        Some(LintFormat::Csv) => Format::Csv,
        Some(LintFormat::Openai) => Format::OpenAi,
        None if a
            .file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv")) =>
        {
            Format::Csv
        }
        None => Format::OpenAi,
    };
    let config = if store.config.exists() {
        let c = seam_config::load_lenient(&store.config)
            .unwrap_or_else(|e| bad(format!("{}: {e}", store.config.display())));
        Some(c)
    } else {
        None
    };
    let options = options(config.as_ref(), &a).unwrap_or_else(|e| bad(e));
    let judge = options.judge.clone();
    let linter = Linter::new(options).unwrap_or_else(|e| bad(e));
    let file = std::fs::File::open(&a.file)
        .unwrap_or_else(|e| bad(format!("cannot read {}: {e}", a.file.display())));
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let fixer = a.fix.map(|mode| {
        let mode = match mode {
            FixArg::DropExample => FixMode::DropExample,
            FixArg::DropTurn => FixMode::DropTurn,
        };
        let out = a
            .out
            .clone()
            .unwrap_or_else(|| seam_lint::fix::default_out(&a.file));
        if same_file(&out, &a.file) {
            bad(format!("--out {} is the input itself", out.display()));
        }
        Fixer::new(mode, &out).unwrap_or_else(|e| bad(e))
    });
    let mut progress = Progress::new(size, format == Format::OpenAi);
    let outcome = seam_lint::lint_reader(
        BufReader::with_capacity(1 << 20, file),
        format,
        linter,
        fixer,
        &mut |n| progress.report(n),
    )
    .unwrap_or_else(|e| bad(format!("{}: {e}", a.file.display())));
    let mut report = outcome.report;
    if let Some(spec) = &judge {
        let judged = judge::judge(spec, &outcome.judge, &a, config.as_ref()).await;
        report.add_judged(judged.unwrap_or_else(|e| bad(e)));
    }
    report
        .apply_thresholds(&thresholds)
        .unwrap_or_else(|e| bad(e));
    if a.json {
        let doc = serde_json::json!({"report": report, "fix": outcome.fixed});
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", report.text());
        if let Some(f) = &outcome.fixed {
            println!(
                "fixed: {} kept, {} cut, {} dropped -> {} (what was removed and why: {})",
                f.kept,
                f.cut,
                f.dropped,
                f.out.display(),
                f.review.display()
            );
        }
    }
    if report.failed() {
        std::process::exit(1);
    }
    Ok(())
}

fn options(config: Option<&seam_config::Config>, a: &LintArgs) -> Result<Options, String> {
    let glossary = match &a.glossary {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| format!("--glossary {}: cannot read: {e}", p.display()))?
            .lines()
            .map(str::to_string)
            .collect(),
        None => Vec::new(),
    };
    let builtin: Vec<&str> = seam_lint::rules::BUILTIN.iter().map(|r| r.0).collect();
    let rules = match &a.rules {
        Some(p) => RuleFile::load(p, &builtin)?,
        None => RuleFile::default(),
    };
    if let Some(p) = a.training_price
        && !(p.is_finite() && p >= 0.0)
    {
        return Err(format!(
            "--training-price {p}: must be a non-negative number"
        ));
    }
    Ok(Options {
        model: a.model.clone(),
        glossary,
        rules,
        contamination: config.map(contamination).transpose()?.flatten(),
        // The flag, else the model's `[prices] training` in the config; never a guess.
        training_price: a.training_price.or_else(|| {
            let model = a.model.as_ref()?;
            config?.prices.get(model)?.training
        }),
        epochs: a.epochs,
        judge: judge::spec(a, config)?,
    })
}

/// The eval cases of the config's `[evals] dir`, when the directory exists.
fn contamination(
    config: &seam_config::Config,
) -> Result<Option<Arc<seam_evals::contamination::Index>>, String> {
    let guard = seam_control::contamination::Guard::of(&config.evals, None);
    let Some(dir) = guard.evals_dir else {
        return Ok(None);
    };
    let loaded = seam_evals::contamination::load_dir(&dir, &guard.thresholds)?;
    Ok(loaded.map(|(index, unread)| {
        for u in unread {
            eprintln!("note: {u}");
        }
        index
    }))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Progress on stderr for a large file: a line each tenth of it.
struct Progress {
    total: u64,
    shown: u64,
    on: bool,
}

impl Progress {
    const LARGE: u64 = 50 << 20;

    fn new(total: u64, by_bytes: bool) -> Progress {
        Progress {
            total,
            shown: 0,
            on: by_bytes && total >= Self::LARGE,
        }
    }

    fn report(&mut self, bytes: u64) {
        if !self.on {
            return;
        }
        let tenth = bytes * 10 / self.total.max(1);
        if tenth > self.shown {
            self.shown = tenth;
            eprintln!(
                "linted {} of {} MB ({}%)",
                bytes >> 20,
                self.total >> 20,
                tenth * 10
            );
        }
    }
}

pub(crate) fn convert(a: ConvertArgs) -> anyhow::Result<()> {
    let out = a.out.unwrap_or_else(|| a.file.with_extension("jsonl"));
    if same_file(&out, &a.file) {
        bad(format!("--out {} is the input itself", out.display()));
    }
    let done = seam_lint::csv::convert(&a.file, &out).unwrap_or_else(|e| bad(e));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&done)?);
    } else {
        println!(
            "{} rows -> {} examples in {}",
            done.rows,
            done.examples,
            out.display()
        );
        for s in &done.skipped {
            println!("skipped: {s}");
        }
    }
    Ok(())
}
