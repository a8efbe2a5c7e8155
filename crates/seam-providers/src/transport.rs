//! The HTTP client providers send through: HTTP/1.1 connections (hyper) over TCP
//! (TCP_NODELAY) and rustls with the platform's certificate verifier, kept in a small pool of
//! idle connections per provider.
//!
//! Why not reqwest or hyper-util's pooled client: per request reqwest parsed the URL twice and
//! went through retry and redirect layers Seam never uses (~5% of the gateway's CPU per call);
//! hyper-util's pool hashed the origin, set connection extensions and spawned a task to take
//! each connection back (~4%). Here a connection goes back to the pool when its response body
//! has been read to the end, from the body itself. Each attempt is one HTTP try the provider
//! sees: no redirects, and nothing sent again once written.

use crate::{AttemptError, ErrorClass};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower_service::Service;

pub type Response = http::Response<Body>;

/// Connections idle longer than this are closed rather than reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Most idle connections kept per provider.
const MAX_IDLE: usize = 1024;

type Sender = SendRequest<Full<Bytes>>;

static JSON: HeaderValue = HeaderValue::from_static("application/json");

#[derive(Clone)]
pub struct Transport {
    connector: HttpsConnector<HttpConnector>,
    pool: Arc<Pool>,
}

/// A provider endpoint, parsed once at start.
#[derive(Clone, Debug)]
pub struct Target {
    /// Where to connect.
    uri: Uri,
    /// The request line's target (origin-form: path and query).
    path: Uri,
    host: HeaderValue,
    /// Scheme and authority: connections are reused only for the same origin.
    origin: Arc<str>,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.uri.fmt(f)
    }
}

#[derive(Default)]
struct Pool {
    /// Most recently used last.
    idle: Mutex<Vec<Idle>>,
    /// When a failed connect was last logged: at most once per [`CONNECT_WARN_EVERY`].
    connect_warned: Mutex<Option<Instant>>,
}

/// A provider that cannot be reached is logged at most this often (every call records it).
const CONNECT_WARN_EVERY: Duration = Duration::from_secs(30);

struct Idle {
    origin: Arc<str>,
    sender: Sender,
    since: Instant,
}

impl Pool {
    fn take(&self, origin: &str) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(i) = idle.iter().rposition(|c| &*c.origin == origin) {
            let c = idle.remove(i);
            if c.since.elapsed() < IDLE_TIMEOUT && !c.sender.is_closed() {
                return Some(c.sender);
            }
        }
        None
    }

    fn put(&self, origin: Arc<str>, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        // The oldest are first.
        while idle
            .first()
            .is_some_and(|c| idle.len() >= MAX_IDLE || now - c.since >= IDLE_TIMEOUT)
        {
            idle.remove(0);
        }
        idle.push(Idle {
            origin,
            sender,
            since: now,
        });
    }
}

impl Transport {
    pub fn new(connect_timeout: Duration) -> Result<Transport, String> {
        // The crypto provider is process-wide; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = <rustls::ClientConfig as rustls_platform_verifier::ConfigVerifierExt>::with_platform_verifier()
            .map_err(|e| format!("cannot set up TLS certificate verification: {e}"))?;
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        Ok(Transport {
            connector,
            pool: Arc::default(),
        })
    }

    /// POSTs a JSON `body` with the provider's own `headers` (Host and Content-Type are set
    /// here); a failure before a response arrives is classified for the record.
    pub async fn post_json(
        &self,
        target: &Target,
        headers: HeaderMap,
        body: Vec<u8>,
        provider: &str,
    ) -> Result<Response, AttemptError> {
        self.send(http::Method::POST, target, headers, Some(body), provider)
            .await
    }

    /// One request with `method`; a body is sent as JSON.
    pub async fn send(
        &self,
        method: http::Method,
        target: &Target,
        mut headers: HeaderMap,
        body: Option<Vec<u8>>,
        provider: &str,
    ) -> Result<Response, AttemptError> {
        headers.insert(http::header::HOST, target.host.clone());
        if body.is_some() {
            headers.insert(http::header::CONTENT_TYPE, JSON.clone());
        }
        let mut req = Request::new(Full::new(Bytes::from(body.unwrap_or_default())));
        *req.method_mut() = method;
        *req.uri_mut() = target.path.clone();
        *req.headers_mut() = headers;
        // An idle connection that turns out closed never received the request, so it goes to
        // the next one (or a new one) as the same try.
        while let Some(mut sender) = self.pool.take(&target.origin) {
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(req).await {
                Ok(resp) => return Ok(self.keep(resp, sender, target)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) => req = unsent,
                    None => return Err(lost(provider)),
                },
            }
        }
        let mut sender = self.connect(target, provider).await?;
        match sender.send_request(req).await {
            Ok(resp) => Ok(self.keep(resp, sender, target)),
            Err(_) => Err(lost(provider)),
        }
    }

    async fn connect(&self, target: &Target, provider: &str) -> Result<Sender, AttemptError> {
        let unreachable =
            |e: &(dyn std::error::Error + 'static)| self.connect_failed(target, provider, e);
        let mut connector = self.connector.clone();
        std::future::poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(|e| unreachable(&*e))?;
        let io = connector
            .call(target.uri.clone())
            .await
            .map_err(|e| unreachable(&*e))?;
        let (sender, conn) = http1::handshake(io).await.map_err(|e| unreachable(&e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "an upstream connection ended with an error");
            }
        });
        Ok(sender)
    }

    fn keep(&self, resp: http::Response<Incoming>, sender: Sender, target: &Target) -> Response {
        let done = resp.body().is_end_stream();
        let mut keep = Some(Keep {
            pool: self.pool.clone(),
            origin: target.origin.clone(),
            sender,
        });
        if done && let Some(k) = keep.take() {
            k.release();
        }
        resp.map(|inner| Body { inner, keep })
    }
}

