//! The sim over real HTTP/1.1: OpenAI and Anthropic endpoints plus a control endpoint
//! (`/_sim/...`) that swaps the scenario at run time.

use crate::output::{HugeLine, Output};
use crate::{Endpoint, Scenario, Sim, anthropic, openai};
use bytes::Bytes;
use futures_util::stream;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

type Body = UnsyncBoxBody<Bytes, io::Error>;

const MAX_BODY: usize = 64 * 1024 * 1024;

/// Serves until `shutdown` resolves. Every socket gets TCP_NODELAY.
pub async fn serve(
    listener: TcpListener,
    sim: Sim,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "sim: accept failed");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        if sim.refuse_connection() {
            drop(ResetIo::new(stream, true));
            continue;
        }
        let sim = sim.clone();
        tokio::spawn(async move {
            let reset = Arc::new(Notify::new());
            let io = ResetIo::new(stream, false);
            let flag = io.reset.clone();
            let svc_reset = reset.clone();
            let svc = service_fn(move |req| {
                let sim = sim.clone();
                let kill = svc_reset.clone();
                let flag = flag.clone();
                async move { Ok::<_, io::Error>(handle(sim, req, kill, flag).await) }
            });
            let conn = http1::Builder::new().serve_connection(TokioIo::new(io), svc);
            tokio::select! {
                _ = conn => {}
                _ = reset.notified() => {}
            }
        });
    }
}

async fn handle(
    sim: Sim,
    req: Request<Incoming>,
    kill: Arc<Notify>,
    reset_flag: Arc<AtomicBool>,
) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let bytes = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return json_response(
                413,
                &json!({"error": {"message": "body too large or unreadable"}}),
            );
        }
    };
    if path.starts_with("/_sim/") || path == "/healthz" {
        return control(&sim, &method, &path, &bytes);
    }
    if method == Method::GET && path.ends_with("/models") {
        return write(&sim, openai::models(&sim)).await;
    }
    if let Some((_, id)) = path.rsplit_once("/responses/")
        && (method == Method::GET || method == Method::DELETE)
    {
        let out = crate::responses::stored(&sim, id, method == Method::DELETE);
        return write(&sim, out).await;
    }
    let Some(endpoint) = Endpoint::from_path(&path).filter(|_| method == Method::POST) else {
        return json_response(
            404,
            &json!({"error": {"message": format!("sim has no {method} {path}"), "type": "invalid_request_error"}}),
        );
    };
    sim.set_last_headers(header_summary(&headers));
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            let out = match endpoint {
                Endpoint::Messages => anthropic::error(400, &format!("invalid JSON: {e}")),
                _ => openai::error(400, "invalid_request_error", &format!("invalid JSON: {e}")),
            };
            return write(&sim, out).await;
        }
    };
    sim.set_last_body(body.clone());
    let (delay, out) = sim.call(endpoint, &body);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Output::Reset = out {
        reset_flag.store(true, Ordering::Relaxed);
        kill.notify_one();
        std::future::pending::<()>().await;
    }
    let mut resp = write(&sim, out).await;
    // As OpenAI's does, every answer names its request (a scenario's own id wins).
    if !resp.headers().contains_key("x-request-id") {
        let n = REQUEST_IDS.fetch_add(1, Ordering::Relaxed);
        if let Ok(v) = http::HeaderValue::from_str(&format!("req_sim_{n}")) {
            resp.headers_mut().insert("x-request-id", v);
        }
    }
    resp
}

static REQUEST_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// What a test may want to check of the last request's headers, secrets left out.
fn header_summary(h: &http::HeaderMap) -> Value {
    let auth = if h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "))
    {
        "bearer"
    } else if h.contains_key("x-api-key") {
        "x-api-key"
    } else {
        "none"
    };
    let text = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    json!({
        "auth": auth,
        "anthropic_version": text("anthropic-version"),
        "content_type": text("content-type"),
        "traceparent": text("traceparent"),
    })
}

fn control(sim: &Sim, method: &Method, path: &str, body: &[u8]) -> Response<Body> {
    match (method.as_str(), path) {
        ("GET", "/healthz") => json_response(200, &json!({"status": "ok"})),
        ("PUT" | "POST", "/_sim/scenario") => {
            let text = String::from_utf8_lossy(body);
            match Scenario::from_toml(&text) {
                Ok(s) => {
                    sim.set_scenario(s);
                    json_response(200, &json!({"ok": true}))
                }
                Err(e) => json_response(
                    400,
                    &json!({"error": {"message": format!("invalid scenario: {e}")}}),
                ),
            }
        }
        ("GET", "/_sim/scenario") => json_response(
            200,
            &serde_json::to_value(&*sim.scenario()).unwrap_or(Value::Null),
        ),
        ("GET", "/_sim/stats") => {
            let s = sim.stats();
            json_response(
                200,
                &json!({
                    "requests": s.requests.load(Ordering::Relaxed),
                    "connections": s.connections.load(Ordering::Relaxed),
                    "refused": s.refused.load(Ordering::Relaxed),
                    "streams_open": s.streams_open.load(Ordering::Relaxed),
                    "streams_cancelled": s.streams_cancelled.load(Ordering::Relaxed),
                    "last_headers": sim.last_headers(),
                    "last_body": sim.last_body(),
                }),
            )
        }
        _ => json_response(
            404,
            &json!({"error": {"message": format!("no control endpoint {method} {path}")}}),
        ),
    }
}

