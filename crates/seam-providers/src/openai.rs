//! Any OpenAI-compatible endpoint: OpenAI, vLLM, Ollama, llama.cpp server, Seam's sim.

use crate::http::{classify, client, json_body, redact, sse_events, status_error};
use crate::{
    AttemptError, Complete, Endpoint, ErrorClass, Provider, Reply, Served, StreamEvent,
    UpstreamRequest,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use seam_config::Secret;
use seam_wire::Usage;
use serde_json::{Value, json};

pub struct OpenAi {
    name: String,
    base_url: String,
    key: Option<Secret>,
    client: reqwest::Client,
    kind: &'static str,
}

impl OpenAi {
    pub fn new(cfg: &seam_config::Provider) -> Result<OpenAi, String> {
        Ok(OpenAi {
            name: cfg.name.clone(),
            base_url: cfg.base_url.clone().unwrap_or_default(),
            key: cfg.api_key.clone(),
            client: client(cfg.connect_timeout)?,
            kind: "openai",
        })
    }

    /// Reports another kind (a sim reached over HTTP is OpenAI on the wire).
    pub fn labelled(mut self, kind: &'static str) -> OpenAi {
        self.kind = kind;
        self
    }
}

/// The client's body with the target model, and for streams the usage chunk requested.
pub fn upstream_body(req: &UpstreamRequest<'_>) -> Vec<u8> {
    let mut body = req.body.clone();
    body.insert("model".into(), Value::String(req.model.to_string()));
    if req.stream {
        let opts = body.entry("stream_options").or_insert_with(|| json!({}));
        if let Some(o) = opts.as_object_mut() {
            o.insert("include_usage".into(), Value::Bool(true));
        } else {
            *opts = json!({"include_usage": true});
        }
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

#[async_trait]
impl Provider for OpenAi {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        self.kind
    }

    async fn send(&self, req: UpstreamRequest<'_>) -> Result<Reply, AttemptError> {
        let path = match req.endpoint {
            Endpoint::ChatCompletions => "/chat/completions",
            Endpoint::Embeddings => "/embeddings",
        };
        let mut builder = self
            .client
            .post(format!("{}{path}", self.base_url))
            .header("content-type", "application/json")
            .body(upstream_body(&req));
        if let Some(k) = &self.key {
            builder = builder.bearer_auth(k.expose());
        }
        let resp = builder.send().await.map_err(|e| classify(&e, &self.name))?;
        if !resp.status().is_success() {
            return Err(status_error(resp, &self.name, self.key.as_ref()).await);
        }
        if req.stream {
            return Ok(Reply::Stream(stream(
                resp,
                self.name.clone(),
                self.key.clone(),
            )));
        }
        let (raw, body) = json_body(resp, &self.name).await?;
        Ok(Reply::Complete(Complete {
            raw: Some(raw),
            usage: body.get("usage").and_then(Usage::from_openai),
            served: Served::from_openai(&body),
            body,
        }))
    }
}

fn stream(resp: reqwest::Response, name: String, key: Option<Secret>) -> crate::ChunkStream {
    sse_events(resp, name.clone())
        .map(move |ev| {
            let ev = ev?;
            if ev.data.trim() == "[DONE]" {
                return Ok(StreamEvent::Done);
            }
            let value: Value = serde_json::from_str(&ev.data).map_err(|e| {
                AttemptError::new(
                    ErrorClass::BadResponse,
                    format!("provider `{name}` sent a stream event that is not JSON: {e}"),
                )
            })?;
            if let Some(err) = value.get("error") {
                let message = err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("error");
                let mut e = AttemptError::new(
                    ErrorClass::StreamCut,
                    format!(
                        "provider `{name}` failed mid-stream: {}",
                        redact(message, key.as_ref())
                    ),
                );
                e.body = Some(redact(&ev.data, key.as_ref()));
                return Err(e);
            }
            Ok(StreamEvent::Chunk {
                raw: Some(Bytes::from(ev.data)),
                value,
            })
        })
        .boxed()
}
