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
    let messages = render(p, vars.as_object().unwrap(), 100_000).unwrap();
    assert_eq!(
        messages[0]["content"],
        "You help Acme with billing. Never promise refunds."
    );
    let err = render(p, json!({}).as_object().unwrap(), 100_000).unwrap_err();
    assert_eq!(err, RenderError::Missing(vec!["customer".into()]));
    let err = render(p, json!({"customer": 7}).as_object().unwrap(), 100_000).unwrap_err();
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

/// A prompt whose template loops over a variable the client sends, once per item of it
/// for every item of it.
fn looping(messages: usize) -> seam_prompts::Prompt {
    let message = "[[messages]]\nrole = \"system\"\ncontent = \"{% for a in items %}{% for b in items %}.{% endfor %}{% endfor %}\"\n";
    let text = format!(
        "name = \"loop\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"m-2026-01\"\nvariables = {{ items = \"array\" }}\n{}",
        message.repeat(messages)
    );
    seam_prompts::parse(&text, std::path::Path::new("loop.toml")).unwrap()
}

#[test]
fn a_render_stops_when_its_fuel_is_spent_whatever_the_variables() {
    let p = looping(1);
    let items = |n: usize| json!({ "items": vec![1; n] });
    let small = items(10);
    assert_eq!(
        render(&p, small.as_object().unwrap(), 100_000).unwrap()[0]["content"],
        ".".repeat(100)
    );
    // 4 million iterations: refused after the first hundred thousand instructions or so.
    let started = std::time::Instant::now();
    let big = items(2000);
    let err = render(&p, big.as_object().unwrap(), 100_000).unwrap_err();
    assert_eq!(err, RenderError::OutOfFuel { fuel: 100_000 });
    assert!(err.to_string().contains("100000 fuel"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // Output counts too: a few instructions that would write 100 MB.
    let text = "name = \"big\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"m-2026-01\"\n[[messages]]\nrole = \"system\"\ncontent = \"{{ 'x' * 100000000 }}\"\n";
    let p = seam_prompts::parse(text, std::path::Path::new("big.toml")).unwrap();
    let err = render(&p, json!({}).as_object().unwrap(), 100_000).unwrap_err();
    assert_eq!(err, RenderError::OutOfFuel { fuel: 100_000 });
}

#[test]
fn the_messages_of_a_prompt_share_one_budget() {
    let vars = json!({ "items": vec![1; 60] });
    let vars = vars.as_object().unwrap();
    let fuel = (1..100_000)
        .map(|f| f * 100)
        .find(|f| render(&looping(1), vars, *f).is_ok())
        .unwrap();
    // One message fits; two messages of the same cost do not fit in the same budget.
    assert!(render(&looping(2), vars, fuel).is_err());
    assert!(render(&looping(2), vars, 2 * fuel).is_ok());
}

#[test]
fn prompt_names_are_file_names_in_the_prompts_directory_and_nothing_else() {
    for good in ["support-bot", "a", "bot_2", &"x".repeat(64)] {
        seam_prompts::check_name(good).unwrap();
    }
    for bad in [
        "",
        "../../x",
        "a/b",
        "..",
        ".hidden",
        "-x",
        "x y",
        "bot@dev",
        "é",
        &"x".repeat(65),
    ] {
        let e = seam_prompts::check_name(bad).unwrap_err();
        assert!(e.contains("is not a valid name"), "{bad}: {e}");
    }
    let dir = std::path::Path::new("prompts");
    assert_eq!(
        seam_prompts::file_of(dir, "support-bot").unwrap(),
        dir.join("support-bot.toml")
    );
    let e = seam_prompts::file_of(dir, "../../x").unwrap_err();
    assert!(
        e.to_string()
            .contains("prompt `../../x` is not a valid name"),
        "{e}"
    );
    // A file naming its prompt so is refused where it is read, naming the file and the key.
    let d = dir_with(&[(
        "x.toml",
        &SUPPORT_BOT.replace("\"support-bot\"", "\"../x\""),
    )]);
    let (prompts, errors) = load_dir(d.path()).unwrap();
    assert!(prompts.is_empty());
    assert!(errors[0].file.ends_with("x.toml"), "{errors:?}");
    assert!(
        errors[0]
            .message
            .starts_with("name: `../x` is not a valid name"),
        "{errors:?}"
    );
}

/// Found by the `prompt_file` fuzz target: `temperature = nan` linted clean, and its release
/// (stored as JSON, where nan becomes null) could never be parsed back to be served.
#[test]
fn nan_and_inf_are_refused_where_they_would_go_out_as_json() {
    let with = |old: &str, new: &str| {
        let text = SUPPORT_BOT.replace(old, new);
        assert_ne!(text, SUPPORT_BOT);
        let p = seam_prompts::parse(&text, std::path::Path::new("support-bot.toml")).unwrap();
        lint(&p)
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.key)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        with("temperature = 0.2", "temperature = nan"),
        ["params.temperature"]
    );
    assert_eq!(
        with(
            "{ type = \"string\" }",
            "{ type = \"number\", maximum = inf }"
        ),
        ["tools[0].parameters.properties.id.maximum"]
    );
    assert_eq!(
        with(
            "on_model_change = \"alert\"",
            "on_model_change = \"alert\"\nresponse_format = { scores = [1.0, -inf] }"
        ),
        ["response_format.scores[1]"]
    );
    assert!(with("temperature = 0.2", "temperature = 1e300").is_empty());
}

/// Found by the `render` fuzz target: a chain of 20,000 filters in one tag overflowed the
/// stack (MiniJinja nests each operator one level deeper) and aborted the process, in lint
/// (`seam prompt lint`, a reload, `POST /api/releases`) as in a render.
#[test]
fn a_tag_too_long_is_refused_before_minijinja_can_overflow_the_stack() {
    let deep = format!("{{{{ customer{} }}}}", "|upper".repeat(20_000));
    let text = SUPPORT_BOT.replace(
        "You help {{ customer }} with billing. Never promise refunds.",
        &deep,
    );
    let p = seam_prompts::parse(&text, std::path::Path::new("support-bot.toml")).unwrap();
    let errors: Vec<_> = lint(&p)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].key, "messages[0].content");
    assert!(
        errors[0]
            .message
            .starts_with("line 1: a tag of 120012 characters, more than the 1000"),
        "{}",
        errors[0].message
    );
    let vars = json!({"customer": "Ana"});
    match render(&p, vars.as_object().unwrap(), 100_000) {
        Err(RenderError::Template { message: 0, error }) => {
            assert!(error.contains("a tag of 120012 characters"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    // The same chain, short enough, renders.
    let short = SUPPORT_BOT.replace(
        "You help {{ customer }} with billing. Never promise refunds.",
        &format!("{{{{ customer{} }}}}", "|upper".repeat(100)),
    );
    let p = seam_prompts::parse(&short, std::path::Path::new("support-bot.toml")).unwrap();
    assert!(lint(&p).iter().all(|f| f.severity != Severity::Error));
    let out = render(&p, vars.as_object().unwrap(), 100_000).unwrap();
    assert_eq!(out[0]["content"], "ANA");
}

#[test]
fn a_gate_is_parsed_strictly_and_checked_naming_file_and_key() {
    let gated = SUPPORT_BOT.replace(
        "on_model_change = \"alert\"",
        "on_model_change = \"alert\"\ngate = { dataset = \"billing.jsonl\", channel = \"production\", alpha = 0.01 }",
    );
    let with = |gate: &str| {
        SUPPORT_BOT.replace(
            "on_model_change = \"alert\"",
            &format!("on_model_change = \"alert\"\ngate = {gate}"),
        )
    };
    let d = dir_with(&[
        ("support-bot.toml", &gated),
        (
            "alpha.toml",
            &with(r#"{ dataset = "b", channel = "production", alpha = 0.5 }"#),
        ),
        (
            "margin.toml",
            &with(r#"{ dataset = "b", channel = "production", margin = 1.0 }"#),
        ),
        (
            "empty.toml",
            &with(r#"{ dataset = " ", channel = "production" }"#),
        ),
        (
            "typo.toml",
            &with(r#"{ dataset = "b", channel = "production", alfa = 0.1 }"#),
        ),
    ]);
    let (prompts, errors) = load_dir(d.path()).unwrap();
    let gate = prompts[0].gate.as_ref().unwrap();
    assert_eq!(
        (
            gate.dataset.as_str(),
            gate.channel.as_str(),
            gate.alpha,
            gate.margin
        ),
        ("billing.jsonl", "production", 0.01, 0.02)
    );
    let found: Vec<(String, String)> = errors
        .iter()
        .map(|e| {
            let file = e.file.rsplit('/').next().unwrap().to_string();
            (file, e.message.clone())
        })
        .collect();
    assert_eq!(found.len(), 4, "{found:?}");
    for (file, key) in [
        ("alpha.toml", "gate.alpha"),
        ("empty.toml", "gate.dataset"),
        ("margin.toml", "gate.margin"),
        ("typo.toml", "alfa"),
    ] {
        assert!(
            found.iter().any(|(f, m)| f == file && m.contains(key)),
            "{file} should name {key}: {found:?}"
        );
    }
    // The gate is part of the release content; a prompt without one keeps its content.
    let content = serde_json::to_value(&prompts[0]).unwrap();
    assert_eq!(content["gate"]["dataset"], "billing.jsonl");
    let (plain, _) = load_dir(dir_with(&[("support-bot.toml", SUPPORT_BOT)]).path()).unwrap();
    assert!(
        serde_json::to_value(&plain[0])
            .unwrap()
            .get("gate")
            .is_none()
    );
}