fn json_response(status: u16, v: &Value) -> Response<Body> {
    full(
        status,
        Vec::new(),
        Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    )
}

fn full(status: u16, headers: Vec<(String, String)>, body: Bytes) -> Response<Body> {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        b = b.header(k, v);
    }
    b.body(
        Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync(),
    )
    .unwrap_or_else(|_| Response::new(empty()))
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed_unsync()
}

async fn write(sim: &Sim, out: Output) -> Response<Body> {
    match out {
        Output::Json {
            status,
            headers,
            body,
            cut: false,
        } => full(status, headers, body),
        Output::Json {
            status,
            headers,
            body,
            cut: true,
        } => {
            let half = body.slice(..body.len() / 2);
            let frames = stream::iter([
                Ok(Frame::data(half)),
                Err(io::Error::new(io::ErrorKind::ConnectionReset, "sim: cut")),
            ]);
            let mut b = Response::builder()
                .status(status)
                .header(header::CONTENT_TYPE, "application/json");
            for (k, v) in headers {
                b = b.header(k, v);
            }
            b.body(StreamBody::new(frames).boxed_unsync())
                .unwrap_or_else(|_| Response::new(empty()))
        }
        Output::Sse {
            events,
            huge_line: Some(h),
            ..
        } => sse_response(huge_line(events, h, StreamGuard::new(sim.clone()))),
        Output::Sse {
            mut events,
            interval,
            mut cut_after,
            together,
            huge_line: None,
        } => {
            if together {
                let n = cut_after.unwrap_or(events.len()).min(events.len());
                let rest = events.split_off(n);
                events = std::iter::once(Bytes::from(events.concat()))
                    .chain(rest)
                    .collect();
                cut_after = cut_after.map(|_| 1);
            }
            let total = events.len();
            let limit = cut_after.unwrap_or(usize::MAX);
            let guard = StreamGuard::new(sim.clone());
            let frames = stream::unfold(
                (events.into_iter(), 0usize, guard),
                move |(mut it, i, mut guard)| async move {
                    if i >= limit && i < total {
                        guard.finish(); // the sim cuts it: not the client leaving
                        // Let what was sent reach the client before the connection drops.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        return Some((
                            Err(io::Error::new(
                                io::ErrorKind::ConnectionReset,
                                "sim: stream cut",
                            )),
                            (it, usize::MAX, guard),
                        ));
                    }
                    let Some(ev) = it.next() else {
                        guard.finish();
                        return None;
                    };
                    if i > 0 && !interval.is_zero() {
                        tokio::time::sleep(interval).await;
                    }
                    Some((Ok(Frame::data(ev)), (it, i + 1, guard)))
                },
            );
            sse_response(frames)
        }
        Output::Hang(d) => {
            tokio::time::sleep(d).await;
            json_response(
                504,
                &json!({"error": {"message": "sim: held past its timeout", "type": "server_error"}}),
            )
        }
        Output::Reset => json_response(500, &json!({"error": {"message": "sim: reset"}})),
    }
}

fn sse_response(
    frames: impl futures_util::Stream<Item = Result<Frame<Bytes>, io::Error>> + Send + 'static,
) -> Response<Body> {
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(StreamBody::new(frames).boxed_unsync())
        .unwrap_or_else(|_| Response::new(empty()))
}

/// The bytes of a line that never ends, a frame at a time.
static LINE: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// The first events, then `data: ` and a line of `h.bytes` without its end, sent as fast as
/// the client reads; then nothing for `h.hold`, and the body ends.
fn huge_line(
    events: Vec<Bytes>,
    h: HugeLine,
    mut guard: StreamGuard,
) -> impl futures_util::Stream<Item = Result<Frame<Bytes>, io::Error>> + Send + 'static {
    use futures_util::StreamExt;
    let mut head: Vec<Bytes> = events.into_iter().take(h.after).collect();
    head.push(Bytes::from_static(b"data: "));
    let line = stream::unfold(h.bytes, |left| async move {
        let n = left.min(LINE.len() as u64) as usize;
        (n > 0).then(|| (Bytes::from_static(&LINE[..n]), left - n as u64))
    });
    let hold = stream::once(async move {
        tokio::time::sleep(h.hold).await;
        guard.finish();
    })
    .filter_map(|()| async { None });
    stream::iter(head)
        .chain(line)
        .chain(hold)
        .map(|b| Ok(Frame::data(b)))
}

/// Counts an SSE response while it is written, and whether the client left before its end.
struct StreamGuard {
    sim: Sim,
    done: bool,
}

impl StreamGuard {
    fn new(sim: Sim) -> StreamGuard {
        sim.stats().streams_open.fetch_add(1, Ordering::Relaxed);
        StreamGuard { sim, done: false }
    }

    fn finish(&mut self) {
        self.done = true;
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let stats = self.sim.stats();
        stats.streams_open.fetch_sub(1, Ordering::Relaxed);
        if !self.done {
            stats.streams_cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A TCP stream that closes with RST instead of FIN when `reset` is set, as a crashed or
/// refusing upstream would.
struct ResetIo {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl ResetIo {
    fn new(stream: TcpStream, reset: bool) -> ResetIo {
        ResetIo {
            stream,
            reset: Arc::new(AtomicBool::new(reset)),
        }
    }
}

impl Drop for ResetIo {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for ResetIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResetIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
