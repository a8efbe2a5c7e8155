//! Datasets as files: strict parsing (file, line and key in every error), the version as the
//! hash of canonical content, name resolution, diffs.

use seam_evals::dataset::{self, Dataset, diff, resolve};
use serde_json::json;
use std::path::Path;

fn parse(text: &str) -> Result<Dataset, seam_evals::DatasetErrors> {
    Dataset::parse_bytes(text.as_bytes(), Path::new("evals/billing.jsonl"))
}

/// Every problem of `text`, as printed.
fn problems(text: &str) -> Vec<String> {
    parse(text)
        .expect_err("should be refused")
        .0
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn has(problems: &[String], want: &str) {
    assert!(
        problems.iter().any(|p| p.contains(want)),
        "no problem says {want:?}: {problems:#?}"
    );
}

/// A case as `seam dataset add` writes it (docs/datasets.md), one line.
const ADDED: &str = r#"{"id":"call:call_01J","input":{"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":[{"type":"text","text":"What is in this picture? Mail me at [email]"},{"type":"omitted","part":"image_url","media":"image/png","bytes":48213,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]},{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"look","arguments":"{}"}}]}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"variables":{"customer":"Ann"},"release":"rel_5e1f"},"expected":{"text":"A cat on a sofa.","tool_calls":[{"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}],"finish_reason":"stop","review":"pending"},"tags":["vision","omitted-parts"],"source":{"call_id":"call_01J","trace_id":null,"route":"chat","release_id":"rel_5e1f","captured_ms":1795000000000}}"#;

#[test]
fn a_case_as_dataset_add_writes_it_parses() {
    let d = parse(&format!("{ADDED}\n")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.name, "billing");
    let c = &d.cases[0];
    assert_eq!(c.id, "call:call_01J");
    assert_eq!(c.line, 1);
    let input = c.input.as_ref().unwrap();
    assert_eq!(input.messages.len(), 3);
    assert_eq!(input.tools.len(), 1);
    assert_eq!(input.release.as_deref(), Some("rel_5e1f"));
    assert_eq!(c.variables, Some(json!({"customer": "Ann"})));
    assert_eq!(c.expected_text(), Some("A cat on a sofa."));
    assert_eq!(c.tags, ["vision", "omitted-parts"]);
    assert_eq!(c.source.as_ref().unwrap()["route"], "chat");
    assert!(c.assertions.is_empty());
    assert!(!c.required);

    // Truncated capture leaves variables as text: still a case.
    let cut = ADDED.replace(
        r#""variables":{"customer":"Ann"}"#,
        r#""variables":"{\"custo""#,
    );
    let d = parse(&cut).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.cases[0].variables, Some(json!("{\"custo")));
}

