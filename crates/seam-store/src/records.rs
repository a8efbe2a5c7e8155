//! What Seam records: one [`CallRecord`] per client request, one [`AttemptRecord`] per
//! upstream try.

use seam_vocab::{
    CallErrorClass, DeployKind, DeployMode, ErrorClass, EventKind, Outcome, Purpose, SloVerdict,
};
use serde::{Deserialize, Serialize};

/// One request a client made to Seam.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub id: String,
    pub created_ms: i64,
    pub tenant: String,
    pub key_id: Option<String>,
    pub trace_id: Option<String>,
    pub session_id: Option<String>,
    /// What the client called: `chat.completions`, `embeddings` or `messages` (Anthropic format).
    pub endpoint: String,
    pub route: String,
    pub stream: bool,
    pub requested_model: String,
    /// The provider whose attempt decided the call (the last one tried).
    pub provider: Option<String>,
    pub served_model: Option<String>,
    pub system_fingerprint: Option<String>,
    /// The HTTP status Seam answered with.
    pub status: i64,
    /// How the call ended for its client (see [`Outcome`]).
    pub outcome: Outcome,
    /// Its deciding attempt's class, the gateway's own, a refusal's code, or `client_closed`.
    pub error_class: Option<CallErrorClass>,
    pub error_message: Option<String>,
    pub attempts: i64,
    pub latency_ms: f64,
    pub ttfb_ms: Option<f64>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Sum of every attempt's cost, failed attempts included.
    pub cost_usd: f64,
    pub tokens_estimated: bool,
    /// The retry budget refused a retry this call needed; it failed fast.
    pub budget_exhausted: bool,
    /// For a `prompt:` call, the release it was served from.
    #[serde(default)]
    pub release_id: Option<String>,
    /// Some attempt had tokens to bill and no price in `[prices]`: `cost_usd` counts none of
    /// them (it is incomplete, not a true $0).
    #[serde(default)]
    pub unpriced: bool,
    /// The id the upstream gave the request (`x-request-id`) of its answering, else last
    /// failed, attempt.
    #[serde(default)]
    pub upstream_request_id: Option<String>,
    /// What the call was for (`x-seam-purpose`): live traffic, stored as NULL and left out of
    /// JSON, or `eval`.
    #[serde(default, skip_serializing_if = "Purpose::is_live")]
    pub purpose: Purpose,
    /// The xxh3-64 of the request body as the client sent it, in 16 lowercase hex characters:
    /// the same request sent again has the same hash. None for embeddings, and for calls
    /// recorded before migration 26.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_hash: Option<String>,
}

/// An attempt's id: `att_<the call id without its call_ prefix>_<seq>`. The `attempt_rows`
/// view (migration 10) derives the id of an attempt kept in its call's row the same way.
pub fn attempt_id(call_id: &str, seq: i64) -> String {
    use std::fmt::Write;
    let mut id = String::with_capacity(call_id.len() + 8);
    id.push_str("att_");
    id.push_str(call_suffix(call_id));
    let _ = write!(id, "_{seq}");
    id
}

/// Whether `id` is [`attempt_id`]`(call_id, 1)`, without building it.
pub(crate) fn is_first_attempt_id(id: &str, call_id: &str) -> bool {
    id.strip_prefix("att_").and_then(|r| r.strip_suffix("_1")) == Some(call_suffix(call_id))
}

fn call_suffix(call_id: &str) -> &str {
    call_id.strip_prefix("call_").unwrap_or(call_id)
}

/// One HTTP try Seam made upstream for a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub id: String,
    pub call_id: String,
    pub seq: i64,
    pub created_ms: i64,
    pub tenant: String,
    pub trace_id: Option<String>,
    pub route: String,
    pub provider: String,
    /// The model Seam asked the provider for.
    pub model: String,
    pub served_model: Option<String>,
    pub system_fingerprint: Option<String>,
    /// Upstream HTTP status, when one arrived.
    pub status: Option<i64>,
    /// `ok` or `error`.
    pub outcome: Outcome,
    /// `connect`, `timeout`, `reset`, `status_429`, `status_5xx`, `status_4xx`, `stream_cut`,
    /// `bad_response` (also a success status whose body is an error), `redirect` (a 3xx),
    /// `cancelled`.
    pub error_class: Option<ErrorClass>,
    /// The upstream's error body, truncated; never contains Seam's or the provider's keys.
    pub error_body: Option<String>,
    pub latency_ms: f64,
    pub ttfb_ms: Option<f64>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub tokens_estimated: bool,
    /// It had tokens to bill and neither the served model nor the model asked for has a price
    /// in `[prices]`: its `cost_usd` of 0 counts none of them.
    #[serde(default)]
    pub unpriced: bool,
    /// The id the upstream gave this request (`x-request-id`, Anthropic's `request-id`).
    #[serde(default)]
    pub upstream_request_id: Option<String>,
}

