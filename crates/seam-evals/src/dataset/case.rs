//! One line of a dataset: a case, read strictly (docs/datasets.md "The case").

use crate::fields::{FieldError, Obj, kind};
use crate::graders::Assertion;
use serde_json::Value;

/// What a case sends: a conversation (`input`), a `prompt:` release's variables, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// OpenAI chat messages, as written (each an object with a string `role`).
    pub messages: Vec<Value>,
    /// OpenAI function tools, as written.
    pub tools: Vec<Value>,
    /// The release a `prompt:` call was rendered from (`seam dataset add` writes it).
    pub release: Option<String>,
}

/// One eval case.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    /// Its line in the file (from 1).
    pub line: usize,
    /// `input`, when the case has one.
    pub input: Option<Input>,
    /// A `prompt:` call's variables: `variables`, or `input.variables` as `seam dataset add`
    /// writes them (an object; text when capture cut them short).
    pub variables: Option<Value>,
    /// What a good answer looks like (a string, or an object such as `seam dataset add`'s
    /// recorded answer with `text`, `tool_calls`, `review`).
    pub expected: Option<Value>,
    pub assertions: Vec<Assertion>,
    pub tags: Vec<String>,
    /// Cases that share a context: the gate resamples and tests them together.
    pub group: Option<String>,
    /// Must pass on a candidate for a gate to pass.
    pub required: bool,
    /// With a threshold the case passes when its weighted score reaches it, not only when
    /// every assertion passes (promptfoo's test `threshold`).
    pub threshold: Option<f64>,
    pub description: Option<String>,
    /// Where the case came from (`seam dataset add`'s call, trace, route, release), as written.
    pub source: Option<Value>,
    pub metadata: Option<Value>,
    /// The line as parsed: what the version and `diff` compare.
    pub content: Value,
}

impl Case {
    /// The text a good answer would have: `expected` when it is a string, else its `text`.
    pub fn expected_text(&self) -> Option<&str> {
        expected_text(self.expected.as_ref())
    }
}

pub(crate) fn expected_text(expected: Option<&Value>) -> Option<&str> {
    match expected? {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("text").and_then(Value::as_str),
        _ => None,
    }
}

const KEYS: &[&str] = &[
    "id",
    "input",
    "variables",
    "expected",
    "assert",
    "tags",
    "group",
    "required",
    "threshold",
    "description",
    "source",
    "metadata",
];

const INPUT_KEYS: &[&str] = &["messages", "tools", "variables", "release"];

/// The case on `line`, or every problem found in it.
pub(crate) fn parse(value: Value, line: usize) -> Result<Case, Vec<FieldError>> {
    let mut errors = Vec::new();
    let o = match Obj::new(&value, "", "a JSON object (one case a line)") {
        Ok(o) => o,
        Err(e) => return Err(vec![e]),
    };
    for k in o.map.keys().filter(|k| !KEYS.contains(&k.as_str())) {
        let hint = match k.as_str() {
            "vars" => " (a prompt's variables are `variables`)",
            "assertions" | "asserts" => " (assertions are `assert`)",
            _ => "",
        };
        errors.push(o.err(
            k,
            format!("unknown key{hint} (accepted: {})", KEYS.join(", ")),
        ));
    }
    let id = match take(&mut errors, o.str("id")) {
        Some(id) if id.trim().is_empty() => {
            errors.push(o.err("id", "must not be empty"));
            None
        }
        Some(id) => Some(id.to_string()),
        None if !o.has("id") => {
            errors.push(o.err("id", "missing: every case needs a unique id"));
            None
        }
        None => None,
    };
    let tags = take(&mut errors, o.strings("tags")).unwrap_or_default();
    let group = take(&mut errors, o.str("group")).map(str::to_string);
    if group.as_deref().is_some_and(|g| g.trim().is_empty()) {
        errors.push(o.err("group", "must not be empty (leave it out for no group)"));
    }
    let required = take(&mut errors, o.bool("required")).unwrap_or(false);
    let threshold = take(&mut errors, o.num_in("threshold", 0.0, 1.0));
    let description = take(&mut errors, o.str("description")).map(str::to_string);
    let source = object_or_err(&o, "source", &mut errors);
    let metadata = object_or_err(&o, "metadata", &mut errors);

    let (input, input_variables) = match o.get("input") {
        None => (None, None),
        Some(v) => match input(v) {
            Ok((i, vars)) => (Some(i), vars),
            Err(e) => {
                errors.extend(e);
                (None, None)
            }
        },
    };
    let variables = match (o.get("variables"), input_variables) {
        (Some(_), Some(_)) => {
            errors.push(o.err(
                "variables",
                "given twice: here and as input.variables; keep one",
            ));
            None
        }
        (Some(v @ Value::Object(_)), None) => Some(v.clone()),
        (Some(other), None) => {
            errors.push(o.err(
                "variables",
                format!("must be an object, not {}", kind(other)),
            ));
            None
        }
        (None, vars) => vars,
    };
    if !o.has("input") && !o.has("variables") {
        errors.push(o.err(
            "input",
            "missing: a case needs `input` (messages, tools) or `variables` (for a prompt: call)",
        ));
    }
    let expected = o.get("expected").cloned();
    let assertions = match o.get("assert") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, a) in items.iter().enumerate() {
                match Assertion::parse(a, &format!("assert[{i}]"), expected.as_ref()) {
                    Ok(a) => out.push(a),
                    Err(e) => errors.push(e),
                }
            }
            out
        }
        Some(other) => {
            errors.push(o.err(
                "assert",
                format!("must be an array of assertions, not {}", kind(other)),
            ));
            Vec::new()
        }
    };
    match id {
        Some(id) if errors.is_empty() => Ok(Case {
            id,
            line,
            input,
            variables,
            expected,
            assertions,
            tags,
            group,
            required,
            threshold,
            description,
            source,
            metadata,
            content: value.clone(),
        }),
        _ => Err(errors),
    }
}

