//! The HTTP server: HTTP/1.1 connections (TCP_NODELAY on each, timed and capped by
//! [`connections`]), the data plane's endpoints called directly and the rest routed, graceful
//! shutdown with a deadline, a final flush of queued records, then the background tasks'
//! stop ([`crate::tasks`]).

mod connections;
mod cors;
mod ui_gateway;

use crate::App;
use crate::api;
use crate::edge::Edge;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{get, post};
use connections::{CallBody, Closed, Conn, Connections, Step, Watched};
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
    // The dashboard (`seam-ui`), unless `[ui] enabled = false`; read at start.
    let ui = {
        let live = app.live();
        let c = &live.config.ui;
        c.enabled.then(|| {
            // The Usage page's limits: the config loaded now, so a reload counts.
            let reloader = app.reloader.clone();
            let calendar = app.reloader.clone();
            let ui = seam_ui::Ui::new(app.store.clone(), c.session_hours, c.secure_cookie)
                .with_limits(Arc::new(move || reloader.live().config.limits.clone()))
                .with_calendar(Arc::new(move || calendar.live().config.calendar.clone()))
                .with_gateway(Arc::new(ui_gateway::UiGateway(app.clone())));
            seam_ui::router(Arc::new(ui))
        })
    };
    let router = Router::new()
        .route("/v1/chat/completions", post(api::chat_completions))
        .route("/v1/completions", post(api::completions))
        .route("/v1/embeddings", post(api::embeddings))
        .route("/v1/models", get(api::models))
        .route("/v1/models/{*id}", get(api::model))
        .route("/v1/messages", post(api::messages))
        .route("/v1/messages/count_tokens", post(api::count_tokens))
        .route("/v1/responses", post(api::responses))
        .route("/v1/feedback", post(api::feedback))
        .route("/api/feedback", post(api::feedback))
        .route(
            "/v1/responses/{id}",
            get(api::stored_response).delete(api::stored_response),
        )
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/metrics", get(metrics))
        .merge(crate::control_api::routes());
    let router = match ui {
        Some(ui) => router.merge(ui),
        None => router,
    };
    router
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
    let path = uri.path();
    let message = if without_v1(path) {
        // A base URL without `/v1` is the usual mistake: say where the API is.
        format!(
            "Seam has no endpoint {path}: the API is under /v1, at /v1{path} (a client's base URL ends in /v1)"
        )
    } else {
        format!("Seam has no endpoint {path}")
    };
    let e = seam_wire::ApiError::new(404, "invalid_request_error", message).code("unknown_url");
    (
        http::StatusCode::NOT_FOUND,
        [(http::header::CONTENT_TYPE, "application/json")],
        e.to_json(),
    )
}

/// Whether `/v1` + `path` is one of the API's endpoints.
fn without_v1(path: &str) -> bool {
    const API: [&str; 6] = [
        "/chat/completions",
        "/completions",
        "/embeddings",
        "/messages",
        "/messages/count_tokens",
        "/responses",
    ];
    API.contains(&path.trim_end_matches('/'))
        || path == "/models"
        || path.starts_with("/models/")
        || path.starts_with("/responses/")
}

/// A running gateway.
pub struct Running {
    pub addr: SocketAddr,
    app: Arc<App>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The gateway's metrics, for what runs beside it in the process (the canary schedule).
    pub fn metrics(&self) -> Arc<crate::observe::Metrics> {
        self.app.metrics.clone()
    }

    /// The config in force now (a reload replaces it), for what runs beside the gateway.
    pub fn config_now(&self) -> Arc<dyn Fn() -> seam_config::Config + Send + Sync> {
        let reloader = self.app.reloader.clone();
        Arc::new(move || (*reloader.live().config).clone())
    }

    /// Reloads from `path` on a change to it or to its prompts directory, on SIGHUP, and on
    /// `POST /api/reload` (see [`crate::reload`]).
    pub fn watch_config(&self, path: std::path::PathBuf) {
        crate::reload::watch(self.app.reloader.clone(), &self.app.tasks, path);
    }

