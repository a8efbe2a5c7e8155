//! OpenTelemetry traces: a span per call and one per upstream attempt, with the GenAI
//! semantic conventions (`gen_ai.*`), exported over OTLP (HTTP/protobuf) to
//! `[telemetry] otlp_endpoint`.
//!
//! Spans are built from the call's finished records, so they say what the records say. The
//! request path only hands the records to a bounded queue; a task batches and posts them.
//! When the queue is full or the collector fails, spans are dropped and counted
//! (`seam_otlp_spans_total{result}`): a collector outage never slows a call.

mod wire;

use crate::observe::Metrics;
use crate::tasks::Stop;
use seam_store::{AttemptRecord, CallRecord};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use wire::{SPAN_ATTRIBUTE as ATTR, Span, attribute};

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

/// One call's spans, encoded.
struct Encoded {
    bytes: Vec<u8>,
    spans: u64,
}

/// The request path's handle: encodes a finished call's spans from its records and hands
/// them to the export task; never waits.
pub struct Exporter {
    tx: mpsc::Sender<Encoded>,
    metrics: Arc<Metrics>,
}

impl Exporter {
    /// Starts the export task; it ends at shutdown (or when the last handle is dropped), after
    /// sending what is queued.
    pub fn start(
        cfg: &seam_config::Otlp,
        metrics: Arc<Metrics>,
        tasks: &crate::tasks::Tasks,
    ) -> Result<Exporter, String> {
        // A call is at least two spans; the queue holds calls.
        let (tx, rx) = mpsc::channel((cfg.queue_spans / 2).max(1));
        let task = Task {
            url: format!("{}/v1/traces", cfg.endpoint),
            timeout: cfg.export_timeout,
            service_name: cfg.service_name.clone(),
            batch_spans: cfg.batch_spans as u64,
            client: crate::outbound::http_client(cfg.export_timeout)?,
            metrics: metrics.clone(),
        };
        tasks.spawn("OTLP export", move |stop| task.run(rx, stop));
        Ok(Exporter { tx, metrics })
    }

    /// `kind` names each attempt's provider kind (`gen_ai.provider.name`).
    pub fn export(
        &self,
        call: &CallRecord,
        attempts: &[AttemptRecord],
        parent: Option<Parent>,
        kind: impl Fn(&str) -> &'static str,
    ) {
        let spans = 1 + attempts.len() as u64;
        if self.tx.capacity() == 0 {
            self.metrics.otlp_spans("dropped_queue_full", spans);
            return;
        }
        let bytes = call_spans(call, attempts, parent, kind);
        if self.tx.try_send(Encoded { bytes, spans }).is_err() {
            self.metrics.otlp_spans("dropped_queue_full", spans);
        }
    }
}

struct Task {
    url: String,
    timeout: Duration,
    service_name: String,
    batch_spans: u64,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
}

/// How long spans wait for a batch to fill before they are sent anyway.
const BATCH_WAIT: Duration = Duration::from_secs(1);

