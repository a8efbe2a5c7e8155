//! Phase 1, authenticate: who is calling. Keys are virtual, stored as SHA-256 hashes, and
//! served from an in-memory snapshot that a background task refreshes from the store, so the
//! hot path never waits on the database.

use crate::FastMap;
use crate::errors::GatewayError;
use seam_store::{KeyRecord, Store};
use sha2::{Digest, Sha256};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use subtle::ConstantTimeEq;

pub const KEY_PREFIX: &str = "sk-seam-";

/// Who a request is from.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub tenant: String,
    pub key_id: Option<String>,
    /// The key's own limits, on top of its tenant's.
    pub key_limits: Arc<[seam_config::TenantLimit]>,
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
    let plain = format!("{KEY_PREFIX}{}", hex::encode(rand_bytes()));
    let record = KeyRecord {
        id: format!("key_{}", uuid::Uuid::now_v7().simple()),
        tenant: tenant.to_string(),
        name,
        prefix: plain[..KEY_PREFIX.len() + 8].to_string(),
        hash: hash_key(&plain),
        created_ms: now_ms,
        revoked_ms: None,
        limits: None,
    };
    NewKey { plain, record }
}

/// 192 bits from the thread-local CSPRNG (ChaCha, seeded by the OS).
fn rand_bytes() -> [u8; 24] {
    rand::random()
}

/// The active keys by the SHA-256 of the key (the stored hex decoded once here, so that a
/// call hashes its key without formatting it), swapped whole on refresh.
#[derive(Clone, Default)]
pub struct KeyCache {
    by_hash: Arc<RwLock<Arc<KeysByDigest>>>,
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

    fn lookup(&self, plain: &str) -> Option<Caller> {
        let digest = key_digest(plain);
        self.by_hash
            .read()
            .ok()
            .and_then(|m| m.get(&digest).cloned())
    }

    pub async fn refresh(&self, store: &dyn Store) -> Result<(), seam_store::StoreError> {
        let keys = store.list_keys().await?;
        self.replace(&keys);
        Ok(())
    }

    /// Refreshes every `every` until the process ends; failures are logged, the last good
    /// snapshot stays in force.
    pub fn spawn_refresh(&self, store: Arc<dyn Store>, every: Duration) {
        let cache = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = cache.refresh(store.as_ref()).await {
                    tracing::warn!(error = %e, "could not refresh keys; keeping the last snapshot");
                }
            }
        });
    }
}

const X_API_KEY: http::HeaderName = http::HeaderName::from_static("x-api-key");

/// Reads the bearer key (or `x-api-key`) and maps it to a caller.
pub fn authenticate(
    headers: &http::HeaderMap,
    keys: &KeyCache,
    keyless_tenant: Option<&str>,
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
            }),
            None => Err(GatewayError::MissingKey),
        },
        Some(k) => keys.lookup(k).ok_or(GatewayError::BadKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn a_minted_key_authenticates_until_revoked() {
        let k = mint_key("acme", None, 1);
        assert!(k.plain.starts_with(KEY_PREFIX));
        assert_ne!(k.record.hash, k.plain);
        let cache = KeyCache::default();
        cache.replace(std::slice::from_ref(&k.record));
        let c = authenticate(&headers(&format!("Bearer {}", k.plain)), &cache, None).unwrap();
        assert_eq!(c.tenant, "acme");
        let mut revoked = k.record.clone();
        revoked.revoked_ms = Some(2);
        cache.replace(&[revoked]);
        assert!(matches!(
            authenticate(&headers(&format!("Bearer {}", k.plain)), &cache, None),
            Err(GatewayError::BadKey)
        ));
    }

    #[test]
    fn secrets_match_only_themselves() {
        assert!(same_secret("admin-token", "admin-token"));
        assert!(!same_secret("admin-token", "admin-tokeN"));
        assert!(!same_secret("admin-token", "admin-token-and-more"));
        assert!(!same_secret("admin-token", ""));
    }

    #[test]
    fn keyless_mode_only_when_configured() {
        let cache = KeyCache::default();
        let none = http::HeaderMap::new();
        assert!(matches!(
            authenticate(&none, &cache, None),
            Err(GatewayError::MissingKey)
        ));
        assert_eq!(
            authenticate(&none, &cache, Some("dev")).unwrap().tenant,
            "dev"
        );
        assert!(matches!(
            authenticate(&headers("Bearer sk-wrong"), &cache, Some("dev")),
            Err(GatewayError::BadKey)
        ));
    }
}
