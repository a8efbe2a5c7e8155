//! `equals`, and `contains` / `icontains` with their `-any` / `-all` forms (promptfoo's names).

use super::{Checked, Subject, keys};
use crate::dataset::case::expected_text;
use crate::fields::{FieldError, Obj, kind};
use serde_json::Value;

/// A value written in an assertion is compared as written: promptfoo renders `{{ var }}` in
/// values, Seam does not, so a value that looks like a template is refused rather than
/// compared literally by surprise; and `file://` values are not read.
pub(crate) fn literal(o: &Obj<'_>, key: &str, s: &str) -> Result<(), FieldError> {
    if s.contains("{{") {
        return Err(o.err(
            key,
            "looks like a template (`{{`): assertion values are compared as written, not rendered; write the value out (use a regex to match a literal `{{`)",
        ));
    }
    if s.starts_with("file://") {
        return Err(o.err(
            key,
            "`file://` values are not read: write the value into the case",
        ));
    }
    Ok(())
}

/// A value quoted in a reason, cut to a readable length.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("`{}...`", &s[..i]),
        None => format!("`{s}`"),
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Equals {
    /// The answer's text is exactly this.
    Text(String),
    /// The answer parses as JSON equal to this (numbers compared by value, keys unordered).
    Json(Value),
}

impl Equals {
    pub fn parse(o: &Obj<'_>, expected: Option<&Value>) -> Result<Equals, FieldError> {
        o.only(&keys(&["value"]), "equals")?;
        match o.get("value") {
            Some(Value::String(s)) => {
                literal(o, "value", s)?;
                Ok(Equals::Text(s.clone()))
            }
            Some(Value::Null) => Err(o.err("value", "must be a string or JSON, not null")),
            Some(v) => Ok(Equals::Json(v.clone())),
            None => match expected_text(expected) {
                Some(t) => Ok(Equals::Text(t.to_string())),
                None => Err(o.err(
                    "value",
                    "missing, and the case's `expected` has no text to compare with",
                )),
            },
        }
    }

    pub fn check(&self, s: &Subject<'_>) -> Checked {
        let text = s.output.text_or_empty();
        match self {
            Equals::Text(want) if text == want => {
                Checked::binary(true, "the answer equals the value")
            }
            Equals::Text(want) => {
                let at = text
                    .chars()
                    .zip(want.chars())
                    .take_while(|(a, b)| a == b)
                    .count();
                Checked::binary(
                    false,
                    format!(
                        "the answer differs from the value at character {at} ({} characters against {})",
                        text.chars().count(),
                        want.chars().count()
                    ),
                )
            }
            Equals::Json(want) => match serde_json::from_str::<Value>(text.trim()) {
                Err(e) => Checked::binary(false, format!("the answer is not JSON: {e}")),
                Ok(got) if super::json::same(&got, want) => {
                    Checked::binary(true, "the answer is JSON equal to the value")
                }
                Ok(_) => Checked::binary(false, "the answer is JSON that differs from the value"),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    One,
    Any,
    All,
}

#[derive(Debug, Clone)]
pub(crate) struct Contains {
    values: Vec<String>,
    insensitive: bool,
    mode: Mode,
}

impl Contains {
    pub fn parse(base: &str, o: &Obj<'_>) -> Result<Contains, FieldError> {
        o.only(&keys(&["value"]), base)?;
        let insensitive = base.starts_with('i');
        let mode = if base.ends_with("-any") {
            Mode::Any
        } else if base.ends_with("-all") {
            Mode::All
        } else {
            Mode::One
        };
        let values: Vec<String> = match (o.get("value"), mode) {
            (None, _) => return Err(o.err("value", "missing: the text to look for")),
            (Some(Value::String(s)), Mode::One) => vec![s.clone()],
            (Some(Value::Array(_)), Mode::One) => {
                return Err(o.err(
                    "value",
                    format!("a list needs `{base}-any` or `{base}-all` (which one must be found?)"),
                ));
            }
            // promptfoo splits a string on commas for the -any/-all forms.
            (Some(Value::String(s)), _) => s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            (Some(Value::Array(_)), _) => o.strings("value")?.unwrap_or_default(),
            (Some(other), _) => {
                return Err(o.err(
                    "value",
                    format!("must be a string or a list of strings, not {}", kind(other)),
                ));
            }
        };
        if values.is_empty() || values.iter().any(String::is_empty) {
            return Err(o.err("value", "must not be empty"));
        }
        for v in &values {
            literal(o, "value", v)?;
        }
        let values = if insensitive {
            values.iter().map(|v| v.to_lowercase()).collect()
        } else {
            values
        };
        Ok(Contains {
            values,
            insensitive,
            mode,
        })
    }

    pub fn check(&self, s: &Subject<'_>) -> Checked {
        let text = s.output.text_or_empty();
        let lowered;
        let hay = if self.insensitive {
            lowered = text.to_lowercase();
            lowered.as_str()
        } else {
            text
        };
        let (found, missing): (Vec<&String>, Vec<&String>) =
            self.values.iter().partition(|v| hay.contains(v.as_str()));
        let list = |vs: &[&String]| vs.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ");
        match self.mode {
            Mode::One | Mode::All if missing.is_empty() => {
                Checked::binary(true, format!("the answer contains {}", list(&found)))
            }
            Mode::One | Mode::All => Checked::binary(
                false,
                format!("the answer does not contain {}", list(&missing)),
            ),
            Mode::Any if found.is_empty() => Checked::binary(
                false,
                format!("the answer contains none of {}", list(&missing)),
            ),
            Mode::Any => Checked::binary(true, format!("the answer contains {}", list(&found))),
        }
    }
}