    /// Reloads now, as `actor` (tests, and callers without HTTP).
    pub async fn reload(
        &self,
        actor: &str,
    ) -> Result<crate::reload::Outcome, crate::reload::ReloadError> {
        crate::reload::reload(&self.app.reloader, actor, "call").await
    }

    /// Stops accepting, lets in-flight calls finish (up to the grace period), gives the
    /// limit leases back to Redis, flushes records, then stops the background tasks (see
    /// [`crate::tasks`]) and returns when all of that is done, saying which tasks it stopped.
    pub async fn shutdown(self) -> crate::Stopped {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.app.limiter.give_back_leases().await;
        self.app.tasks.shutdown(TASKS_WAIT).await
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
    let (grace, max) = {
        let server = &app.live().config.server;
        (
            server.shutdown_grace,
            max_connections(server.max_connections),
        )
    };
    let conns = Connections::new(max, app.metrics.clone());
    let (stop, mut stop_rx) = watch::channel(false);
    let mut deadline_rx = stop.subscribe();
    let router = router(app.clone());
    let running_app = app.clone();
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
                        accept_failed(e, &app, &conns).await;
                        continue;
                    }
                },
                _ = stopped(&mut stop_rx) => break,
            };
            // At the cap this waits (the listen queue holds new connections meanwhile).
            let slot = tokio::select! {
                s = conns.slot() => s,
                _ = stopped(&mut stop_rx) => break,
            };
            let _ = tcp.set_nodelay(true);
            let registered = {
                let live = app.live();
                let server = &live.config.server;
                conns.register(slot, server.header_timeout, server.idle_timeout)
            };
            let conn = registered.conn.clone();
            let service = Gateway {
                app: app.clone(),
                router: router.clone(),
                conn: conn.clone(),
            };
            let io = TokioIo::new(Watched::new(tcp, conn.clone()));
            let http_conn = graceful.watch(http.serve_connection(io, service));
            let (open, mut cut, conns) = (open.clone(), cut.subscribe(), conns.clone());
            tokio::spawn(async move {
                let _open = open;
                let _registered = registered;
                let mut http_conn = std::pin::pin!(http_conn);
                let timer = tokio::time::sleep_until(conn.first_deadline());
                let mut timer = std::pin::pin!(timer);
                loop {
                    tokio::select! {
                        r = &mut http_conn => {
                            if let Err(e) = r {
                                tracing::debug!(error = %e, "connection ended with an error");
                            }
                            break;
                        }
                        // Dropping the connection drops the calls in it: a stream cut here is
                        // recorded as cut, before the record writer stops.
                        _ = cut.wait_for(|c| *c) => break,
                        _ = conn.evict.notified() => if conns.evicts(&conn) {
                            conns.closed_by(Closed::Evicted);
                            break;
                        },
                        _ = &mut timer => match conn.step(tokio::time::Instant::now()) {
                            Step::Close(why) => {
                                conns.closed_by(why);
                                break;
                            }
                            Step::CheckAt(at) => timer.as_mut().reset(at),
                        },
                    }
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
        app.end
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
        app: running_app,
        stop,
        task,
    })
}

/// `server.max_connections`, else half the open-file limit (see [`connections::default_max`]);
/// a cap the limit cannot hold is said at start, when it can still be fixed.
fn max_connections(configured: Option<usize>) -> usize {
    let limit = connections::open_file_limit();
    let max = configured.unwrap_or_else(|| connections::default_max(limit));
    match limit {
        Some(fds) if configured.is_some() && (max as u64).saturating_mul(2) > fds => {
            tracing::warn!(
                max_connections = max,
                open_file_limit = fds,
                "server.max_connections allows more connections than half the open-file limit (each call holds a client and a provider socket): accepting may fail for want of descriptors; raise the limit (ulimit -n, LimitNOFILE) or lower server.max_connections"
            );
        }
        _ => tracing::info!(
            max_connections = max,
            open_file_limit = ?limit,
            "accepting at most max_connections client connections"
        ),
    }
    max
}

/// How long connections cut at the end of the grace period get to record their calls.
const CUT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// How long the background tasks get to stop, and their last events to be written.
const TASKS_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a failed accept (out of descriptors, say) waits before the next.
const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

