//! Every way a call can fail, turned into an OpenAI-shaped error response in one place.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use seam_config::Metric;
use seam_providers::{AttemptError, ErrorClass};
use seam_vocab::{CallErrorClass, GatewayClass, RefusalCode};
use seam_wire::ApiError;
use std::time::Duration;

/// Why Seam refused: an OpenAI-style error with `code`, never sent upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// 429 for a limit, 503 when the limits cannot be checked and the policy is closed.
    pub status: u16,
    pub code: RefusalCode,
    pub message: String,
    pub retry_after: Option<Duration>,
}

/// The code of a refusal by a tenant's limit on `metric`, or a key's.
pub fn refusal_code(metric: Metric, key: bool) -> RefusalCode {
    match (metric, key) {
        (Metric::Requests, false) => RefusalCode::TenantRequestLimit,
        (Metric::Attempts, false) => RefusalCode::TenantAttemptLimit,
        (Metric::InputTokens, false) => RefusalCode::TenantInputTokenLimit,
        (Metric::OutputTokens, false) => RefusalCode::TenantOutputTokenLimit,
        (Metric::Tokens, false) => RefusalCode::TenantTokenLimit,
        (Metric::Cost, false) => RefusalCode::TenantCostLimit,
        (Metric::Requests, true) => RefusalCode::KeyRequestLimit,
        (Metric::Attempts, true) => RefusalCode::KeyAttemptLimit,
        (Metric::InputTokens, true) => RefusalCode::KeyInputTokenLimit,
        (Metric::OutputTokens, true) => RefusalCode::KeyOutputTokenLimit,
        (Metric::Tokens, true) => RefusalCode::KeyTokenLimit,
        (Metric::Cost, true) => RefusalCode::KeyCostLimit,
    }
}

#[derive(Debug)]
pub enum GatewayError {
    MissingKey,
    BadKey,
    BodyTooLarge {
        limit: usize,
    },
    BodyUnreadable,
    /// The body did not arrive within `server.body_timeout_ms` of the request's head.
    BodyTimeout {
        limit: std::time::Duration,
    },
    /// A header Seam reads (trace, session) that it cannot use as sent.
    InvalidHeader {
        header: &'static str,
        reason: String,
    },
    MalformedJson(String),
    NotAnObject,
    MissingField(&'static str),
    InvalidField {
        field: &'static str,
        reason: String,
    },
    UnknownRoute(String),
    /// Rendering a prompt with the call's variables needed more than `[prompts] render_fuel`.
    RenderLimit {
        prompt: String,
        fuel: u64,
    },
    /// `prompt:NAME@CHANNEL` with no release deployed there.
    NoRelease {
        name: String,
        channel: String,
    },
    /// `release:ID` with no release of that id stored.
    UnknownRelease {
        id: String,
    },
    /// `release:ID` on live traffic: a release is called by id only by eval traffic.
    ReleaseNeedsEval,
    Upstream(AttemptError),
    /// The provider served another model than the release pins, and the release refuses that.
    ServedModelMismatch {
        release: String,
        pinned: String,
        served: String,
    },
    /// A tenant or trace limit of Seam's own; never sent upstream.
    Refused(Refusal),
    /// A session's pin could not be read or written: serving another release than the one
    /// the session started on would break its contract, so the call is not served.
    SessionUnavailable {
        session: String,
        reason: String,
    },
    Internal(String),
}

impl GatewayError {
    /// The class recorded for the call (an upstream error's is its attempt's).
    pub fn class(&self) -> CallErrorClass {
        let gateway = match self {
            GatewayError::MissingKey | GatewayError::BadKey => GatewayClass::Auth,
            GatewayError::BodyTooLarge { .. } => GatewayClass::BodyTooLarge,
            GatewayError::BodyTimeout { .. } => GatewayClass::BodyTimeout,
            GatewayError::BodyUnreadable
            | GatewayError::MalformedJson(_)
            | GatewayError::NotAnObject
            | GatewayError::MissingField(_)
            | GatewayError::InvalidField { .. }
            | GatewayError::InvalidHeader { .. }
            | GatewayError::ReleaseNeedsEval => GatewayClass::InvalidRequest,
            GatewayError::UnknownRoute(_)
            | GatewayError::NoRelease { .. }
            | GatewayError::UnknownRelease { .. } => GatewayClass::UnknownRoute,
            GatewayError::RenderLimit { .. } => GatewayClass::RenderLimit,
            GatewayError::Upstream(e) => return e.class.into(),
            GatewayError::Refused(r) => return r.code.into(),
            GatewayError::ServedModelMismatch { .. } => GatewayClass::ServedModelMismatch,
            GatewayError::SessionUnavailable { .. } => GatewayClass::SessionUnavailable,
            GatewayError::Internal(_) => GatewayClass::Internal,
        };
        gateway.into()
    }