#[test]
fn every_key_of_the_format_is_read() {
    let d = parse(
        r#"{"id": "refund-1", "variables": {"customer": "Ann"}, "expected": "Refunds take 5 days.", "assert": [{"type": "icontains", "value": "5 days", "weight": 2, "metric": "facts"}, {"type": "not-refusal"}], "tags": ["refunds"], "group": "ann", "required": true, "threshold": 0.5, "description": "the refund delay", "metadata": {"owner": "billing"}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let c = &d.cases[0];
    assert!(c.input.is_none());
    assert_eq!(c.variables, Some(json!({"customer": "Ann"})));
    assert_eq!(c.expected_text(), Some("Refunds take 5 days."));
    assert_eq!(c.assertions.len(), 2);
    assert_eq!(c.assertions[0].kind, "icontains");
    assert_eq!(c.assertions[0].weight, 2.0);
    assert_eq!(c.assertions[0].metric.as_deref(), Some("facts"));
    assert!(c.assertions[1].negate);
    assert_eq!(c.group.as_deref(), Some("ann"));
    assert!(c.required);
    assert_eq!(c.threshold, Some(0.5));
    assert_eq!(c.description.as_deref(), Some("the refund delay"));
}

#[test]
fn blank_lines_and_crlf_are_allowed() {
    let d =
        parse("\n{\"id\": \"a\", \"variables\": {}}\r\n   \n\n{\"id\": \"b\", \"variables\": {}}")
            .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<(String, usize)> = d.cases.iter().map(|c| (c.id.clone(), c.line)).collect();
    assert_eq!(lines, [("a".to_string(), 2), ("b".to_string(), 5)]);
    assert!(parse("").unwrap().cases.is_empty());
}

#[test]
fn every_problem_names_the_file_the_line_and_the_key() {
    let text = [
        r#"{"id": "a", "variables": {}}"#,
        r#"{"id": "b", "variables": {}, "vars": {}}"#,
        r#"not json"#,
        r#"{"variables": {}}"#,
        r#"{"id": "a", "variables": {}}"#,
        r#"{"id": "c", "input": {"messages": [{"role": "user", "content": "hi"}, {"content": "no role"}]}}"#,
        r#"{"id": "d", "variables": {}, "assert": [{"type": "contains", "value": "x"}, {"type": "nope"}]}"#,
        r#"{"id": "e", "variables": {}, "assert": [{"type": "regex", "value": "(unclosed"}]}"#,
        r#"{"id": "f", "variables": {}, "assert": [{"type": "is-json", "value": {"type": "nonsense"}}]}"#,
        r#"{"id": "g", "variables": {}, "assert": [{"type": "string_check", "input": "{{ sample.output_text }}", "reference": "x"}]}"#,
        r#"{"id": "h", "variables": {}, "tags": "one", "threshold": 2}"#,
        r#"{"id": "i", "input": {"messages": [], "variables": {}}, "variables": {}}"#,
        r#"{"id": "j"}"#,
        r#"{"id": "k", "variables": {}, "expected": 1, "expected": 2}"#,
        r#"{"id": "l", "variables": {}, "assert": [{"type": "contains", "value": "x", "threshold": 0.5}]}"#,
    ]
    .join("\n");
    let p = problems(&text);
    has(
        &p,
        "evals/billing.jsonl:2: vars: unknown key (a prompt's variables are `variables`)",
    );
    has(
        &p,
        "evals/billing.jsonl:3: not JSON: expected ident at line 1 column 2",
    );
    has(&p, "evals/billing.jsonl:4: id: missing");
    has(
        &p,
        "evals/billing.jsonl:5: id: `a` is already the id of line 1",
    );
    has(&p, "evals/billing.jsonl:6: input.messages[1].role: missing");
    has(
        &p,
        "evals/billing.jsonl:7: assert[1].type: unknown assertion type `nope`",
    );
    has(
        &p,
        "evals/billing.jsonl:8: assert[0].value: the regex does not compile",
    );
    has(
        &p,
        "evals/billing.jsonl:9: assert[0].value: the JSON Schema does not compile",
    );
    has(&p, "evals/billing.jsonl:10: assert[0].operation: missing");
    has(
        &p,
        "evals/billing.jsonl:11: tags: must be an array of strings, not a string",
    );
    has(
        &p,
        "evals/billing.jsonl:11: threshold: must be between 0 and 1, not 2",
    );
    has(&p, "evals/billing.jsonl:12: variables: given twice");
    has(
        &p,
        "evals/billing.jsonl:13: input: missing: a case needs `input`",
    );
    has(
        &p,
        "evals/billing.jsonl:14: not JSON: the key `expected` appears twice",
    );
    has(
        &p,
        "evals/billing.jsonl:15: assert[0].threshold: unknown key for contains",
    );
    assert_eq!(p.len(), 15, "{p:#?}");
}

#[test]
fn an_unreadable_file_is_refused_with_its_path() {
    let e = Dataset::load(Path::new("/nonexistent/x.jsonl")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/x.jsonl: cannot read the file"),
        "{e}"
    );
    let e = Dataset::parse_bytes(
        b"{\"id\": \"a\", \"variables\": {\"x\": \"\xff\"}}",
        Path::new("x.jsonl"),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "x.jsonl:1: not UTF-8 text");
}

#[test]
fn the_version_is_the_content_not_its_layout() {
    let a = r#"{"id": "a", "variables": {"x": 1, "y": [1, 2]}, "tags": ["t"]}"#;
    let b = r#"{"id": "b", "input": {"messages": [{"role": "user", "content": "hi"}]}}"#;
    let v = parse(&format!("{a}\n{b}\n")).unwrap().version;
    assert_eq!(v.len(), 64);
    // Other line order, key order, spacing, blank lines: the same version.
    let reordered =
        r#"{ "input" : { "messages" : [ { "content" : "hi", "role" : "user" } ] } , "id" : "b" }"#;
    let a2 = r#"{"tags":["t"],"variables":{"y":[1,2],"x":1},"id":"a"}"#;
    assert_eq!(parse(&format!("\n{reordered}\n\n{a2}")).unwrap().version, v);
    // Any change to a case: a new version.
    for changed in [
        format!("{a}\n{}", b.replace("hi", "hi!")),
        format!("{}\n{b}", a.replace("[1, 2]", "[2, 1]")),
        format!("{}\n{b}", a.replace("\"x\": 1", "\"x\": 1.5")),
        format!(
            "{}\n{b}",
            a.replace(
                "\"tags\": [\"t\"]",
                "\"tags\": [\"t\"], \"required\": false"
            )
        ),
        a.to_string(),
    ] {
        assert_ne!(parse(&changed).unwrap().version, v, "{changed}");
    }
}

#[test]
fn a_diff_lists_cases_added_removed_and_changed() {
    let old = parse(
        r#"{"id": "a", "variables": {"x": 1}}
{"id": "b", "variables": {"x": 1}, "tags": ["t"]}
{"id": "c", "variables": {"x": 1}}"#,
    )
    .unwrap();
    let new = parse(
        r#"{"id": "c", "variables": {"x": 1}}
{"id": "b", "variables": {"x": 2}, "required": true}
{"id": "d", "variables": {"x": 1}}"#,
    )
    .unwrap();
    let d = diff(&old, &new);
    assert_eq!(d.added, ["d"]);
    assert_eq!(d.removed, ["a"]);
    assert_eq!(d.changed.len(), 1);
    assert_eq!(d.changed[0].id, "b");
    assert_eq!(d.changed[0].keys, ["required", "tags", "variables"]);
    assert_eq!(d.unchanged, 1);
    assert_eq!(d.from_version, old.version);
    assert_eq!(d.to_version, new.version);
    assert!(diff(&new, &new).is_empty());
}

#[test]
fn a_name_is_a_file_in_the_dir_with_or_without_jsonl_or_a_path() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("evals");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("billing.jsonl"), "").unwrap();
    std::fs::write(dir.join("notes.txt"), "").unwrap();
    std::fs::create_dir(dir.join("old")).unwrap();
    std::fs::write(dir.join("old").join("x.jsonl"), "").unwrap();
    let want = dir.join("billing.jsonl");
    assert_eq!(resolve("billing", Some(&dir)).unwrap(), want);
    assert_eq!(resolve("billing.jsonl", Some(&dir)).unwrap(), want);
    let path = want.display().to_string();
    assert_eq!(resolve(&path, None).unwrap(), want);
    let e = resolve("refunds", Some(&dir)).unwrap_err();
    assert!(e.contains("no dataset `refunds`"), "{e}");
    assert!(resolve(&format!("{}/nope.jsonl", dir.display()), None).is_err());
    assert_eq!(dataset::list(&dir).unwrap(), [want]);
    assert!(dataset::list(&root.path().join("none")).is_err());
}

#[test]
fn model_graders_need_a_route_of_their_own_or_a_default() {
    let d = parse(
        r#"{"id": "a", "variables": {}, "assert": [{"type": "contains", "value": "x"}, {"type": "llm-rubric", "value": "is polite"}]}
{"id": "b", "variables": {}, "assert": [{"type": "similar", "value": "hi", "route": "embed"}, {"type": "score_model", "name": "s", "model": "grader", "input": [{"role": "user", "content": "{{ sample.output_text }}"}]}]}"#,
    )
    .unwrap();
    let e = d.routes(None, None).unwrap_err().to_string();
    assert!(
        e.contains("evals/billing.jsonl:1: assert[1].route: `llm-rubric` calls a model: name its `route`, or set [evals] judge_route"),
        "{e}"
    );
    let routes: Vec<String> = d.routes(Some("judge"), None).unwrap().into_iter().collect();
    assert_eq!(routes, ["embed", "grader", "judge"]);
    assert!(d.cases[0].assertions[1].calls_model());
    assert!(!d.cases[0].assertions[0].calls_model());
}
