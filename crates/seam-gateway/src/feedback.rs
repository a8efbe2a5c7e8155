//! `POST /v1/feedback` (and `/api/feedback`): a user's verdict on a call or a trace, sent with
//! the tenant's key like any call and counted against its request limits, so a flood is
//! refused as calls are. A negative score is a silent-failure signal (`feedback`). A call or
//! trace that does not exist and one of another tenant get the same 404: the answer never
//! says that another tenant's id exists. The comment is user content: kept only when the
//! tenant's capture policy keeps content, redacted by it.

use crate::Live;
use crate::admit::Limiter;
use crate::authenticate::Caller;
use crate::errors::GatewayError;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use seam_store::{Failures, FeedbackRecord};
use seam_wire::ApiError;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// A body is an id, a score and a short comment.
const MAX_BODY: usize = 16 * 1024;
const MAX_ID: usize = 256;
const MAX_COMMENT_CHARS: usize = 4096;
/// The limiter's trace for feedback posts.
const FEEDBACK_TRACE: &str = "seam:feedback";
/// A call is recorded by the record writer shortly after it answers: feedback sent right
/// after it waits this long, in these steps, for its record before the id counts as unknown.
const RECORD_WAITS_MS: [u64; 5] = [25, 50, 100, 200, 400];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Post {
    call_id: Option<String>,
    trace_id: Option<String>,
    score: serde_json::Value,
    comment: Option<String>,
}

/// What a feedback post needs of the gateway: its store, its limiter, the config in force
/// and the caller its key named (`api::feedback` authenticates).
pub struct Parts<'a> {
    pub store: &'a dyn Failures,
    pub limiter: &'a Arc<Limiter>,
    pub live: &'a Live,
    pub caller: &'a Caller,
}

/// The answer to one post: 200 with the stored feedback, or the error.
pub async fn post(parts: Parts<'_>, body: &[u8]) -> Response {
    match handle(&parts, body).await {
        Ok(r) => r,
        Err(Failure::Gateway(e)) => crate::errors::respond(&e),
        Err(Failure::Api(e)) => api(&e),
    }
}

enum Failure {
    Gateway(GatewayError),
    Api(ApiError),
}

impl From<GatewayError> for Failure {
    fn from(e: GatewayError) -> Failure {
        Failure::Gateway(e)
    }
}

async fn handle(parts: &Parts<'_>, body: &[u8]) -> Result<Response, Failure> {
    let (live, caller) = (parts.live, parts.caller);
    if body.len() > MAX_BODY {
        return Err(GatewayError::BodyTooLarge { limit: MAX_BODY }.into());
    }
    let post: Post = serde_json::from_slice(body).map_err(|e| {
        GatewayError::MalformedJson(format!("{e} (line {}, column {})", e.line(), e.column()))
    })?;
    let (call_id, trace_id) = match (post.call_id, post.trace_id) {
        (Some(c), None) => (Some(id("call_id", c)?), None),
        (None, Some(t)) => (None, Some(id("trace_id", t)?)),
        (Some(_), Some(_)) => {
            return Err(invalid("call_id", "send call_id or trace_id, not both").into());
        }
        (None, None) => return Err(GatewayError::MissingField("call_id").into()),
    };
    let score = post
        .score
        .as_f64()
        .filter(|s| s.is_finite() && (-1.0..=1.0).contains(s))
        .ok_or_else(|| invalid("score", "a number from -1.0 (bad) to 1.0 (good)"))?;
    if post
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        return Err(invalid("comment", "at most 4096 characters").into());
    }
    // A feedback post is a request like any other against the tenant's and key's windows;
    // it belongs to no trace of the tenant's, so one trace of its own per tenant, uncapped.
    let trace_limits = seam_config::TraceLimits::default();
    if parts
        .limiter
        .applies(&live.config.limits, caller, &trace_limits)
    {
        parts
            .limiter
            .admit_call(
                &live.config.limits,
                caller,
                FEEDBACK_TRACE,
                &trace_limits,
                seam_store::now_ms(),
            )
            .await
            .map_err(GatewayError::Refused)?;
    }
    let comment = post.comment.and_then(|c| {
        let r = live.capture.tenant_redactor(&caller.tenant)?;
        Some(r.redact(&c).0.into_owned())
    });
    let record = FeedbackRecord {
        id: format!("fb_{}", uuid::Uuid::now_v7().simple()),
        created_ms: seam_store::now_ms(),
        tenant: caller.tenant.clone(),
        key_id: caller.key_id.clone(),
        call_id: call_id.clone(),
        trace_id: trace_id.clone(),
        score,
        comment,
    };
    let mut stored = insert(parts.store, &record).await?;
    for wait in RECORD_WAITS_MS {
        if stored {
            break;
        }
        tokio::time::sleep(Duration::from_millis(wait)).await;
        stored = insert(parts.store, &record).await?;
    }
    if !stored {
        let (what, value) = match (&call_id, &trace_id) {
            (Some(c), _) => ("call", c),
            (_, Some(t)) => ("trace", t),
            _ => ("call", &record.id),
        };
        return Err(Failure::Api(
            ApiError::new(
                404,
                "invalid_request_error",
                format!(
                    "No {what} `{}` for this key's tenant.",
                    crate::untrusted::cap(value, MAX_ID)
                ),
            )
            .code(format!("{what}_not_found"))
            .param(if what == "call" {
                "call_id"
            } else {
                "trace_id"
            }),
        ));
    }
    let body = serde_json::json!({
        "id": record.id,
        "object": "feedback",
        "call_id": record.call_id,
        "trace_id": record.trace_id,
        "score": record.score,
        "comment_kept": record.comment.is_some(),
        "created": record.created_ms / 1000,
    });
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

async fn insert(store: &dyn Failures, record: &FeedbackRecord) -> Result<bool, Failure> {
    store.insert_feedback(record).await.map_err(|e| {
        tracing::warn!(error = %e, "storing feedback failed");
        Failure::Gateway(GatewayError::Internal(
            "the feedback could not be stored".into(),
        ))
    })
}

fn id(field: &'static str, v: String) -> Result<String, GatewayError> {
    if v.trim().is_empty() || v.len() > MAX_ID || v.chars().any(char::is_control) {
        return Err(invalid(field, "an id of 1 to 256 printable characters"));
    }
    Ok(v)
}

fn invalid(field: &'static str, reason: &str) -> GatewayError {
    GatewayError::InvalidField {
        field,
        reason: reason.into(),
    }
}

fn api(e: &ApiError) -> Response {
    (
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::NOT_FOUND),
        [(header::CONTENT_TYPE, "application/json")],
        e.to_json(),
    )
        .into_response()
}
