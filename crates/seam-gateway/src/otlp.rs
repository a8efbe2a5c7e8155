//! OpenTelemetry traces: a span per call and one per upstream attempt, with the GenAI
//! semantic conventions (`gen_ai.*`), exported over OTLP (HTTP/protobuf) to
//! `[telemetry] otlp_endpoint`.
//!
//! Spans are built from the call's finished records, so they say what the records say. The
//! request path only hands the records to a bounded queue; a task batches and posts them.
//! When the queue is full or the collector fails, spans are dropped and counted
//! (`seam_otlp_spans_total{result}`): a collector outage never slows a call.

use crate::observe::Metrics;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value as Any,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span::SpanKind, status::StatusCode,
};
use prost::Message;
use seam_store::{AttemptRecord, CallRecord};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The caller's W3C trace context (`traceparent`), which the call's span continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parent {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

/// `traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`; anything else
/// (another version's extra fields aside) is ignored, as the W3C spec asks.
pub fn parent(headers: &http::HeaderMap) -> Option<Parent> {
    let v = headers.get("traceparent")?.to_str().ok()?.trim();
    let mut parts = v.split('-');
    let version = parts.next()?;
    let (trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?);
    if version.len() != 2 || version == "ff" || flags.len() != 2 {
        return None;
    }
    if version == "00" && parts.next().is_some() {
        return None;
    }
    let mut p = Parent {
        trace_id: [0; 16],
        span_id: [0; 8],
    };
    hex::decode_to_slice(trace, &mut p.trace_id).ok()?;
    hex::decode_to_slice(span, &mut p.span_id).ok()?;
    if p.trace_id == [0; 16] || p.span_id == [0; 8] {
        return None;
    }
    Some(p)
}

/// One finished call, as the exporter's task receives it.
pub struct Finished {
    pub call: CallRecord,
    pub attempts: Vec<AttemptRecord>,
    pub parent: Option<Parent>,
    /// Each attempt's provider kind (`openai`, `anthropic`, `sim`): `gen_ai.provider.name`.
    pub kinds: Vec<&'static str>,
}

/// The request path's handle: hands finished calls to the export task, never waits.
pub struct Exporter {
    tx: mpsc::Sender<Finished>,
    metrics: Arc<Metrics>,
}

impl Exporter {
    /// Starts the export task; it ends when the last handle is dropped, after a last batch.
    pub fn start(cfg: &seam_config::Otlp, metrics: Arc<Metrics>) -> Result<Exporter, String> {
        // A call is at least two spans; the queue holds calls.
        let (tx, rx) = mpsc::channel((cfg.queue_spans / 2).max(1));
        let client = seam_providers::http_client(cfg.export_timeout)?;
        let task = Task {
            url: format!("{}/v1/traces", cfg.endpoint),
            timeout: cfg.export_timeout,
            resource: resource(&cfg.service_name),
            batch_spans: cfg.batch_spans,
            client,
            metrics: metrics.clone(),
        };
        tokio::spawn(task.run(rx));
        Ok(Exporter { tx, metrics })
    }

    pub fn export(&self, f: Finished) {
        let spans = 1 + f.attempts.len() as u64;
        if self.tx.try_send(f).is_err() {
            self.metrics.otlp_spans("dropped_queue_full", spans);
        }
    }
}

struct Task {
    url: String,
    timeout: Duration,
    resource: Resource,
    batch_spans: usize,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
}

/// How long spans wait for a batch to fill before they are sent anyway.
const BATCH_WAIT: Duration = Duration::from_secs(1);

impl Task {
    async fn run(self, mut rx: mpsc::Receiver<Finished>) {
        let mut spans: Vec<Span> = Vec::with_capacity(self.batch_spans);
        loop {
            let first = match rx.recv().await {
                Some(f) => f,
                None => return,
            };
            spans.extend(call_spans(&first));
            let deadline = tokio::time::Instant::now() + BATCH_WAIT;
            let mut open = true;
            while spans.len() < self.batch_spans {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(f)) => spans.extend(call_spans(&f)),
                    Ok(None) => {
                        open = false;
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.send(std::mem::take(&mut spans)).await;
            if !open {
                return;
            }
        }
    }

    async fn send(&self, spans: Vec<Span>) {
        let n = spans.len() as u64;
        let body = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "seam".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec();
        let sent = self
            .client
            .post(&self.url)
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .timeout(self.timeout)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => self.metrics.otlp_spans("exported", n),
            Ok(r) => {
                self.metrics.otlp_spans("dropped_export_failed", n);
                warn_export(
                    format_args!("the collector answered {}", r.status()),
                    &self.url,
                );
            }
            Err(e) => {
                self.metrics.otlp_spans("dropped_export_failed", n);
                warn_export(format_args!("{}", error_kind(&e)), &self.url);
            }
        }
    }
}

/// Logged at most once a minute: a collector outage must not flood the log.
fn warn_export(why: std::fmt::Arguments<'_>, url: &str) {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(i64::MIN);
    let now = crate::now_ms();
    let last = LAST.load(Ordering::Relaxed);
    if now.saturating_sub(last) >= 60_000
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(
            url,
            "could not export spans ({why}); dropping them (seam_otlp_spans_total), logged at most once a minute"
        );
    }
}