/// A virtual API key as stored: only its hash, never the key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyRecord {
    pub id: String,
    pub tenant: String,
    pub name: Option<String>,
    /// The first characters of the key, enough to recognise it in a list.
    pub prefix: String,
    #[serde(skip)]
    pub hash: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
    /// The key's own limits, as a JSON object of `METRIC_per_WINDOW` to its maximum.
    pub limits: Option<String>,
}

impl KeyRecord {
    /// Whether `id_or_prefix` names this key: its id, or the start of its prefix.
    pub fn is_named_by(&self, id_or_prefix: &str) -> bool {
        self.id == id_or_prefix || self.prefix.starts_with(id_or_prefix)
    }
}

/// One entry of the change timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    pub id: String,
    pub created_ms: i64,
    /// What happened, e.g. `provider_degraded_hidden_by_retries`.
    pub kind: EventKind,
    pub route: Option<String>,
    pub provider: Option<String>,
    pub message: String,
    /// Figures behind the event, as JSON text.
    pub details: String,
}

impl EventRecord {
    /// An event that happens now, with a fresh id: the one way events are made.
    pub fn new(kind: EventKind, message: String, details: serde_json::Value) -> EventRecord {
        EventRecord {
            id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
            created_ms: crate::now_ms(),
            kind,
            route: None,
            provider: None,
            message,
            details: details.to_string(),
        }
    }

    /// The route it concerns.
    pub fn route(mut self, route: &str) -> EventRecord {
        self.route = Some(route.to_string());
        self
    }

    /// The provider it concerns.
    pub fn provider(mut self, provider: &str) -> EventRecord {
        self.provider = Some(provider.to_string());
        self
    }

    /// The event as JSON, its details parsed rather than left as text.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["details"] = serde_json::from_str(&self.details).unwrap_or(serde_json::Value::Null);
        v
    }
}

/// A (served model, fingerprint) a provider answered a requested model with, first seen when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServedRecord {
    pub provider: String,
    pub requested_model: String,
    pub served_model: String,
    /// Empty when the provider sends none.
    pub system_fingerprint: String,
    pub first_seen_ms: i64,
    pub first_call_id: String,
}

/// A person who acts on the control plane; only a hash of their token is kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRecord {
    pub id: String,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub admin: bool,
    pub created_ms: i64,
}

/// A tenant-scoped role of a user (`operator` or `viewer`); `admin` is `UserRecord::admin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRecord {
    pub user_id: String,
    pub role: String,
    pub tenant: String,
    pub created_ms: i64,
}

/// One control-plane action, chained by hash to the one before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub created_ms: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    /// The id of the `SEAM_AUDIT_KEY` that signed it; `None`: hashed with SHA-256, unkeyed.
    pub key_id: Option<String>,
}

/// A prompt release: its content (prompt, pinned model, params, tools) and whose it is. The
/// id is a hash of the content, so the same content is the same release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseRecord {
    pub id: String,
    pub prompt: String,
    /// The release content, as JSON text.
    pub content: String,
    pub author: String,
    pub created_ms: i64,
}

