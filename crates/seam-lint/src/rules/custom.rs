//! Custom rules from a TOML file (`--rules FILE.toml`), strict: an unknown key, a bad regex,
//! a rule without phrases or patterns is an error naming the file, the rule and the key.
//!
//! ```toml
//! [escalation]
//! queues = ["billing", "tech-support"]   # the queues an escalation may name
//! [pii]
//! addresses = true                      # street addresses count as personal data
//! [repeat]
//! min_examples = 5                      # an answer in this many examples is reported
//! [severity]
//! unexplained-acronym = "off"           # a built-in rule's severity, or off
//!
//! [[rule]]
//! id = "promo-code"
//! message = "a promo code handed out"
//! severity = "error"                    # error | warning (default) | info
//! role = "assistant"                    # system | developer | user | assistant | tool | any
//! phrases = ["promo code"]              # case-insensitive, whole words
//! patterns = ['\bSAVE\d{2}\b']          # regexes
//! position = "any"                      # any | first | last (among that role's turns)
//! when = "no-tool-call"                 # always (default) | no-tool-call | tool-call
//! ```

use crate::example::{Example, Role};
use crate::rules::Severity;
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    #[serde(default)]
    pub escalation: Option<RawEscalation>,
    #[serde(default)]
    pub pii: Option<RawPii>,
    #[serde(default)]
    pub repeat: Option<RawRepeat>,
    #[serde(default)]
    pub severity: BTreeMap<String, Level>,
    #[serde(default)]
    pub rule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEscalation {
    pub queues: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPii {
    pub addresses: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepeat {
    pub min_examples: u32,
}

/// A built-in rule's severity, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Info,
    Off,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: String,
    pub message: String,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub phrases: Vec<String>,
    #[serde(default)]
    pub patterns: Vec<String>,
    #[serde(default)]
    pub position: Option<Position>,
    #[serde(default)]
    pub when: Option<When>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    Any,
    First,
    Last,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    Always,
    NoToolCall,
    ToolCall,
}

/// A custom rule, checked.
#[derive(Debug)]
pub struct Custom {
    pub id: String,
    pub message: String,
    pub severity: Severity,
    /// `None`: any role.
    role: Option<Role>,
    re: Regex,
    position: Position,
    when: When,
}

/// A rules file, checked.
#[derive(Debug, Default)]
pub struct RuleFile {
    pub queues: Option<Vec<String>>,
    pub addresses: bool,
    pub min_repeat: Option<u32>,
    pub severity: BTreeMap<String, Level>,
    pub rules: Vec<Custom>,
}

impl RuleFile {
    /// Reads and checks `path`; `builtin` are the ids custom rules may not take.
    pub fn load(path: &Path, builtin: &[&str]) -> Result<RuleFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        RuleFile::parse(&text, builtin).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str, builtin: &[&str]) -> Result<RuleFile, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
        for id in raw.severity.keys() {
            if !builtin.contains(&id.as_str()) {
                return Err(format!(
                    "[severity]: `{id}` is not a built-in rule (they are: {})",
                    builtin.join(", ")
                ));
            }
        }
        if let Some(r) = &raw.repeat
            && r.min_examples < 2
        {
            return Err("[repeat] min_examples: must be at least 2".into());
        }
        let mut rules: Vec<Custom> = Vec::new();
        for r in raw.rule {
            let custom = rule(r, builtin, &rules)?;
            rules.push(custom);
        }
        Ok(RuleFile {
            queues: raw.escalation.map(|e| e.queues),
            addresses: raw.pii.is_some_and(|p| p.addresses),
            min_repeat: raw.repeat.map(|r| r.min_examples),
            severity: raw.severity,
            rules,
        })
    }
}

fn rule(r: RawRule, builtin: &[&str], earlier: &[Custom]) -> Result<Custom, String> {
    let id = r.id;
    let bad = |key: &str, what: String| format!("rule `{id}`: `{key}`: {what}");
    let valid_id = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if !valid_id {
        return Err(bad(
            "id",
            "use lowercase letters, digits, `-`, `_` and `.`".into(),
        ));
    }
    if builtin.contains(&id.as_str()) || earlier.iter().any(|c| c.id == id) {
        return Err(bad("id", "another rule has this id".into()));
    }
    if r.message.trim().is_empty() {
        return Err(bad("message", "must not be empty".into()));
    }
    let role = match r.role.as_deref() {
        None => Some(Role::Assistant),
        Some("any") => None,
        Some(s) => Some(Role::parse(s).ok_or_else(|| {
            bad(
                "role",
                format!(
                    "`{s}` is not one of system, developer, user, assistant, tool, function, any"
                ),
            )
        })?),
    };
    if r.phrases.is_empty() && r.patterns.is_empty() {
        return Err(bad(
            "phrases",
            "give `phrases` or `patterns` (or both)".into(),
        ));
    }
    let mut alternatives: Vec<String> = Vec::new();
    for p in &r.phrases {
        if p.trim().is_empty() {
            return Err(bad("phrases", "an empty phrase matches everything".into()));
        }
        alternatives.push(format!(r"\b{}\b", regex::escape(p.trim())));
    }
    for p in &r.patterns {
        let compiled = Regex::new(p).map_err(|e| bad("patterns", format!("`{p}`: {e}")))?;
        if compiled.is_match("") {
            return Err(bad("patterns", format!("`{p}` matches empty text")));
        }
        alternatives.push(format!("(?:{p})"));
    }
    let pattern = format!("(?i){}", alternatives.join("|"));
    let re = Regex::new(&pattern).map_err(|e| bad("patterns", e.to_string()))?;
    Ok(Custom {
        message: r.message,
        severity: r.severity.unwrap_or(Severity::Warning),
        role,
        re,
        position: r.position.unwrap_or(Position::Any),
        when: r.when.unwrap_or(When::Always),
        id,
    })
}

impl Custom {
    /// The first match in each turn of `ex` the rule looks at.
    pub fn check(&self, ex: &Example, emit: &mut dyn FnMut(usize, &str)) {
        let tools = ex.has_tool_call();
        match self.when {
            When::NoToolCall if tools => return,
            When::ToolCall if !tools => return,
            _ => {}
        }
        let turns: Vec<usize> = ex
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| self.role.is_none_or(|r| r == m.role))
            .map(|(i, _)| i)
            .collect();
        let chosen: &[usize] = match self.position {
            Position::Any => &turns,
            Position::First => &turns[..turns.len().min(1)],
            Position::Last => &turns[turns.len().saturating_sub(1)..],
        };
        for &i in chosen {
            if let Some(m) = self.re.find(&ex.messages[i].text) {
                emit(i, m.as_str());
            }
        }
    }
}
