//! `seam dataset list|show|diff`: datasets read from `[evals] dir` or a path, every problem
//! with file, line and key, versions that follow content and not layout, diffs.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A project directory: `seam.toml` with `[evals] dir = "evals"`, and that directory.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("seam.toml"),
            "[store]\nurl = \"sqlite://seam.db\"\n\n[evals]\ndir = \"evals\"\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("evals")).unwrap();
        Project { dir }
    }

    fn evals(&self) -> PathBuf {
        self.dir.path().join("evals")
    }

    fn write(&self, name: &str, lines: &[&str]) -> PathBuf {
        let path = self.evals().join(name);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        path
    }

    /// `seam ARGS --config PROJECT/seam.toml`, run from another directory.
    fn run(&self, args: &[&str]) -> Output {
        let config = self.dir.path().join("seam.toml");
        Command::new(env!("CARGO_BIN_EXE_seam"))
            .args(args)
            .arg("--config")
            .arg(&config)
            .current_dir(std::env::temp_dir())
            .env_remove("SEAM_CONFIG")
            .env_remove("SEAM_STORE")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "seam {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// The command fails; its stderr.
    fn fails(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        assert!(!out.status.success(), "seam {args:?} should fail");
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

const BILLING: &[&str] = &[
    r#"{"id": "refund-1", "variables": {"customer": "Ann"}, "expected": "5 days", "assert": [{"type": "icontains", "value": "5 days"}, {"type": "not-refusal"}], "tags": ["refunds"], "group": "ann", "required": true}"#,
    "",
    r#"{"id": "refund-2", "input": {"messages": [{"role": "user", "content": "refund?"}]}, "assert": [{"type": "llm-rubric", "value": "is polite", "route": "chat"}], "tags": ["refunds", "tone"]}"#,
    r#"{"id": "greeting", "input": {"messages": [{"role": "user", "content": "hi"}]}}"#,
];

#[test]
fn list_shows_each_dataset_with_its_cases_and_version() {
    let p = Project::new();
    p.write("billing.jsonl", BILLING);
    p.write("smoke.jsonl", &[r#"{"id": "a", "variables": {}}"#]);
    std::fs::write(p.evals().join("README.md"), "not a dataset").unwrap();
    let out = p.json(&["dataset", "list", "--json"]);
    let sets = out["datasets"].as_array().unwrap();
    let names: Vec<&str> = sets.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["billing", "smoke"]);
    assert_eq!(sets[0]["cases"], 3);
    let version = sets[0]["version"].as_str().unwrap().to_string();
    assert_eq!(version.len(), 64);

    let text = p.ok(&["dataset", "list"]);
    let row = text
        .lines()
        .find(|l| l.starts_with("billing"))
        .unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[..3], ["billing", "3", &version[..12]], "{text}");

    // The same cases in another order, keys reordered: the same version.
    let mut reordered: Vec<&str> = BILLING.iter().rev().copied().collect();
    let swapped = r#"{"variables": {}, "id": "a"}"#;
    reordered.push("");
    p.write("billing.jsonl", &reordered);
    p.write("smoke.jsonl", &[swapped]);
    let again = p.json(&["dataset", "list", "--json"]);
    assert_eq!(again["datasets"][0]["version"], version.as_str());
    assert_eq!(
        again["datasets"][1]["version"],
        out["datasets"][1]["version"]
    );
    // Any change: a new version.
    p.write("smoke.jsonl", &[r#"{"id": "a", "variables": {"x": 1}}"#]);
    let changed = p.json(&["dataset", "list", "--json"]);
    assert_ne!(
        changed["datasets"][1]["version"],
        out["datasets"][1]["version"]
    );
}

#[test]
fn an_invalid_dataset_is_listed_and_fails_the_command_with_file_line_and_key() {
    let p = Project::new();
    p.write("billing.jsonl", BILLING);
    let bad = p.write(
        "broken.jsonl",
        &[
            r#"{"id": "a", "variables": {}}"#,
            r#"{"id": "a", "variables": {}}"#,
            r#"{"id": "b", "variables": {}, "assert": [{"type": "regex", "value": "(x"}]}"#,
        ],
    );
    let (stdout, stderr) = p.fails(&["dataset", "list"]);
    assert!(stdout.contains("invalid (2 problems)"), "{stdout}");
    let file = bad.display().to_string();
    assert!(
        stderr.contains(&format!("{file}:2: id: `a` is already the id of line 1")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{file}:3: assert[0].value: the regex does not compile"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("1 of 2 datasets are invalid"), "{stderr}");

    let out = p.run(&["dataset", "list", "--json"]);
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["datasets"][0]["cases"], 3);
    let errors = v["datasets"][1]["errors"].as_array().unwrap();
    assert_eq!(errors[0]["line"], 2);
    assert_eq!(errors[0]["key"], "id");

    let (_, stderr) = p.fails(&["dataset", "show", "broken"]);
    assert!(stderr.contains("invalid dataset: 2 problems:"), "{stderr}");
    assert!(
        stderr.contains(&format!("{file}:3: assert[0].value")),
        "{stderr}"
    );
}

#[test]
fn show_names_a_dataset_by_file_name_or_path() {
    let p = Project::new();
    let path = p.write("billing.jsonl", BILLING);
    let by_name = p.json(&["dataset", "show", "billing", "--json"]);
    assert_eq!(
        p.json(&["dataset", "show", "billing.jsonl", "--json"]),
        by_name
    );
    assert_eq!(
        p.json(&["dataset", "show", path.to_str().unwrap(), "--json"]),
        by_name
    );
    assert_eq!(by_name["name"], "billing");
    assert_eq!(by_name["required"], 1);
    assert_eq!(by_name["groups"], 1);
    assert_eq!(by_name["without_assertions"], 1);
    assert_eq!(by_name["tags"]["refunds"], 2);
    assert_eq!(by_name["assertions"]["llm-rubric"], 1);
    let first = &by_name["cases"][0];
    assert_eq!(first["id"], "refund-1");
    assert_eq!(first["line"], 1);
    assert_eq!(
        first["assert"],
        serde_json::json!(["icontains", "not-refusal"])
    );
    assert_eq!(first["variables"], serde_json::json!(["customer"]));
    assert_eq!(by_name["cases"][1]["line"], 3);
    assert_eq!(by_name["cases"][1]["messages"], 1);

    let text = p.ok(&["dataset", "show", "billing"]);
    assert!(
        text.contains("cases       3 (1 required, 1 groups, 1 without assertions)"),
        "{text}"
    );
    assert!(
        text.contains("assertions  icontains 1, llm-rubric 1, not-refusal 1"),
        "{text}"
    );
    let row = text.lines().find(|l| l.starts_with("refund-1")).unwrap();
    assert_eq!(
        row.split("  ")
            .filter(|c| !c.is_empty())
            .map(str::trim)
            .collect::<Vec<_>>(),
        [
            "refund-1",
            "icontains, not-refusal",
            "refunds",
            "ann",
            "yes"
        ]
    );

    let (_, stderr) = p.fails(&["dataset", "show", "refunds"]);
    assert!(stderr.contains("no dataset `refunds`"), "{stderr}");
    // --dir overrides the config's.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("x.jsonl"),
        "{\"id\": \"z\", \"variables\": {}}\n",
    )
    .unwrap();
    let out = p.json(&[
        "dataset",
        "show",
        "x",
        "--dir",
        other.path().to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out["cases"][0]["id"], "z");
}

#[test]
fn diff_lists_cases_added_removed_and_changed() {
    let p = Project::new();
    p.write("billing.jsonl", BILLING);
    let next = p.write(
        "billing-next.jsonl",
        &[
            BILLING[0],
            r#"{"id": "refund-2", "input": {"messages": [{"role": "user", "content": "refund?"}]}, "assert": [{"type": "llm-rubric", "value": "is polite and brief", "route": "chat"}], "tags": ["refunds", "tone"], "required": true}"#,
            r#"{"id": "refund-3", "variables": {"customer": "Bo"}}"#,
        ],
    );
    let d = p.json(&[
        "dataset",
        "diff",
        "billing",
        next.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(d["added"], serde_json::json!(["refund-3"]));
    assert_eq!(d["removed"], serde_json::json!(["greeting"]));
    assert_eq!(
        d["changed"],
        serde_json::json!([{"id": "refund-2", "keys": ["assert", "required"]}])
    );
    assert_eq!(d["unchanged"], 1);
    assert_ne!(d["from_version"], d["to_version"]);
    assert!(Path::new(d["to"].as_str().unwrap()).ends_with("billing-next.jsonl"));

    let text = p.ok(&["dataset", "diff", "billing", "billing-next"]);
    for line in [
        "added      1: refund-3",
        "removed    1: greeting",
        "changed    1",
        "  refund-2  (assert, required)",
        "unchanged  1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in {text}"
        );
    }
    let same = p.ok(&["dataset", "diff", "billing", "billing"]);
    assert!(
        same.contains("same version: no case changed (3 cases)"),
        "{same}"
    );
}
