//! Renders a prompt's messages with MiniJinja, strictly: a missing or mistyped variable is an
//! error that names it, never an empty string in production.

use crate::Prompt;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum RenderError {
    /// Variables the prompt declares that the call did not give.
    Missing(Vec<String>),
    /// Variables given with the wrong type: (name, expected type).
    WrongType(Vec<(String, String)>),
    /// Variables given that the prompt does not declare.
    Unknown(Vec<String>),
    Template {
        message: usize,
        error: String,
    },
    /// The messages need more work (or output) than the fuel a render may use allows.
    OutOfFuel {
        fuel: u64,
    },
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::Missing(v) => write!(f, "missing variables: {}", v.join(", ")),
            RenderError::WrongType(v) => write!(
                f,
                "variables of the wrong type: {}",
                v.iter()
                    .map(|(n, t)| format!("{n} (expected {t})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            RenderError::Unknown(v) => {
                write!(f, "variables the prompt does not declare: {}", v.join(", "))
            }
            RenderError::Template { message, error } => {
                write!(f, "messages[{message}] does not render: {error}")
            }
            RenderError::OutOfFuel { fuel } => write!(
                f,
                "rendering needs more than the {fuel} fuel it may use (template steps, and \
                 output in 64-byte units)"
            ),
        }
    }
}

pub(crate) fn type_matches(kind: &str, v: &Value) -> bool {
    match kind {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// The prompt's messages, rendered with `variables`, as OpenAI chat messages. All of them
/// together may use `fuel` (MiniJinja's: about one per template instruction and per 64 bytes
/// of data), which bounds both the time and the memory a render takes whatever the
/// variables are.
pub fn render(
    prompt: &Prompt,
    variables: &Map<String, Value>,
    fuel: u64,
) -> Result<Vec<Value>, RenderError> {
    let missing: Vec<String> = prompt
        .variables
        .keys()
        .filter(|k| !variables.contains_key(*k))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(RenderError::Missing(missing));
    }
    let unknown: Vec<String> = variables
        .keys()
        .filter(|k| !prompt.variables.contains_key(*k))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(RenderError::Unknown(unknown));
    }
    let wrong: Vec<(String, String)> = prompt
        .variables
        .iter()
        .filter(|(k, t)| variables.get(*k).is_some_and(|v| !type_matches(t, v)))
        .map(|(k, t)| (k.clone(), t.clone()))
        .collect();
    if !wrong.is_empty() {
        return Err(RenderError::WrongType(wrong));
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let ctx = minijinja::Value::from(minijinja::value::Serde(variables));
    let mut left = fuel;
    let mut out = Vec::with_capacity(prompt.messages.len());
    for (i, m) in prompt.messages.iter().enumerate() {
        let failed = |e: minijinja::Error| match e.kind() {
            ErrorKind::OutOfFuel => RenderError::OutOfFuel { fuel },
            _ => RenderError::Template {
                message: i,
                error: e.to_string(),
            },
        };
        crate::check_tags(&m.content)
            .map_err(|error| RenderError::Template { message: i, error })?;
        // The messages share one budget: each starts with what the ones before it left.
        env.set_fuel(Some(left));
        let rendered = env
            .template_from_str(&m.content)
            .and_then(|t| t.render_captured(&ctx))
            .map_err(failed)?;
        let used = rendered.state().fuel_levels().map_or(0, |(used, _)| used);
        left = left.saturating_sub(used);
        out.push(json!({"role": m.role, "content": rendered.into_output()}));
    }
    Ok(out)
}
