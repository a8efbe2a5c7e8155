//! `[telemetry]`: OpenTelemetry traces of calls and attempts, exported over OTLP.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTelemetry {
    pub otlp_endpoint: Option<String>,
    pub service_name: Option<String>,
    pub queue_spans: Option<usize>,
    pub batch_spans: Option<usize>,
    pub export_timeout_ms: Option<u64>,
}

/// `[telemetry]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Telemetry {
    /// Where spans go: OTLP over HTTP/protobuf, posted to `{endpoint}/v1/traces`.
    pub otlp: Option<Otlp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Otlp {
    /// The collector's base URL without `/v1/traces`, e.g. `http://127.0.0.1:4318`.
    pub endpoint: String,
    /// `service.name` on every span's resource.
    pub service_name: String,
    /// Spans waiting to be sent; beyond it spans are dropped (and counted), never waited for.
    pub queue_spans: usize,
    /// Most spans in one export request.
    pub batch_spans: usize,
    pub export_timeout: std::time::Duration,
}

pub(crate) fn telemetry(raw: Option<RawTelemetry>, problems: &mut Vec<String>) -> Telemetry {
    let raw = raw.unwrap_or_default();
    let Some(endpoint) = raw.otlp_endpoint else {
        for (set, key) in [
            (raw.service_name.is_some(), "service_name"),
            (raw.queue_spans.is_some(), "queue_spans"),
            (raw.batch_spans.is_some(), "batch_spans"),
            (raw.export_timeout_ms.is_some(), "export_timeout_ms"),
        ] {
            if set {
                problems.push(format!(
                    "telemetry.{key}: applies only with telemetry.otlp_endpoint"
                ));
            }
        }
        return Telemetry { otlp: None };
    };
    let endpoint = endpoint
        .trim_end_matches('/')
        .trim_end_matches("/v1/traces")
        .to_string();
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        || endpoint.len() <= "https://".len()
    {
        problems.push(format!(
            "telemetry.otlp_endpoint: `{endpoint}` must be an http:// or https:// URL, e.g. http://127.0.0.1:4318"
        ));
    }
    let positive = |problems: &mut Vec<String>, key: &str, v: Option<usize>, default: usize| match v
    {
        Some(0) => {
            problems.push(format!("telemetry.{key}: at least 1"));
            default
        }
        Some(n) => n,
        None => default,
    };
    let queue_spans = positive(problems, "queue_spans", raw.queue_spans, 16_384);
    let batch_spans = positive(problems, "batch_spans", raw.batch_spans, 512);
    let service_name = raw.service_name.unwrap_or_else(|| "seam".into());
    if service_name.trim().is_empty() {
        problems.push("telemetry.service_name: must not be empty".into());
    }
    Telemetry {
        otlp: Some(Otlp {
            endpoint,
            service_name,
            queue_spans,
            batch_spans,
            export_timeout: std::time::Duration::from_millis(
                raw.export_timeout_ms.unwrap_or(5_000).max(1),
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_turns_export_on_and_is_checked() {
        let mut p = Vec::new();
        assert_eq!(telemetry(None, &mut p), Telemetry { otlp: None });
        let t = telemetry(
            Some(RawTelemetry {
                otlp_endpoint: Some("http://127.0.0.1:4318/v1/traces".into()),
                ..Default::default()
            }),
            &mut p,
        );
        assert!(p.is_empty(), "{p:?}");
        let o = t.otlp.expect("on");
        assert_eq!(o.endpoint, "http://127.0.0.1:4318");
        assert_eq!((o.service_name.as_str(), o.batch_spans), ("seam", 512));
        telemetry(
            Some(RawTelemetry {
                otlp_endpoint: Some("collector:4318".into()),
                queue_spans: Some(0),
                ..Default::default()
            }),
            &mut p,
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("telemetry.otlp_endpoint"), "{p:?}");
        let mut p = Vec::new();
        telemetry(
            Some(RawTelemetry {
                service_name: Some("x".into()),
                ..Default::default()
            }),
            &mut p,
        );
        assert!(p[0].contains("applies only with"), "{p:?}");
    }
}