fn take<T>(errors: &mut Vec<FieldError>, r: Result<Option<T>, FieldError>) -> Option<T> {
    r.unwrap_or_else(|e| {
        errors.push(e);
        None
    })
}

fn object_or_err(o: &Obj<'_>, k: &str, errors: &mut Vec<FieldError>) -> Option<Value> {
    match o.get(k) {
        None => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(other) => {
            errors.push(o.err(k, format!("must be an object, not {}", kind(other))));
            None
        }
    }
}

/// `input`, and its `variables` when it has them.
fn input(v: &Value) -> Result<(Input, Option<Value>), Vec<FieldError>> {
    let o = Obj::new(v, "input", "an object with `messages`").map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    if let Err(e) = o.only(INPUT_KEYS, "input") {
        errors.push(e);
    }
    let messages = match o.get("messages") {
        None => {
            errors.push(o.err(
                "messages",
                "missing (an array of chat messages, may be empty for a prompt: call)",
            ));
            Vec::new()
        }
        Some(Value::Array(items)) => {
            for (i, m) in items.iter().enumerate() {
                let key = format!("input.messages[{i}]");
                match Obj::new(m, &key, "a chat message object") {
                    Err(e) => errors.push(e),
                    Ok(m) => match m.str("role") {
                        Ok(Some(_)) => {}
                        Ok(None) => errors.push(m.err("role", "missing")),
                        Err(e) => errors.push(e),
                    },
                }
            }
            items.clone()
        }
        Some(other) => {
            errors.push(o.err("messages", format!("must be an array, not {}", kind(other))));
            Vec::new()
        }
    };
    let tools = match o.get("tools") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            for (i, t) in items.iter().enumerate() {
                if !t.is_object() {
                    errors.push(o.err(
                        &format!("tools[{i}]"),
                        format!("must be a tool object, not {}", kind(t)),
                    ));
                }
            }
            items.clone()
        }
        Some(other) => {
            errors.push(o.err("tools", format!("must be an array, not {}", kind(other))));
            Vec::new()
        }
    };
    // Text is what `seam dataset add` leaves when capture cut the variables short.
    let variables = match o.get("variables") {
        None => None,
        Some(v @ (Value::Object(_) | Value::String(_))) => Some(v.clone()),
        Some(other) => {
            errors.push(o.err(
                "variables",
                format!("must be an object, not {}", kind(other)),
            ));
            None
        }
    };
    let release = match o.str("release") {
        Ok(r) => r.map(str::to_string),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if errors.is_empty() {
        Ok((
            Input {
                messages,
                tools,
                release,
            },
            variables,
        ))
    } else {
        Err(errors)
    }
}
