//! Phase 6, relay: passes an upstream stream to the client as OpenAI SSE while watching it.
//!
//! Seam always asks for the usage chunk; the relay drops it again when the client did not
//! ask. A stream that ends early (upstream cut, idle timeout, client gone) is recorded with
//! how far it got and tokens estimated from what was relayed.

use crate::App;
use crate::account;
use crate::api::{finish, with_call_headers};
use crate::call::{AttemptEnd, CallCtx, CallEnd};
use crate::errors::GatewayError;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use http::{StatusCode, header};
use seam_providers::{AttemptError, ChunkStream, ErrorClass, Served, StreamEvent};
use seam_wire::{RequestBody, SSE_DONE, Usage, sse_data};
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The attempt that is serving the call.
pub struct Upstream {
    pub provider: String,
    pub model: String,
    pub started: Instant,
    pub ttfb_ms: Option<f64>,
    pub idle_timeout: Duration,
}

pub struct Relay {
    app: Arc<App>,
    ctx: Option<CallCtx>,
    up: Upstream,
    /// Events dispatch held back, sent first.
    head: std::collections::VecDeque<StreamEvent>,
    rest: ChunkStream,
    request: RequestBody,
    include_usage: bool,
    rewrite: Option<String>,
    usage: Option<Usage>,
    served: Served,
    text: String,
    chunks: u64,
}

