//! Phase 3 of [`crate::pipeline`], with render: the session's pin. A prompt call with `x-seam-session: ID` is served the release its session
//! is pinned to, whatever its channel points at now. The first call of a session pins it to
//! the channel's release; the pin lives in the store, so it survives restarts and is shared
//! by every gateway on that store. A deploy with mode `immediate` moves each session at its
//! next call (one `session_moved` event per session); a drain deploy leaves them be.

use crate::call::CallCtx;
use crate::errors::GatewayError;
use crate::events::Events;
use crate::render::{Channel, Deployed, ReleaseCache};
use crate::untrusted::Escaped;
use seam_store::{EventRecord, SessionKey, SessionRecord, SessionTtl, Store, StoreError};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const MOVED_EVENT: seam_vocab::EventKind = seam_vocab::EventKind::SessionMoved;

/// How long a cached pin is used before the store is asked again: the bound on how late a
/// gateway sees a migration or another gateway's move, and how far a pin's recorded last
/// activity may lag.
pub const PIN_SYNC: Duration = Duration::from_secs(1);

/// How late a gateway may see a deploy (its release snapshot refreshes every second): a
/// session pinned this soon after an `immediate` deploy may have been pinned from the old
/// snapshot, so it moves too.
pub const DEPLOY_VISIBILITY: Duration = Duration::from_secs(2);

/// Wall-clock milliseconds. Sessions read time through this so that expiry can be tested on
/// a clock that moves only when the test moves it.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        seam_store::now_ms()
    }
}

struct Cached {
    session: SessionRecord,
    synced_ms: i64,
}

/// Pins seen lately, so a busy session costs the store one round trip per [`PIN_SYNC`].
pub struct Sessions {
    cache: Mutex<HashMap<SessionKey, Cached>>,
    clock: Arc<dyn Clock>,
}

/// Which release a session's call gets.
#[derive(Debug, PartialEq)]
pub struct Resolved {
    pub release_id: String,
    /// This call started the session.
    pub started: bool,
    /// This call moved the session off this release (an `immediate` deploy).
    pub moved_from: Option<String>,
}

fn ttl_ms(t: seam_config::SessionTtl) -> SessionTtl {
    SessionTtl {
        idle_ms: t.idle.as_millis() as i64,
        max_age_ms: t.max_age.as_millis() as i64,
    }
}

impl Sessions {
    pub fn new(clock: Arc<dyn Clock>) -> Sessions {
        Sessions {
            cache: Mutex::new(HashMap::new()),
            clock,
        }
    }

    fn cached(&self, key: &SessionKey, now: i64, ttl: SessionTtl) -> Option<SessionRecord> {
        let mut cache = self.cache.lock().ok()?;
        let c = cache.get_mut(key)?;
        if now - c.synced_ms >= PIN_SYNC.as_millis() as i64 || c.session.expires_ms <= now {
            return None;
        }
        c.session.last_ms = c.session.last_ms.max(now);
        c.session.expires_ms = ttl.expires(c.session.started_ms, c.session.last_ms);
        Some(c.session.clone())
    }

    fn remember(&self, session: &SessionRecord, now: i64) {
        if let Ok(mut cache) = self.cache.lock() {
            // Ended sessions leave the cache as it is refilled.
            if cache.len() > 100_000 {
                cache.retain(|_, c| c.session.expires_ms > now);
            }
            cache.insert(
                session.key(),
                Cached {
                    session: session.clone(),
                    synced_ms: now,
                },
            );
        }
    }

    /// The release for a call of session `key` to `channel`.
    pub async fn resolve(
        &self,
        store: &dyn seam_store::Sessions,
        key: &SessionKey,
        channel: &Channel,
        ttl: seam_config::SessionTtl,
    ) -> Result<Resolved, StoreError> {
        let ttl = ttl_ms(ttl);
        let now = self.clock.now_ms();
        let current = &channel.deployed.release_id;
        let (mut session, started) = match self.cached(key, now, ttl) {
            Some(s) => (s, false),
            None => {
                let p = store.pin_session(key, current, now, ttl).await?;
                self.remember(&p.session, now);
                (p.session, p.started)
            }
        };
        let mut moved_from = None;
        let visible_by = channel.since_ms + DEPLOY_VISIBILITY.as_millis() as i64;
        if channel.immediate && session.release_id != *current && session.pinned_ms < visible_by {
            if store
                .move_session(key, &session.release_id, current, now)
                .await?
            {
                moved_from = Some(std::mem::replace(&mut session.release_id, current.clone()));
                session.pinned_ms = now;
            } else {
                // Moved by another gateway or migrated meanwhile: take what the store says.
                session = store.pin_session(key, current, now, ttl).await?.session;
            }
            self.remember(&session, now);
        }
        Ok(Resolved {
            release_id: session.release_id,
            started,
            moved_from,
        })
    }
}

