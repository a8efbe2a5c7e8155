//! Phase 1 of [`crate::pipeline`], authenticate: who is calling. Keys are virtual, stored as SHA-256 hashes, and
//! served from an in-memory snapshot that a background task refreshes from the store, so the
//! hot path never waits on the database.

use crate::FastMap;
use crate::errors::GatewayError;
use seam_store::{KeyRecord, Keys};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::time::Instant;

pub const KEY_PREFIX: &str = seam_control::keys::KEY_SCHEME;

/// Who a request is from.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub tenant: String,
    pub key_id: Option<String>,
    /// The key's own limits, on top of its tenant's.
    pub key_limits: Arc<[seam_config::TenantLimit]>,
    /// What this call is for (the pipeline sets it from the call's `x-seam-purpose` once the
    /// key is known): eval traffic is outside cost limits unless `[evals] count_in_budgets`.
    pub purpose: seam_vocab::Purpose,
}

/// A key's stored limits; a malformed entry is skipped and logged, never fatal.
fn key_limits(k: &KeyRecord) -> Arc<[seam_config::TenantLimit]> {
    let Some(text) = &k.limits else {
        return Arc::from(Vec::new());
    };
    let map: std::collections::BTreeMap<String, f64> =
        serde_json::from_str(text).unwrap_or_default();
    map.iter()
        .filter_map(|(name, max)| match seam_config::parse_limit(name, *max) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(key = %k.id, limit = %name, "ignoring a key limit: {e}");
                None
            }
        })
        .collect()
}

/// A freshly minted key: the only moment its plain text exists.
pub struct NewKey {
    pub plain: String,
    pub record: KeyRecord,
}

/// How a key is stored: the hex of [`key_digest`].
pub fn hash_key(plain: &str) -> String {
    hex::encode(key_digest(plain).0)
}

fn key_digest(plain: &str) -> KeyDigest {
    KeyDigest(Sha256::digest(plain.as_bytes()).into())
}

/// A key's SHA-256. Two are compared in constant time, so that how long a lookup takes says
/// nothing about how much of a stored digest a guess matched.
#[derive(Clone, Copy)]
pub(crate) struct KeyDigest([u8; 32]);