impl Relay {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        app: Arc<App>,
        ctx: CallCtx,
        up: Upstream,
        head: Vec<StreamEvent>,
        rest: ChunkStream,
        request: RequestBody,
        include_usage: bool,
        rewrite: Option<String>,
    ) -> Relay {
        let served = match head.first() {
            Some(StreamEvent::Chunk { value, .. }) => Served::from_openai(value),
            _ => Served::default(),
        };
        Relay {
            app,
            ctx: Some(ctx),
            up,
            head: head.into(),
            rest,
            request,
            include_usage,
            rewrite,
            usage: None,
            served,
            text: String::new(),
            chunks: 0,
        }
    }

    /// The next bytes for the client, or `None` once the stream is over.
    async fn next_bytes(&mut self) -> Option<Bytes> {
        loop {
            self.ctx.as_ref()?;
            let event = match self.head.pop_front() {
                Some(e) => Ok(e),
                None => match tokio::time::timeout(self.up.idle_timeout, self.rest.next()).await {
                    Ok(Some(r)) => r,
                    Ok(None) => Err(AttemptError::new(
                        ErrorClass::StreamCut,
                        format!(
                            "provider `{}` ended the stream without [DONE]",
                            self.up.provider
                        ),
                    )),
                    Err(_) => Err(AttemptError::new(
                        ErrorClass::Timeout,
                        format!(
                            "provider `{}` sent nothing for {:.1}s mid-stream",
                            self.up.provider,
                            self.up.idle_timeout.as_secs_f64()
                        ),
                    )),
                },
            };
            match event {
                Ok(StreamEvent::Done) => {
                    self.end(None);
                    return Some(Bytes::from_static(SSE_DONE));
                }
                Ok(StreamEvent::Chunk { raw, value }) => {
                    if let Some(out) = self.relay_chunk(raw, value) {
                        return Some(out);
                    }
                }
                Err(e) => {
                    let api = GatewayError::Upstream(e.clone()).to_api();
                    self.end(Some(e));
                    return Some(api.to_sse());
                }
            }
        }
    }

    /// Watches one chunk and decides what of it the client gets.
    fn relay_chunk(&mut self, raw: Option<Bytes>, mut value: Value) -> Option<Bytes> {
        self.chunks += 1;
        let usage = value.get("usage").and_then(Usage::from_openai);
        if usage.is_some() {
            self.usage = usage;
        }
        if let Some(m) = value.get("model").and_then(Value::as_str)
            && self.served.model.as_deref() != Some(m)
        {
            self.served.model = Some(m.to_string());
        }
        if let Some(f) = value.get("system_fingerprint").and_then(Value::as_str) {
            self.served.fingerprint = Some(f.to_string());
        }
        let choices = value.get("choices").and_then(Value::as_array);
        for c in choices.into_iter().flatten() {
            if let Some(t) = c.pointer("/delta/content").and_then(Value::as_str) {
                self.text.push_str(t);
            }
            for call in c
                .pointer("/delta/tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(a) = call.pointer("/function/arguments").and_then(Value::as_str) {
                    self.text.push_str(a);
                }
            }
        }
        let usage_only = choices.is_none_or(|c| c.is_empty()) && usage.is_some();
        if usage_only && !self.include_usage {
            return None;
        }
        let strip_usage = !self.include_usage && value.get("usage").is_some();
        if self.rewrite.is_none() && !strip_usage {
            return Some(match raw {
                Some(r) => sse_data(&r),
                None => sse_data(&serde_json::to_vec(&value).unwrap_or_default()),
            });
        }
        if let Some(o) = value.as_object_mut() {
            if strip_usage {
                o.remove("usage");
            }
            if let Some(name) = &self.rewrite {
                o.insert("model".into(), Value::String(name.clone()));
            }
        }
        Some(sse_data(&serde_json::to_vec(&value).unwrap_or_default()))
    }

    /// Records the attempt and the call. `error` is why the stream ended early, if it did.
    fn end(&mut self, error: Option<AttemptError>) {
        let Some(mut ctx) = self.ctx.take() else {
            return;
        };
        let (usage, estimated) = match self.usage {
            Some(u) => (u, false),
            None => (
                Usage {
                    input_tokens: account::estimate_input(&self.request),
                    output_tokens: account::count_tokens(&self.text),
                },
                true,
            ),
        };
        let cost = account::cost(
            &ctx.live.config,
            self.served.model.as_deref(),
            &self.up.model,
            usage,
        );
        ctx.push_attempt(AttemptEnd {
            provider: &self.up.provider,
            model: &self.up.model,
            started: self.up.started,
            ttfb_ms: self.up.ttfb_ms,
            served: &self.served,
            usage,
            estimated,
            cost_usd: cost,
            error: error.as_ref(),
        });
        self.app.metrics.attempt(
            &ctx.route,
            &self.up.provider,
            error.as_ref().map(|e| e.class.as_str()),
        );
        self.app
            .metrics
            .usage(&ctx.route, &self.up.provider, usage, estimated, cost);
        let (outcome, class, message) = match &error {
            None => ("ok", None, None),
            Some(e) if e.class == ErrorClass::Cancelled => (
                "client_closed",
                Some("client_closed"),
                Some(e.message.clone()),
            ),
            Some(e) => (
                "error",
                Some(e.class.as_str()),
                Some(format!("{} (after {} chunks)", e.message, self.chunks)),
            ),
        };
        finish(
            &self.app,
            ctx,
            CallEnd {
                status: 200,
                outcome,
                error_class: class,
                error_message: message,
                ttfb_ms: self.up.ttfb_ms,
            },
        );
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if self.ctx.is_some() {
            let chunks = self.chunks;
            self.end(Some(AttemptError::new(
                ErrorClass::Cancelled,
                format!("client closed the stream after {chunks} chunks"),
            )));
        }
    }
}

impl IntoResponse for Relay {
    fn into_response(self) -> Response {
        let call_id = self.ctx.as_ref().map(|c| c.id.clone()).unwrap_or_default();
        // The attempts that failed before this one, plus this one.
        let attempts = self.ctx.as_ref().map_or(0, |c| c.attempts.len()) + 1;
        let served = self.served.model.clone();
        let body = futures_util::stream::unfold(self, |mut relay| async move {
            let bytes = relay.next_bytes().await?;
            Some((Ok::<_, Infallible>(bytes), relay))
        });
        let resp = (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            Body::from_stream(body),
        )
            .into_response();
        with_call_headers(resp, &call_id, attempts, served.as_deref())
    }
}
