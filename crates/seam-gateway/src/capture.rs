//! Content capture: which calls keep what they asked and answered (the policy of their tenant
//! and route, sampled per trace, failures kept on request), and the content itself, built off
//! the response path by the record writer.
//!
//! A call only keeps the request's and the answer's bytes while it runs (or the stream's
//! assembled answer); parsing, redaction and compression happen when the writer takes the
//! call's records ([`Captured::build`]), so a captured call answers as fast as any. The bytes
//! are copied first ([`own`]): as they come they are slices of a connection's read buffer.
//! With no `mode = "full"` anywhere, a call does one boolean check.

use crate::FastMap;
use bytes::Bytes;
use seam_capture::{Answer, Content, Redactor, StreamAnswer, ToolCall};
use seam_config::{CaptureMode, CapturePolicy, Config};
use seam_store::ContentRecord;
use seam_vocab::Outcome;
use serde_json::Value;
use std::sync::Arc;

/// A (tenant, route)'s policy when it keeps content, its redactor compiled once per load.
pub struct Policy {
    sample: f64,
    keep_failures: bool,
    max_bytes: usize,
    redactor: Arc<Redactor>,
}

/// Every (tenant, route)'s policy, resolved when a config is loaded; `None`: nothing kept.
#[derive(Default)]
pub struct Policies {
    enabled: bool,
    /// Tenants without keys of their own.
    anyone: Routes,
    tenants: FastMap<String, Routes>,
}

#[derive(Default)]
struct Routes {
    routes: FastMap<String, Option<Arc<Policy>>>,
    /// A route without capture keys of its own (or none resolved yet).
    other: Option<Arc<Policy>>,
}

impl Policies {
    /// Resolves and compiles every policy of `config`; fails only on a pattern that does not
    /// compile, which validating the config already refuses.
    pub fn build(config: &Config) -> Result<Policies, String> {
        if !config.capture_enabled() {
            return Ok(Policies::default());
        }
        let mut redactors: FastMap<String, Arc<Redactor>> = FastMap::default();
        let mut compile = |p: CapturePolicy| -> Result<Option<Arc<Policy>>, String> {
            if p.mode != CaptureMode::Full {
                return Ok(None);
            }
            let key = format!("{:?}", p.redact);
            let redactor = match redactors.get(&key) {
                Some(r) => r.clone(),
                None => {
                    let r = Arc::new(Redactor::for_policy(&p)?);
                    redactors.insert(key, r.clone());
                    r
                }
            };
            Ok(Some(Arc::new(Policy {
                sample: p.sample,
                keep_failures: p.keep_failures,
                max_bytes: p.max_bytes,
                redactor,
            })))
        };
        let without_tenants = seam_config::Capture {
            tenants: Default::default(),
            ..config.capture.clone()
        };
        let mut routes_of =
            |capture: &seam_config::Capture, tenant: &str| -> Result<Routes, String> {
                let mut routes = FastMap::default();
                for r in &config.routes {
                    routes.insert(
                        r.name.clone(),
                        compile(capture.policy(tenant, r.capture.as_ref()))?,
                    );
                }
                Ok(Routes {
                    routes,
                    other: compile(capture.policy(tenant, None))?,
                })
            };
        let anyone = routes_of(&without_tenants, "")?;
        let mut tenants = FastMap::default();
        for t in config.capture.tenants.keys() {
            tenants.insert(t.clone(), routes_of(&config.capture, t)?);
        }
        Ok(Policies {
            enabled: true,
            anyone,
            tenants,
        })
    }

