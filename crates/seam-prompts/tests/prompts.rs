//! Prompt files as users write them.

use seam_prompts::{RenderError, Severity, is_alias, lint, load_dir, render};
use serde_json::json;

const SUPPORT_BOT: &str = r#"
name = "support-bot"
owners = ["ana", "ben"]
description = "Answers billing questions"
route = "chat"
model = "sim-large-2026-01"
params = { temperature = 0.2, max_tokens = 400 }
variables = { customer = "string" }
on_model_change = "alert"

[[messages]]
role = "system"
content = "You help {{ customer }} with billing. Never promise refunds."

[[tools]]
name = "lookup_invoice"
description = "Find an invoice"
parameters = { type = "object", properties = { id = { type = "string" } } }
"#;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).unwrap();
    }
    d
}

#[test]
fn the_documented_prompt_loads_lints_clean_and_renders() {
    let d = dir_with(&[("support-bot.toml", SUPPORT_BOT)]);
    let (prompts, errors) = load_dir(d.path()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let p = &prompts[0];
    assert_eq!(p.owners, ["ana", "ben"]);
    assert!(lint(p).is_empty(), "{:?}", lint(p));
    let vars = json!({"customer": "Acme"});
    let messages = render(p, vars.as_object().unwrap()).unwrap();
    assert_eq!(
        messages[0]["content"],
        "You help Acme with billing. Never promise refunds."
    );
    let err = render(p, json!({}).as_object().unwrap()).unwrap_err();
    assert_eq!(err, RenderError::Missing(vec!["customer".into()]));
    let err = render(p, json!({"customer": 7}).as_object().unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("customer (expected string)"),
        "{err}"
    );
}

#[test]
fn lint_catches_aliases_and_variable_mistakes() {
    let bad = SUPPORT_BOT
        .replace("sim-large-2026-01", "sim-large-latest")
        .replace("{{ customer }}", "{{ cusotmer }}");
    let d = dir_with(&[("support-bot.toml", &bad)]);
    let (prompts, _) = load_dir(d.path()).unwrap();
    let findings = lint(&prompts[0]);
    let keys: Vec<(&str, Severity)> = findings
        .iter()
        .map(|f| (f.key.as_str(), f.severity))
        .collect();
    assert!(keys.contains(&("model", Severity::Error)), "{findings:?}");
    assert!(
        keys.contains(&("messages[0].content", Severity::Error)),
        "{findings:?}"
    );
    assert!(
        keys.contains(&("variables.customer", Severity::Warning)),
        "{findings:?}"
    );
    assert!(findings.iter().any(|f| f.message.contains("cusotmer")));
}

#[test]
fn a_bad_file_names_the_file_line_and_key_and_does_not_hide_the_others() {
    let typo = SUPPORT_BOT.replace("owners =", "owner =");
    let d = dir_with(&[
        ("a.toml", &typo),
        ("support-bot.toml", SUPPORT_BOT),
        ("notes.txt", "x"),
    ]);
    let (prompts, errors) = load_dir(d.path()).unwrap();
    assert_eq!(prompts.len(), 1);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].file.ends_with("a.toml"));
    assert!(
        errors[0].message.contains("owner") && errors[0].message.contains("line 3"),
        "{}",
        errors[0].message
    );
}

#[test]
fn aliases_and_snapshots() {
    for alias in [
        "gpt-4o",
        "claude-sonnet-latest",
        "llama3:latest",
        "sim-large",
    ] {
        assert!(is_alias(alias), "{alias}");
    }
    for pinned in [
        "sim-large-2026-01",
        "claude-sonnet-4-5-20250929",
        "gpt-4o-2024-08-06",
    ] {
        assert!(!is_alias(pinned), "{pinned}");
    }
}