impl ReleaseRecord {
    /// The id of a release of this content (`rel_` and 16 hex digits of its SHA-256).
    pub fn id_of(content: &str) -> String {
        use sha2::Digest;
        format!(
            "rel_{}",
            &hex::encode(sha2::Sha256::digest(content.as_bytes()))[..16]
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalRecord {
    pub release_id: String,
    pub approver: String,
    pub created_ms: i64,
}

/// A channel pointed at a release (`kind` is `deploy`, `rollback` or `live`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeployRecord {
    pub id: String,
    pub prompt: String,
    pub channel: String,
    pub release_id: String,
    pub actor: String,
    pub kind: DeployKind,
    /// What a deploy does to sessions pinned to the release before it: `drain` (they keep
    /// it until they end) or `immediate` (they move at their next call).
    pub mode: DeployMode,
    pub created_ms: i64,
}

/// A session pinned to a release: `(tenant, session_id, prompt, channel)` is its key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRecord {
    pub tenant: String,
    pub session_id: String,
    pub prompt: String,
    pub channel: String,
    pub release_id: String,
    /// Its first call (lifetime counts from here).
    pub started_ms: i64,
    /// When it got its current release (first call, a move or a migration).
    pub pinned_ms: i64,
    pub last_ms: i64,
    /// After this it has ended: the next call with its id starts a new session.
    pub expires_ms: i64,
}

/// What names a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    pub tenant: String,
    pub session_id: String,
    pub prompt: String,
    pub channel: String,
}

impl SessionRecord {
    pub fn key(&self) -> SessionKey {
        SessionKey {
            tenant: self.tenant.clone(),
            session_id: self.session_id.clone(),
            prompt: self.prompt.clone(),
            channel: self.channel.clone(),
        }
    }
}

/// Which live sessions to list.
#[derive(Debug, Clone, Default)]
pub struct SessionQuery {
    /// Sessions that have not expired at this time.
    pub live_at_ms: i64,
    pub prompt: Option<String>,
    pub release_id: Option<String>,
    pub session_id: Option<String>,
}

/// Live sessions per prompt channel and release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionCount {
    pub prompt: String,
    pub channel: String,
    pub release_id: String,
    pub sessions: i64,
}

/// How long sessions live: idle time and total lifetime, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTtl {
    pub idle_ms: i64,
    pub max_age_ms: i64,
}

impl SessionTtl {
    pub fn expires(&self, started_ms: i64, last_ms: i64) -> i64 {
        (last_ms + self.idle_ms).min(started_ms + self.max_age_ms)
    }
}

/// The outcome of a session's call: its pin, and whether this call started it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pinned {
    pub session: SessionRecord,
    pub started: bool,
    /// The release of the session this call replaced because it had expired.
    pub expired_release: Option<String>,
}

/// What the client saw of one streamed call. Gaps are between chunks that carried content
/// (text or tool-call arguments), as sent to the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamRecord {
    pub call_id: String,
    pub created_ms: i64,
    pub route: String,
    pub provider: String,
    pub served_model: Option<String>,
    /// Call start to the first chunk sent to the client.
    pub ttfc_ms: Option<f64>,
    /// Call start to the first chunk with content.
    pub ttft_ms: Option<f64>,
    pub chunks: i64,
    pub content_chunks: i64,
    /// Characters of content (text and tool-call arguments).
    pub chars: i64,
    /// The median content characters per content chunk.
    pub chars_p50: f64,
    /// Output tokens per content chunk, on average.
    pub tokens_per_chunk: f64,
    pub gap_p50_ms: f64,
    pub gap_p95_ms: f64,
    pub gap_max_ms: f64,
    /// Gaps longer than the stall threshold.
    pub stalls: i64,
    pub output_tokens: i64,
    /// Output tokens over the time from the first to the last content chunk.
    pub tokens_per_sec: Option<f64>,
    pub client_closed: bool,
    /// Content was re-chunked to word or line boundaries.
    pub rechunked: bool,
    /// `None` without a smoothness SLO on the route; else `met` or what was breached.
    pub slo: Option<SloVerdict>,
}

/// A captured call's content as stored: an opaque, already redacted and compressed body (see
/// seam-capture's `Content`) and what can be said of it without opening it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentRecord {
    pub call_id: String,
    pub created_ms: i64,
    /// The body's encoding: [`ContentRecord::FORMAT`], seam-capture's `Content` bytes (JSON,
    /// zstd-compressed when large; the body's first byte says which).
    pub format: i64,
    /// The uncompressed body's size.
    pub bytes: i64,
    /// Capture cut the content at its policy's `max_bytes`.
    pub truncated: bool,
    /// Spans redaction replaced, over all kinds.
    pub redactions: i64,
    /// Hex in the spool's JSON lines (a JSON array of numbers would be ~3.5 times the size).
    #[serde(with = "hex_body")]
    pub body: Vec<u8>,
}