fn error_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    }
}

fn resource(service: &str) -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", service),
            kv("service.version", env!("CARGO_PKG_VERSION")),
        ],
        ..Default::default()
    }
}

fn kv(key: &str, v: impl Into<Val>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(match v.into() {
                Val::S(s) => Any::StringValue(s),
                Val::I(i) => Any::IntValue(i),
                Val::F(f) => Any::DoubleValue(f),
                Val::B(b) => Any::BoolValue(b),
            }),
        }),
        ..Default::default()
    }
}

enum Val {
    S(String),
    I(i64),
    F(f64),
    B(bool),
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::S(s.to_string())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::S(s)
    }
}
impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::I(i)
    }
}
impl From<f64> for Val {
    fn from(f: f64) -> Val {
        Val::F(f)
    }
}
impl From<bool> for Val {
    fn from(b: bool) -> Val {
        Val::B(b)
    }
}

/// The trace a call's spans belong to: the caller's W3C trace; else the Seam trace it named
/// (`x-seam-trace`, hashed with the tenant so two tenants' ids never meet); else its own.
fn trace_id(f: &Finished) -> [u8; 16] {
    if let Some(p) = f.parent {
        return p.trace_id;
    }
    let trace = f.call.trace_id.as_deref().unwrap_or(&f.call.id);
    let digest = Sha256::new()
        .chain_update(f.call.tenant.as_bytes())
        .chain_update([0])
        .chain_update(trace.as_bytes())
        .finalize();
    let mut id = [0; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// A span id derived from a record id: stable, so a re-export would not fork the trace.
fn span_id(record_id: &str) -> [u8; 8] {
    let digest = Sha256::digest(record_id.as_bytes());
    let mut id = [0; 8];
    id.copy_from_slice(&digest[..8]);
    if id == [0; 8] {
        id[7] = 1;
    }
    id
}

fn nanos(ms: f64) -> u64 {
    if ms.is_finite() && ms > 0.0 {
        (ms * 1e6) as u64
    } else {
        0
    }
}

fn operation(endpoint: &str) -> &'static str {
    match endpoint {
        "embeddings" => "embeddings",
        _ => "chat",
    }
}

fn status(error: Option<&str>, message: Option<&str>) -> Option<Status> {
    error.map(|class| Status {
        code: StatusCode::Error as i32,
        message: message.unwrap_or(class).to_string(),
    })
}

/// The call's span (SERVER, continuing the caller's context) and one CLIENT span per
/// attempt under it.
pub fn call_spans(f: &Finished) -> Vec<Span> {
    let c = &f.call;
    let trace = trace_id(f).to_vec();
    let call_span = span_id(&c.id);
    let op = operation(&c.endpoint);
    let start = nanos(c.created_ms as f64);
    let mut attrs = vec![
        kv("gen_ai.operation.name", op),
        kv("gen_ai.request.model", c.requested_model.as_str()),
        kv("gen_ai.usage.input_tokens", c.input_tokens),
        kv("gen_ai.usage.output_tokens", c.output_tokens),
        kv("http.response.status_code", c.status),
        kv("seam.call_id", c.id.as_str()),
        kv("seam.tenant", c.tenant.as_str()),
        kv("seam.route", c.route.as_str()),
        kv("seam.outcome", c.outcome.as_str()),
        kv("seam.attempts", c.attempts),
        kv("seam.cost_usd", c.cost_usd),
        kv("seam.tokens_estimated", c.tokens_estimated),
        kv("seam.unpriced", c.unpriced),
        kv("seam.stream", c.stream),
    ];
    if let Some(m) = &c.served_model {
        attrs.push(kv("gen_ai.response.model", m.as_str()));
    }
    if let Some(p) = &c.provider
        && let Some(kind) = c_kind(f, p)
    {
        attrs.push(kv("gen_ai.provider.name", kind));
    }
    if let Some(e) = &c.error_class {
        attrs.push(kv("error.type", e.as_str()));
    }
    if let Some(t) = &c.trace_id {
        attrs.push(kv("seam.trace_id", t.as_str()));
    }
    if let Some(s) = &c.session_id {
        attrs.push(kv("seam.session_id", s.as_str()));
    }
    let mut spans = Vec::with_capacity(1 + f.attempts.len());
    spans.push(Span {
        trace_id: trace.clone(),
        span_id: call_span.to_vec(),
        parent_span_id: f.parent.map(|p| p.span_id.to_vec()).unwrap_or_default(),
        name: format!("{op} {}", c.requested_model),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + nanos(c.latency_ms),
        attributes: attrs,
        status: status(c.error_class.as_deref(), c.error_message.as_deref()),
        ..Default::default()
    });
    for (a, kind) in f.attempts.iter().zip(&f.kinds) {
        let start = nanos(a.created_ms as f64);
        let mut attrs = vec![
            kv("gen_ai.operation.name", op),
            kv("gen_ai.provider.name", *kind),
            kv("gen_ai.request.model", a.model.as_str()),
            kv("gen_ai.usage.input_tokens", a.input_tokens),
            kv("gen_ai.usage.output_tokens", a.output_tokens),
            kv("seam.attempt", a.seq),
            kv("seam.provider", a.provider.as_str()),
            kv("seam.cost_usd", a.cost_usd),
            kv("seam.tokens_estimated", a.tokens_estimated),
            kv("seam.unpriced", a.unpriced),
        ];
        if let Some(m) = &a.served_model {
            attrs.push(kv("gen_ai.response.model", m.as_str()));
        }
        if let Some(s) = a.status {
            attrs.push(kv("http.response.status_code", s));
        }
        if let Some(e) = &a.error_class {
            attrs.push(kv("error.type", e.as_str()));
        }
        spans.push(Span {
            trace_id: trace.clone(),
            span_id: span_id(&a.id).to_vec(),
            parent_span_id: call_span.to_vec(),
            name: format!("{op} {}", a.model),
            kind: SpanKind::Client as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start + nanos(a.latency_ms),
            attributes: attrs,
            status: status(a.error_class.as_deref(), None),
            ..Default::default()
        });
    }
    spans
}

/// The kind of the provider that served the call (its last attempt's).
fn c_kind(f: &Finished, provider: &str) -> Option<&'static str> {
    f.attempts
        .iter()
        .zip(&f.kinds)
        .rev()
        .find(|(a, _)| a.provider == provider)
        .map(|(_, k)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("traceparent", v.parse().unwrap());
        h
    }

    #[test]
    fn traceparent_is_read_as_the_w3c_spec_says() {
        let p = parent(&headers(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ))
        .expect("valid");
        assert_eq!(hex::encode(p.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex::encode(p.span_id), "00f067aa0ba902b7");
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "garbage",
        ] {
            assert_eq!(parent(&headers(bad)), None, "{bad}");
        }
        // A later version may add fields.
        assert!(
            parent(&headers(
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more"
            ))
            .is_some()
        );
    }

    fn finished(id: &str, tenant: &str, trace: Option<&str>) -> Finished {
        let mut call = seam_store::conformance::sample_call(id, 1_000, "r");
        call.tenant = tenant.into();
        call.trace_id = trace.map(str::to_string);
        let attempt = seam_store::conformance::sample_attempt(&call, 1, true);
        Finished {
            call,
            attempts: vec![attempt],
            parent: None,
            kinds: vec!["openai"],
        }
    }

    #[test]
    fn the_calls_of_one_seam_trace_share_a_trace_and_tenants_never_do() {
        let a = call_spans(&finished("call_a", "acme", Some("run-1")));
        let b = call_spans(&finished("call_b", "acme", Some("run-1")));
        let other = call_spans(&finished("call_c", "globex", Some("run-1")));
        let alone = call_spans(&finished("call_d", "acme", None));
        assert_eq!(a[0].trace_id, b[0].trace_id);
        assert_ne!(a[0].trace_id, other[0].trace_id);
        assert_ne!(a[0].trace_id, alone[0].trace_id);
        assert_ne!(a[0].span_id, b[0].span_id);
        // The attempt hangs under its call, in the same trace; the call has no parent.
        assert_eq!(a[1].parent_span_id, a[0].span_id);
        assert_eq!(a[1].trace_id, a[0].trace_id);
        assert!(a[0].parent_span_id.is_empty());
        assert_eq!(a[0].start_time_unix_nano, 1_000_000_000);
    }
}
