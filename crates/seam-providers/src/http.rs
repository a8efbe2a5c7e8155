//! HTTP plumbing shared by the providers that talk over the network.

use crate::scrub::redact;
use crate::transport::Response;
use crate::{AttemptError, ErrorClass};
use eventsource_stream::{Event, Eventsource};
use futures_util::{Stream, StreamExt};
use http_body_util::{BodyDataStream, BodyExt, Limited};
use seam_config::Secret;
use seam_wire::Usage;
use serde_json::Value;
use std::time::Duration;

/// Most of an upstream error body Seam keeps in the record.
const ERROR_BODY_LIMIT: usize = 8 * 1024;
/// Most a non-streaming upstream body may be.
const RESPONSE_LIMIT: usize = 64 * 1024 * 1024;

/// `Retry-After` (seconds) or `retry-after-ms`, whichever the upstream gave.
pub(crate) fn retry_after(h: &http::HeaderMap) -> Option<Duration> {
    let text = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return seconds(ms / 1000.0);
    }
    text("retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .and_then(seconds)
}

/// Seconds an upstream gave as a wait: below 0 is 0, past what a Duration holds (`inf`,
/// `1e300`) the longest one, `nan` none. (`Duration::from_secs_f64` panics on those.)
pub(crate) fn seconds(s: f64) -> Option<Duration> {
    if s.is_nan() {
        return None;
    }
    Some(Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX))
}

/// Turns a non-2xx upstream response into an attempt error, keeping its body for the record.
/// The key is taken out of the raw body (before it is cut to size, so no part of it is
/// left at the cut) and out of the message decoded from it.
pub(crate) async fn status_error(
    resp: Response,
    provider: &str,
    key: Option<&Secret>,
) -> AttemptError {
    let status = resp.status().as_u16();
    let retry_after = retry_after(resp.headers());
    // More than the record keeps is never needed; a body cut short keeps nothing.
    let bytes = Limited::new(resp.into_body(), 4 * ERROR_BODY_LIMIT)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = redact(&String::from_utf8_lossy(&bytes), key);
    let parsed: Option<Value> = serde_json::from_str(&text).ok();
    let upstream_message = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let usage = parsed
        .as_ref()
        .and_then(|v| v.get("usage"))
        .and_then(Usage::from_openai);
    let mut body = text;
    if body.len() > ERROR_BODY_LIMIT {
        let mut cut = ERROR_BODY_LIMIT;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    AttemptError {
        class: ErrorClass::from_status(status),
        status: Some(status),
        message: match upstream_message {
            Some(m) => format!(
                "provider `{provider}` answered {status}: {}",
                redact(&m, key)
            ),
            None => format!("provider `{provider}` answered {status}"),
        },
        body: Some(body),
        retry_after,
        usage,
    }
}

/// Reads a whole body, with a size cap.
pub(crate) async fn body_bytes(
    resp: Response,
    provider: &str,
) -> Result<bytes::Bytes, AttemptError> {
    let over = || {
        AttemptError::new(
            ErrorClass::BadResponse,
            format!("provider `{provider}` sent a body over {RESPONSE_LIMIT} bytes"),
        )
    };
    if http_body::Body::size_hint(resp.body())
        .exact()
        .is_some_and(|n| n as usize > RESPONSE_LIMIT)
    {
        return Err(over());
    }
    match Limited::new(resp.into_body(), RESPONSE_LIMIT)
        .collect()
        .await
    {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(over()),
        Err(_) => Err(AttemptError::new(
            ErrorClass::StreamCut,
            format!("provider `{provider}` cut the response body short"),
        )),
    }
}

pub(crate) fn not_json(provider: &str, e: serde_json::Error) -> AttemptError {
    AttemptError::new(
        ErrorClass::BadResponse,
        format!("provider `{provider}` sent a body that is not JSON: {e}"),
    )
}

/// The response body as SSE events; a broken connection becomes a `stream_cut` error.
pub(crate) fn sse_events(
    resp: Response,
    provider: String,
) -> impl Stream<Item = Result<Event, AttemptError>> + Send {
    BodyDataStream::new(resp.into_body())
        .eventsource()
        .map(move |r| {
            r.map_err(|e| {
                AttemptError::new(
                    ErrorClass::StreamCut,
                    format!(
                        "the stream from provider `{provider}` broke: {}",
                        short(&e.to_string())
                    ),
                )
            })
        })
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &'static str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(name, http::HeaderValue::from_static(value));
        h
    }

    /// An upstream's `Retry-After: inf` (or 1e300) panicked the attempt
    /// (`Duration::from_secs_f64`); it is the longest wait now, which the route's
    /// `retry_after_cap_s` then refuses to wait for.
    #[test]
    fn any_retry_after_an_upstream_sends_is_a_wait_or_none() {
        for (name, value, want) in [
            ("retry-after", "inf", Some(Duration::MAX)),
            ("retry-after", "1e300", Some(Duration::MAX)),
            ("retry-after-ms", "-inf", Some(Duration::ZERO)),
            ("retry-after", "NaN", None),
            ("retry-after", "1.5", Some(Duration::from_millis(1500))),
            ("retry-after-ms", "250", Some(Duration::from_millis(250))),
            ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT", None),
        ] {
            assert_eq!(retry_after(&headers(name, value)), want, "{name}: {value}");
        }
    }
}