impl ContentRecord {
    /// seam-capture's `Content::encode`, the only format so far.
    pub const FORMAT: i64 = 1;
}

mod hex_body {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(body))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        hex::decode(text.as_bytes()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_ids_follow_their_call() {
        assert_eq!(attempt_id("call_01abc", 2), "att_01abc_2");
        assert_eq!(attempt_id("odd", 1), "att_odd_1");
        assert!(is_first_attempt_id("att_01abc_1", "call_01abc"));
        assert!(is_first_attempt_id("att_odd_1", "odd"));
        assert!(!is_first_attempt_id("att_01abc_2", "call_01abc"));
        assert!(!is_first_attempt_id("call_01abc_a1", "call_01abc"));
    }

    /// The spool's JSON lines, `seam store export` and `--json` output keep today's words.
    #[test]
    fn vocabularies_serialize_as_their_stored_words() {
        use crate::conformance::{sample_attempt, sample_call, sample_stream};
        let mut call = sample_call("call_1", 1, "t");
        let json = serde_json::to_string(&call).unwrap();
        assert!(
            json.contains(r#""outcome":"ok","error_class":null,"#),
            "{json}"
        );
        call.outcome = Outcome::ClientClosed;
        call.error_class = Some(CallErrorClass::ClientClosed);
        let json = serde_json::to_string(&call).unwrap();
        assert!(
            json.contains(r#""outcome":"client_closed","error_class":"client_closed","#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<CallRecord>(&json).unwrap(), call);
        // The spool's lines of live traffic stay as they were; eval traffic says so.
        assert!(!json.contains("purpose"), "{json}");
        let mut eval = call.clone();
        eval.purpose = Purpose::Eval;
        let json = serde_json::to_string(&eval).unwrap();
        assert!(json.ends_with(r#","purpose":"eval"}"#), "{json}");
        assert_eq!(serde_json::from_str::<CallRecord>(&json).unwrap(), eval);
        let attempt = sample_attempt(&call, 1, false);
        let json = serde_json::to_string(&attempt).unwrap();
        assert!(
            json.contains(r#""outcome":"error","error_class":"status_5xx","#),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<AttemptRecord>(&json).unwrap(),
            attempt
        );
        let mut stream = sample_stream(&call);
        stream.slo = Some(SloVerdict::breached("stall 1200 ms > 1000 ms"));
        let json = serde_json::to_string(&stream).unwrap();
        assert!(
            json.ends_with(r#""slo":"breached: stall 1200 ms > 1000 ms"}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<StreamRecord>(&json).unwrap(), stream);
        let event = EventRecord {
            id: "evt_1".into(),
            created_ms: 1,
            kind: EventKind::ProviderDegradedHiddenByRetries,
            route: None,
            provider: None,
            message: "m".into(),
            details: "{}".into(),
        };
        assert_eq!(
            event.to_json()["kind"],
            serde_json::json!("provider_degraded_hidden_by_retries")
        );
        let deploy = DeployRecord {
            id: "dep_1".into(),
            prompt: "p".into(),
            channel: "c".into(),
            release_id: "rel_1".into(),
            actor: "a".into(),
            kind: DeployKind::Rollback,
            mode: DeployMode::Immediate,
            created_ms: 1,
        };
        let json = serde_json::to_string(&deploy).unwrap();
        assert!(
            json.contains(r#""kind":"rollback","mode":"immediate","#),
            "{json}"
        );
    }

    /// Migration 7's column default is static SQL: it must be the default mode's word.
    #[test]
    fn the_deploy_mode_column_defaults_to_drain() {
        let sql = include_str!("../migrations/0007_sessions.sql");
        let default = format!("DEFAULT '{}'", DeployMode::default().as_str());
        assert!(sql.contains(&default), "{sql}");
    }
}

/// A dashboard sign-in session (docs/dashboard.md): only the SHA-256 of the session id its
/// cookie carries is stored; the user it acts as; the form (CSRF) token its POSTs carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiSessionRecord {
    pub id_hash: String,
    pub user_id: String,
    pub csrf: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}