/// What serving a session its pinned release needs: the pins, the releases they name, the
/// store both live in, and the timeline a moved session is written to.
pub struct Pins {
    pub sessions: Sessions,
    pub releases: Arc<ReleaseCache>,
    pub store: Arc<dyn Store>,
    pub events: Events,
}

impl Pins {
    /// The release a session's call is served: the pinned one, loaded by id when its channel
    /// has moved on.
    pub async fn pin(
        &self,
        ctx: &CallCtx,
        session_id: &str,
        name: &str,
        channel_name: &str,
        channel: &Channel,
    ) -> Result<Arc<Deployed>, GatewayError> {
        let unavailable = |reason: String| GatewayError::SessionUnavailable {
            session: session_id.to_string(),
            reason,
        };
        let key = SessionKey {
            tenant: ctx.caller.tenant.clone(),
            session_id: session_id.to_string(),
            prompt: name.to_string(),
            channel: channel_name.to_string(),
        };
        let ttl = ctx.live.config.sessions.for_prompt(name);
        let resolved = self
            .sessions
            .resolve(self.store.as_ref(), &key, channel, ttl)
            .await
            .map_err(|e| unavailable(format!("store: {e}")))?;
        if let Some(from) = &resolved.moved_from {
            self.moved(&key, from, &resolved.release_id);
        }
        if resolved.release_id == channel.deployed.release_id {
            return Ok(channel.deployed.clone());
        }
        self.releases
            .load(self.store.as_ref(), &resolved.release_id)
            .await
            .map_err(|e| unavailable(format!("store: {e}")))?
            .ok_or_else(|| unavailable(format!("release {} is missing", resolved.release_id)))
    }

    fn moved(&self, key: &SessionKey, from: &str, to: &str) {
        let message = format!(
            "session {} (tenant {}) moved from {from} to {to}: {}@{} was deployed with mode immediate",
            key.session_id, key.tenant, key.prompt, key.channel
        );
        tracing::info!(kind = MOVED_EVENT.as_str(), session = %Escaped(&key.session_id), "{}", Escaped(&message));
        let details = json!({"actor": "deploy", "prompt": key.prompt, "channel": key.channel, "tenant": key.tenant,
            "session": key.session_id, "before": {"release": from}, "after": {"release": to}});
        self.events
            .emit(EventRecord::new(MOVED_EVENT, message, details));
    }
}

