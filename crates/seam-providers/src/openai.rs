//! Any OpenAI-compatible endpoint: OpenAI, vLLM, Ollama, llama.cpp server, Seam's sim.

use crate::http::{ErrorShape, body_bytes, sse_events, status_error};
use crate::transport::{Response, Target, Transport, uri};
use crate::{
    AttemptError, Chunk, Complete, Endpoint, ErrorClass, Provider, Reply, StreamEvent,
    UpstreamRequest,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use seam_config::Secret;
use serde_json::Value;

pub struct OpenAi {
    name: String,
    chat_url: Target,
    completions_url: Target,
    embeddings_url: Target,
    responses_url: Target,
    /// `base_url`, for the paths built per call (`/responses/{id}`).
    base: String,
    /// Whether it speaks the Responses API (`[[providers]] responses`, default true).
    responses: bool,
    /// `Bearer KEY`, built once and marked sensitive so it never prints.
    auth: Option<http::HeaderValue>,
    key: Option<Secret>,
    client: Transport,
    kind: &'static str,
    max_event_bytes: usize,
}

impl OpenAi {
    pub fn new(cfg: &seam_config::Provider) -> Result<OpenAi, String> {
        let base = cfg.base_url.clone().unwrap_or_default();
        let base = base.trim_end_matches('/');
        Ok(OpenAi {
            name: cfg.name.clone(),
            chat_url: uri(base, "/chat/completions")?,
            completions_url: uri(base, "/completions")?,
            embeddings_url: uri(base, "/embeddings")?,
            responses_url: uri(base, "/responses")?,
            base: base.to_string(),
            responses: cfg.responses,
            auth: bearer(cfg.api_key.as_ref())?,
            key: cfg.api_key.clone(),
            client: Transport::new(cfg.connect_timeout)?,
            kind: "openai",
            max_event_bytes: cfg.max_event_bytes,
        })
    }

    /// Reports another kind (a sim reached over HTTP is OpenAI on the wire).
    pub fn labelled(mut self, kind: &'static str) -> OpenAi {
        self.kind = kind;
        self
    }
}

/// `Authorization: Bearer KEY` as a sensitive header value.
pub(crate) fn bearer(key: Option<&Secret>) -> Result<Option<http::HeaderValue>, String> {
    key.map(|k| {
        let mut v = http::HeaderValue::from_str(&format!("Bearer {}", k.expose()))
            .map_err(|_| "the API key has characters that cannot go in a header".to_string())?;
        v.set_sensitive(true);
        Ok(v)
    })
    .transpose()
}

/// The client's body with the target model and, for chat streams, the usage chunk requested
/// (a Responses stream always ends with its usage). Every other field is copied as the
/// client wrote it, in its order.
pub fn upstream_body(req: &UpstreamRequest<'_>) -> Vec<u8> {
    let body = req.body;
    // Chat and legacy completions stream usage in a last chunk when asked; Responses always do.
    let usage_chunk = req.stream
        && matches!(
            req.endpoint,
            Endpoint::ChatCompletions | Endpoint::Completions
        );
    let mut out = Vec::with_capacity(body.raw().len() + 64);
    out.push(b'{');
    let mut first = true;
    let mut field = |out: &mut Vec<u8>, key: &str| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
    };
    if body.raw_field("model").is_none() {
        field(&mut out, "model");
        let _ = serde_json::to_writer(&mut out, req.model);
    }
    for (key, value) in body.fields() {
        field(&mut out, key);
        match key {
            "model" => {
                let _ = serde_json::to_writer(&mut out, req.model);
            }
            "stream_options" if usage_chunk => {
                let opts: Value = serde_json::from_str(value).unwrap_or(Value::Null);
                let _ = serde_json::to_writer(&mut out, &with_usage(opts));
            }
            _ => out.extend_from_slice(value.as_bytes()),
        }
    }
    if usage_chunk && body.raw_field("stream_options").is_none() {
        field(&mut out, "stream_options");
        let _ = serde_json::to_writer(&mut out, &with_usage(Value::Null));
    }
    out.push(b'}');
    out
}