impl Transport {
    /// A failed connect's record names the innermost cause (the OS error, a TLS alert) and
    /// the provider's origin (scheme, host and port: never a path, query or credentials), so
    /// that `seam calls show` says "connection refused to http://…"; the client is told only
    /// which provider (its address may be internal). Logged at most once per
    /// [`CONNECT_WARN_EVERY`] per provider.
    fn connect_failed(
        &self,
        target: &Target,
        provider: &str,
        e: &(dyn std::error::Error + 'static),
    ) -> AttemptError {
        let cause = root_cause(e);
        let now = Instant::now();
        let warn = {
            let mut last = self
                .pool
                .connect_warned
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let due = last.is_none_or(|t| now - t >= CONNECT_WARN_EVERY);
            if due {
                *last = Some(now);
            }
            due
        };
        if warn {
            tracing::warn!(
                provider,
                url = %target.origin,
                error = %cause,
                "cannot connect to the provider (logged at most every {}s; every call's record says so)",
                CONNECT_WARN_EVERY.as_secs()
            );
        }
        let mut e = AttemptError::new(
            ErrorClass::Connect,
            format!("Seam could not connect to provider `{provider}`"),
        );
        e.body = Some(format!("{cause} to {}", target.origin));
        e
    }
}

/// The innermost error of a chain, in lower case as OS errors read in a sentence:
/// "connection refused", "tcp connect error" is only hyper's wrapper.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    if let Some(io) = inner.downcast_ref::<std::io::Error>() {
        return io_text(io);
    }
    let text = inner.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => "an unknown error".into(),
    }
}

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::TimedOut => "connection timed out".into(),
        _ => {
            let t = e.to_string();
            t.split(" (os error").next().unwrap_or(&t).to_lowercase()
        }
    }
}

/// The client's own error text can carry the URL, never the key; keep only the kind of failure.
fn lost(provider: &str) -> AttemptError {
    AttemptError::new(
        ErrorClass::Reset,
        format!("Seam lost the connection to provider `{provider}`"),
    )
}

/// A response body that gives its connection back to the pool once read to the end. A body
/// dropped before its end closes the connection (hyper cannot reuse it).
pub struct Body {
    inner: Incoming,
    keep: Option<Keep>,
}

struct Keep {
    pool: Arc<Pool>,
    origin: Arc<str>,
    sender: Sender,
}

impl Keep {
    fn release(self) {
        self.pool.put(self.origin, self.sender);
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        let finished = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => this.inner.is_end_stream(),
            Poll::Ready(Some(Err(_))) => {
                this.keep = None;
                false
            }
            Poll::Pending => false,
        };
        if finished && let Some(k) = this.keep.take() {
            k.release();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Parses a provider URL once, at start.
pub fn uri(base: &str, path: &str) -> Result<Target, String> {
    let text = format!("{base}{path}");
    let unusable =
        |why: &dyn std::fmt::Display| format!("base_url `{base}` is not a usable URL: {why}");
    let uri: Uri = text.parse().map_err(|e| unusable(&e))?;
    let (Some(scheme @ ("http" | "https")), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return Err(unusable(&"it needs http:// or https:// and a host"));
    };
    let default_port = if scheme == "https" { 443 } else { 80 };
    let host = match uri.port_u16() {
        Some(p) if p != default_port => format!("{host}:{p}"),
        _ => host.to_string(),
    };
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .parse::<Uri>()
        .map_err(|e| unusable(&e))?;
    Ok(Target {
        path,
        host: HeaderValue::from_str(&host).map_err(|e| unusable(&e))?,
        origin: format!("{scheme}://{host}").into(),
        uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A loopback HTTP/1.1 server that counts connections, keeps each request head, and
    /// answers `ok` (keep-alive), closing each connection after `per_conn` answers.
    struct Upstream {
        target: Target,
        conns: Arc<AtomicUsize>,
        heads: Arc<Mutex<Vec<String>>>,
    }

    async fn upstream(per_conn: usize) -> Upstream {
        upstream_answering(per_conn, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await
    }

    /// Answers `ok` in two chunks 20 ms apart, as a stream would.
    async fn chunked_upstream() -> Upstream {
        upstream_answering(
            usize::MAX,
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\no\r\n|1\r\nk\r\n0\r\n\r\n",
        )
        .await
    }

    async fn upstream_answering(per_conn: usize, reply: &'static [u8]) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let conns = Arc::new(AtomicUsize::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (c, h) = (conns.clone(), heads.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let h = h.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    for _ in 0..per_conn {
                        let head = loop {
                            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break String::from_utf8_lossy(&buf[..end + 4]).to_string();
                            }
                            let mut chunk = [0u8; 4096];
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        while buf.len() < head.len() + len {
                            let mut chunk = [0u8; 4096];
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..head.len() + len);
                        h.lock().unwrap().push(head);
                        // `|` marks a pause.
                        for (i, part) in reply.split(|b| *b == b'|').enumerate() {
                            if i > 0 {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            if sock.write_all(part).await.is_err() {
                                return;
                            }
                        }
                    }
                    // Closing while the client holds the connection idle.
                });
            }
        });
        Upstream {
            target: uri(&base, "/v1/x").unwrap(),
            conns,
            heads,
        }
    }

