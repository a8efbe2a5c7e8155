//! The HTTP server: HTTP/1.1 connections (TCP_NODELAY on each), the data plane's endpoints
//! called directly and the rest routed, graceful shutdown with a deadline, and a final flush
//! of queued records.

use crate::App;
use crate::api;
use crate::edge::Edge;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use seam_providers::Endpoint;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(api::chat_completions))
        .route("/v1/embeddings", post(api::embeddings))
        .route("/v1/models", get(api::models))
        .route("/v1/messages", post(api::messages))
        .route(
            "/v1/messages/count_tokens",
            post(crate::edge::anthropic::count_tokens),
        )
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/metrics", get(metrics))
        .merge(crate::control_api::routes())
        .fallback(not_found)
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(app)
}

/// A bug must not cost the client its answer shape: a panic becomes an OpenAI-style 500.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!("a request handler panicked; answered 500");
    let e = seam_wire::ApiError::new(500, "server_error", "Seam hit an internal error.");
    (
        http::StatusCode::INTERNAL_SERVER_ERROR,
        [(http::header::CONTENT_TYPE, "application/json")],
        e.to_json(),
    )
        .into_response()
}

/// Prometheus text; with `server.metrics_token_env`, only for a request that carries it.
async fn metrics(State(app): State<Arc<App>>, headers: http::HeaderMap) -> Response {
    if let Some(want) = app.live().config.server.metrics_token.as_ref() {
        let sent = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !sent.is_some_and(|t| crate::authenticate::same_secret(want.expose(), t)) {
            return (
                http::StatusCode::UNAUTHORIZED,
                [(http::header::WWW_AUTHENTICATE, "Bearer")],
                "send the metrics token (server.metrics_token_env) as Authorization: Bearer TOKEN\n",
            )
                .into_response();
        }
    }
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

async fn not_found(uri: http::Uri) -> impl IntoResponse {
    let e = seam_wire::ApiError::new(
        404,
        "invalid_request_error",
        format!("Seam has no endpoint {}", uri.path()),
    )
    .code("unknown_url");
    (
        http::StatusCode::NOT_FOUND,
        [(http::header::CONTENT_TYPE, "application/json")],
        e.to_json(),
    )
}

/// A running gateway.
pub struct Running {
    pub addr: SocketAddr,
    app: Arc<App>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Reloads from `path` on a change to it or to its prompts directory, on SIGHUP, and on
    /// `POST /api/reload` (see [`crate::reload`]).
    pub fn watch_config(&self, path: std::path::PathBuf) {
        crate::reload::watch(self.app.clone(), path);
    }

    /// Reloads now, as `actor` (tests, and callers without HTTP).
    pub async fn reload(
        &self,
        actor: &str,
    ) -> Result<crate::reload::Outcome, crate::reload::ReloadError> {
        crate::reload::reload(&self.app, actor, "call").await
    }

    /// Stops accepting, lets in-flight calls finish (up to the grace period), flushes
    /// records, and returns when all of that is done.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Runs until `signal` resolves, then shuts down as [`Running::shutdown`] does.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        tracing::info!("shutting down: no new connections; finishing in-flight calls");
        self.shutdown().await;
    }
}

pub(crate) async fn start(
    app: Arc<App>,
    listener: TcpListener,
    writer: crate::record::RecordWriter,
) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let grace = app.live().config.server.shutdown_grace;
    let (stop, mut stop_rx) = watch::channel(false);
    let mut deadline_rx = stop.subscribe();
    let service = Gateway {
        app: app.clone(),
        router: router(app.clone()),
    };
    let shared = app.clone();
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        let http = hyper::server::conn::http1::Builder::new();
        // Every connection task holds a clone of `open`; `cut` ends the ones still running
        // when the grace period is over.
        let (open, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
        let (cut, _) = watch::channel(false);
        loop {
            let tcp = tokio::select! {
                r = listener.accept() => match r {
                    Ok((tcp, _)) => tcp,
                    Err(e) => {
                        accept_failed(e).await;
                        continue;
                    }
                },
                _ = stopped(&mut stop_rx) => break,
            };
            let _ = tcp.set_nodelay(true);
            let conn = graceful.watch(http.serve_connection(TokioIo::new(tcp), service.clone()));
            let (open, mut cut) = (open.clone(), cut.subscribe());
            tokio::spawn(async move {
                let _open = open;
                tokio::select! {
                    r = conn => if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended with an error");
                    },
                    // Dropping the connection drops the calls in it: a stream cut here is
                    // recorded as cut, before the record writer stops.
                    _ = cut.wait_for(|c| *c) => {}
                }
            });
        }
        // No new connections; open ones finish the call in flight, then close.
        drop(listener);
        let deadline = async move {
            let _ = deadline_rx.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            _ = graceful.shutdown() => {}
            _ = deadline => {
                tracing::warn!(grace_secs = grace.as_secs(), "in-flight calls did not finish within the grace period; closing them");
            }
        }
        shared
            .cutting
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = cut.send(true);
        drop(open);
        // Bounded: a connection task ends as soon as it sees the cut.
        let _ = tokio::time::timeout(CUT_WAIT, all_closed.recv()).await;
        writer.finish().await;
    });
    Ok(Running {
        addr,
        app,
        stop,
        task,
    })
}

/// How long connections cut at the end of the grace period get to record their calls.
const CUT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// A failed accept: a connection that went away before it was taken is nothing; anything
/// else (out of file descriptors, say) is logged and waited out, so the loop does not spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}

/// The gateway's HTTP service: the data plane's POST endpoints go straight to their handler
/// (axum's router, its tower layers and their futures cost ~5,000 instructions per call);
/// everything else goes through the router.
#[derive(Clone)]
struct Gateway {
    app: Arc<App>,
    router: Router,
}

type ServiceFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl hyper::service::Service<http::Request<Incoming>> for Gateway {
    type Response = Response;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn call(&self, req: http::Request<Incoming>) -> ServiceFuture {
        let req = req.map(Body::new);
        let endpoint = match (req.method(), req.uri().path()) {
            (&http::Method::POST, "/v1/chat/completions") => {
                Some((Endpoint::ChatCompletions, Edge::OpenAi))
            }
            (&http::Method::POST, "/v1/embeddings") => Some((Endpoint::Embeddings, Edge::OpenAi)),
            (&http::Method::POST, "/v1/messages") => {
                Some((Endpoint::ChatCompletions, Edge::Anthropic))
            }
            _ => None,
        };
        match endpoint {
            Some((endpoint, edge)) => {
                let app = self.app.clone();
                // The call's future is made inside the box: it is large, and moving it in
                // would copy it.
                Box::pin(async move {
                    Ok(AssertUnwindSafe(api::generate(app, req, endpoint, edge))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|p| match edge {
                            Edge::OpenAi => panic_response(p),
                            Edge::Anthropic => crate::edge::anthropic::panic_response(),
                        }))
                })
            }
            // The router is always ready: it only routes.
            None => Box::pin(tower_service::Service::call(&mut self.router.clone(), req)),
        }
    }
}
