//! `is-json` (`json`): the answer's text (trimmed) is JSON; with a `value`, a JSON Schema it
//! must satisfy (compiled when the dataset is read; a `$ref` to another document is not
//! fetched, so it does not compile).

use super::{Checked, Subject, keys};
use crate::fields::{FieldError, Obj};
use serde_json::Value;
use std::sync::Arc;

#[derive(Clone)]
pub(crate) struct IsJson {
    schema: Option<Arc<jsonschema::Validator>>,
}

impl std::fmt::Debug for IsJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IsJson")
            .field("schema", &self.schema.is_some())
            .finish()
    }
}

/// How many schema violations a reason lists.
const SHOWN: usize = 3;

impl IsJson {
    pub fn parse(o: &Obj<'_>) -> Result<IsJson, FieldError> {
        o.only(&keys(&["value"]), "is-json")?;
        let schema = match o.get("value") {
            None => None,
            Some(s @ (Value::Object(_) | Value::Bool(_))) => {
                let v = jsonschema::validator_for(s).map_err(|e| {
                    o.err("value", format!("the JSON Schema does not compile: {e}"))
                })?;
                Some(Arc::new(v))
            }
            Some(_) => {
                return Err(o.err(
                    "value",
                    "must be a JSON Schema (an object), or left out to only require JSON",
                ));
            }
        };
        Ok(IsJson { schema })
    }

    pub fn check(&self, s: &Subject<'_>) -> Checked {
        let text = s.output.text_or_empty().trim();
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return Checked::binary(false, format!("the answer is not JSON: {e}")),
        };
        let Some(schema) = &self.schema else {
            return Checked::binary(true, "the answer is JSON");
        };
        let errors: Vec<String> = schema
            .iter_errors(&value)
            .map(|e| {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() { "/".to_string() } else { at };
                format!("at {at}: {}", super::text::quote(&e.to_string()))
            })
            .collect();
        if errors.is_empty() {
            return Checked::binary(true, "the answer is JSON valid against the schema");
        }
        let more = errors.len().saturating_sub(SHOWN);
        Checked::binary(
            false,
            format!(
                "the answer is JSON but not valid against the schema: {}{}",
                errors[..errors.len().min(SHOWN)].join("; "),
                if more > 0 {
                    format!(" (and {more} more)")
                } else {
                    String::new()
                }
            ),
        )
    }
}

/// JSON equality as a reader means it: numbers by value (`1` is `1.0`), object keys in any
/// order.
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Whether `got` has everything `want` has: each key of an object (recursively), arrays
/// and scalars equal (as [`same`]).
pub(crate) fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| contains(gv, v))),
        _ => same(got, want),
    }
}
