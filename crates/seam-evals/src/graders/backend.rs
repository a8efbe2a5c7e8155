//! The calls some graders make (`similar` embeds, a judge answers), behind a trait the runner
//! implements through the gateway, so every grading call is recorded and priced as eval
//! traffic; tests use a fake.

use serde_json::{Map, Value};

/// A failed embedding or judge call: the grader's verdict is `error`, with this as its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// One message to a judge.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JudgeMessage {
    pub role: String,
    pub content: String,
}

impl JudgeMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> JudgeMessage {
        JudgeMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// A chat call to a judge model through a route.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JudgeRequest {
    /// The route (the `model` a client sends the gateway).
    pub route: String,
    pub messages: Vec<JudgeMessage>,
    /// Request fields to add to the chat body (a `score_model`'s `sampling_params`:
    /// `temperature`, `top_p`, `seed`, `max_completion_tokens`, `reasoning_effort`).
    pub params: Map<String, Value>,
}

/// What the model-backed graders call.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// One embedding per text, in order, through `route`.
    async fn embed(&self, route: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, BackendError>;

    /// The judge's answer text (the first choice's message content).
    async fn judge(&self, request: &JudgeRequest) -> Result<String, BackendError>;
}

/// A backend for datasets without model-backed graders: every call fails, so such a grader
/// errors rather than passes.
pub struct NoBackend;

#[async_trait::async_trait]
impl Backend for NoBackend {
    async fn embed(&self, _: &str, _: &[String]) -> Result<Vec<Vec<f32>>, BackendError> {
        Err(BackendError("no backend to embed with".into()))
    }

    async fn judge(&self, _: &JudgeRequest) -> Result<String, BackendError> {
        Err(BackendError("no backend to call a judge with".into()))
    }
}
