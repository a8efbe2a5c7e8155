//! Reading a JSON object key by key, each problem naming its key (`assert[1].value`), for the
//! dataset's cases and the graders' assertions.

use serde_json::{Map, Value};

/// A problem with one key of a case; the dataset adds the file and the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub key: String,
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// An object being read, and where it sits in the case (`""` at the top).
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    prefix: String,
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Obj<'a> {
    pub fn new(v: &'a Value, prefix: &str, what: &str) -> Result<Obj<'a>, FieldError> {
        match v {
            Value::Object(map) => Ok(Obj {
                map,
                prefix: prefix.to_string(),
            }),
            other => Err(FieldError::new(
                prefix,
                format!("must be {what}, not {}", kind(other)),
            )),
        }
    }

    /// The full key of `k`.
    pub fn key(&self, k: &str) -> String {
        if self.prefix.is_empty() {
            k.to_string()
        } else {
            format!("{}.{k}", self.prefix)
        }
    }

    pub fn err(&self, k: &str, message: impl Into<String>) -> FieldError {
        FieldError::new(self.key(k), message)
    }

    /// Refuses a key outside `allowed`, listing those that are.
    pub fn only(&self, allowed: &[&str], what: &str) -> Result<(), FieldError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.err(
                k,
                format!("unknown key for {what} (accepted: {})", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }

    pub fn get(&self, k: &str) -> Option<&'a Value> {
        self.map.get(k)
    }

    pub fn has(&self, k: &str) -> bool {
        self.map.contains_key(k)
    }

    pub fn str(&self, k: &str) -> Result<Option<&'a str>, FieldError> {
        match self.map.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.err(k, format!("must be a string, not {}", kind(other)))),
        }
    }

    pub fn req_str(&self, k: &str) -> Result<&'a str, FieldError> {
        self.str(k)?
            .ok_or_else(|| self.err(k, "missing (a string is required)"))
    }

    /// A finite number.
    pub fn num(&self, k: &str) -> Result<Option<f64>, FieldError> {
        match self.map.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() => Ok(Some(f)),
                _ => Err(self.err(k, "must be a finite number")),
            },
            Some(other) => Err(self.err(k, format!("must be a number, not {}", kind(other)))),
        }
    }

    /// A number within `lo..=hi`.
    pub fn num_in(&self, k: &str, lo: f64, hi: f64) -> Result<Option<f64>, FieldError> {
        match self.num(k)? {
            Some(f) if !(lo..=hi).contains(&f) => {
                Err(self.err(k, format!("must be between {lo} and {hi}, not {f}")))
            }
            v => Ok(v),
        }
    }

    /// A whole number of at least 0.
    pub fn count(&self, k: &str) -> Result<Option<u64>, FieldError> {
        match self.map.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.err(k, "must be a whole number of at least 0")),
            Some(other) => Err(self.err(k, format!("must be a number, not {}", kind(other)))),
        }
    }

    pub fn bool(&self, k: &str) -> Result<Option<bool>, FieldError> {
        match self.map.get(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.err(k, format!("must be true or false, not {}", kind(other)))),
        }
    }

    /// An array of strings.
    pub fn strings(&self, k: &str) -> Result<Option<Vec<String>>, FieldError> {
        match self.map.get(k) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(FieldError::new(
                        format!("{}[{i}]", self.key(k)),
                        format!("must be a string, not {}", kind(other)),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.err(
                k,
                format!("must be an array of strings, not {}", kind(other)),
            )),
        }
    }
}
