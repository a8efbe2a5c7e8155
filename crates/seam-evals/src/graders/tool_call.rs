//! `tool-call` (`tool_call`): what the answer called. `value` is `"none"` (no tool call),
//! `"any"` (at least one), a tool's name, or `{"name": ..., "arguments": {...}}`: a call of
//! that tool whose arguments (parsed as JSON) hold at least the given ones (each key of an
//! object, recursively; arrays and other values equal).

use super::text::quote;
use super::{Checked, Subject, keys};
use crate::fields::{FieldError, Obj, kind};
use serde_json::Value;

#[derive(Debug, Clone)]
pub(crate) enum ToolCallCheck {
    None,
    Any,
    Named {
        name: String,
        arguments: Option<Value>,
    },
}

impl ToolCallCheck {
    pub fn parse(o: &Obj<'_>) -> Result<ToolCallCheck, FieldError> {
        o.only(&keys(&["value"]), "tool-call")?;
        match o.get("value") {
            None => Err(o.err(
                "value",
                "missing: \"none\", \"any\", a tool's name, or {\"name\": ..., \"arguments\": {...}}",
            )),
            Some(Value::String(s)) if s == "none" => Ok(ToolCallCheck::None),
            Some(Value::String(s)) if s == "any" => Ok(ToolCallCheck::Any),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(o.err("value", "name a tool, or \"none\" or \"any\""))
            }
            Some(Value::String(s)) => Ok(ToolCallCheck::Named {
                name: s.clone(),
                arguments: None,
            }),
            Some(v @ Value::Object(_)) => {
                let key = o.key("value");
                let t = Obj::new(v, &key, "an object")?;
                t.only(&["name", "arguments"], "a tool call")?;
                let name = t.req_str("name")?.to_string();
                let arguments = match t.get("arguments") {
                    None => None,
                    Some(a @ Value::Object(_)) => Some(a.clone()),
                    Some(other) => {
                        return Err(t.err(
                            "arguments",
                            format!(
                                "must be an object (the arguments that must be among the call's), not {}",
                                kind(other)
                            ),
                        ));
                    }
                };
                Ok(ToolCallCheck::Named { name, arguments })
            }
            Some(other) => Err(o.err(
                "value",
                format!("must be a string or an object, not {}", kind(other)),
            )),
        }
    }

    pub fn check(&self, s: &Subject<'_>) -> Checked {
        let calls = &s.output.tool_calls;
        let names = || {
            calls
                .iter()
                .map(|c| quote(&c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            ToolCallCheck::None if calls.is_empty() => {
                Checked::binary(true, "the answer calls no tool")
            }
            ToolCallCheck::None => Checked::binary(false, format!("the answer calls {}", names())),
            ToolCallCheck::Any if calls.is_empty() => {
                Checked::binary(false, "the answer calls no tool")
            }
            ToolCallCheck::Any => Checked::binary(true, format!("the answer calls {}", names())),
            ToolCallCheck::Named { name, arguments } => {
                let named: Vec<_> = calls.iter().filter(|c| &c.name == name).collect();
                if named.is_empty() {
                    return Checked::binary(
                        false,
                        if calls.is_empty() {
                            format!("the answer calls no tool, not {}", quote(name))
                        } else {
                            format!("the answer calls {}, not {}", names(), quote(name))
                        },
                    );
                }
                let Some(want) = arguments else {
                    return Checked::binary(true, format!("the answer calls {}", quote(name)));
                };
                let mut unparsed = 0;
                for c in &named {
                    match serde_json::from_str::<Value>(&c.arguments) {
                        Ok(got) if super::json::contains(&got, want) => {
                            return Checked::binary(
                                true,
                                format!("the answer calls {} with the arguments", quote(name)),
                            );
                        }
                        Ok(_) => {}
                        Err(_) => unparsed += 1,
                    }
                }
                Checked::binary(
                    false,
                    format!(
                        "the answer calls {} {} time(s), never with the arguments{}",
                        quote(name),
                        named.len(),
                        if unparsed > 0 {
                            format!(" ({unparsed} with arguments that are not JSON)")
                        } else {
                            String::new()
                        }
                    ),
                )
            }
        }
    }
}