impl Task {
    async fn run(self, mut rx: mpsc::Receiver<Encoded>, mut stop: Stop) {
        let mut batch: Vec<u8> = Vec::with_capacity(64 * 1024);
        loop {
            let first = tokio::select! {
                first = rx.recv() => match first {
                    Some(first) => first,
                    None => return,
                },
                _ = stop.wait() => return self.send_queued(&mut rx, &mut batch).await,
            };
            batch.clear();
            batch.extend_from_slice(&first.bytes);
            let mut n = first.spans;
            let deadline = tokio::time::Instant::now() + BATCH_WAIT;
            let mut open = true;
            let mut stopping = false;
            while n < self.batch_spans {
                let next = tokio::select! {
                    next = tokio::time::timeout_at(deadline, rx.recv()) => next,
                    _ = stop.wait() => {
                        stopping = true;
                        break;
                    }
                };
                match next {
                    Ok(Some(e)) => {
                        batch.extend_from_slice(&e.bytes);
                        n += e.spans;
                    }
                    Ok(None) => {
                        open = false;
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.send(&batch, n).await;
            if stopping {
                return self.send_queued(&mut rx, &mut batch).await;
            }
            if !open {
                return;
            }
        }
    }

    /// At shutdown: what is still queued, in batches, without waiting for more.
    async fn send_queued(&self, rx: &mut mpsc::Receiver<Encoded>, batch: &mut Vec<u8>) {
        rx.close();
        loop {
            batch.clear();
            let mut n = 0;
            while n < self.batch_spans {
                let Ok(e) = rx.try_recv() else { break };
                batch.extend_from_slice(&e.bytes);
                n += e.spans;
            }
            if n == 0 {
                return;
            }
            self.send(batch, n).await;
        }
    }

    async fn send(&self, spans: &[u8], n: u64) {
        let body = wire::request(
            &[
                ("service.name", &self.service_name),
                ("service.version", env!("CARGO_PKG_VERSION")),
            ],
            ("seam", env!("CARGO_PKG_VERSION")),
            spans,
        );
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
    static LOG: crate::throttle::LogThrottle = crate::throttle::LogThrottle::new(60_000);
    if let Some(left_out) = LOG.due() {
        tracing::warn!(
            url,
            left_out,
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

/// The call id's UUID (`call_<32 hex>`): random enough to be the ids of a call's own trace
/// and spans without hashing.
fn call_uuid(call: &CallRecord) -> [u8; 16] {
    let mut id = [0; 16];
    let hex = call.id.strip_prefix("call_").unwrap_or(&call.id);
    if hex::decode_to_slice(hex, &mut id).is_err() {
        id.copy_from_slice(&Sha256::digest(call.id.as_bytes())[..16]);
    }
    id
}

/// The trace a call's spans belong to: the caller's W3C trace; else the Seam trace it named
/// (`x-seam-trace`, hashed with the tenant so two tenants' ids never meet); else its own.
fn trace_id(call: &CallRecord, parent: Option<Parent>, uuid: &[u8; 16]) -> [u8; 16] {
    if let Some(p) = parent {
        return p.trace_id;
    }
    match &call.trace_id {
        Some(t) if *t != call.id => {
            let digest = Sha256::new()
                .chain_update(call.tenant.as_bytes())
                .chain_update([0])
                .chain_update(t.as_bytes())
                .finalize();
            let mut id = [0; 16];
            id.copy_from_slice(&digest[..16]);
            id
        }
        _ => *uuid,
    }
}

/// The call's span id: the UUID's random half; an attempt's: the same, marked with its number.
fn span_id(uuid: &[u8; 16], attempt: Option<i64>) -> [u8; 8] {
    let mut id = [0; 8];
    id.copy_from_slice(&uuid[8..]);
    if let Some(seq) = attempt {
        id[0] ^= 0x80;
        id[7] = id[7].wrapping_add(seq as u8);
    }
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
        "completions" => "text_completion",
        _ => "chat",
    }
}

/// The call's span (SERVER, continuing the caller's context) and one CLIENT span per
/// attempt under it, as consecutive `ScopeSpans.spans` entries.
fn call_spans(
    c: &CallRecord,
    attempts: &[AttemptRecord],
    parent: Option<Parent>,
    kind: impl Fn(&str) -> &'static str,
) -> Vec<u8> {
    let uuid = call_uuid(c);
    let trace = trace_id(c, parent, &uuid);
    let call_span = span_id(&uuid, None);
    let op = operation(&c.endpoint);
    let start = nanos(c.created_ms as f64);
    let mut out = Vec::with_capacity(768 + 512 * attempts.len());
    let mut s = Vec::with_capacity(768);
    Span {
        trace_id: &trace,
        span_id: &call_span,
        parent_span_id: parent.as_ref().map(|p| &p.span_id),
        name: (op, &c.requested_model),
        kind: wire::SPAN_KIND_SERVER,
        start_nanos: start,
        end_nanos: start + nanos(c.latency_ms),
    }
    .begin(&mut s);
    attribute(&mut s, ATTR, "gen_ai.operation.name", op);
    attribute(
        &mut s,
        ATTR,
        "gen_ai.request.model",
        c.requested_model.as_str(),
    );
    if let Some(m) = &c.served_model {
        attribute(&mut s, ATTR, "gen_ai.response.model", m.as_str());
    }
    if let Some(p) = &c.provider {
        attribute(&mut s, ATTR, "gen_ai.provider.name", kind(p));
    }
    attribute(&mut s, ATTR, "gen_ai.usage.input_tokens", c.input_tokens);
    attribute(&mut s, ATTR, "gen_ai.usage.output_tokens", c.output_tokens);
    attribute(&mut s, ATTR, "http.response.status_code", c.status);
    if let Some(e) = &c.error_class {
        attribute(&mut s, ATTR, "error.type", e.as_str());
    }
    attribute(&mut s, ATTR, "seam.call_id", c.id.as_str());
    attribute(&mut s, ATTR, "seam.tenant", c.tenant.as_str());
    attribute(&mut s, ATTR, "seam.route", c.route.as_str());
    attribute(&mut s, ATTR, "seam.outcome", c.outcome.as_str());
    attribute(&mut s, ATTR, "seam.attempts", c.attempts);
    attribute(&mut s, ATTR, "seam.cost_usd", c.cost_usd);
    attribute(&mut s, ATTR, "seam.tokens_estimated", c.tokens_estimated);
    attribute(&mut s, ATTR, "seam.unpriced", c.unpriced);
    attribute(&mut s, ATTR, "seam.stream", c.stream);
    if let Some(t) = &c.trace_id {
        attribute(&mut s, ATTR, "seam.trace_id", t.as_str());
    }
    if let Some(id) = &c.session_id {
        attribute(&mut s, ATTR, "seam.session_id", id.as_str());
    }
    if c.error_class.is_some() {
        let message = c
            .error_message
            .as_deref()
            .or(c.error_class.map(|e| e.as_str()));
        wire::error_status(&mut s, message.unwrap_or(""));
    }
    wire::push_span(&mut out, &s);
    for a in attempts {
        let start = nanos(a.created_ms as f64);
        Span {
            trace_id: &trace,
            span_id: &span_id(&uuid, Some(a.seq)),
            parent_span_id: Some(&call_span),
            name: (op, &a.model),
            kind: wire::SPAN_KIND_CLIENT,
            start_nanos: start,
            end_nanos: start + nanos(a.latency_ms),
        }
        .begin(&mut s);
        attribute(&mut s, ATTR, "gen_ai.operation.name", op);
        attribute(&mut s, ATTR, "gen_ai.provider.name", kind(&a.provider));
        attribute(&mut s, ATTR, "gen_ai.request.model", a.model.as_str());
        if let Some(m) = &a.served_model {
            attribute(&mut s, ATTR, "gen_ai.response.model", m.as_str());
        }
        attribute(&mut s, ATTR, "gen_ai.usage.input_tokens", a.input_tokens);
        attribute(&mut s, ATTR, "gen_ai.usage.output_tokens", a.output_tokens);
        if let Some(code) = a.status {
            attribute(&mut s, ATTR, "http.response.status_code", code);
        }
        if let Some(e) = &a.error_class {
            attribute(&mut s, ATTR, "error.type", e.as_str());
        }
        attribute(&mut s, ATTR, "seam.attempt", a.seq);
        attribute(&mut s, ATTR, "seam.provider", a.provider.as_str());
        attribute(&mut s, ATTR, "seam.cost_usd", a.cost_usd);
        attribute(&mut s, ATTR, "seam.tokens_estimated", a.tokens_estimated);
        attribute(&mut s, ATTR, "seam.unpriced", a.unpriced);
        if let Some(e) = &a.error_class {
            wire::error_status(&mut s, e.as_str());
        }
        wire::push_span(&mut out, &s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use opentelemetry_proto::tonic::trace::v1::{Span as PbSpan, span::SpanKind};
    use prost::Message;

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

    fn records(id: &str, tenant: &str, trace: Option<&str>) -> (CallRecord, Vec<AttemptRecord>) {
        let mut call = seam_store::conformance::sample_call(id, 1_000, "r");
        call.tenant = tenant.into();
        call.trace_id = trace.map(str::to_string);
        let mut failed = seam_store::conformance::sample_attempt(&call, 1, false);
        failed.error_class = Some(seam_vocab::ErrorClass::Status5xx);
        let ok = seam_store::conformance::sample_attempt(&call, 2, true);
        (call, vec![failed, ok])
    }

    /// Encodes one call as the exporter would send it, and decodes it with the official
    /// OpenTelemetry protobuf definitions.
    fn decoded(call: &CallRecord, attempts: &[AttemptRecord], p: Option<Parent>) -> Vec<PbSpan> {
        let spans = call_spans(call, attempts, p, |_| "openai");
        let body = wire::request(&[("service.name", "svc")], ("seam", "1"), &spans);
        let req = ExportTraceServiceRequest::decode(body.as_slice()).expect("valid OTLP");
        let rs = &req.resource_spans[0];
        let svc = &rs.resource.as_ref().unwrap().attributes[0];
        assert_eq!(svc.key, "service.name");
        assert_eq!(rs.scope_spans[0].scope.as_ref().unwrap().name, "seam");
        rs.scope_spans[0].spans.clone()
    }

    fn attr(span: &PbSpan, key: &str) -> Option<Any> {
        span.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone()?.value)
    }

    #[test]
    fn spans_decode_with_the_official_definitions() {
        let (mut call, attempts) = records("call_0192f0c4a1b27c3d8e9f00112233aabb", "acme", None);
        call.error_class = Some(seam_vocab::ErrorClass::Status5xx.into());
        call.error_message = Some("provider answered 502".into());
        let p = Parent {
            trace_id: [7; 16],
            span_id: [9; 8],
        };
        let spans = decoded(&call, &attempts, Some(p));
        assert_eq!(spans.len(), 3);
        let (c, a1, a2) = (&spans[0], &spans[1], &spans[2]);
        assert_eq!(c.trace_id, vec![7; 16]);
        assert_eq!(c.parent_span_id, vec![9; 8]);
        assert_eq!(c.kind, SpanKind::Server as i32);
        assert_eq!(c.name, format!("chat {}", call.requested_model));
        assert_eq!(c.start_time_unix_nano, 1_000_000_000);
        assert_eq!(
            c.end_time_unix_nano,
            1_000_000_000 + (call.latency_ms * 1e6) as u64
        );
        assert_eq!(
            attr(c, "gen_ai.request.model"),
            Some(Any::StringValue(call.requested_model.clone()))
        );
        assert_eq!(
            attr(c, "gen_ai.usage.input_tokens"),
            Some(Any::IntValue(call.input_tokens))
        );
        assert_eq!(
            attr(c, "seam.cost_usd"),
            Some(Any::DoubleValue(call.cost_usd))
        );
        assert_eq!(attr(c, "seam.stream"), Some(Any::BoolValue(call.stream)));
        assert_eq!(
            attr(c, "gen_ai.provider.name"),
            Some(Any::StringValue("openai".into()))
        );
        let status = c.status.as_ref().expect("an error status");
        assert_eq!(
            (status.code, status.message.as_str()),
            (2, "provider answered 502")
        );
        for a in [a1, a2] {
            assert_eq!(a.kind, SpanKind::Client as i32);
            assert_eq!(a.trace_id, c.trace_id);
            assert_eq!(a.parent_span_id, c.span_id);
        }
        assert_ne!(a1.span_id, a2.span_id);
        assert_ne!(a1.span_id, c.span_id);
        assert_eq!(attr(a1, "seam.attempt"), Some(Any::IntValue(1)));
        assert_eq!(
            attr(a1, "error.type"),
            Some(Any::StringValue("status_5xx".into()))
        );
        assert!(a2.status.is_none());
    }

    #[test]
    fn the_calls_of_one_seam_trace_share_a_trace_and_tenants_never_do() {
        let ids = |id: &str, tenant: &str, trace: Option<&str>| {
            let (c, a) = records(id, tenant, trace);
            decoded(&c, &a, None)
        };
        let a = ids(
            "call_00000000000000000000000000000001",
            "acme",
            Some("run-1"),
        );
        let b = ids(
            "call_00000000000000000000000000000002",
            "acme",
            Some("run-1"),
        );
        let other = ids(
            "call_00000000000000000000000000000003",
            "globex",
            Some("run-1"),
        );
        let alone = ids("call_00000000000000000000000000000004", "acme", None);
        assert_eq!(a[0].trace_id, b[0].trace_id);
        assert_ne!(a[0].trace_id, other[0].trace_id);
        assert_ne!(a[0].trace_id, alone[0].trace_id);
        assert_ne!(a[0].span_id, b[0].span_id);
        assert!(a[0].parent_span_id.is_empty());
    }
}
