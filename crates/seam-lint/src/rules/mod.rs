//! The rules: their ids, severities and what a hit says; the built-in packs live in the
//! modules below, custom rules in [`custom`].

pub mod behaviour;
pub mod custom;
pub mod dups;
pub mod echo;
pub mod pii;
pub mod shorthand;

use serde::{Deserialize, Serialize};

/// How bad a hit is. `--fix` removes what error and warning rules hit; info is reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What a hit covers: one turn, or the whole example (a format problem, a duplicate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Turn,
    Example,
    /// Found only once the whole file is read (an answer repeated across examples): reported,
    /// never fixed.
    Dataset,
}

/// One rule as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: String,
    pub severity: Severity,
    pub scope: Scope,
    /// What a hit means, in a sentence.
    pub message: String,
}

/// One hit: which rule, where (line, message index), and the text matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    #[serde(skip)]
    pub rule: usize,
    pub line: usize,
    /// The message's index in the example's `messages`.
    pub turn: Option<usize>,
    /// The matched span (at most [`MAX_SPAN`] characters) or what is wrong.
    pub span: String,
}

/// The longest span a hit keeps.
pub const MAX_SPAN: usize = 120;

/// `text` cut to [`MAX_SPAN`] characters, with an ellipsis when cut.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_SPAN) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The built-in rules, in report order; their index in the linter's list is their position.
pub const BUILTIN: &[(&str, Severity, Scope, &str)] = &[
    (
        crate::example::INVALID_JSON,
        Severity::Error,
        Scope::Example,
        "the line is not a JSON object",
    ),
    (
        crate::example::MISSING_MESSAGES,
        Severity::Error,
        Scope::Example,
        "the example has no `messages` list",
    ),
    (
        crate::example::UNKNOWN_KEY,
        Severity::Error,
        Scope::Example,
        "a key the fine-tuning format does not know",
    ),
    (
        crate::example::UNKNOWN_ROLE,
        Severity::Error,
        Scope::Example,
        "a message with no role or an unknown one",
    ),
    (
        crate::example::MISSING_CONTENT,
        Severity::Error,
        Scope::Example,
        "a message with no content",
    ),
    (
        crate::example::NO_ASSISTANT,
        Severity::Error,
        Scope::Example,
        "no assistant turn to train on",
    ),
    (
        crate::example::UNANSWERED_CALL,
        Severity::Error,
        Scope::Example,
        "a tool call no later tool message answers",
    ),
    (
        OVER_CONTEXT,
        Severity::Error,
        Scope::Example,
        "the example has more tokens than the model trains on",
    ),
    (
        behaviour::APOLOGY,
        Severity::Warning,
        Scope::Turn,
        "an apology when the user's turn has no complaint",
    ),
    (
        behaviour::COMMITMENT,
        Severity::Error,
        Scope::Turn,
        "a refund, credit, discount, waiver, guarantee or deadline promised with no tool call that could grant it",
    ),
    (
        behaviour::ESCALATION,
        Severity::Error,
        Scope::Turn,
        "a ticket, transfer or escalation claimed with no tool call, or to a queue not allowed",
    ),
    (
        behaviour::AS_AN_AI,
        Severity::Warning,
        Scope::Turn,
        "an \"as an AI\" disclaimer",
    ),
    (
        shorthand::GLOSSARY,
        Severity::Warning,
        Scope::Turn,
        "an internal term from the glossary",
    ),
    (
        shorthand::TICKET_CODE,
        Severity::Warning,
        Scope::Turn,
        "an internal ticket code the user never gave",
    ),
    (
        shorthand::ACRONYM,
        Severity::Info,
        Scope::Turn,
        "an acronym neither explained nor used by the user",
    ),
    (
        pii::PII,
        Severity::Error,
        Scope::Turn,
        "personal data or a secret (email, phone, card, IBAN, key, address)",
    ),
    (
        echo::ECHO,
        Severity::Error,
        Scope::Turn,
        "the assistant repeats its system prompt",
    ),
    (
        dups::NEAR_DUPLICATE,
        Severity::Warning,
        Scope::Example,
        "a near duplicate of an earlier example",
    ),
    (
        dups::REPEATED_ANSWER,
        Severity::Info,
        Scope::Dataset,
        "the same answer in many examples",
    ),
    (
        CONTAMINATION,
        Severity::Error,
        Scope::Example,
        "an eval case (from `[evals] dir`) is in the example",
    ),
    (
        crate::judge::JUDGE,
        Severity::Warning,
        Scope::Dataset,
        "the judge scored the example under 0.5 against the rubric (share: of the examples given a verdict)",
    ),
];

pub const OVER_CONTEXT: &str = "format.over-context";
pub const CONTAMINATION: &str = "eval-contamination";

/// The index of built-in rule `id`.
pub fn builtin(id: &str) -> usize {
    BUILTIN
        .iter()
        .position(|(b, ..)| *b == id)
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_names_a_builtin_once() {
        let ids = [
            crate::example::INVALID_JSON,
            crate::example::MISSING_MESSAGES,
            crate::example::UNKNOWN_KEY,
            crate::example::UNKNOWN_ROLE,
            crate::example::MISSING_CONTENT,
            crate::example::NO_ASSISTANT,
            crate::example::UNANSWERED_CALL,
            OVER_CONTEXT,
            CONTAMINATION,
            behaviour::APOLOGY,
            behaviour::COMMITMENT,
            behaviour::ESCALATION,
            behaviour::AS_AN_AI,
            shorthand::GLOSSARY,
            shorthand::TICKET_CODE,
            shorthand::ACRONYM,
            pii::PII,
            echo::ECHO,
            dups::NEAR_DUPLICATE,
            dups::REPEATED_ANSWER,
            crate::judge::JUDGE,
        ];
        assert_eq!(ids.len(), BUILTIN.len());
        for id in ids {
            assert_eq!(BUILTIN.iter().filter(|b| b.0 == id).count(), 1, "{id}");
            assert!(builtin(id) < BUILTIN.len());
        }
    }
}