    pub fn to_api(&self) -> ApiError {
        match self {
            GatewayError::MissingKey => ApiError::new(
                401,
                "invalid_request_error",
                "You didn't provide an API key. Send it as `Authorization: Bearer KEY` (create one with `seam keys create`).",
            )
            .code("missing_api_key"),
            GatewayError::BadKey => ApiError::new(
                401,
                "invalid_request_error",
                "Incorrect API key provided: it is unknown to Seam or has been revoked.",
            )
            .code("invalid_api_key"),
            GatewayError::BodyTooLarge { limit } => ApiError::new(
                413,
                "invalid_request_error",
                format!("The request body is larger than this gateway's limit of {limit} bytes (server.max_body_bytes)."),
            )
            .code("request_too_large"),
            GatewayError::BodyUnreadable => {
                ApiError::invalid_request("The request body could not be read.")
            }
            GatewayError::BodyTimeout { limit } => ApiError::new(
                408,
                "invalid_request_error",
                format!(
                    "The request body did not arrive within this gateway's limit of {} ms after its headers (server.body_timeout_ms).",
                    limit.as_millis()
                ),
            )
            .code("request_timeout"),
            GatewayError::InvalidHeader { header, reason } => {
                ApiError::invalid_request(format!("Invalid header '{header}': {reason}"))
                    .code("invalid_header")
                    .param(*header)
            }
            GatewayError::MalformedJson(detail) => ApiError::invalid_request(format!(
                "We could not parse the JSON body of your request: {detail}"
            ))
            .code("invalid_json"),
            GatewayError::NotAnObject => {
                ApiError::invalid_request("The request body must be a JSON object.")
                    .code("invalid_json")
            }
            GatewayError::MissingField(field) => {
                ApiError::invalid_request(format!("Missing required parameter: '{field}'."))
                    .code("missing_required_parameter")
                    .param(*field)
            }
            GatewayError::InvalidField { field, reason } => {
                ApiError::invalid_request(format!("Invalid value for '{field}': {reason}"))
                    .code("invalid_value")
                    .param(*field)
            }
            GatewayError::UnknownRoute(model) => ApiError::new(
                404,
                "invalid_request_error",
                format!("The model `{model}` does not exist on this gateway: no route has that name (see GET /v1/models)."),
            )
            .code("model_not_found")
            .param("model"),
            GatewayError::NoRelease { name, channel } => ApiError::new(
                404,
                "invalid_request_error",
                format!("No release of prompt `{name}` is deployed on channel `{channel}` (see `seam release list {name}`)."),
            )
            .code("model_not_found")
            .param("model"),
            GatewayError::UnknownRelease { id } => ApiError::new(
                404,
                "invalid_request_error",
                format!("No release `{id}` is stored on this gateway (see `seam release list NAME`)."),
            )
            .code("model_not_found")
            .param("model"),
            GatewayError::ReleaseNeedsEval => ApiError::invalid_request(
                "Invalid value for 'model': a release is called by id (`release:ID`) only with `x-seam-purpose: eval` (an eval run's call). Live traffic calls a prompt's channel (`prompt:NAME@CHANNEL`), so that what it is served went through the channel's deploy rules and gates.",
            )
            .code("invalid_value")
            .param("model"),
            GatewayError::RenderLimit { prompt, fuel } => ApiError::invalid_request(format!(
                "Rendering prompt `{prompt}` with these seam_variables needs more than this gateway's limit of {fuel} fuel ([prompts] render_fuel): its templates would do too much work or write too much for them. Send fewer or smaller variables."
            ))
            .code("prompt_render_limit")
            .param("seam_variables"),
            GatewayError::Upstream(e) => upstream(e),
            GatewayError::ServedModelMismatch { release, pinned, served } => ApiError::new(
                502,
                "upstream_error",
                format!("The provider served `{served}`, but release {release} pins `{pinned}` and refuses other models (on_model_change = \"refuse\")."),
            )
            .code("served_model_mismatch"),
            GatewayError::Refused(r) => ApiError::new(
                r.status,
                if r.status == 429 { "rate_limit_error" } else { "service_unavailable" },
                r.message.clone(),
            )
            .code(r.code.as_str()),
            GatewayError::SessionUnavailable { session, reason } => ApiError::new(
                503,
                "service_unavailable",
                format!("Session `{session}` could not be matched to its pinned release ({reason}); not served on another release. Retry shortly."),
            )
            .code("session_unavailable"),
            GatewayError::Internal(detail) => ApiError::new(
                500,
                "server_error",
                format!("Seam hit an internal error: {detail}"),
            ),
        }
    }

