//! One training example in OpenAI's chat format, read from a JSON line, and the format checks
//! of OpenAI's cookbook checker on it: keys, roles, content, an assistant turn, tool calls
//! answered.

use serde_json::{Map, Value};

/// A message's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
    Function,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "system" => Role::System,
            "developer" => Role::Developer,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            "function" => Role::Function,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
            Role::Function => "function",
        }
    }
}

/// A tool (or legacy function) call an assistant turn makes.
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub id: Option<String>,
    pub name: String,
    /// The arguments as sent (a JSON text).
    pub arguments: String,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub role: Role,
    /// The text of the content (text parts joined by a line end); empty when there is none.
    pub text: String,
    pub calls: Vec<Call>,
    pub tool_call_id: Option<String>,
}

/// One example: its line in the file and its messages (those with a known role).
#[derive(Debug, Clone, Default)]
pub struct Example {
    pub line: usize,
    pub messages: Vec<Message>,
}

impl Example {
    /// Whether any assistant turn calls a tool or function.
    pub fn has_tool_call(&self) -> bool {
        self.messages.iter().any(|m| !m.calls.is_empty())
    }

    /// The names of every tool called, lowercased.
    pub fn tool_names(&self) -> impl Iterator<Item = String> + '_ {
        self.messages
            .iter()
            .flat_map(|m| &m.calls)
            .map(|c| c.name.to_ascii_lowercase())
    }

    /// The user and assistant turns' text, a line end between them (what duplicates and
    /// contamination compare: the system prompt is the same in every example).
    pub fn conversation_text(&self) -> String {
        let texts: Vec<&str> = self
            .messages
            .iter()
            .filter(|m| matches!(m.role, Role::User | Role::Assistant))
            .map(|m| m.text.as_str())
            .collect();
        texts.join("\n")
    }

    /// The user turn right before message `i`, if any.
    pub fn user_before(&self, i: usize) -> Option<&Message> {
        self.messages[..i]
            .iter()
            .rev()
            .find(|m| m.role != Role::Tool && m.role != Role::Function)
            .filter(|m| m.role == Role::User)
    }
}

/// A format problem: its check's id, the message it is in (index) if any, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub rule: &'static str,
    pub turn: Option<usize>,
    pub detail: String,
}

pub const INVALID_JSON: &str = "format.invalid-json";
pub const MISSING_MESSAGES: &str = "format.missing-messages";
pub const UNKNOWN_KEY: &str = "format.unknown-key";
pub const UNKNOWN_ROLE: &str = "format.unknown-role";
pub const MISSING_CONTENT: &str = "format.missing-content";
pub const NO_ASSISTANT: &str = "format.no-assistant";
pub const UNANSWERED_CALL: &str = "format.tool-call-without-result";

const TOP_KEYS: &[&str] = &["messages", "tools", "parallel_tool_calls", "functions"];
const MESSAGE_KEYS: &[&str] = &[
    "role",
    "content",
    "name",
    "tool_calls",
    "tool_call_id",
    "function_call",
    "weight",
    "refusal",
];

/// Reads one line's content. `None` when it is not a JSON object with a `messages` list (the
/// problem says why); else the example, with every other problem found.
pub fn parse(line: usize, content: &[u8], terminated: bool) -> (Option<Example>, Vec<Problem>) {
    let mut problems = Vec::new();
    let value: Value = match serde_json::from_slice(content) {
        Ok(v) => v,
        Err(e) => {
            let detail = if !terminated && e.is_eof() {
                format!("the last line is cut off (no line end, JSON incomplete: {e})")
            } else {
                format!("not JSON: {e}")
            };
            return (None, vec![problem(INVALID_JSON, None, detail)]);
        }
    };
    let Value::Object(top) = value else {
        let detail = "the line is JSON but not an object".to_string();
        return (None, vec![problem(INVALID_JSON, None, detail)]);
    };
    unknown_keys(&top, TOP_KEYS, "the example", None, &mut problems);
    let Some(Value::Array(list)) = top.get("messages") else {
        let detail = "no `messages` list".to_string();
        problems.push(problem(MISSING_MESSAGES, None, detail));
        return (None, problems);
    };
    let mut example = Example {
        line,
        messages: Vec::with_capacity(list.len()),
    };
    for (i, m) in list.iter().enumerate() {
        if let Some(msg) = message(i, m, &mut problems) {
            example.messages.push(msg);
        }
    }
    if !example.messages.iter().any(|m| m.role == Role::Assistant) {
        let detail = "no assistant turn: nothing to train on".to_string();
        problems.push(problem(NO_ASSISTANT, None, detail));
    }
    unanswered_calls(&example, &mut problems);
    (Some(example), problems)
}

fn problem(rule: &'static str, turn: Option<usize>, detail: String) -> Problem {
    Problem { rule, turn, detail }
}

