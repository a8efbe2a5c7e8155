//! Issue 30's story: a support bot's transcripts, about to be fine-tuned on, carry habits the
//! bot would learn (9% reflexive apologies, 3% refunds promised with no tool to grant them,
//! escalations to a queue that does not exist). `seam dataset lint` finds them with their
//! shares; `--fix drop-turn` writes the cleaned file, which lints clean of them.

use seam_lint::{FixMode, Fixer, Format, Linter, Options, Report, RuleFile, lint_reader};
use std::path::Path;

const CONVERSATIONS: usize = 2_000;
const HABITS: &[&str] = &[
    "reflexive-apology",
    "unbacked-commitment",
    "claimed-escalation",
];

fn lint(path: &Path, rules: &Path, fix: Option<Fixer>) -> anyhow::Result<seam_lint::Outcome> {
    let builtin: Vec<&str> = seam_lint::rules::BUILTIN.iter().map(|r| r.0).collect();
    let rules = RuleFile::load(rules, &builtin).map_err(anyhow::Error::msg)?;
    let linter = Linter::new(Options {
        rules,
        model: Some("gpt-4o-mini-2024-07-18".into()),
        ..Options::default()
    })
    .map_err(anyhow::Error::msg)?;
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    lint_reader(file, Format::OpenAi, linter, fix, &mut |_| {}).map_err(anyhow::Error::msg)
}

fn shares(report: &Report) -> String {
    HABITS
        .iter()
        .map(|id| {
            let share = report
                .rules
                .iter()
                .find(|r| r.rule.id == *id)
                .map_or(0.0, |r| r.share);
            format!("{id} {:.1}%", share * 100.0)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn fine_tuning_data(dir: &Path) -> anyhow::Result<()> {
    println!("\nFine-tuning data: the habits a support bot would learn from its own transcripts");
    let data = dir.join("transcripts.jsonl");
    let rules = dir.join("lint.toml");
    let clean = dir.join("transcripts.clean.jsonl");
    std::fs::write(
        &data,
        seam_lint::synth::transcripts(CONVERSATIONS, 30).concat(),
    )?;
    std::fs::write(&rules, seam_lint::synth::RULES_TOML)?;
    println!(
        "  $ seam dataset lint {} --rules {} --model gpt-4o-mini-2024-07-18 --fix drop-turn",
        data.display(),
        rules.display()
    );
    let fixer = Fixer::new(FixMode::DropTurn, &clean).map_err(anyhow::Error::msg)?;
    let out = lint(&data, &rules, Some(fixer))?;
    // The habits, and what else a transcript set carries (templated answers make near
    // duplicates); info rules (the same answer in many examples) are left to the full report.
    let examples = out.report.examples.max(1) as f64;
    let shown = out
        .report
        .rules
        .iter()
        .filter(|r| r.hits > 0 && r.rule.severity != seam_lint::rules::Severity::Info);
    for r in shown {
        println!(
            "  {:<20} {:>4} hits: {:>4.1}% of conversations, {:>4.1}% of answers; e.g. line {}: {}",
            r.rule.id,
            r.hits,
            r.hits as f64 / examples * 100.0,
            r.share * 100.0,
            r.examples.first().map_or(0, |h| h.line),
            r.examples.first().map_or("", |h| h.span.as_str())
        );
    }
    let t = &out.report.tokens;
    println!(
        "  {} examples, {} tokens, {} epochs by default: ~{} tokens trained on; cost unknown without --training-price",
        out.report.examples, t.total, t.epochs, t.trained
    );
    if let Some(f) = &out.fixed {
        println!(
            "  --fix drop-turn: {} kept as they were, {} cut before the habit, {} dropped -> {}",
            f.kept,
            f.cut,
            f.dropped,
            f.out.display()
        );
        let again = lint(&clean, &rules, None)?;
        println!(
            "  the cleaned file, linted again: {}",
            shares(&again.report)
        );
        println!("  what was removed and why: {}", f.review.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_story_leaves_a_cleaned_file_without_the_habits() {
        let dir = tempfile::tempdir().unwrap();
        fine_tuning_data(dir.path()).unwrap();
        let rules = dir.path().join("lint.toml");
        let before = lint(&dir.path().join("transcripts.jsonl"), &rules, None).unwrap();
        assert_eq!(
            shares(&before.report),
            "reflexive-apology 3.0%, unbacked-commitment 1.0%, claimed-escalation 0.7%"
        );
        let after = lint(&dir.path().join("transcripts.clean.jsonl"), &rules, None).unwrap();
        assert_eq!(
            shares(&after.report),
            "reflexive-apology 0.0%, unbacked-commitment 0.0%, claimed-escalation 0.0%"
        );
        assert!(dir.path().join("transcripts.clean.review.jsonl").exists());
    }
}
