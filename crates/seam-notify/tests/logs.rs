//! What a delivery that gives up logs: the receiver's host and the event id, never the
//! secret, the URL's path or query, or the body.

use seam_config::{Secret, Webhook};
use seam_notify::Notifier;
use seam_store::EventRecord;
use seam_vocab::EventKind;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// One thread: the deliveries run where the subscriber is set.
#[tokio::test(flavor = "current_thread")]
async fn a_give_up_names_the_host_and_the_event_only() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    // A port nothing listens on: bound, then closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        l.local_addr().expect("an address").port()
    };
    let n = Notifier::new(&[Webhook {
        url: format!("http://127.0.0.1:{port}/hooks/T0K3N-in-path?sig=q-secret"),
        secret_env: "HOOK_SECRET".into(),
        secret: Some(Secret::new("whsec-never-logged".into())),
        events: vec![EventKind::CanaryFailed],
        timeout: Duration::from_millis(200),
        max_attempts: 1,
    }])
    .expect("builds");
    let event = EventRecord::new(
        EventKind::CanaryFailed,
        "message-body-text".into(),
        serde_json::json!({"golden": "details-body-text"}),
    );
    n.notify(&event);
    assert!(n.flush(Duration::from_secs(2)).await);
    assert_eq!(n.stats().failed, 1);

    let text = String::from_utf8(logs.0.lock().expect("not poisoned").clone()).expect("utf-8");
    let gave_up = text
        .lines()
        .find(|l| l.contains("webhook delivery gave up"))
        .unwrap_or_else(|| panic!("no give-up warning in:\n{text}"));
    assert!(gave_up.contains("WARN"), "{gave_up}");
    assert!(gave_up.contains("host=127.0.0.1"), "{gave_up}");
    assert!(gave_up.contains(&event.id), "{gave_up}");
    assert!(gave_up.contains("could not connect"), "{gave_up}");
    for never in [
        "whsec-never-logged",
        "T0K3N-in-path",
        "q-secret",
        "message-body-text",
        "details-body-text",
    ] {
        assert!(!text.contains(never), "`{never}` logged:\n{text}");
    }
}