// Hashes the bytes that `eq` compares, so equal digests hash alike.
impl std::hash::Hash for KeyDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for KeyDigest {
    fn eq(&self, other: &KeyDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for KeyDigest {}

/// Whether a presented token is the expected one, in time that depends on neither: both are
/// hashed first (so their lengths do not show either) and the digests compared in constant
/// time.
pub fn same_secret(expected: &str, presented: &str) -> bool {
    key_digest(expected) == key_digest(presented)
}

pub fn mint_key(tenant: &str, name: Option<String>, now_ms: i64) -> NewKey {
    let (plain, record) = seam_control::keys::mint(tenant, name, now_ms, rand_bytes());
    NewKey { plain, record }
}

/// 192 bits from the thread-local CSPRNG (ChaCha, seeded by the OS).
fn rand_bytes() -> [u8; 24] {
    rand::random()
}

/// The active keys by the SHA-256 of the key (the stored hex decoded once here, so that a
/// call hashes its key without formatting it), swapped whole on refresh. A key missing from
/// the snapshot (created a moment ago, perhaps by another gateway) is looked up in the store.
#[derive(Clone, Default)]
pub struct KeyCache {
    by_hash: Arc<RwLock<Arc<KeysByDigest>>>,
    misses: Arc<Mutex<Misses>>,
}

/// Store lookups of keys the snapshot lacks: at most [`LOOKUPS_PER_SEC`] (a token bucket),
/// and a key found unknown is not looked up again for [`UNKNOWN_TTL`], so a flood of bad
/// keys costs the store a bounded trickle of indexed reads.
pub const LOOKUPS_PER_SEC: f64 = 20.0;
const UNKNOWN_TTL: Duration = Duration::from_secs(1);
const MAX_UNKNOWN: usize = 10_000;

#[derive(Default)]
struct Misses {
    unknown: HashMap<KeyDigest, Instant>,
    tokens: f64,
    refilled: Option<Instant>,
}

/// What to do about a key the snapshot lacks.
#[derive(Debug, PartialEq, Eq)]
enum Miss {
    LookUp,
    /// Found unknown a moment ago.
    KnownUnknown,
    /// Over [`LOOKUPS_PER_SEC`].
    Limited,
}

impl Misses {
    fn decide(&mut self, digest: KeyDigest, now: Instant) -> Miss {
        if self.unknown.get(&digest).is_some_and(|until| *until > now) {
            return Miss::KnownUnknown;
        }
        let elapsed = self.refilled.map_or(LOOKUPS_PER_SEC, |t| {
            (now - t).as_secs_f64() * LOOKUPS_PER_SEC
        });
        self.tokens = (self.tokens + elapsed).min(LOOKUPS_PER_SEC);
        self.refilled = Some(now);
        if self.tokens < 1.0 {
            return Miss::Limited;
        }
        self.tokens -= 1.0;
        Miss::LookUp
    }

    fn remember_unknown(&mut self, digest: KeyDigest, now: Instant) {
        if self.unknown.len() >= MAX_UNKNOWN {
            self.unknown.retain(|_, until| *until > now);
            if self.unknown.len() >= MAX_UNKNOWN {
                self.unknown.clear();
            }
        }
        self.unknown.insert(digest, now + UNKNOWN_TTL);
    }
}

type KeysByDigest = FastMap<KeyDigest, Caller>;

impl KeyCache {
    pub fn replace(&self, keys: &[KeyRecord]) {
        let map: KeysByDigest = keys
            .iter()
            .filter(|k| k.revoked_ms.is_none())
            .filter_map(|k| {
                let mut digest = [0u8; 32];
                if hex::decode_to_slice(&k.hash, &mut digest).is_err() {
                    tracing::warn!(key_id = %k.id, "a stored key hash is not 64 hex digits; the key cannot authenticate");
                    return None;
                }
                Some((
                    KeyDigest(digest),
                    Caller {
                        tenant: k.tenant.clone(),
                        key_id: Some(k.id.clone()),
                        key_limits: key_limits(k),
                        purpose: seam_vocab::Purpose::Live,
                    },
                ))
            })
            .collect();
        if let Ok(mut g) = self.by_hash.write() {
            *g = Arc::new(map);
        }
    }

    /// The active keys that have limits of their own, by key id.
    pub fn limited(&self) -> std::collections::HashMap<String, Arc<[seam_config::TenantLimit]>> {
        let Ok(m) = self.by_hash.read() else {
            return Default::default();
        };
        m.values()
            .filter(|c| !c.key_limits.is_empty())
            .filter_map(|c| Some((c.key_id.clone()?, c.key_limits.clone())))
            .collect()
    }

    fn lookup(&self, digest: &KeyDigest) -> Option<Caller> {
        self.by_hash
            .read()
            .ok()
            .and_then(|m| m.get(digest).cloned())
    }

    /// A key the snapshot lacks, from the store (within the lookup rate), added to the
    /// snapshot when active; the next refresh keeps it or drops it as the store says.
    async fn look_up_in_store(
        &self,
        digest: KeyDigest,
        store: &dyn Keys,
        metrics: &crate::observe::Metrics,
    ) -> Option<Caller> {
        let decision = match self.misses.lock() {
            Ok(mut m) => m.decide(digest, Instant::now()),
            Err(_) => Miss::Limited,
        };
        match decision {
            Miss::KnownUnknown => return None,
            Miss::Limited => {
                metrics.key_lookup("limited");
                return None;
            }
            Miss::LookUp => {}
        }
        let found = match store.key_by_hash(&hex::encode(digest.0)).await {
            Ok(k) => k.filter(|k| k.revoked_ms.is_none()),
            Err(e) => {
                // The refresh loop already warns while the store is unreachable.
                metrics.key_lookup("error");
                tracing::debug!(error = %e, "could not look a key up in the store");
                return None;
            }
        };
        let Some(k) = found else {
            metrics.key_lookup("unknown");
            if let Ok(mut m) = self.misses.lock() {
                m.remember_unknown(digest, Instant::now());
            }
            return None;
        };
        metrics.key_lookup("found");
        let caller = Caller {
            tenant: k.tenant.clone(),
            key_id: Some(k.id.clone()),
            key_limits: key_limits(&k),
            purpose: seam_vocab::Purpose::Live,
        };
        if let Ok(mut g) = self.by_hash.write() {
            let mut map = KeysByDigest::clone(&g);
            map.insert(digest, caller.clone());
            *g = Arc::new(map);
        }
        Some(caller)
    }

    pub async fn refresh(&self, store: &dyn Keys) -> Result<(), seam_store::StoreError> {
        let keys = store.list_keys().await?;
        self.replace(&keys);
        Ok(())
    }

    /// Refreshes every `every` until the gateway stops; failures are logged, the last good
    /// snapshot stays in force.
    pub fn spawn_refresh(
        &self,
        tasks: &crate::tasks::Tasks,
        store: Arc<dyn Keys>,
        every: Duration,
    ) {
        let cache = self.clone();
        tasks.spawn("key refresh", move |mut stop| async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                // A refresh only reads: it may be cut anywhere.
                tokio::select! {
                    _ = async {
                        tick.tick().await;
                        if let Err(e) = cache.refresh(store.as_ref()).await {
                            tracing::warn!(error = %e, "could not refresh keys; keeping the last snapshot");
                        }
                    } => {}
                    _ = stop.wait() => return,
                }
            }
        });
    }
}

const X_API_KEY: http::HeaderName = http::HeaderName::from_static("x-api-key");