    /// Whether any call may keep content: when not, calls skip capture entirely.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn policy(&self, tenant: &str, route: &str) -> Option<&Arc<Policy>> {
        let r = self.tenants.get(tenant).unwrap_or(&self.anyone);
        r.routes.get(route).unwrap_or(&r.other).as_ref()
    }

    /// The redactor of `tenant`'s policy when it keeps content on any of its routes (its
    /// default first): a feedback comment is kept, redacted, only then.
    pub fn tenant_redactor(&self, tenant: &str) -> Option<Arc<Redactor>> {
        let r = self.tenants.get(tenant).unwrap_or(&self.anyone);
        let mut routes: Vec<(&String, &Option<Arc<Policy>>)> = r.routes.iter().collect();
        routes.sort_by(|a, b| a.0.cmp(b.0));
        r.other
            .iter()
            .chain(routes.into_iter().filter_map(|(_, p)| p.as_ref()))
            .next()
            .map(|p| p.redactor.clone())
    }

    /// Whether a call of `tenant` on `route` in trace `trace` may keep content: `Some` when its
    /// policy keeps it, sampled or kept for failures (decided once it has ended).
    pub fn decide(
        &self,
        tenant: &str,
        route: &str,
        trace: &str,
        request: Request,
    ) -> Option<Box<Pending>> {
        let policy = self.policy(tenant, route)?;
        let sampled = seam_capture::sampled(trace, policy.sample);
        (sampled || policy.keep_failures).then(|| {
            Box::new(Pending {
                policy: policy.clone(),
                sampled,
                request: Request {
                    bytes: own(&request.bytes),
                    responses: request.responses,
                },
                release: None,
            })
        })
    }
}

/// An exact-size copy of `bytes`, for keeping until the writer builds the content. A body as
/// hyper hands it over is a slice of its connection's read buffer (8 KiB or more): kept for
/// the writer's ~100 ms, it pins that buffer, the connection allocates a new one for its next
/// read, and the old one is freed later on another thread. That churn (fresh pages faulted in,
/// cache misses) cost a captured call more than copying a few hundred bytes does.
fn own(bytes: &Bytes) -> Bytes {
    Bytes::copy_from_slice(bytes)
}

/// The client's request as it was before a release was rendered in front of it.
pub struct Request {
    pub bytes: Bytes,
    /// A Responses API request (translated to chat when built).
    pub responses: bool,
}

/// A call that may keep content, while it runs.
pub struct Pending {
    policy: Arc<Policy>,
    sampled: bool,
    request: Request,
    pub release: Option<String>,
}

impl Pending {
    /// A stream's answer is assembled as it is relayed, within the policy's size.
    pub fn stream_answer(&self) -> StreamAnswer {
        StreamAnswer::new(self.policy.max_bytes)
    }

    /// What the call keeps once it has ended: all of a sampled call; of a call kept only for
    /// failures, nothing unless it failed or was refused.
    pub fn end(self: Box<Self>, outcome: Outcome, answer: Option<Answered>) -> Option<Captured> {
        let failed = matches!(outcome, Outcome::Error | Outcome::Refused);
        (self.sampled || (self.policy.keep_failures && failed)).then(|| Captured {
            pending: self,
            answer,
        })
    }
}

/// What came back, as the relay had it.
pub enum Answered {
    /// A complete answer's bytes: a chat completion, or a Responses API response (`native`).
    Complete { body: Bytes, native: bool },
    /// A stream's answer assembled from its chunks; `cut` at `max_bytes`.
    Stream { answer: Answer, cut: bool },
}

impl Answered {
    /// A complete answer's body, copied off the connection's buffer (see [`own`]).
    pub fn complete(body: &Bytes, native: bool) -> Answered {
        Answered::Complete {
            body: own(body),
            native,
        }
    }
}

/// A call's content to be kept, not yet built.
pub struct Captured {
    pending: Box<Pending>,
    answer: Option<Answered>,
}