/// `stream_options` with `include_usage` forced on, other options kept.
fn with_usage(opts: Value) -> Value {
    let mut o = match opts {
        Value::Object(o) => o,
        _ => serde_json::Map::new(),
    };
    o.insert("include_usage".into(), Value::Bool(true));
    Value::Object(o)
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
        self.send_unscrubbed(req)
            .await
            .map_err(|e| e.scrubbed(self.key.as_ref()))
    }

    fn responses(&self) -> bool {
        self.responses
    }

    async fn stored_response(
        &self,
        method: ::http::Method,
        id_and_query: &str,
    ) -> Result<crate::responses::Stored, AttemptError> {
        let key = self.key.as_ref();
        if !self.responses {
            return Err(AttemptError::new(
                ErrorClass::Status4xx,
                format!("provider `{}` does not store responses", self.name),
            ));
        }
        let target = uri(&self.base, &format!("/responses/{id_and_query}"))
            .map_err(|e| AttemptError::new(ErrorClass::Status4xx, e))?;
        let mut headers = ::http::HeaderMap::with_capacity(2);
        if let Some(auth) = &self.auth {
            headers.insert(::http::header::AUTHORIZATION, auth.clone());
        }
        let resp = self
            .client
            .send(method, &target, headers, None, &self.name)
            .await
            .map_err(|e| e.scrubbed(key))?;
        let status = resp.status().as_u16();
        let body = body_bytes(resp, &self.name)
            .await
            .map_err(|e| e.scrubbed(key))?;
        let text = crate::scrub::redact(&String::from_utf8_lossy(&body), key);
        Ok(crate::responses::Stored {
            status,
            body: Bytes::from(text),
        })
    }
}

impl OpenAi {
    /// `send`, whose errors may still hold what the upstream echoed; a stream's errors are
    /// scrubbed as they come.
    async fn send_unscrubbed(&self, req: UpstreamRequest<'_>) -> Result<Reply, AttemptError> {
        let url = match req.endpoint {
            Endpoint::ChatCompletions => &self.chat_url,
            Endpoint::Completions => &self.completions_url,
            Endpoint::Embeddings => &self.embeddings_url,
            Endpoint::Responses => &self.responses_url,
        };
        let mut headers = http::HeaderMap::with_capacity(3);
        if let Some(auth) = &self.auth {
            headers.insert(http::header::AUTHORIZATION, auth.clone());
        }
        let resp = self
            .client
            .post_json(url, headers, upstream_body(&req), &self.name)
            .await?;
        if !resp.status().is_success() {
            return Err(
                status_error(resp, &self.name, self.key.as_ref(), ErrorShape::OpenAi).await,
            );
        }
        let passed = crate::Passed::from_headers(resp.headers());
        let responses = req.endpoint == Endpoint::Responses;
        if req.stream && responses {
            return Ok(Reply::Stream(
                responses_stream(
                    resp,
                    self.name.clone(),
                    self.key.clone(),
                    self.max_event_bytes,
                ),
                passed,
            ));
        }
        if req.stream {
            return Ok(Reply::Stream(
                stream(
                    resp,
                    self.name.clone(),
                    self.key.clone(),
                    self.max_event_bytes,
                ),
                passed,
            ));
        }
        let body = body_bytes(resp, &self.name).await?;
        let with_passed = |mut e: AttemptError| {
            e.passed = passed.clone();
            e
        };
        let mut complete = if responses {
            crate::responses::complete(body, &self.name).map_err(with_passed)?
        } else {
            Complete::from_openai_bytes(body, &self.name).map_err(with_passed)?
        };
        complete.passed = passed;
        Ok(Reply::Complete(complete))
    }
}

fn stream(
    resp: Response,
    name: String,
    key: Option<Secret>,
    max_event_bytes: usize,
) -> crate::ChunkStream {
    sse_events(resp, name.clone(), max_event_bytes)
        .map(move |ev| {
            let ev = ev.map_err(|e| e.scrubbed(key.as_ref()))?;
            stream_event(ev.data, &name, key.as_ref())
        })
        .boxed()
}

/// One event of a chat stream. The chunk keeps its bytes; it is read, not built: the view
/// checks the whole event is JSON and finds an `error` in it.
fn stream_event(
    data: crate::SseData,
    name: &str,
    key: Option<&Secret>,
) -> Result<StreamEvent, AttemptError> {
    if data.trim() == "[DONE]" {
        return Ok(StreamEvent::Done);
    }
    let (view, error) = match crate::ChunkView::parse(&data) {
        Ok(view) => {
            let error = view
                .error
                .as_ref()
                .map(|e| e.message.as_str().unwrap_or("error").to_string());
            (view.into_owned(), error)
        }
        Err(e) => {
            return Err(AttemptError::new(
                ErrorClass::BadResponse,
                format!("provider `{name}` sent a stream event that is not JSON: {e}"),
            ));
        }
    };
    if let Some(message) = error {
        let mut e = AttemptError::new(
            ErrorClass::StreamCut,
            format!("provider `{name}` failed mid-stream: {message}"),
        );
        e.body = Some(data.to_string());
        return Err(e.scrubbed(key));
    }
    // The relay and dispatch read the chunk through this view again.
    Ok(StreamEvent::Chunk(Chunk::from_raw_read(
        data.into_bytes(),
        view,
    )))
}

