//! Bad input: a cut-off last line, a UTF-8 BOM, CRLF line ends, an empty file, a 10 MB
//! example, a line that is not UTF-8. Each is reported by line (or refused whole), nothing
//! panics, and `--fix` writes nothing when the input is refused.

use seam_lint::{FixMode, Fixer, Format, Linter, Options, Report, lint_reader};

fn lint(input: &[u8]) -> Result<Report, String> {
    let linter = Linter::new(Options::default()).unwrap();
    lint_reader(input, Format::OpenAi, linter, None, &mut |_| {}).map(|o| o.report)
}

fn hits(r: &Report, id: &str) -> Vec<(usize, String)> {
    r.rules
        .iter()
        .find(|x| x.rule.id == id)
        .map(|x| {
            x.examples
                .iter()
                .map(|h| (h.line, h.span.clone()))
                .collect()
        })
        .unwrap_or_default()
}

const GOOD: &str = r#"{"messages":[{"role":"user","content":"Where is the Leeds store?"},{"role":"assistant","content":"On Briggate, open 9 to 6."}]}"#;

#[test]
fn a_cut_off_last_line_is_reported_on_its_line() {
    let input = format!("{GOOD}\n{GOOD}\n{{\"messages\":[{{\"role\":\"user\",\"con");
    let r = lint(input.as_bytes()).unwrap();
    assert_eq!(r.examples, 2);
    let h = hits(&r, "format.invalid-json");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].0, 3);
    assert!(h[0].1.starts_with("the last line is cut off"), "{}", h[0].1);
}

#[test]
fn a_bom_and_crlf_line_ends_are_read_as_json() {
    let input = format!("\u{feff}{GOOD}\r\n{GOOD}\r\n");
    let r = lint(input.as_bytes()).unwrap();
    assert_eq!((r.examples, r.lines), (2, 2));
    assert!(hits(&r, "format.invalid-json").is_empty());
}

#[test]
fn an_empty_file_is_refused_and_fix_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.clean.jsonl");
    let fixer = Fixer::new(FixMode::DropExample, &out).unwrap();
    let linter = Linter::new(Options::default()).unwrap();
    let err = lint_reader(&b""[..], Format::OpenAi, linter, Some(fixer), &mut |_| {}).unwrap_err();
    assert_eq!(err, "the file is empty: no examples");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "no file, not even a temporary one: {left:?}"
    );
}

#[test]
fn a_file_of_blank_lines_is_refused() {
    assert_eq!(
        lint(b"\n\r\n  \n").unwrap_err(),
        "the file has only blank lines: no examples"
    );
}

#[test]
fn blank_lines_are_counted_not_linted() {
    let r = lint(format!("{GOOD}\n\n{GOOD}\n\n").as_bytes()).unwrap();
    assert_eq!((r.examples, r.blank_lines), (2, 2));
}

#[test]
fn a_ten_megabyte_example_is_linted() {
    let long = "the tent pole clips onto the flysheet hooks. ".repeat(10 * 1024 * 1024 / 45);
    let line = serde_json::json!({"messages": [
        {"role": "user", "content": "How does the pole attach?"},
        {"role": "assistant", "content": long},
    ]})
    .to_string();
    assert!(line.len() > 10_000_000);
    let linter = Linter::new(Options {
        model: Some("gpt-4o-mini".into()),
        ..Options::default()
    })
    .unwrap();
    let r = lint_reader(line.as_bytes(), Format::OpenAi, linter, None, &mut |_| {})
        .unwrap()
        .report;
    assert_eq!(r.examples, 1);
    // ~2.3M tokens: over gpt-4o-mini's 65,536 a training example.
    let h = hits(&r, "format.over-context");
    assert_eq!(h.len(), 1, "{:?}", r.rules);
    assert!(h[0].1.contains("over the model's 65536"), "{}", h[0].1);
}

#[test]
fn a_line_that_is_not_utf8_is_reported() {
    let mut input = GOOD.as_bytes().to_vec();
    input.extend_from_slice(b"\n{\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}\n");
    let r = lint(&input).unwrap();
    let h = hits(&r, "format.invalid-json");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].0, 2);
}

#[test]
fn a_csv_without_its_columns_is_refused_naming_them() {
    let linter = Linter::new(Options::default()).unwrap();
    let err = lint_reader(
        &b"id,who,said\n1,user,hi\n"[..],
        Format::Csv,
        linter,
        None,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        err.contains("needs conversation_id, role and text"),
        "{err}"
    );
}
