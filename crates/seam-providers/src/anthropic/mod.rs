//! Anthropic's Messages API, translated both ways for chat completions.

mod request;
mod response;
mod stream;

pub use request::to_messages_request;
pub use response::{finish_reason, to_chat_completion};
pub use stream::ChunkTranslator;

use crate::http::{ErrorShape, body_bytes, not_json, sse_events, status_error};
use crate::openai::bearer;
use crate::transport::{Target, Transport, uri};
use crate::{
    AttemptError, Complete, Endpoint, ErrorClass, Provider, Reply, Served, UpstreamRequest,
};
use async_trait::async_trait;
use futures_util::StreamExt;
use seam_config::Secret;
use seam_wire::UsageReport;

pub struct Anthropic {
    name: String,
    messages_url: Target,
    key: Option<Secret>,
    /// `Bearer KEY`, marked sensitive (the 2026 API takes the key as a bearer token).
    auth: Option<http::HeaderValue>,
    version: http::HeaderValue,
    client: Transport,
    max_event_bytes: usize,
}

impl Anthropic {
    pub fn new(cfg: &seam_config::Provider) -> Result<Anthropic, String> {
        let base = cfg.base_url.clone().unwrap_or_default();
        let base = base.trim_end_matches('/').trim_end_matches("/v1");
        Ok(Anthropic {
            name: cfg.name.clone(),
            messages_url: uri(base, "/v1/messages")?,
            key: cfg.api_key.clone(),
            auth: bearer(cfg.api_key.as_ref())?,
            version: http::HeaderValue::from_str(&cfg.anthropic_version).map_err(|_| {
                "anthropic_version has characters that cannot go in a header".to_string()
            })?,
            client: Transport::new(cfg.connect_timeout)?,
            max_event_bytes: cfg.max_event_bytes,
        })
    }
}

#[async_trait]
impl Provider for Anthropic {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "anthropic"
    }

    async fn send(&self, req: UpstreamRequest<'_>) -> Result<Reply, AttemptError> {
        self.send_unscrubbed(req)
            .await
            .map_err(|e| e.scrubbed(self.key.as_ref()))
    }
}

impl Anthropic {
    /// `send`, whose errors may still hold what the upstream echoed; a stream's errors are
    /// scrubbed as they come.
    async fn send_unscrubbed(&self, req: UpstreamRequest<'_>) -> Result<Reply, AttemptError> {
        let missing = match req.endpoint {
            Endpoint::ChatCompletions => None,
            Endpoint::Completions => Some(
                "legacy completions endpoint (/v1/completions); send the prompt as a message to /v1/chat/completions".to_string(),
            ),
            other => Some(format!("{} endpoint", other.as_str())),
        };
        if let Some(missing) = missing {
            return Err(AttemptError {
                status: Some(400),
                ..AttemptError::new(
                    ErrorClass::Status4xx,
                    format!("provider `{}` (anthropic) has no {missing}", self.name),
                )
            });
        }
        let body = to_messages_request(&req.body.to_map(), req.model, req.stream).map_err(|m| {
            AttemptError {
                status: Some(400),
                ..AttemptError::new(ErrorClass::Status4xx, m)
            }
        })?;
        let mut headers = http::HeaderMap::with_capacity(4);
        headers.insert("anthropic-version", self.version.clone());
        if let Some(auth) = &self.auth {
            headers.insert(http::header::AUTHORIZATION, auth.clone());
        }
        let resp = self
            .client
            .post_json(
                &self.messages_url,
                headers,
                serde_json::to_vec(&body).unwrap_or_default(),
                &self.name,
            )
            .await?;
        if !resp.status().is_success() {
            let mut err =
                status_error(resp, &self.name, self.key.as_ref(), ErrorShape::Anthropic).await;
            // Anthropic's error body is {"type":"error","error":{"type","message"}}.
            if let Some(msg) = err.upstream.as_ref().map(|u| u.message.clone()) {
                err.message = format!(
                    "provider `{}` answered {}: {msg}",
                    self.name,
                    err.status.unwrap_or(0),
                );
            }
            return Err(err);
        }
        let passed = crate::Passed::from_headers(resp.headers());
        if req.stream {
            let mut t = ChunkTranslator::new(self.name.clone());
            let key = self.key.clone();
            let s = sse_events(resp, self.name.clone(), self.max_event_bytes)
                .map(move |ev| {
                    ev.and_then(|e| t.translate(&e.event, &e.data))
                        .map_err(|e| e.scrubbed(key.as_ref()))
                })
                .flat_map(|r| {
                    futures_util::stream::iter(match r {
                        Ok(events) => events.into_iter().map(Ok).collect::<Vec<_>>(),
                        Err(e) => vec![Err(e)],
                    })
                })
                .boxed();
            return Ok(Reply::Stream(s, passed));
        }
        let raw = body_bytes(resp, &self.name).await?;
        let msg: serde_json::Value =
            serde_json::from_slice(&raw).map_err(|e| not_json(&self.name, e))?;
        // {"type": "error", "error": {...}} with a success status: no answer came.
        if msg.get("error").is_some_and(|e| !e.is_null()) {
            return Err(AttemptError::error_body(&self.name, 200, &msg, &raw));
        }
        let body = to_chat_completion(&msg).map_err(|m| {
            AttemptError::new(
                ErrorClass::BadResponse,
                format!("provider `{}` sent an unexpected message: {m}", self.name),
            )
        })?;
        Ok(Reply::Complete(Complete {
            usage: UsageReport::from_openai(body.get("usage")),
            served: Served::from_openai(&body),
            body: serde_json::to_vec(&body).unwrap_or_default().into(),
            passed,
        }))
    }
}