    pub fn status(&self) -> u16 {
        self.to_api().status
    }
}

fn upstream(e: &AttemptError) -> ApiError {
    // A provider's error body is relayed as it said it; Seam's view goes beside it.
    if let Some(u) = e.upstream.as_ref().filter(|_| {
        matches!(
            e.class,
            ErrorClass::Status429 | ErrorClass::Status4xx | ErrorClass::Status5xx
        )
    }) {
        return ApiError {
            status: u.status,
            kind: u.kind.clone().into(),
            code: u.code.clone(),
            message: u.message.clone(),
            param: u.param.clone(),
            seam: Some(serde_json::json!({"class": e.class.as_str()})),
        };
    }
    let (status, kind) = match e.class {
        ErrorClass::Status429 => (429, "rate_limit_error"),
        ErrorClass::Status4xx => (e.status.unwrap_or(400), "invalid_request_error"),
        ErrorClass::Timeout => (504, "timeout_error"),
        _ => (502, "upstream_error"),
    };
    ApiError::new(status, kind, e.message.clone()).code(format!("upstream_{}", e.class.as_str()))
}

/// What a failed call tells the client beside its error: the provider that failed last and
/// how many attempts the call made (in a relayed error's `error.seam`), and whether Seam has
/// done the retrying a client would do (`x-should-retry: false`).
#[derive(Debug, Default)]
pub struct Told {
    pub provider: Option<String>,
    pub attempts: usize,
    /// Retrying cannot help: Seam already retried, its retry budget is spent, or the failure
    /// is one no retry fixes.
    pub futile: bool,
}

/// The longest wait a client's SDK honours (the OpenAI SDKs take `Retry-After` up to 60 s and
/// back off on their own beyond it): a refusal for longer says not to retry.
const CLIENT_WAIT_MAX: Duration = Duration::from_secs(60);

const SHOULD_RETRY: http::HeaderName = http::HeaderName::from_static("x-should-retry");
const RETRY_AFTER_MS: http::HeaderName = http::HeaderName::from_static("retry-after-ms");

impl GatewayError {
    /// Whether retrying cannot help whatever the call did: a cap of the trace, or a limit's
    /// window that does not reset soon.
    fn futile(&self) -> bool {
        match self {
            GatewayError::Refused(r) => {
                r.status == 429 && r.retry_after.is_none_or(|w| w > CLIENT_WAIT_MAX)
            }
            _ => false,
        }
    }

    /// The error body, with Seam's context in a relayed provider error.
    pub fn to_api_told(&self, told: &Told) -> ApiError {
        let mut api = self.to_api();
        if let (Some(seam), Some(p)) = (api.seam.as_mut(), told.provider.as_deref()) {
            seam["provider"] = p.into();
            seam["attempts"] = told.attempts.into();
        }
        api
    }
}

/// Builds the HTTP response for an error, with `Retry-After` when the upstream gave one.
pub fn respond(err: &GatewayError) -> Response {
    respond_told(err, &Told::default())
}

/// The HTTP response for a call's error: its body, how long to wait (`Retry-After` in whole
/// seconds, `retry-after-ms` exact) when waiting helps, `x-should-retry: false` when
/// retrying cannot, and the headers of the upstream's answer a client reads.
pub fn respond_told(err: &GatewayError, told: &Told) -> Response {
    let api = err.to_api_told(told);
    let mut resp = (
        StatusCode::from_u16(api.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        api.to_json(),
    )
        .into_response();
    let retry_after = match err {
        GatewayError::Upstream(e) => {
            e.passed.apply(resp.headers_mut());
            e.retry_after
        }
        GatewayError::Refused(r) => r.retry_after,
        _ => None,
    };
    let h = resp.headers_mut();
    if let Some(d) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&d.as_secs_f64().ceil().to_string()) {
            h.insert(header::RETRY_AFTER, v);
        }
        let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
        h.insert(
            RETRY_AFTER_MS,
            HeaderValue::from(ms.min(u64::MAX as u128) as u64),
        );
    }
    if told.futile || err.futile() {
        h.insert(SHOULD_RETRY, HeaderValue::from_static("false"));
    }
    if matches!(err, GatewayError::BodyTimeout { .. }) {
        // The rest of the body may still be on its way: the connection cannot carry another
        // request.
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}