static ACCEPT_LOG: crate::throttle::LogThrottle = crate::throttle::LogThrottle::new(10_000);

/// A failed accept: a connection that went away before it was taken is nothing; anything
/// else is counted, logged at most once per 10 s, and waited out briefly so the loop does not
/// spin. Out of descriptors, the connection that waited longest without a call is closed to
/// free one.
async fn accept_failed(e: std::io::Error, app: &App, conns: &Connections) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    app.metrics.connections.accept_errors.inc();
    // EMFILE and ENFILE (the process's and the system's descriptors), on Linux and the BSDs.
    let out_of_fds = matches!(e.raw_os_error(), Some(23 | 24));
    if out_of_fds {
        conns.evict_one();
    }
    if let Some(skipped) = ACCEPT_LOG.due() {
        tracing::error!(
            error = %e,
            skipped,
            "accepting a connection failed; retrying (see seam_accept_errors_total)"
        );
    }
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// The gateway's HTTP service on one connection: the data plane's POST endpoints go straight
/// to their handler (axum's router, its tower layers and their futures cost ~5,000
/// instructions per call); everything else goes through the router. Each response's body
/// carries its call, whose end starts the connection's idle time.
struct Gateway {
    app: Arc<App>,
    router: Router,
    conn: Arc<Conn>,
}

type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<CallBody>, Infallible>> + Send>>;

impl hyper::service::Service<http::Request<Incoming>> for Gateway {
    type Response = http::Response<CallBody>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn call(&self, req: http::Request<Incoming>) -> ServiceFuture {
        let call = self.conn.begin_call();
        // Only a browser's request says where it comes from: nothing to read for the rest.
        let allow_origin = match req.headers().contains_key(http::header::ORIGIN) {
            false => None,
            true => match cors::check(
                self.app.live().config.server.cors.as_ref(),
                req.method(),
                req.headers(),
            ) {
                cors::Verdict::Pass => None,
                cors::Verdict::Allow(v) => Some(v),
                cors::Verdict::Preflight(resp) => {
                    return Box::pin(std::future::ready(Ok(resp.map(|b| CallBody::new(b, call)))));
                }
            },
        };
        let req = req.map(Body::new);
        let endpoint = match (req.method(), req.uri().path()) {
            (&http::Method::POST, "/v1/chat/completions") => {
                Some((Endpoint::ChatCompletions, Edge::OpenAi))
            }
            (&http::Method::POST, "/v1/embeddings") => Some((Endpoint::Embeddings, Edge::OpenAi)),
            (&http::Method::POST, "/v1/completions") => Some((Endpoint::Completions, Edge::OpenAi)),
            (&http::Method::POST, "/v1/messages") => {
                Some((Endpoint::ChatCompletions, Edge::Anthropic))
            }
            (&http::Method::POST, "/v1/responses") => Some((Endpoint::Responses, Edge::Responses)),
            _ => None,
        };
        match endpoint {
            Some((endpoint, edge)) => {
                let app = self.app.clone();
                // The call's future is made inside the box: it is large, and moving it in
                // would copy it.
                Box::pin(async move {
                    let mut resp =
                        AssertUnwindSafe(crate::pipeline::call(app, req, endpoint, edge))
                            .catch_unwind()
                            .await
                            .unwrap_or_else(|p| match edge {
                                Edge::OpenAi | Edge::Responses => panic_response(p),
                                Edge::Anthropic => crate::edge::anthropic::panic_response(),
                            });
                    if let Some(origin) = allow_origin {
                        cors::decorate(resp.headers_mut(), origin);
                    }
                    Ok(resp.map(|b| CallBody::new(b, call)))
                })
            }
            None => {
                // The router is always ready: it only routes.
                let routed = tower_service::Service::call(&mut self.router.clone(), req);
                Box::pin(async move {
                    let mut resp = match routed.await {
                        Ok(r) => r,
                        Err(never) => match never {},
                    };
                    if let Some(origin) = allow_origin {
                        cors::decorate(resp.headers_mut(), origin);
                    }
                    Ok(resp.map(|b| CallBody::new(b, call)))
                })
            }
        }
    }
}