/// A Responses stream: typed events, ended by a terminal one (see [`crate::responses`]).
fn responses_stream(
    resp: Response,
    name: String,
    key: Option<Secret>,
    max_event_bytes: usize,
) -> crate::ChunkStream {
    sse_events(resp, name.clone(), max_event_bytes)
        .flat_map(move |ev| {
            let events = ev
                .and_then(|ev| crate::responses::stream_events(&ev.data, &name))
                .map_err(|e| e.scrubbed(key.as_ref()));
            let items: Vec<Result<StreamEvent, AttemptError>> = match events {
                Ok(evs) => evs.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
            futures_util::stream::iter(items)
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_wire::RequestBody;
    use serde_json::json;

    #[test]
    fn the_outgoing_body_swaps_the_model_and_asks_for_usage() {
        let body = RequestBody::parse(
            json!({"model": "chat", "messages": [], "seed": 1, "stream": true, "stream_options": {"x": 1}})
                .to_string()
                .into(),
        )
        .unwrap();
        let req = UpstreamRequest {
            endpoint: Endpoint::ChatCompletions,
            model: "target-1",
            body: &body,
            stream: true,
        };
        let out: Value = serde_json::from_slice(&upstream_body(&req)).unwrap();
        assert_eq!(
            out,
            json!({"model": "target-1", "messages": [], "seed": 1, "stream": true, "stream_options": {"x": 1, "include_usage": true}})
        );
        let plain = RequestBody::parse(json!({"messages": []}).to_string().into()).unwrap();
        let req = UpstreamRequest {
            stream: false,
            body: &plain,
            ..req
        };
        let out: Value = serde_json::from_slice(&upstream_body(&req)).unwrap();
        assert_eq!(out, json!({"model": "target-1", "messages": []}));
    }

    #[test]
    fn a_stream_event_is_a_chunk_as_received_the_end_or_a_failure() {
        let raw = r#"{"choices":[{"delta":{"content":"hi"}}]}"#;
        let Ok(StreamEvent::Chunk(c)) = stream_event(raw.into(), "up", None) else {
            panic!("not a chunk");
        };
        assert_eq!(c.raw().map(|b| b.as_ref()), Some(raw.as_bytes()));
        assert!(matches!(
            stream_event(" [DONE] ".into(), "up", None),
            Ok(StreamEvent::Done)
        ));
        let e = stream_event("<html>".into(), "up", None).unwrap_err();
        assert_eq!(e.class, ErrorClass::BadResponse);
        assert!(
            e.message
                .starts_with("provider `up` sent a stream event that is not JSON: expected value"),
            "{}",
            e.message
        );
        let key = Secret::new("sk-live-123".into());
        let body = r#"{"error":{"message":"bad key sk-live-123","type":"auth"}}"#;
        let e = stream_event(body.into(), "up", Some(&key)).unwrap_err();
        assert_eq!(e.class, ErrorClass::StreamCut);
        assert!(
            e.message
                .starts_with("provider `up` failed mid-stream: bad key")
                && !e.message.contains("sk-live-123"),
            "{}",
            e.message
        );
        assert!(!e.body.unwrap().contains("sk-live-123"));
        let e = stream_event(r#"{"error":null}"#.into(), "up", None).unwrap_err();
        assert_eq!(e.message, "provider `up` failed mid-stream: error");
    }

    #[test]
    fn a_responses_stream_is_not_asked_for_a_usage_chunk() {
        let body = RequestBody::parse(
            json!({"model": "chat", "input": "hi", "stream": true})
                .to_string()
                .into(),
        )
        .unwrap();
        let req = UpstreamRequest {
            endpoint: Endpoint::Responses,
            model: "target-1",
            body: &body,
            stream: true,
        };
        let out: Value = serde_json::from_slice(&upstream_body(&req)).unwrap();
        assert_eq!(
            out,
            json!({"model": "target-1", "input": "hi", "stream": true})
        );
    }
}