fn unknown_keys(
    obj: &Map<String, Value>,
    known: &[&str],
    what: &str,
    turn: Option<usize>,
    out: &mut Vec<Problem>,
) {
    for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        let detail = format!(
            "{what} has an unknown key `{k}` (known: {})",
            known.join(", ")
        );
        out.push(problem(UNKNOWN_KEY, turn, detail));
    }
}

fn message(i: usize, m: &Value, out: &mut Vec<Problem>) -> Option<Message> {
    let Value::Object(obj) = m else {
        out.push(problem(
            MISSING_CONTENT,
            Some(i),
            format!("message {i} is not an object"),
        ));
        return None;
    };
    unknown_keys(obj, MESSAGE_KEYS, &format!("message {i}"), Some(i), out);
    let role = match obj.get("role").and_then(Value::as_str) {
        Some(r) => match Role::parse(r) {
            Some(role) => role,
            None => {
                let detail = format!("message {i} has an unknown role `{r}`");
                out.push(problem(UNKNOWN_ROLE, Some(i), detail));
                return None;
            }
        },
        None => {
            let detail = format!("message {i} has no `role`");
            out.push(problem(UNKNOWN_ROLE, Some(i), detail));
            return None;
        }
    };
    let text = text_of(obj.get("content"));
    let calls = calls_of(obj);
    let has_content = obj
        .get("content")
        .is_some_and(|c| !c.is_null() && text.is_some());
    if !has_content && calls.is_empty() {
        let detail = format!("message {i} ({}) has no text content", role.as_str());
        out.push(problem(MISSING_CONTENT, Some(i), detail));
    }
    Some(Message {
        role,
        text: text.unwrap_or_default(),
        calls,
        tool_call_id: obj
            .get("tool_call_id")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// A content's text: a string, or the `text` of its parts; `None` when there is none.
fn text_of(content: Option<&Value>) -> Option<String> {
    match content? {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            let media = parts.iter().any(|p| p.get("text").is_none());
            (!texts.is_empty() || media).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

fn calls_of(obj: &Map<String, Value>) -> Vec<Call> {
    let mut calls = Vec::new();
    let one = |id: Option<&Value>, f: &Value| Call {
        id: id.and_then(Value::as_str).map(str::to_string),
        name: f
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        arguments: match f.get("arguments") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        },
    };
    if let Some(Value::Array(list)) = obj.get("tool_calls") {
        for c in list {
            calls.push(one(c.get("id"), c.get("function").unwrap_or(&Value::Null)));
        }
    }
    if let Some(f @ Value::Object(_)) = obj.get("function_call") {
        calls.push(one(None, f));
    }
    calls
}

/// Each tool call needs a later `tool` message with its id (a legacy function call, a later
/// `function` message).
fn unanswered_calls(example: &Example, out: &mut Vec<Problem>) {
    for (i, m) in example.messages.iter().enumerate() {
        for c in &m.calls {
            let later = &example.messages[i + 1..];
            let answered = match &c.id {
                Some(id) => later
                    .iter()
                    .any(|r| r.role == Role::Tool && r.tool_call_id.as_deref() == Some(id)),
                None => later
                    .iter()
                    .any(|r| matches!(r.role, Role::Tool | Role::Function)),
            };
            if !answered {
                let detail = format!(
                    "message {i} calls `{}` and no later tool message answers it",
                    c.name
                );
                out.push(problem(UNANSWERED_CALL, Some(i), detail));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(line: &str) -> Vec<&'static str> {
        parse(1, line.as_bytes(), true)
            .1
            .iter()
            .map(|p| p.rule)
            .collect()
    }

    #[test]
    fn a_good_example_has_no_problem() {
        let line = r#"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}]}"#;
        assert!(rules(line).is_empty());
    }

    #[test]
    fn each_format_problem_is_named() {
        assert_eq!(rules("{\"messages\": ["), vec![INVALID_JSON]);
        assert_eq!(rules("[1]"), vec![INVALID_JSON]);
        assert_eq!(
            rules(r#"{"prompt":"x"}"#),
            vec![UNKNOWN_KEY, MISSING_MESSAGES]
        );
        assert_eq!(
            rules(r#"{"messages":[{"role":"robot","content":"x"},{"role":"user","content":"x"}]}"#),
            vec![UNKNOWN_ROLE, NO_ASSISTANT]
        );
        assert_eq!(
            rules(r#"{"messages":[{"role":"user"},{"role":"assistant","content":"x","mood":1}]}"#),
            vec![MISSING_CONTENT, UNKNOWN_KEY]
        );
        let unanswered = r#"{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"refund","arguments":"{}"}}]},{"role":"assistant","content":"done"}]}"#;
        assert_eq!(rules(unanswered), vec![UNANSWERED_CALL]);
    }

    #[test]
    fn a_cut_off_last_line_says_so() {
        let (_, p) = parse(7, b"{\"messages\": [{\"role\"", false);
        assert!(p[0].detail.starts_with("the last line is cut off"), "{p:?}");
    }
}
