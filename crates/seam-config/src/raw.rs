//! The config file as written. Every table refuses keys it does not know.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub providers: Vec<RawProvider>,
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    #[serde(default)]
    pub prices: BTreeMap<String, RawPrice>,
    pub divergence: Option<crate::retry::RawDivergence>,
    pub limits: Option<crate::limits::RawLimits>,
    pub prompts: Option<RawPrompts>,
    pub sessions: Option<crate::sessions::RawSessions>,
    pub streams: Option<crate::streams::RawStreams>,
    pub records: Option<crate::records::RawRecords>,
    pub capture: Option<crate::capture::RawCapture>,
    pub audit: Option<crate::audit::RawAudit>,
    pub telemetry: Option<crate::telemetry::RawTelemetry>,
    pub evals: Option<crate::evals::RawEvals>,
    pub canaries: Option<crate::canaries::RawCanaries>,
    pub notify: Option<crate::notify::RawNotify>,
    pub ui: Option<crate::ui::RawUi>,
    pub calendar: Option<crate::calendar::RawCalendar>,
    pub failures: Option<crate::failures::RawFailures>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrompts {
    pub dir: Option<String>,
    pub live_channel: Option<String>,
    pub protected_channels: Option<Vec<String>>,
    pub render_fuel: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub listen: Option<String>,
    pub admin_token_env: Option<String>,
    pub metrics_token_env: Option<String>,
    pub max_body_bytes: Option<u64>,
    pub keyless_tenant: Option<String>,
    pub shutdown_grace_secs: Option<u64>,
    pub header_timeout_ms: Option<u64>,
    pub body_timeout_ms: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub max_connections: Option<u64>,
    pub cors: Option<crate::cors::RawCors>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStore {
    pub url: Option<String>,
    /// The environment variable holding the URL (for a URL with a password in it).
    pub url_env: Option<String>,
    pub max_connections: Option<u32>,
    pub batch_size: Option<usize>,
    pub queue_capacity: Option<usize>,
    pub flush_interval_ms: Option<u64>,
}

/// Which wire protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any OpenAI-compatible endpoint.
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
    /// Seam's simulated upstream: in-process, or over HTTP when `base_url` is set.
    Sim,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Sim => "sim",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub timeout_ms: Option<u64>,
    pub connect_timeout_ms: Option<u64>,
    pub anthropic_version: Option<String>,
    pub scenario: Option<String>,
    pub max_event_bytes: Option<u64>,
    pub responses: Option<bool>,
}

/// What the `model` field of a response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseModel {
    /// The model the provider says it served (as OpenAI itself answers an alias).
    #[default]
    Served,
    /// The route name the client asked for.
    Route,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub name: String,
    pub targets: Vec<RawTarget>,
    pub response_model: Option<ResponseModel>,
    pub retry: Option<crate::retry::RawRetry>,
    /// Overrides of `[limits.trace_default]` for calls on this route.
    pub trace_limits: Option<crate::limits::TraceLimits>,
    pub stream_slo: Option<crate::streams::StreamSlo>,
    pub rechunk: Option<crate::streams::RawRechunk>,
    pub capture: Option<crate::capture::RawCapturePolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTarget {
    pub provider: String,
    pub model: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrice {
    pub input: f64,
    pub output: f64,
    pub training: Option<f64>,
}