impl Captured {
    /// The content record of call `call_id`: parsed, redacted, truncated and compressed.
    /// `None` only if it cannot be encoded, which is logged without the content.
    pub fn build(&self, call_id: &str, created_ms: i64) -> Option<ContentRecord> {
        let p = &self.pending;
        let max = p.policy.max_bytes;
        let mut content = if p.request.responses {
            match seam_wire::RequestBody::parse(p.request.bytes.clone())
                .ok()
                .map(|b| crate::edge::responses::translate(&b))
            {
                Some(Ok(chat)) => Content::from_request_bytes(chat.raw(), max),
                _ => Content::from_request_bytes(&p.request.bytes, max),
            }
        } else {
            Content::from_request_bytes(&p.request.bytes, max)
        };
        content.release.clone_from(&p.release);
        content.answer = match &self.answer {
            None => None,
            Some(Answered::Complete {
                body,
                native: false,
            }) => Answer::from_response_bytes(body),
            Some(Answered::Complete { body, native: true }) => {
                serde_json::from_slice::<Value>(body)
                    .ok()
                    .map(|v| responses_answer(&v))
            }
            Some(Answered::Stream { answer, cut }) => {
                content.truncated |= cut;
                Some(answer.clone())
            }
        };
        content.seal(&p.policy.redactor, max);
        match content.encode() {
            Ok((body, bytes)) => Some(ContentRecord {
                call_id: call_id.to_string(),
                created_ms,
                format: ContentRecord::FORMAT,
                bytes: bytes as i64,
                truncated: content.truncated,
                redactions: i64::from(content.redactions.total()),
                body,
            }),
            Err(e) => {
                tracing::warn!(call_id, error = %e, "captured content could not be encoded; not kept");
                None
            }
        }
    }
}

/// A Responses API response's answer: its output text, refusal and function calls.
fn responses_answer(v: &Value) -> Answer {
    let mut answer = Answer::default();
    let items = v.get("output").and_then(Value::as_array);
    for item in items.into_iter().flatten() {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                let parts = item.get("content").and_then(Value::as_array);
                for part in parts.into_iter().flatten() {
                    let (to, key) = match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => (&mut answer.text, "text"),
                        Some("refusal") => (&mut answer.refusal, "refusal"),
                        _ => continue,
                    };
                    if let Some(t) = part.get(key).and_then(Value::as_str) {
                        to.get_or_insert_with(String::new).push_str(t);
                    }
                }
            }
            Some("function_call") => {
                let s = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
                answer.tool_calls.push(ToolCall {
                    id: s("call_id"),
                    name: s("name").unwrap_or_default(),
                    arguments: s("arguments").unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    answer.finish_reason = v.get("status").and_then(Value::as_str).map(str::to_string);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_capture::Part;

    /// `body` at the start of an 8 KiB buffer, as hyper's read buffer holds it.
    fn read_buffer(body: &[u8]) -> Bytes {
        let mut buf = vec![b' '; 8192];
        buf[..body.len()].copy_from_slice(body);
        Bytes::from(buf)
    }

    /// A kept call holds copies of its request and answer: the connection buffers they were
    /// read into are free for the connection's next read as soon as the call is done.
    #[test]
    fn a_kept_call_does_not_pin_the_buffers_it_was_read_into() {
        let text = "[[providers]]\nname = \"local\"\nkind = \"sim\"\n[[routes]]\nname = \"chat\"\ntargets = [{ provider = \"local\", model = \"m\" }]\ncapture = { mode = \"full\" }\n";
        let config = seam_config::parse(text, std::path::Path::new("t.toml"), &|_| None).unwrap();
        let policies = Policies::build(&config).unwrap();
        let asked = br#"{"model":"chat","messages":[{"role":"user","content":"hi"}]}"#;
        let answered = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}]}"#;
        let (client, upstream) = (read_buffer(asked), read_buffer(answered));
        let request = Request {
            bytes: client.slice(..asked.len()),
            responses: false,
        };
        let pending = policies
            .decide("t", "chat", "trace", request)
            .expect("kept");
        let answer = Answered::complete(&upstream.slice(..answered.len()), false);
        let captured = pending.end(Outcome::Ok, Some(answer)).expect("kept");
        assert!(
            client.is_unique(),
            "the client connection's buffer is pinned"
        );
        assert!(
            upstream.is_unique(),
            "the upstream connection's buffer is pinned"
        );
        let record = captured.build("call-1", 0).expect("built");
        let content = Content::from_bytes(&record.body).unwrap();
        assert_eq!(
            content.messages[0].parts,
            vec![Part::Text { text: "hi".into() }]
        );
        assert_eq!(content.answer.unwrap().text.as_deref(), Some("hello"));
    }
}
