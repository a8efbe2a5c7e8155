//! Virtual API keys on the control plane: an operator of a key's tenant (or an admin) creates
//! and revokes it; whoever reads a tenant's records sees its keys (never the keys themselves).

use crate::{Result, audit, now_ms};
use seam_store::{Audit, KeyRecord, Keys};
use serde_json::{Value, json};

/// A new key of `tenant` from 24 random bytes the caller draws (a CSPRNG's): the key itself,
/// shown once, and its record, which keeps only the key's SHA-256 and its first characters.
/// The gateway's `mint_key` and the dashboard both mint through here.
pub fn mint(
    tenant: &str,
    name: Option<String>,
    now_ms: i64,
    secret: [u8; 24],
) -> (String, KeyRecord) {
    let plain = format!("{KEY_SCHEME}{}", hex::encode(secret));
    let record = KeyRecord {
        id: format!("key_{}", uuid::Uuid::now_v7().simple()),
        tenant: tenant.to_string(),
        name,
        prefix: plain[..KEY_SCHEME.len() + 8].to_string(),
        hash: crate::token_hash(&plain),
        created_ms: now_ms,
        revoked_ms: None,
        limits: None,
    };
    (plain, record)
}

/// Stores a key minted by the caller (only its hash is in `key`), audited as `key.create`.
pub async fn create(
    store: &(impl Keys + Audit + ?Sized),
    actor: &crate::Actor,
    key: &KeyRecord,
) -> Result<()> {
    actor.require_operator(&key.tenant, "creating keys")?;
    store.insert_key(key).await?;
    let limits: Value = key
        .limits
        .as_deref()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| json!({}));
    audit(
        store,
        &actor.name,
        "key.create",
        &key.id,
        None,
        json!({"tenant": key.tenant, "prefix": key.prefix, "limits": limits}),
    )
    .await
}

/// Every key starts so; a prefix must say more than this to name one key.
pub const KEY_SCHEME: &str = "sk-seam-";
/// Characters of a key's own that a prefix must give.
const MIN_OWN_CHARS: usize = 4;

/// Revokes the active key named by id or prefix, once the actor may revoke every key it
/// names; returns the keys revoked.
pub async fn revoke(
    store: &(impl Keys + Audit + ?Sized),
    actor: &crate::Actor,
    id_or_prefix: &str,
) -> Result<Vec<KeyRecord>> {
    let own = id_or_prefix.strip_prefix(KEY_SCHEME);
    if KEY_SCHEME.starts_with(id_or_prefix) || own.is_some_and(|o| o.len() < MIN_OWN_CHARS) {
        return Err(crate::ControlError::Invalid(format!(
            "`{id_or_prefix}` does not name one key (every key starts with `{KEY_SCHEME}`): give the key's id or at least {} characters of its prefix, e.g. {KEY_SCHEME}1a2b (`seam keys list` shows them)",
            KEY_SCHEME.len() + MIN_OWN_CHARS
        )));
    }
    let named: Vec<KeyRecord> = store
        .list_keys()
        .await?
        .into_iter()
        .filter(|k| k.revoked_ms.is_none() && k.is_named_by(id_or_prefix))
        .collect();
    for k in &named {
        actor.require_operator(&k.tenant, &format!("revoking key {}", k.id))?;
    }
    let revoked = store.revoke_key(id_or_prefix, now_ms()).await?;
    for k in &revoked {
        audit(
            store,
            &actor.name,
            "key.revoke",
            &k.id,
            Some(json!({"state": "active"})),
            json!({"state": "revoked"}),
        )
        .await?;
    }
    Ok(revoked)
}

/// The keys of the tenants the actor reads.
pub async fn list(store: &(impl Keys + ?Sized), actor: &crate::Actor) -> Result<Vec<KeyRecord>> {
    let scope = actor.read_scope("listing keys")?;
    Ok(store
        .list_keys()
        .await?
        .into_iter()
        .filter(|k| scope.allows(&k.tenant))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_key_is_stored_as_its_hash_and_named_by_its_prefix() {
        let (plain, k) = mint("acme", Some("ci".into()), 5, [0xab; 24]);
        assert_eq!(plain, format!("{KEY_SCHEME}{}", "ab".repeat(24)));
        assert_eq!(k.hash, crate::token_hash(&plain));
        assert_eq!(k.prefix, "sk-seam-abababab");
        assert!(k.is_named_by(&k.prefix) && k.id.starts_with("key_"));
        assert_eq!(
            (k.tenant.as_str(), k.created_ms, k.revoked_ms),
            ("acme", 5, None)
        );
        let token = crate::users::new_token([1; 24]);
        assert_eq!(token, format!("seam-user-{}", "01".repeat(24)));
    }
}
