//! A shutdown ends every background task of the gateway, after its calls and their records.

use crate::harness::{Harness, Options, call_id, hello};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A collector that counts the OTLP exports it is sent.
async fn collector() -> (String, Arc<AtomicU64>) {
    let posts = Arc::new(AtomicU64::new(0));
    let counted = posts.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), posts)
}

#[tokio::test]
async fn shutdown_stops_every_background_task_and_sends_the_queued_spans() {
    let (endpoint, exports) = collector().await;
    let extra = format!("[telemetry]\notlp_endpoint = \"{endpoint}\"\n");
    let h = Harness::start(Options {
        reloadable: true,
        extra: &extra,
        ..Options::default()
    })
    .await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    r.text().await.unwrap();
    // Its spans wait up to a second for a batch to fill: the shutdown sends them.
    let (stopped, store, _dir) = h.shutdown_reporting().await;
    for task in [
        "key refresh",
        "release refresh",
        "fan-out sweeper",
        "session gauge",
        "OTLP export",
        "config file watch",
        "SIGHUP reload",
    ] {
        assert!(stopped.stopped.contains(&task), "{task}: {stopped:?}");
    }
    assert!(stopped.aborted.is_empty(), "{stopped:?}");
    assert_eq!(
        exports.load(Ordering::SeqCst),
        1,
        "the queued spans went out before shutdown returned"
    );
    use seam_store::Records;
    assert!(
        store.get_call(&id).await.unwrap().is_some(),
        "the call was recorded before shutdown returned"
    );
}
