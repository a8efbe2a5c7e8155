//! HTTP plumbing shared by the providers that talk over the network.

use crate::error::ERROR_BODY_LIMIT;
use crate::relayed::{Passed, ProviderError};
use crate::scrub::redact;
use crate::sse::{SseDecoder, SseError, SseEvent};
use crate::transport::Response;
use crate::{AttemptError, ErrorClass};
use futures_util::{Stream, StreamExt};
use http_body_util::{BodyExt, Limited};
use seam_config::Secret;
use seam_wire::At;
use seam_wire::UsageReport;
use serde_json::Value;
use std::time::Duration;

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

/// How a provider writes its error bodies.
#[derive(Clone, Copy)]
pub(crate) enum ErrorShape {
    OpenAi,
    Anthropic,
}

/// Turns a non-2xx upstream response into an attempt error, keeping its body for the record
/// and its error, in OpenAI's terms, for the client. The key is taken out of the raw body
/// (before it is cut to size, so no part of it is left at the cut) and out of the message
/// decoded from it.
pub(crate) async fn status_error(
    resp: Response,
    provider: &str,
    key: Option<&Secret>,
    shape: ErrorShape,
) -> AttemptError {
    let status = resp.status().as_u16();
    let passed = Passed::from_headers(resp.headers());
    if resp.status().is_redirection() {
        let location = resp.headers().get(http::header::LOCATION);
        let mut e =
            AttemptError::redirected(provider, status, location.and_then(|l| l.to_str().ok()));
        e.passed = passed;
        return e;
    }
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
        .and_then(|v| v.at(&["error", "message"]))
        .and_then(Value::as_str)
        .map(str::to_string);
    let usage = UsageReport::from_openai(parsed.as_ref().and_then(|v| v.get("usage")));
    let upstream = parsed
        .as_ref()
        .and_then(|v| match shape {
            ErrorShape::OpenAi => ProviderError::from_openai(status, v),
            ErrorShape::Anthropic => ProviderError::from_anthropic(status, v),
        })
        .map(Box::new);
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
        upstream,
        passed,
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

/// The response body as SSE events. A broken connection becomes a `stream_cut` error, an
/// event over `max_event_bytes` a `bad_response` one (after the events before it).
///
/// Between body chunks the task goes back to the scheduler: after a chunk that completed no
/// event at once, after others when its budget is spent. A poll never runs through a body
/// that keeps arriving, so the caller's idle timer fires and a client that left is noticed
/// (and this stream dropped) while a huge event is still coming in.
pub(crate) fn sse_events<B>(
    resp: http::Response<B>,
    provider: String,
    max_event_bytes: usize,
) -> impl Stream<Item = Result<SseEvent, AttemptError>> + Send
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    struct State<B> {
        body: B,
        decoder: SseDecoder,
        ready: std::vec::IntoIter<SseEvent>,
        /// Given after the events that came before it.
        failed: Option<AttemptError>,
        done: bool,
        provider: String,
    }
    let state = State {
        body: resp.into_body(),
        decoder: SseDecoder::new(max_event_bytes),
        ready: Vec::new().into_iter(),
        failed: None,
        done: false,
        provider,
    };
    // Boxed: `unfold` moves its state into each item's future and back out; a pointer is
    // cheaper to move than the body and the decoder (callgrind: ~1.5k instructions of
    // memcpy per event before).
    futures_util::stream::unfold(Box::new(state), |mut s| async move {
        loop {
            if let Some(ev) = s.ready.next() {
                return Some((Ok(ev), s));
            }
            if let Some(e) = s.failed.take() {
                return Some((Err(e), s));
            }
            if s.done {
                return None;
            }
            let data = match s.body.frame().await {
                // The standard drops an event the stream ended in the middle of; the caller
                // sees the stream end without its last event.
                None => {
                    s.done = true;
                    continue;
                }
                Some(Err(e)) => {
                    s.done = true;
                    s.failed = Some(AttemptError::new(
                        ErrorClass::StreamCut,
                        format!(
                            "the stream from provider `{}` broke: {}",
                            s.provider,
                            short(&e.to_string())
                        ),
                    ));
                    continue;
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue, // trailers
                },
            };
            let mut out = Vec::new();
            if let Err(e) = s.decoder.push_bytes(&data, &mut out) {
                s.done = true;
                let message = match e {
                    SseError::EventTooLarge { limit } => format!(
                        "provider `{}` sent a stream event larger than {limit} bytes (the provider's max_event_bytes)",
                        s.provider
                    ),
                };
                s.failed = Some(AttemptError::new(ErrorClass::BadResponse, message));
            }
            if out.is_empty() {
                tokio::task::yield_now().await;
            } else {
                tokio::task::coop::consume_budget().await;
            }
            s.ready = out.into_iter();
        }
    })
    // Polled again after its end (it should not be), it ends again rather than panicking.
    .fuse()
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Frame;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::task::{Context, Poll};

    /// A body that always has its next chunk ready, as a fast upstream's does, until `stop`
    /// is set (by another task) or it has given `most` chunks. Counts what it gave.
    struct Eager {
        chunk: bytes::Bytes,
        stop: Arc<AtomicBool>,
        given: Arc<AtomicUsize>,
        most: usize,
    }

    impl http_body::Body for Eager {
        type Data = bytes::Bytes;
        type Error = Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<bytes::Bytes>, Infallible>>> {
            if self.stop.load(Ordering::Relaxed) || self.given.load(Ordering::Relaxed) >= self.most
            {
                return Poll::Ready(None);
            }
            self.given.fetch_add(1, Ordering::Relaxed);
            Poll::Ready(Some(Ok(Frame::data(self.chunk.clone()))))
        }
    }

    /// On a one-thread runtime: how many chunks the stream read before a task spawned at
    /// its start got to run, and the first item it gave.
    async fn read_until_another_task_runs(
        chunk: &'static [u8],
        max_event_bytes: usize,
    ) -> (usize, Option<Result<SseEvent, AttemptError>>, usize) {
        let stop = Arc::new(AtomicBool::new(false));
        let given = Arc::new(AtomicUsize::new(0));
        let body = Eager {
            chunk: bytes::Bytes::from_static(chunk),
            stop: stop.clone(),
            given: given.clone(),
            most: 10_000,
        };
        let mut events = Box::pin(sse_events(
            http::Response::new(body),
            "up".into(),
            max_event_bytes,
        ));
        tokio::spawn(async move { stop.store(true, Ordering::Relaxed) });
        let first = events.next().await;
        let mut n = 0;
        if matches!(first, Some(Ok(_))) {
            n += 1;
            while let Some(Ok(_)) = events.next().await {
                n += 1;
            }
        }
        (given.load(Ordering::Relaxed), first, n)
    }

    /// A line that never ends, always ready: the stream goes back to the scheduler after
    /// each chunk, so other tasks (the idle timer, the client's connection) run at once.
    #[tokio::test(flavor = "current_thread")]
    async fn a_huge_line_lets_other_tasks_run_between_chunks() {
        let (given, first, _) = read_until_another_task_runs(&[b'x'; 16 * 1024], 1 << 20).await;
        assert!(first.is_none(), "the body ended first: {first:?}");
        assert!(
            given <= 2,
            "{given} chunks were read before another task ran"
        );
    }

    /// Events that keep coming, always ready: the stream yields once its task's budget is
    /// spent, not only when the body has nothing ready.
    #[tokio::test(flavor = "current_thread")]
    async fn a_flood_of_events_lets_other_tasks_run() {
        let (given, _, events) = read_until_another_task_runs(b"data: {}\n\n", 1 << 20).await;
        assert!(
            given <= 256,
            "{given} chunks ({events} events) were read before another task ran"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_event_over_the_limit_is_a_bad_response_naming_the_provider_and_the_key() {
        let body = http_body_util::Full::new(bytes::Bytes::from(format!(
            "data: 1\n\ndata: {}\n\n",
            "x".repeat(2000)
        )));
        let got: Vec<_> = sse_events(http::Response::new(body), "up".into(), 1024)
            .collect()
            .await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().map(|e| e.data.as_str()).ok(), Some("1"));
        let err = got[1].as_ref().unwrap_err();
        assert_eq!(err.class, ErrorClass::BadResponse);
        assert_eq!(
            err.message,
            "provider `up` sent a stream event larger than 1024 bytes (the provider's max_event_bytes)"
        );
    }

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
