//! The audit chain: each record's hash covers its fields and the hash before it, so changing
//! any stored byte breaks the chain from that record on.

use crate::AuditRecord;
use sha2::{Digest, Sha256};

/// The hash the first record chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of a record's content and the previous hash.
pub fn record_hash(r: &AuditRecord) -> String {
    let content = serde_json::json!({
        "seq": r.seq,
        "created_ms": r.created_ms,
        "actor": r.actor,
        "action": r.action,
        "subject": r.subject,
        "before": r.before,
        "after": r.after,
        "prev_hash": r.prev_hash,
    });
    hex::encode(Sha256::digest(content.to_string().as_bytes()))
}

/// The first record that does not match the chain, and why; `None` when all do.
pub fn verify(records: &[AuditRecord]) -> Option<(i64, String)> {
    let mut prev = GENESIS.to_string();
    for (i, r) in records.iter().enumerate() {
        if r.seq != i as i64 + 1 {
            return Some((
                r.seq,
                format!("expected record {} here: a record is missing", i + 1),
            ));
        }
        if r.prev_hash != prev {
            return Some((
                r.seq,
                "its prev_hash is not the hash of the record before".into(),
            ));
        }
        if record_hash(r) != r.hash {
            return Some((
                r.seq,
                "its content does not match its hash (it was changed)".into(),
            ));
        }
        prev = r.hash.clone();
    }
    None
}
