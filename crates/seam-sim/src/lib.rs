//! Seam's simulated upstream.
//!
//! One engine ([`Sim`]) scripted by a [`Scenario`], three wire formats ([`openai`],
//! [`responses`], [`anthropic`]), and two transports: [`server`] over real HTTP, and [`Sim::call`] for the
//! gateway's in-process `sim` provider.

pub mod anthropic;
pub mod completions;
pub mod engine;
pub mod openai;
pub mod output;
pub mod responses;
pub mod scenario;
pub mod server;

pub use engine::Sim;
pub use output::Output;
pub use scenario::Scenario;

use serde_json::Value;
use std::time::Duration;

/// Which API a request is for, by the path's last segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ChatCompletions,
    /// The legacy `text_completion` API.
    Completions,
    Embeddings,
    Messages,
    /// `POST /v1/responses`: OpenAI's Responses API.
    Responses,
}

impl Endpoint {
    pub fn from_path(path: &str) -> Option<Endpoint> {
        if path.ends_with("/chat/completions") {
            Some(Endpoint::ChatCompletions)
        } else if path.ends_with("/completions") {
            Some(Endpoint::Completions)
        } else if path.ends_with("/embeddings") {
            Some(Endpoint::Embeddings)
        } else if path.ends_with("/messages") {
            Some(Endpoint::Messages)
        } else if path.ends_with("/responses") {
            Some(Endpoint::Responses)
        } else {
            None
        }
    }
}

impl Sim {
    /// Answers one request: the delay to wait first, then what to send.
    pub fn call(&self, endpoint: Endpoint, body: &Value) -> (Duration, Output) {
        match endpoint {
            Endpoint::ChatCompletions => openai::chat(self, body),
            Endpoint::Completions => completions::completions(self, body),
            Endpoint::Embeddings => openai::embeddings(self, body),
            Endpoint::Messages => anthropic::messages(self, body),
            Endpoint::Responses => responses::create(self, body),
        }
    }
}
