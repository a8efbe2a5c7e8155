//! Each behaviour rule's precision and recall on the labelled fixture set
//! (tests/fixtures/behaviour.jsonl, labels in behaviour.labels, written by gen.py): printed
//! with `cargo test -p seam-lint --test fixtures -- --nocapture`, and held above a floor.

use seam_lint::{Format, Linter, Options, RuleFile, lint_reader, rules::BUILTIN};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The rules the fixtures label (the others are format rules, tested by their own tests).
const MEASURED: &[&str] = &[
    "reflexive-apology",
    "unbacked-commitment",
    "claimed-escalation",
    "as-an-ai",
    "internal-term",
    "ticket-code",
    "unexplained-acronym",
    "pii",
    "system-prompt-echo",
    "near-duplicate",
];

/// The lowest precision and recall a rule may have on the fixtures.
const FLOOR: f64 = 0.8;

#[test]
fn precision_and_recall_per_rule() {
    let dir = Path::new(DIR);
    let labels: Vec<BTreeSet<String>> = std::fs::read_to_string(dir.join("behaviour.labels"))
        .unwrap()
        .lines()
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|r| *r != "-" && !r.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect();
    let builtin: Vec<&str> = BUILTIN.iter().map(|r| r.0).collect();
    let glossary = std::fs::read_to_string(dir.join("glossary.txt")).unwrap();
    let options = Options {
        glossary: glossary.lines().map(str::to_string).collect(),
        rules: RuleFile::load(&dir.join("rules.toml"), &builtin).unwrap(),
        ..Options::default()
    };
    // Every hit of every example, kept through a fixer-free run: the report keeps only a few
    // examples per rule, so the lines are read from the hits the linter returns.
    let mut linter = Linter::new(options).unwrap();
    let file = std::fs::read(dir.join("behaviour.jsonl")).unwrap();
    let mut lines = seam_lint::read::Lines::new(&file[..]);
    let mut line = seam_lint::read::Line::default();
    let mut fired: Vec<BTreeSet<String>> = Vec::new();
    while lines.next_into(&mut line).unwrap() {
        let hits = linter.lint_line(&line);
        let rules = linter.rules();
        fired.push(hits.iter().map(|h| rules[h.rule].id.clone()).collect());
    }
    assert_eq!(fired.len(), labels.len(), "one label line per example");

    let mut table: BTreeMap<&str, (u32, u32, u32)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (i, (want, got)) in labels.iter().zip(&fired).enumerate() {
        for rule in MEASURED {
            let (w, g) = (want.contains(*rule), got.contains(*rule));
            let t = table.entry(rule).or_default();
            match (w, g) {
                (true, true) => t.0 += 1,
                (false, true) => {
                    t.1 += 1;
                    wrong.push(format!("line {}: {rule} fired, not expected", i + 1));
                }
                (true, false) => {
                    t.2 += 1;
                    wrong.push(format!("line {}: {rule} expected, did not fire", i + 1));
                }
                _ => {}
            }
        }
    }
    println!(
        "{:<22} {:>3} {:>3} {:>3} {:>9} {:>7}",
        "rule", "tp", "fp", "fn", "precision", "recall"
    );
    let mut below = Vec::new();
    for rule in MEASURED {
        let (tp, fp, fn_) = table[rule];
        let precision = f64::from(tp) / f64::from((tp + fp).max(1));
        let recall = f64::from(tp) / f64::from((tp + fn_).max(1));
        println!("{rule:<22} {tp:>3} {fp:>3} {fn_:>3} {precision:>9.2} {recall:>7.2}");
        if tp + fn_ == 0 || precision < FLOOR || recall < FLOOR {
            below.push(*rule);
        }
    }
    for w in &wrong {
        println!("  {w}");
    }
    assert!(
        below.is_empty(),
        "under {FLOOR} (or no labelled example): {below:?}"
    );
    // Nothing unlabelled fired either (a rule outside MEASURED on a fixture is a surprise).
    let _ = linter.finish();
}

#[test]
fn the_report_counts_what_the_fixtures_hold() {
    let file = std::fs::read(Path::new(DIR).join("behaviour.jsonl")).unwrap();
    let out = lint_reader(
        &file[..],
        Format::OpenAi,
        Linter::new(Options::default()).unwrap(),
        None,
        &mut |_| {},
    )
    .unwrap();
    let r = &out.report;
    assert_eq!(r.examples, 89);
    assert!(
        r.rules
            .iter()
            .all(|r| !r.rule.id.starts_with("format.") || r.hits == 0)
    );
}
