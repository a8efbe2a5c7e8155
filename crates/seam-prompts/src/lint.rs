//! `seam prompt lint`: what would break a prompt in production, found before it ships.

use crate::Prompt;
use minijinja::Environment;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub file: String,
    /// The key the finding is about, e.g. `messages[0].content` or `model`.
    pub key: String,
    pub severity: Severity,
    pub message: String,
}

const ROLES: &[&str] = &["system", "developer", "user", "assistant"];
const TYPES: &[&str] = &["string", "number", "integer", "boolean", "array", "object"];

/// Whether a model name is an alias a provider can move: `-latest`, `:latest`, or no date or
/// version stamp at all. A pinned snapshot carries one (`sim-large-2026-01`,
/// `claude-sonnet-4-5-20250929`, `gpt-4o-2024-08-06`).
pub fn is_alias(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    if m.ends_with("latest") || m.contains(":latest") {
        return true;
    }
    let bytes = m.as_bytes();
    let digits_run = |min: usize| {
        let mut run = 0;
        bytes.iter().any(|b| {
            run = if b.is_ascii_digit() { run + 1 } else { 0 };
            run >= min
        })
    };
    // A year-month stamp (2026-01) or a compact date (20250929).
    let dated = digits_run(8)
        || m.split(['-', '_', '.', '@', ':'])
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| {
                w[0].len() == 4
                    && w[0].chars().all(|c| c.is_ascii_digit())
                    && w[1].len() == 2
                    && w[1].chars().all(|c| c.is_ascii_digit())
            });
    !dated
}

pub fn lint(p: &Prompt) -> Vec<Finding> {
    let file = p.file.display().to_string();
    let mut out = Vec::new();
    let mut add = |key: &str, severity: Severity, message: String| {
        out.push(Finding {
            file: file.clone(),
            key: key.to_string(),
            severity,
            message,
        })
    };
    if let Some(stem) = p.file.file_stem().and_then(|s| s.to_str())
        && stem != p.name
    {
        add(
            "name",
            Severity::Warning,
            format!(
                "the prompt is named `{}` but its file is `{stem}.toml`",
                p.name
            ),
        );
    }
    if p.owners.is_empty() {
        add(
            "owners",
            Severity::Error,
            "a prompt needs at least one owner".into(),
        );
    }
    if p.failure_cost_usd == Some(0.0) {
        add(
            "failure_cost_usd",
            Severity::Warning,
            "0 prices every avoided failure at nothing: leave the key out to report counts only"
                .into(),
        );
    }
    if is_alias(&p.model) {
        add(
            "model",
            Severity::Error,
            format!(
                "`{}` is an alias the provider can move; pin a dated snapshot (e.g. name-2026-01)",
                p.model
            ),
        );
    }
    if p.messages.is_empty() {
        add(
            "messages",
            Severity::Error,
            "a prompt needs at least one message".into(),
        );
    }
    for (name, kind) in &p.variables {
        if !TYPES.contains(&kind.as_str()) {
            add(
                &format!("variables.{name}"),
                Severity::Error,
                format!("unknown type `{kind}`; use one of {}", TYPES.join(", ")),
            );
        }
    }
    let env = Environment::new();
    let mut used = BTreeSet::new();
    for (i, m) in p.messages.iter().enumerate() {
        if !ROLES.contains(&m.role.as_str()) {
            add(
                &format!("messages[{i}].role"),
                Severity::Error,
                format!("unknown role `{}`; use one of {}", m.role, ROLES.join(", ")),
            );
        }
        if let Err(e) = crate::check_tags(&m.content) {
            add(&format!("messages[{i}].content"), Severity::Error, e);
            continue;
        }
        match env.template_from_str(&m.content) {
            Ok(t) => {
                for v in t.undeclared_variables(false) {
                    if !p.variables.contains_key(&v) {
                        add(
                            &format!("messages[{i}].content"),
                            Severity::Error,
                            format!("uses `{v}`, which is not declared under variables"),
                        );
                    }
                    used.insert(v);
                }
            }
            Err(e) => add(
                &format!("messages[{i}].content"),
                Severity::Error,
                format!("template error: {e}"),
            ),
        }
    }
    for name in p.variables.keys().filter(|v| !used.contains(*v)) {
        add(
            &format!("variables.{name}"),
            Severity::Warning,
            format!("`{name}` is declared but no message uses it"),
        );
    }
    for (i, t) in p.tools.iter().enumerate() {
        if t.name.trim().is_empty() {
            add(
                &format!("tools[{i}].name"),
                Severity::Error,
                "a tool needs a name".into(),
            );
        }
    }
    // What goes upstream as JSON, and into a release (stored as JSON): TOML's nan and inf
    // have no JSON form, so such a release would be stored with null and never parse back.
    let json_values = p
        .params
        .iter()
        .map(|(k, v)| (format!("params.{k}"), v))
        .chain(p.tools.iter().enumerate().filter_map(|(i, t)| {
            t.parameters
                .as_ref()
                .map(|v| (format!("tools[{i}].parameters"), v))
        }))
        .chain(
            p.response_format
                .as_ref()
                .map(|v| ("response_format".to_string(), v)),
        );
    for (key, v) in json_values {
        if let Some(key) = non_finite(v, key) {
            add(
                &key,
                Severity::Error,
                "nan and inf cannot be sent: JSON has no such numbers".into(),
            );
        }
    }
    out
}

/// The key of the first float in `v` that is NaN or infinite.
fn non_finite(v: &toml::Value, key: String) -> Option<String> {
    match v {
        toml::Value::Float(f) if !f.is_finite() => Some(key),
        toml::Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| non_finite(x, format!("{key}[{i}]"))),
        toml::Value::Table(t) => t
            .iter()
            .find_map(|(k, x)| non_finite(x, format!("{key}.{k}"))),
        _ => None,
    }
}
