//! Upstream providers behind one trait.
//!
//! Every provider takes an OpenAI-shaped request and gives back OpenAI-shaped responses and
//! chunks, whatever it speaks on the wire. Providers are built from config through the
//! [`registry`]; the rest of Seam only sees `dyn Provider`.

pub mod anthropic;
mod chunk;
mod complete;
mod error;
mod http;
pub mod openai;
pub mod registry;
mod relayed;
pub mod responses;
mod scrub;
pub mod sim;
mod sse;
mod transport;

pub use chunk::{ChoiceView, Chunk, ChunkView, DeltaView, ErrorView, Text, ToolCallView};
pub use complete::Complete;
pub use error::{AttemptError, ErrorClass};
pub use registry::Registry;
pub use relayed::{Passed, ProviderError};
pub use sse::{SseData, SseDecoder, SseError, SseEvent};

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use seam_wire::RequestBody;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ChatCompletions,
    /// The legacy completions API (`prompt` in, `text_completion` out): OpenAI-kind
    /// providers only.
    Completions,
    Embeddings,
    /// OpenAI's Responses API (`POST /responses`), for providers that speak it.
    Responses,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat.completions",
            Endpoint::Completions => "completions",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Responses => "responses",
        }
    }
}

/// One attempt's request: the client's OpenAI-shaped body and the model to ask for.
pub struct UpstreamRequest<'a> {
    pub endpoint: Endpoint,
    pub model: &'a str,
    pub body: &'a RequestBody,
    pub stream: bool,
}

/// What the upstream said it served.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Served {
    pub model: Option<String>,
    pub fingerprint: Option<String>,
}

impl Served {
    /// What a chat chunk says, or a Responses stream event of the Response it carries.
    pub fn from_event(v: &Value) -> Served {
        match v.get("response") {
            Some(r) if v.get("model").is_none() => Served::from_openai(r),
            _ => Served::from_openai(v),
        }
    }

    pub fn from_openai(v: &Value) -> Served {
        Served {
            model: v.get("model").and_then(Value::as_str).map(str::to_string),
            fingerprint: v
                .get("system_fingerprint")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }
}

/// One event of an OpenAI-shaped stream.
#[derive(Debug, Clone)]
pub enum StreamEvent {
    /// A `chat.completion.chunk` (see [`Chunk`]).
    Chunk(Chunk),
    /// `data: [DONE]`.
    Done,
}

pub type ChunkStream = BoxStream<'static, Result<StreamEvent, AttemptError>>;

pub enum Reply {
    Complete(Complete),
    /// A stream, with the headers of its response a client may read.
    Stream(ChunkStream, Passed),
}

#[async_trait]
pub trait Provider: Send + Sync {
    fn name(&self) -> &str;
    /// `openai`, `anthropic` or `sim`.
    fn kind(&self) -> &'static str;
    /// Makes one attempt. Resolves when the response headers (or the first event) arrive.
    async fn send(&self, req: UpstreamRequest<'_>) -> Result<Reply, AttemptError>;
    /// Whether it speaks the Responses API: [`Endpoint::Responses`] requests go to it as
    /// they are, and it answers with Responses bodies and events. The gateway translates
    /// `/v1/responses` calls to chat completions for a provider that does not.
    fn responses(&self) -> bool {
        false
    }
    /// `GET` or `DELETE /responses/{id}` (path and query after `/responses/`), for a provider
    /// that stores responses; the answer's status and body as the provider gave them.
    async fn stored_response(
        &self,
        _method: ::http::Method,
        _id_and_query: &str,
    ) -> Result<responses::Stored, AttemptError> {
        Err(AttemptError::new(
            ErrorClass::Status4xx,
            format!("provider `{}` does not store responses", self.name()),
        ))
    }
}
