//! `--fix`: untouched lines byte-identical, hit examples dropped or cut, a review file saying
//! why; CSV transcripts converted; thresholds; custom rules and their errors.

use seam_lint::{
    FixMode, FixSummary, Fixer, Format, Linter, Options, Report, RuleFile, lint_reader, parse_max,
};

const CLEAN: &str = "{\"messages\": [{\"role\":\"user\",\"content\":\"Do you ship to Ireland?\"},  {\"role\":\"assistant\",\"content\":\"Yes, in three to five working days.\"}]}\r\n";
/// Another clean line, ending without a line end (the file's last).
const CLEAN2: &str = "{\"messages\":[{\"role\":\"user\",\"content\":\"Is the Leeds store open on Sunday?\"},{\"role\":\"assistant\",\"content\":\"Yes, from 11 to 5.\"}]}";
const APOLOGY_SECOND: &str = r#"{"messages":[{"role":"user","content":"Do you sell gas canisters?"},{"role":"assistant","content":"Yes, in all stores."},{"role":"user","content":"And in Leeds?"},{"role":"assistant","content":"So sorry! Leeds has them too."}]}"#;
const REFUND: &str = r#"{"messages":[{"role":"user","content":"My stove is late."},{"role":"assistant","content":"I've issued a refund for the delivery."}]}"#;

/// The cleaned file, the review's records, what the fix did, and the report.
fn run(mode: FixMode, input: &str) -> (String, Vec<serde_json::Value>, FixSummary, Report) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("in.clean.jsonl");
    let fixer = Fixer::new(mode, &out).unwrap();
    let linter = Linter::new(Options::default()).unwrap();
    let o = lint_reader(
        input.as_bytes(),
        Format::OpenAi,
        linter,
        Some(fixer),
        &mut |_| {},
    )
    .unwrap();
    let fixed = o.fixed.unwrap();
    let review = std::fs::read_to_string(dir.path().join("in.clean.review.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        std::fs::read_to_string(&out).unwrap(),
        review,
        fixed,
        o.report,
    )
}

#[test]
fn drop_example_keeps_untouched_lines_byte_for_byte() {
    let input = format!("{CLEAN}{REFUND}\n{CLEAN2}");
    let (out, review, s, _) = run(FixMode::DropExample, &input);
    assert_eq!(out, format!("{CLEAN}{CLEAN2}"));
    assert_eq!((s.kept, s.cut, s.dropped), (2, 0, 1));
    assert_eq!(review[0]["line"], 2);
    assert_eq!(review[0]["action"], "drop-example");
    assert_eq!(review[0]["reasons"][0]["rule"], "unbacked-commitment");
}

#[test]
fn drop_turn_cuts_before_the_hit_turn() {
    let input = format!("{APOLOGY_SECOND}\n{REFUND}\n");
    let (out, review, s, _) = run(FixMode::DropTurn, &input);
    // The apology was the second answer: the first exchange stays; the refund was the only
    // answer, so that example goes.
    assert_eq!(
        out,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Do you sell gas canisters?\"},{\"role\":\"assistant\",\"content\":\"Yes, in all stores.\"}]}\n"
    );
    assert_eq!((s.cut, s.dropped), (1, 1));
    assert_eq!(review[0]["action"], "drop-turn");
    assert_eq!(
        review[0]["removed"][1]["content"],
        "So sorry! Leeds has them too."
    );
    assert_eq!(review[1]["action"], "drop-example");
}

#[test]
fn csv_transcripts_are_linted_and_converted() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    std::fs::write(
        &csv,
        "conversation_id,role,text,timestamp\n\
         c1,customer,\"Hours, please?\",2026-01-01T10:00:01Z\n\
         c1,agent,\"So sorry! 9 to 5.\",2026-01-01T10:00:05Z\n\
         c2,customer,Hi,2026-01-01T11:00:00Z\n",
    )
    .unwrap();
    let linter = Linter::new(Options::default()).unwrap();
    let file = std::io::BufReader::new(std::fs::File::open(&csv).unwrap());
    let r = lint_reader(file, Format::Csv, linter, None, &mut |_| {})
        .unwrap()
        .report;
    let by = |id: &str| r.rules.iter().find(|x| x.rule.id == id).unwrap();
    assert_eq!(by("reflexive-apology").examples[0].line, 2);
    assert_eq!(by("format.no-assistant").examples[0].line, 4);
    assert_eq!((r.examples, r.lines), (2, 3));
    let out = dir.path().join("t.jsonl");
    let done = seam_lint::csv::convert(&csv, &out).unwrap();
    assert_eq!((done.rows, done.examples, done.skipped.len()), (3, 1, 1));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Hours, please?\"},{\"role\":\"assistant\",\"content\":\"So sorry! 9 to 5.\"}]}\n"
    );
}