/// Keeps `seam_sessions_pinned` current from the store (so it counts every gateway's
/// sessions); a release whose sessions have all ended reads 0.
pub fn spawn_gauge(
    tasks: &crate::tasks::Tasks,
    store: Arc<dyn seam_store::Sessions>,
    metrics: Arc<crate::observe::Metrics>,
    clock: Arc<dyn Clock>,
    every: Duration,
) {
    tasks.spawn("session gauge", move |mut stop| async move {
        let mut seen: HashMap<crate::observe::PromptRelease, i64> = HashMap::new();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // The count only reads: it may be cut anywhere.
            let counted = tokio::select! {
                c = async {
                    tick.tick().await;
                    store.session_counts(clock.now_ms()).await
                } => c,
                _ = stop.wait() => return,
            };
            let counts = match counted {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "could not count sessions; seam_sessions_pinned is stale");
                    continue;
                }
            };
            for n in seen.values_mut() {
                *n = 0;
            }
            for c in counts {
                *seen
                    .entry(crate::observe::PromptRelease {
                        prompt: c.prompt,
                        release: c.release_id,
                    })
                    .or_default() += c.sessions;
            }
            for (labels, n) in &seen {
                metrics.sessions_pinned.get_or_create(labels).set(*n);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    /// A paused clock: it moves only when the test moves it.
    struct Paused(AtomicI64);

    impl Clock for Paused {
        fn now_ms(&self) -> i64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn channel(release: &str, immediate: bool, since_ms: i64) -> Channel {
        let prompt = seam_prompts::parse(
            "name = \"bot\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"m-2026-01\"\n[[messages]]\nrole = \"system\"\ncontent = \"hi\"\n",
            std::path::Path::new("bot.toml"),
        )
        .expect("prompt");
        Channel {
            deployed: Arc::new(Deployed {
                release_id: release.into(),
                prompt,
            }),
            immediate,
            since_ms,
        }
    }

    struct Setup {
        _dir: tempfile::TempDir,
        store: seam_store::SqlStore,
        clock: Arc<Paused>,
        sessions: Sessions,
        key: SessionKey,
    }

    async fn setup() -> Setup {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store = seam_store::open(&url).await.expect("store");
        let clock = Arc::new(Paused(AtomicI64::new(1_000_000)));
        let sessions = Sessions::new(clock.clone());
        let key = SessionKey {
            tenant: "acme".into(),
            session_id: "s".into(),
            prompt: "bot".into(),
            channel: "production".into(),
        };
        Setup {
            _dir: dir,
            store,
            clock,
            sessions,
            key,
        }
    }

    #[tokio::test]
    async fn sessions_expire_when_idle_and_at_their_maximum_age() {
        let Setup {
            _dir,
            store,
            clock,
            sessions,
            key,
        } = setup().await;
        let ttl = seam_config::SessionTtl {
            idle: Duration::from_secs(60),
            max_age: Duration::from_secs(300),
        };
        let advance = |secs: i64| clock.0.fetch_add(secs * 1000, Ordering::SeqCst);
        let r = sessions
            .resolve(&store, &key, &channel("rel_1", false, 0), ttl)
            .await
            .expect("resolve");
        assert!(r.started);
        let v2 = channel("rel_2", false, 1_000_500);
        // Calls 50 s apart keep it alive past the idle time...
        for _ in 0..4 {
            advance(50);
            let r = sessions
                .resolve(&store, &key, &v2, ttl)
                .await
                .expect("resolve");
            assert_eq!((r.release_id.as_str(), r.started), ("rel_1", false));
        }
        // ...61 s of silence ends it: the next call starts a new session on the channel's release.
        advance(61);
        let r = sessions
            .resolve(&store, &key, &v2, ttl)
            .await
            .expect("resolve");
        assert_eq!((r.release_id.as_str(), r.started), ("rel_2", true));
        // However busy, a session ends at its maximum age.
        let v3 = channel("rel_3", false, 1_300_000);
        for _ in 0..5 {
            advance(59);
            let r = sessions
                .resolve(&store, &key, &v3, ttl)
                .await
                .expect("resolve");
            assert_eq!(r.release_id, "rel_2");
        }
        advance(10);
        let r = sessions
            .resolve(&store, &key, &v3, ttl)
            .await
            .expect("resolve");
        assert_eq!((r.release_id.as_str(), r.started), ("rel_3", true));
    }

    #[tokio::test]
    async fn an_immediate_deploy_moves_sessions_pinned_before_it_once() {
        let Setup {
            _dir,
            store,
            clock,
            sessions,
            key,
        } = setup().await;
        let ttl = seam_config::SessionTtl {
            idle: Duration::from_secs(600),
            max_age: Duration::from_secs(6000),
        };
        sessions
            .resolve(&store, &key, &channel("rel_1", false, 0), ttl)
            .await
            .expect("resolve");
        clock.0.fetch_add(10_000, Ordering::SeqCst);
        let now = clock.now_ms();
        let immediate = channel("rel_2", true, now);
        let r = sessions
            .resolve(&store, &key, &immediate, ttl)
            .await
            .expect("resolve");
        assert_eq!(r.moved_from.as_deref(), Some("rel_1"));
        assert_eq!(r.release_id, "rel_2");
        clock.0.fetch_add(10_000, Ordering::SeqCst);
        let r = sessions
            .resolve(&store, &key, &immediate, ttl)
            .await
            .expect("resolve");
        assert_eq!((r.release_id.as_str(), r.moved_from), ("rel_2", None));
    }
}