    async fn post(t: &Transport, up: &Upstream) -> String {
        let resp = t
            .post_json(&up.target, HeaderMap::new(), b"{}".to_vec(), "up")
            .await
            .expect("answered");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        String::from_utf8_lossy(&body).to_string()
    }

    #[tokio::test]
    async fn a_connection_is_reused_once_its_body_is_read() {
        let up = upstream(usize::MAX).await;
        let t = Transport::new(Duration::from_secs(2)).unwrap();
        for _ in 0..3 {
            assert_eq!(post(&t, &up).await, "ok");
        }
        assert_eq!(up.conns.load(Ordering::SeqCst), 1);
        let head = up.heads.lock().unwrap()[0].to_ascii_lowercase();
        assert!(head.starts_with("post /v1/x http/1.1\r\n"), "{head}");
        assert!(
            head.contains(&format!("host: {}\r\n", up.target.host.to_str().unwrap())),
            "{head}"
        );
        assert!(head.contains("content-length: 2\r\n"), "{head}");
        assert!(
            head.contains("content-type: application/json\r\n"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn a_streamed_body_returns_its_connection_once_it_ends() {
        let up = chunked_upstream().await;
        let t = Transport::new(Duration::from_secs(2)).unwrap();
        for _ in 0..2 {
            assert_eq!(post(&t, &up).await, "ok");
        }
        assert_eq!(up.conns.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_pooled_connection_the_upstream_closed_is_not_an_error() {
        let up = upstream(1).await;
        let t = Transport::new(Duration::from_secs(2)).unwrap();
        assert_eq!(post(&t, &up).await, "ok");
        // Let the upstream's close reach the idle connection, or not: either way the next
        // call is answered, on a new connection.
        tokio::task::yield_now().await;
        assert_eq!(post(&t, &up).await, "ok");
        assert_eq!(up.conns.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_body_left_unread_does_not_return_its_connection() {
        let up = upstream(usize::MAX).await;
        let t = Transport::new(Duration::from_secs(2)).unwrap();
        let resp = t
            .post_json(&up.target, HeaderMap::new(), Vec::new(), "up")
            .await
            .unwrap();
        drop(resp);
        assert_eq!(post(&t, &up).await, "ok");
        assert_eq!(up.conns.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connect_error_naming_the_provider() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let target = uri(&format!("http://{addr}"), "/v1/x").unwrap();
        drop(listener);
        let t = Transport::new(Duration::from_secs(2)).unwrap();
        let e = t
            .post_json(&target, HeaderMap::new(), Vec::new(), "up")
            .await
            .err()
            .expect("refused");
        assert_eq!(e.class, ErrorClass::Connect);
        assert!(e.message.contains("`up`"), "{}", e.message);
        assert_eq!(
            e.body.as_deref(),
            Some(format!("connection refused to http://{addr}").as_str())
        );
        assert!(!e.message.contains("127.0.0.1"), "{}", e.message);
    }

    #[test]
    fn provider_urls_need_a_scheme_and_a_host() {
        let t = uri("http://127.0.0.1:4010/v1", "/chat/completions").unwrap();
        assert_eq!(t.to_string(), "http://127.0.0.1:4010/v1/chat/completions");
        assert_eq!(t.path, "/v1/chat/completions");
        assert_eq!(t.host, "127.0.0.1:4010");
        assert!(uri("127.0.0.1:4010/v1", "/x").is_err());
        assert!(uri("ftp://h/v1", "/x").is_err());
        assert!(uri("http://bad host/v1", "/x").is_err());
    }

    #[test]
    fn the_host_header_leaves_out_the_default_port() {
        assert_eq!(
            uri("https://api.example.com:443/v1", "/x").unwrap().host,
            "api.example.com"
        );
        assert_eq!(
            uri("http://[::1]:8080", "/v1/x").unwrap().host,
            "[::1]:8080"
        );
    }
}
