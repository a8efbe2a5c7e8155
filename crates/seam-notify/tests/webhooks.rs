//! Webhook deliveries against a receiver in the test: signatures checked from the secret and
//! the raw body, kinds filtered, retries, timeouts, and a caller that is never held up.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use seam_config::{Secret, Webhook};
use seam_notify::{Notifier, Stats, signature};
use seam_store::EventRecord;
use seam_vocab::EventKind;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "whsec-test-3c9d";

/// What the receiver does with the next request; after the script, it answers 200.
#[derive(Clone, Copy)]
enum Reply {
    Status(u16),
    Hang,
}

/// One request as the receiver got it, with the signature verified against its raw bytes.
struct Received {
    headers: HeaderMap,
    body: Bytes,
    signed: bool,
}

#[derive(Default)]
struct Receiver {
    script: Mutex<VecDeque<Reply>>,
    got: Mutex<Vec<Received>>,
}

impl Receiver {
    fn got(&self) -> std::sync::MutexGuard<'_, Vec<Received>> {
        self.got.lock().expect("not poisoned")
    }
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sent = headers
        .get("x-seam-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let signed = sent == signature(SECRET.as_bytes(), &body);
    r.got().push(Received {
        headers,
        body,
        signed,
    });
    let reply = r.script.lock().expect("not poisoned").pop_front();
    match reply {
        Some(Reply::Hang) => std::future::pending().await,
        Some(Reply::Status(s)) => StatusCode::from_u16(s).expect("a status"),
        None => StatusCode::OK,
    }
}

/// A receiver on 127.0.0.1:0 following `script`; its URL and what it got.
async fn receiver(script: &[Reply]) -> (String, Arc<Receiver>) {
    let r = Arc::new(Receiver::default());
    r.script.lock().expect("not poisoned").extend(script);
    let app = axum::Router::new().fallback(receive).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hooks/seam?token=path-secret"), r)
}

fn hook(url: &str, events: &[EventKind], timeout_ms: u64, max_attempts: u32) -> Webhook {
    Webhook {
        url: url.to_string(),
        secret_env: "HOOK_SECRET".into(),
        secret: Some(Secret::new(SECRET.into())),
        events: events.to_vec(),
        timeout: Duration::from_millis(timeout_ms),
        max_attempts,
    }
}

fn canary_failed() -> EventRecord {
    EventRecord::new(
        EventKind::CanaryFailed,
        "canary refund-flow failed: 2 changes since its recording".into(),
        serde_json::json!({"golden": "refund-flow", "verdict": "fail"}),
    )
    .route("support")
}

#[tokio::test]
async fn an_event_is_posted_as_signed_json_with_its_headers() {
    let (url, r) = receiver(&[]).await;
    let n = Notifier::new(&[hook(&url, &[EventKind::CanaryFailed], 2000, 1)]).expect("builds");
    let event = canary_failed();
    n.notify(&event);
    assert!(n.flush(Duration::from_secs(2)).await, "delivered in time");
    assert_eq!(
        n.stats(),
        Stats {
            delivered: 1,
            failed: 0,
            attempts: 1,
            in_flight: 0
        }
    );
    let got = r.got();
    assert_eq!(got.len(), 1);
    let g = &got[0];
    assert!(g.signed, "the signature is HMAC-SHA256 of the raw body");
    let header = |name: &str| g.headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(header("content-type"), Some("application/json"));
    assert_eq!(header("x-seam-event"), Some("canary_failed"));
    assert_eq!(header("x-seam-delivery"), Some(event.id.as_str()));
    let body: serde_json::Value = serde_json::from_slice(&g.body).expect("JSON");
    let keys: Vec<&str> = body
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "kind",
            "time",
            "created_ms",
            "route",
            "provider",
            "message",
            "details"
        ]
    );
    assert_eq!(body["id"], event.id);
    assert_eq!(body["kind"], "canary_failed");
    assert_eq!(body["created_ms"], event.created_ms);
    assert_eq!(body["route"], "support");
    assert_eq!(body["provider"], serde_json::Value::Null);
    assert_eq!(body["message"], event.message);
    assert_eq!(body["details"]["golden"], "refund-flow");
    let time = body["time"].as_str().expect("a string");
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{time}"
    );
}