#[test]
fn thresholds_fail_above_their_share() {
    // Five answers, one an unbacked refund.
    let input = format!("{REFUND}\n{CLEAN}{CLEAN2}\n{APOLOGY_SECOND}");
    let linter = Linter::new(Options::default()).unwrap();
    let mut r = lint_reader(input.as_bytes(), Format::OpenAi, linter, None, &mut |_| {})
        .unwrap()
        .report;
    r.apply_thresholds(&[parse_max("unbacked-commitment=0.25").unwrap()])
        .unwrap();
    assert!(!r.failed(), "1 of 5 answers is 0.20");
    r.apply_thresholds(&[parse_max("unbacked-commitment=0.15").unwrap()])
        .unwrap();
    assert!(r.failed());
    assert!(
        r.text()
            .contains("--max unbacked-commitment=0.15: 0.2000 EXCEEDED")
    );
    let err = r.apply_thresholds(&[("no-such".into(), 0.1)]).unwrap_err();
    assert!(err.starts_with("--max no-such: no such rule"), "{err}");
    assert!(parse_max("x=2").unwrap_err().contains("from 0 to 1"));
}

#[test]
fn custom_rules_fire_and_their_errors_name_rule_and_key() {
    let builtin: Vec<&str> = seam_lint::rules::BUILTIN.iter().map(|r| r.0).collect();
    let toml = r#"
[severity]
unexplained-acronym = "off"

[[rule]]
id = "promo-code"
message = "a promo code handed out"
severity = "error"
phrases = ["promo code"]
patterns = ['\bSAVE\d{2}\b']
when = "no-tool-call"
"#;
    let rules = RuleFile::parse(toml, &builtin).unwrap();
    let linter = Linter::new(Options {
        rules,
        ..Options::default()
    })
    .unwrap();
    let line = r#"{"messages":[{"role":"user","content":"Any deals?"},{"role":"assistant","content":"Use SAVE20 at checkout."}]}"#;
    let r = lint_reader(line.as_bytes(), Format::OpenAi, linter, None, &mut |_| {})
        .unwrap()
        .report;
    let promo = r.rules.iter().find(|x| x.rule.id == "promo-code").unwrap();
    assert_eq!((promo.hits, promo.examples[0].span.as_str()), (1, "SAVE20"));
    assert!(r.rules.iter().all(|x| x.rule.id != "unexplained-acronym"));

    let cases = [
        (
            "[[rule]]\nid = \"x\"\nmessage = \"m\"\nphrase = [\"a\"]\n",
            "unknown field `phrase`",
        ),
        (
            "[[rule]]\nid = \"x\"\nmessage = \"m\"\npatterns = [\"(\"]\n",
            "rule `x`: `patterns`",
        ),
        (
            "[[rule]]\nid = \"x\"\nmessage = \"m\"\n",
            "rule `x`: `phrases`: give",
        ),
        (
            "[[rule]]\nid = \"pii\"\nmessage = \"m\"\nphrases = [\"a\"]\n",
            "rule `pii`: `id`",
        ),
        (
            "[[rule]]\nid = \"x\"\nmessage = \"m\"\nrole = \"bot\"\nphrases = [\"a\"]\n",
            "rule `x`: `role`",
        ),
        (
            "[severity]\nnope = \"off\"\n",
            "[severity]: `nope` is not a built-in rule",
        ),
    ];
    for (text, want) in cases {
        let err = RuleFile::parse(text, &builtin).unwrap_err();
        assert!(err.contains(want), "{text}: {err}");
    }
}

#[test]
fn an_answer_in_many_examples_is_reported_once_with_its_lines_and_never_fixed() {
    let same = "Thanks for reaching out to Acme, is there anything else I can help with?";
    let mut input = String::new();
    for q in ["Hours?", "Maps?", "Stoves?", "Tents?", "Boots?"] {
        input += &serde_json::json!({"messages": [
            {"role": "user", "content": format!("Do you sell {q} in every store in the north of England")},
            {"role": "assistant", "content": same},
        ]})
        .to_string();
        input.push('\n');
    }
    let (_, review, fixed, report) = run(FixMode::DropExample, &input);
    let r = report
        .rules
        .iter()
        .find(|x| x.rule.id == "repeated-answer")
        .unwrap();
    assert_eq!(r.hits, 5);
    assert_eq!(r.examples.len(), 1);
    assert!(
        r.examples[0]
            .span
            .starts_with("in 5 examples (lines 1, 2, 3, 4, 5…): Thanks"),
        "{}",
        r.examples[0].span
    );
    // Found only at the end, the repeat is never a reason to drop a line.
    assert!(
        review
            .iter()
            .all(|r| !r.to_string().contains("repeated-answer"))
    );
    assert!(fixed.kept >= 1);
}
