//! Upstream providers behind one trait.
//!
//! Every provider takes an OpenAI-shaped request and gives back OpenAI-shaped responses and
//! chunks, whatever it speaks on the wire. Providers are built from config through the
//! [`registry`]; the rest of Seam only sees `dyn Provider`.

pub mod anthropic;
mod error;
mod http;
pub mod openai;
pub mod registry;
mod scrub;
pub mod sim;
mod sse;
mod transport;

pub use error::{AttemptError, ErrorClass};
pub use registry::Registry;
pub use sse::{SseDecoder, SseError, SseEvent};

/// A pooled HTTP client for Seam's own clients of a gateway (the CLI, the demo, tests): TLS
/// via rustls/ring, TCP_NODELAY on, no proxy discovery, no redirects.
pub fn http_client(connect_timeout: std::time::Duration) -> Result<reqwest::Client, String> {
    // The crypto provider is process-wide; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use seam_wire::{RequestBody, Usage};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ChatCompletions,
    Embeddings,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat.completions",
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

/// A complete OpenAI-shaped response body, with what Seam needs read out of it.
#[derive(Debug, Clone)]
pub struct Complete {
    /// The JSON body; for OpenAI-native providers, the bytes exactly as received.
    pub body: Bytes,
    pub usage: Option<Usage>,
    pub served: Served,
}

/// The few fields Seam reads from a response; the rest is scanned, not built.
#[derive(serde::Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    model: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    system_fingerprint: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    usage: Option<PeekUsage>,
}

#[derive(serde::Deserialize)]
struct PeekUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

impl Complete {
    /// Reads usage and the served model from an OpenAI-shaped body, checking it is JSON.
    pub fn from_openai_bytes(body: Bytes) -> Result<Complete, serde_json::Error> {
        let peek: Peek<'_> = serde_json::from_slice(&body)?;
        let usage = peek.usage.and_then(|u| {
            Some(Usage {
                input_tokens: u.prompt_tokens?,
                output_tokens: u.completion_tokens.unwrap_or(0),
            })
        });
        let served = Served {
            model: peek.model.map(|m| m.into_owned()),
            fingerprint: peek.system_fingerprint.map(|f| f.into_owned()),
        };
        Ok(Complete {
            body,
            usage,
            served,
        })
    }

    /// The body as a JSON document, for the rare caller that must change it.
    pub fn to_value(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
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
    Stream(ChunkStream),
}

#[async_trait]
pub trait Provider: Send + Sync {
    fn name(&self) -> &str;
    /// `openai`, `anthropic` or `sim`.
    fn kind(&self) -> &'static str;
    /// Makes one attempt. Resolves when the response headers (or the first event) arrive.
    async fn send(&self, req: UpstreamRequest<'_>) -> Result<Reply, AttemptError>;
}
