//! Upstream providers behind one trait.
//!
//! Every provider takes an OpenAI-shaped request and gives back OpenAI-shaped responses and
//! chunks, whatever it speaks on the wire. Providers are built from config through the
//! [`registry`]; the rest of Seam only sees `dyn Provider`.

pub mod anthropic;
mod complete;
mod error;
mod http;
pub mod openai;
pub mod registry;
mod relayed;
mod scrub;
pub mod sim;
mod sse;
mod transport;

pub use complete::Complete;
pub use error::{AttemptError, ErrorClass};
pub use registry::Registry;
pub use relayed::{Passed, ProviderError};
pub use sse::{SseDecoder, SseError, SseEvent};

use async_trait::async_trait;
use bytes::Bytes;
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
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat.completions",
            Endpoint::Completions => "completions",
            Endpoint::Embeddings => "embeddings",
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
    /// A `chat.completion.chunk`; `raw` is its JSON as received, when OpenAI-native.
    Chunk { raw: Option<Bytes>, value: Value },
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
}