/// Reads the bearer key (or `x-api-key`) and maps it to a caller: from the snapshot, else
/// from the store.
pub async fn authenticate(
    headers: &http::HeaderMap,
    keys: &KeyCache,
    keyless_tenant: Option<&str>,
    store: &dyn Keys,
    metrics: &crate::observe::Metrics,
) -> Result<Caller, GatewayError> {
    let presented = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| headers.get(X_API_KEY).and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    match presented {
        None => match keyless_tenant {
            Some(t) => Ok(Caller {
                tenant: t.to_string(),
                key_id: None,
                key_limits: Arc::from(Vec::new()),
                purpose: seam_vocab::Purpose::Live,
            }),
            None => Err(GatewayError::MissingKey),
        },
        Some(k) => {
            let digest = key_digest(k);
            match keys.lookup(&digest) {
                Some(c) => Ok(c),
                None => keys
                    .look_up_in_store(digest, store, metrics)
                    .await
                    .ok_or(GatewayError::BadKey),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Metrics;
    use seam_store::Store;

    fn headers(auth: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    async fn store() -> seam_store::SqlStore {
        let s = seam_store::SqlStore::connect("sqlite::memory:")
            .await
            .unwrap();
        s.migrate().await.unwrap();
        s
    }

    #[tokio::test]
    async fn a_minted_key_authenticates_until_revoked() {
        let (store, metrics) = (store().await, Metrics::new());
        let k = mint_key("acme", None, 1);
        assert!(k.plain.starts_with(KEY_PREFIX));
        assert_ne!(k.record.hash, k.plain);
        let cache = KeyCache::default();
        cache.replace(std::slice::from_ref(&k.record));
        let auth = headers(&format!("Bearer {}", k.plain));
        let c = authenticate(&auth, &cache, None, &store, &metrics)
            .await
            .unwrap();
        assert_eq!(c.tenant, "acme");
        let mut revoked = k.record.clone();
        revoked.revoked_ms = Some(2);
        cache.replace(&[revoked]);
        assert!(matches!(
            authenticate(&auth, &cache, None, &store, &metrics).await,
            Err(GatewayError::BadKey)
        ));
    }

    #[tokio::test]
    async fn a_key_missing_from_the_snapshot_is_found_in_the_store_unless_revoked() {
        let (store, metrics) = (store().await, Metrics::new());
        let cache = KeyCache::default();
        let k = mint_key("acme", None, 1);
        store.insert_key(&k.record).await.unwrap();
        let auth = headers(&format!("Bearer {}", k.plain));
        let c = authenticate(&auth, &cache, None, &store, &metrics)
            .await
            .unwrap();
        assert_eq!(c.key_id.as_deref(), Some(k.record.id.as_str()));
        let r = mint_key("acme", None, 1);
        let mut revoked = r.record.clone();
        revoked.revoked_ms = Some(2);
        store.insert_key(&revoked).await.unwrap();
        let auth = headers(&format!("Bearer {}", r.plain));
        assert!(matches!(
            authenticate(&auth, &cache, None, &store, &metrics).await,
            Err(GatewayError::BadKey)
        ));
    }

    fn digest(n: u8) -> KeyDigest {
        KeyDigest([n; 32])
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_keys_are_looked_up_within_a_rate_and_remembered_briefly() {
        let mut m = Misses::default();
        let t0 = Instant::now();
        // A burst of distinct keys: LOOKUPS_PER_SEC of them reach the store, the rest wait.
        let looked = (0..100u8)
            .filter(|n| m.decide(digest(*n), t0) == Miss::LookUp)
            .count();
        assert_eq!(looked, LOOKUPS_PER_SEC as usize);
        assert_eq!(m.decide(digest(200), t0), Miss::Limited);
        // The rate refills with time.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(m.decide(digest(201), t1), Miss::LookUp);
        assert_eq!(m.decide(digest(202), t1), Miss::LookUp);
        assert_eq!(m.decide(digest(203), t1), Miss::Limited);
        // A key found unknown is not looked up again for a moment, then is.
        m.remember_unknown(digest(201), t1);
        let t2 = t1 + Duration::from_secs(10);
        assert_eq!(
            m.decide(digest(201), t1 + Duration::from_millis(500)),
            Miss::KnownUnknown
        );
        assert_eq!(m.decide(digest(201), t2), Miss::LookUp);
    }

    #[test]
    fn secrets_match_only_themselves() {
        assert!(same_secret("admin-token", "admin-token"));
        assert!(!same_secret("admin-token", "admin-tokeN"));
        assert!(!same_secret("admin-token", "admin-token-and-more"));
        assert!(!same_secret("admin-token", ""));
    }

    #[tokio::test]
    async fn keyless_mode_only_when_configured() {
        let (store, metrics) = (store().await, Metrics::new());
        let cache = KeyCache::default();
        let none = http::HeaderMap::new();
        assert!(matches!(
            authenticate(&none, &cache, None, &store, &metrics).await,
            Err(GatewayError::MissingKey)
        ));
        assert_eq!(
            authenticate(&none, &cache, Some("dev"), &store, &metrics)
                .await
                .unwrap()
                .tenant,
            "dev"
        );
        assert!(matches!(
            authenticate(
                &headers("Bearer sk-wrong"),
                &cache,
                Some("dev"),
                &store,
                &metrics
            )
            .await,
            Err(GatewayError::BadKey)
        ));
    }
}