#[tokio::test]
async fn only_subscribed_kinds_are_sent() {
    let (url, r) = receiver(&[]).await;
    let (other_url, other) = receiver(&[]).await;
    let n = Notifier::new(&[
        hook(
            &url,
            &[EventKind::CanaryFailed, EventKind::CanaryRecovered],
            2000,
            1,
        ),
        hook(&other_url, &[EventKind::ReleaseDeploy], 2000, 1),
    ])
    .expect("builds");
    n.notify(&EventRecord::new(
        EventKind::ServedModelChanged,
        "served model changed".into(),
        serde_json::json!({}),
    ));
    assert_eq!(n.stats(), Stats::default(), "no webhook wants it");
    n.notify(&canary_failed());
    n.notify(&EventRecord::new(
        EventKind::CanaryRecovered,
        "canary refund-flow recovered".into(),
        serde_json::json!({}),
    ));
    assert!(n.flush(Duration::from_secs(2)).await);
    assert_eq!((n.stats().delivered, n.stats().attempts), (2, 2));
    let kinds: Vec<String> = r
        .got()
        .iter()
        .map(|g| {
            let v: serde_json::Value = serde_json::from_slice(&g.body).expect("JSON");
            v["kind"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"canary_failed".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"canary_recovered".to_string()), "{kinds:?}");
    assert!(other.got().is_empty(), "release_deploy only");
}

#[tokio::test]
async fn server_errors_and_429_are_retried_until_delivered() {
    let (url, r) = receiver(&[Reply::Status(500), Reply::Status(429)]).await;
    let n = Notifier::new(&[hook(&url, &[EventKind::CanaryFailed], 1000, 4)]).expect("builds");
    let started = Instant::now();
    n.notify(&canary_failed());
    assert!(n.flush(Duration::from_secs(4)).await, "delivered in time");
    let took = started.elapsed();
    assert_eq!(
        n.stats(),
        Stats {
            delivered: 1,
            failed: 0,
            attempts: 3,
            in_flight: 0
        }
    );
    let got = r.got();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|g| g.signed));
    assert!(
        got.windows(2).all(|w| w[0].body == w[1].body),
        "every attempt sends the same bytes"
    );
    // Backoff 0.5 s then 1 s, each plus at most a tenth.
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_millis(2500),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_hanging_receiver_times_out_is_counted_and_never_holds_up_the_caller() {
    let (url, r) = receiver(&[Reply::Hang, Reply::Hang]).await;
    let n = Notifier::new(&[hook(&url, &[EventKind::CanaryFailed], 100, 2)]).expect("builds");
    let started = Instant::now();
    n.notify(&canary_failed());
    let caller = started.elapsed();
    assert!(
        caller < Duration::from_millis(20),
        "notify returned at once: {caller:?}"
    );
    assert_eq!(n.stats().in_flight, 1);
    assert!(
        !n.flush(Duration::from_millis(50)).await,
        "a flush that runs out says so"
    );
    assert!(n.flush(Duration::from_secs(2)).await, "gave up in time");
    let took = started.elapsed();
    assert_eq!(
        n.stats(),
        Stats {
            delivered: 0,
            failed: 1,
            attempts: 2,
            in_flight: 0
        }
    );
    assert_eq!(r.got().len(), 2);
    // Two 100 ms timeouts around a 0.5 s backoff.
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let (url, r) = receiver(&[Reply::Status(400)]).await;
    let n = Notifier::new(&[hook(&url, &[EventKind::CanaryFailed], 1000, 4)]).expect("builds");
    n.notify(&canary_failed());
    assert!(n.flush(Duration::from_secs(2)).await);
    assert_eq!(
        n.stats(),
        Stats {
            delivered: 0,
            failed: 1,
            attempts: 1,
            in_flight: 0
        }
    );
    assert_eq!(r.got().len(), 1);
}

#[tokio::test]
async fn a_webhook_without_its_secret_is_left_out_and_clones_share_counts() {
    let (url, r) = receiver(&[]).await;
    let mut unsigned = hook(&url, &[EventKind::CanaryFailed], 1000, 1);
    unsigned.secret = None;
    let n = Notifier::new(&[unsigned, hook(&url, &[EventKind::CanaryFailed], 1000, 1)])
        .expect("builds");
    assert_eq!(n.webhooks(), 1);
    let clone = n.clone();
    clone.notify(&canary_failed());
    assert!(n.flush(Duration::from_secs(2)).await);
    assert_eq!(n.stats().delivered, 1);
    assert!(r.got().iter().all(|g| g.signed));
    assert!(!format!("{n:?}").contains(SECRET));
    let e = Notifier::new(&[hook(
        "http://exa mple.com",
        &[EventKind::CanaryFailed],
        1000,
        1,
    )])
    .expect_err("not a URL");
    assert!(e.starts_with("notify.webhooks[0].url: not a URL"), "{e}");
}
