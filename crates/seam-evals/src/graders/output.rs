//! What a grader is given besides the case: the answer, how long it took and what it cost.

use serde::{Deserialize, Serialize};

/// A model's answer to a case, with the call's latency and cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// The answer's text (`None`: it had none, as an answer of tool calls only).
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// The provider's refusal field (OpenAI's `message.refusal`).
    #[serde(default)]
    pub refusal: Option<String>,
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// The call's wall time as the client saw it, in milliseconds.
    #[serde(default)]
    pub latency_ms: Option<f64>,
    /// What the call cost in USD (`None`: not priced).
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

/// A tool call as OpenAI returns it: the function's name and its arguments as JSON text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    pub arguments: String,
}

impl Output {
    /// An answer that is this text.
    pub fn text(text: impl Into<String>) -> Output {
        Output {
            text: Some(text.into()),
            ..Output::default()
        }
    }

    /// The answer's text, empty when it had none.
    pub fn text_or_empty(&self) -> &str {
        self.text.as_deref().unwrap_or("")
    }

    /// The tool calls as OpenAI writes them (`{"id", "type", "function": {"name",
    /// "arguments"}}`), for templates.
    pub(crate) fn tools_json(&self) -> serde_json::Value {
        self.tool_calls
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                })
            })
            .collect::<Vec<_>>()
            .into()
    }
}
