//! The HTTP server: routes, TCP_NODELAY on every accepted socket, graceful shutdown with a
//! deadline, and a final flush of queued records.

use crate::App;
use crate::api;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(api::chat_completions))
        .route("/v1/embeddings", post(api::embeddings))
        .route("/v1/models", get(api::models))
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

async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
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
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let serve = axum::serve(listener, router(app.clone())).with_graceful_shutdown(async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    });
    let task = tokio::spawn(async move {
        let deadline = async move {
            let _ = deadline_rx.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            r = serve.into_future() => {
                if let Err(e) = r {
                    tracing::error!(error = %e, "server stopped");
                }
            }
            _ = deadline => {
                tracing::warn!(grace_secs = grace.as_secs(), "in-flight calls did not finish within the grace period; closing them");
            }
        }
        writer.finish().await;
    });
    Ok(Running {
        addr,
        app,
        stop,
        task,
    })
}
