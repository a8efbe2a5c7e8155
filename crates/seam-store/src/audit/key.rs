//! `SEAM_AUDIT_KEY`: the secret a keyed chain is signed with. It lives in the environment of
//! the processes that append and verify, never in the database; records keep only its id.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

/// The environment variable holding the key.
pub const KEY_ENV: &str = "SEAM_AUDIT_KEY";

/// Shorter keys are refused: the chain is only as strong as the key is hard to guess.
const MIN_LEN: usize = 32;

/// An audit key. Its `Debug` shows only its id.
#[derive(Clone)]
pub struct AuditKey {
    secret: Vec<u8>,
    id: String,
}

impl AuditKey {
    /// A key from its text; refused (without repeating it) when too short.
    pub fn new(secret: &str) -> Result<AuditKey, String> {
        let secret = secret.trim();
        if secret.len() < MIN_LEN {
            return Err(format!(
                "{KEY_ENV} is too short ({} characters): use at least {MIN_LEN} random characters, e.g. the output of `openssl rand -hex 32`",
                secret.len()
            ));
        }
        let mut key = AuditKey {
            secret: secret.as_bytes().to_vec(),
            id: String::new(),
        };
        // A name for the key that reveals nothing of it: records say which key signed them,
        // so a wrong key is told apart from a changed record.
        key.id = key.mac(b"seam audit key id")[..16].to_string();
        Ok(key)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// HMAC-SHA256 of `data`, hex.
    pub(crate) fn mac(&self, data: &[u8]) -> String {
        // HMAC takes a key of any length.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKey(id {})", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_key_is_refused_without_repeating_it() {
        let e = AuditKey::new("hunter2-hunter2").unwrap_err();
        assert!(
            e.contains("SEAM_AUDIT_KEY is too short (15 characters)"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn the_id_names_the_key_and_debug_shows_nothing_else() {
        let secret = "k".repeat(40);
        let a = AuditKey::new(&secret).unwrap();
        let b = AuditKey::new(&"j".repeat(40)).unwrap();
        assert_eq!(a.id().len(), 16);
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id(), AuditKey::new(&secret).unwrap().id());
        let debug = format!("{a:?}");
        assert!(!debug.contains(&secret), "{debug}");
        // RFC 4231, test case 2: this is HMAC-SHA256.
        let jefe = AuditKey {
            secret: b"Jefe".to_vec(),
            id: String::new(),
        };
        assert_eq!(
            jefe.mac(b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
