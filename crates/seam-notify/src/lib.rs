//! Webhooks for timeline events (`[[notify.webhooks]]`, docs/canaries.md "Webhooks").
//!
//! [`Notifier::notify`] hands an event to every webhook subscribed to its kind and returns at
//! once: each delivery is a task of its own, POSTing the event as JSON signed with
//! HMAC-SHA256 and retrying with backoff, so a failing or hanging receiver never holds up the
//! gateway or a command. Deliveries are counted ([`Notifier::stats`]); one that gives up is
//! logged with the receiver's host and the event id, never the secret or the body.

mod body;
mod delivery;

pub use body::signature;

use seam_config::{Secret, Webhook};
use seam_store::EventRecord;
use seam_vocab::EventKind;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Pushes timeline events to the configured webhooks. Cheap to clone: clones share the
/// client, the webhooks and the counters.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

/// What the deliveries came to since the notifier was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Deliveries a receiver answered with a 2xx.
    pub delivered: u64,
    /// Deliveries given up: attempts exhausted, or refused with a 4xx other than 408/429.
    pub failed: u64,
    /// Attempts made, first ones and retries.
    pub attempts: u64,
    /// Deliveries still being attempted or waiting to retry.
    pub in_flight: u64,
}

pub(crate) struct Inner {
    client: reqwest::Client,
    hooks: Vec<Hook>,
    counters: Counters,
    /// Woken when the last delivery in flight ends.
    idle: tokio::sync::Notify,
}

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    attempts: AtomicU64,
    in_flight: AtomicU64,
}

pub(crate) struct Hook {
    url: reqwest::Url,
    /// What logs name: the URL's path or query may hold a token.
    host: String,
    secret: Secret,
    events: Vec<EventKind>,
    timeout: Duration,
    max_attempts: u32,
}

impl Notifier {
    /// A notifier for `webhooks` as the config resolved them (secrets read). A webhook whose
    /// secret is missing (a config read with `load_lenient`) cannot sign and is left out,
    /// with a warning naming its variable. Errors name the webhook whose URL does not parse,
    /// or say that the HTTP client could not be built.
    pub fn new(webhooks: &[Webhook]) -> Result<Notifier, String> {
        let mut hooks = Vec::new();
        for (i, w) in webhooks.iter().enumerate() {
            let url = reqwest::Url::parse(&w.url)
                .map_err(|e| format!("notify.webhooks[{i}].url: not a URL ({e})"))?;
            let host = url.host_str().unwrap_or_default().to_string();
            let Some(secret) = w.secret.clone() else {
                tracing::warn!(
                    host = %host,
                    secret_env = %w.secret_env,
                    "webhook left out: its secret variable is not set"
                );
                continue;
            };
            hooks.push(Hook {
                url,
                host,
                secret,
                events: w.events.clone(),
                timeout: w.timeout,
                max_attempts: w.max_attempts.max(1),
            });
        }
        Ok(Notifier {
            inner: Arc::new(Inner {
                client: http_client()?,
                hooks,
                counters: Counters::default(),
                idle: tokio::sync::Notify::new(),
            }),
        })
    }

    /// Sends `event` to every webhook subscribed to its kind, each in a task of its own, and
    /// returns without waiting for any. Call it inside a tokio runtime.
    pub fn notify(&self, event: &EventRecord) {
        let subscribed: Vec<usize> = self
            .inner
            .hooks
            .iter()
            .enumerate()
            .filter(|(_, h)| h.events.contains(&event.kind))
            .map(|(i, _)| i)
            .collect();
        if subscribed.is_empty() {
            return;
        }
        let body = match body::event_body(event) {
            Ok(b) => b,
            Err(e) => {
                // Not expected: the body is made of strings and numbers.
                self.inner
                    .counters
                    .failed
                    .fetch_add(subscribed.len() as u64, Ordering::Relaxed);
                tracing::warn!(event = %event.id, error = %e, "webhook not sent: the event does not serialize");
                return;
            }
        };
        for i in subscribed {
            let hook = &self.inner.hooks[i];
            let delivery = Arc::new(delivery::Delivery {
                event_id: event.id.clone(),
                kind: event.kind.as_str(),
                signature: signature(hook.secret.expose().as_bytes(), &body),
                body: body.clone(),
            });
            delivery::spawn(&self.inner, i, delivery);
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            delivered: c.delivered.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            attempts: c.attempts.load(Ordering::Relaxed),
            in_flight: c.in_flight.load(Ordering::SeqCst),
        }
    }

    /// Waits until no delivery is in flight, or `within` has passed; true when none is left.
    /// A command calls it before it exits, so that its events are not dropped with the
    /// runtime (a delivery still retrying after `within` is).
    pub async fn flush(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let idle = self.inner.idle.notified();
            tokio::pin!(idle);
            // Registered before the count is read, so a delivery ending in between still
            // wakes this one.
            idle.as_mut().enable();
            if self.inner.counters.in_flight.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.inner.counters.in_flight.load(Ordering::SeqCst) == 0;
            }
        }
    }

    /// How many webhooks it sends to (those left out for a missing secret are not counted).
    pub fn webhooks(&self) -> usize {
        self.inner.hooks.len()
    }
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<&str> = self.inner.hooks.iter().map(|h| h.host.as_str()).collect();
        f.debug_struct("Notifier")
            .field("hosts", &hosts)
            .field("stats", &self.stats())
            .finish()
    }
}

/// The client of `seam_gateway::outbound::http_client`, with the same settings (rustls/ring,
/// TCP_NODELAY, no proxy from the environment, so loopback receivers are reached directly; no
/// redirects, so a signed body is never re-sent elsewhere). Built here rather than shared:
/// the gateway writes the events this crate sends, so depending on it would be a cycle once
/// it notifies. Each attempt has its own timeout, which covers connecting.
fn http_client() -> Result<reqwest::Client, String> {
    // The crypto provider is process-wide; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the webhooks' HTTP client: {e}"))
}
