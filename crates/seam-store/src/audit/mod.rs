//! The audit chain: each record's hash covers its fields and the hash before it, so changing
//! any stored byte breaks the chain from that record on.
//!
//! Unkeyed records are hashed with SHA-256, which anyone who can write the database can
//! recompute after a change. With `SEAM_AUDIT_KEY` set records are signed (HMAC-SHA256) with
//! a key kept outside the database, and record their key's id: without the key no changed
//! record verifies. A chain becomes keyed at one record and never goes back: an unkeyed
//! record after a keyed one is a break, and a verifier holding the key expects the chain to
//! end keyed. Truncation is what no chain shows on its own: a [`Head`] (count and newest
//! hash) kept outside the store shows it. The releases, approvals and deploys tables are
//! checked against the records that made them (`tables`).

mod key;
mod tables;

pub use key::{AuditKey, KEY_ENV};
pub use tables::ControlRows;

use crate::AuditRecord;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The hash the first record chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The one action that may start signing a chain that has unkeyed records (`seam audit key`).
pub const KEYED_ACTION: &str = "audit.keyed";

/// What a record's hash covers. An unkeyed record's is what it always was, so chains written
/// before keys existed still verify; a keyed one's also names its key.
fn content(r: &AuditRecord) -> String {
    let mut c = serde_json::json!({
        "seq": r.seq,
        "created_ms": r.created_ms,
        "actor": r.actor,
        "action": r.action,
        "subject": r.subject,
        "before": r.before,
        "after": r.after,
        "prev_hash": r.prev_hash,
    });
    if let Some(id) = &r.key_id {
        c["key_id"] = serde_json::Value::from(id.as_str());
    }
    c.to_string()
}

/// The SHA-256 of an unkeyed record's content and the previous hash.
pub fn record_hash(r: &AuditRecord) -> String {
    hex::encode(Sha256::digest(content(r).as_bytes()))
}

/// Sets a record's key id and hash: signed with `key`, or SHA-256 without one.
pub fn seal(r: &mut AuditRecord, key: Option<&AuditKey>) {
    r.key_id = key.map(|k| k.id().to_string());
    r.hash = match key {
        Some(k) => k.mac(content(r).as_bytes()),
        None => record_hash(r),
    };
}

/// Whom the next record is signed with, given the newest record's seq and key id: a keyed
/// chain only with its own key; an unkeyed one stays unkeyed unless this is
/// [`KEYED_ACTION`] (or the chain is empty), so that a chain whose keyed records were
/// rewritten without the key is not quietly signed again on top.
pub fn next_key(
    tail: Option<(i64, Option<&str>)>,
    key: Option<&AuditKey>,
    action: &str,
) -> Result<Option<String>, String> {
    let id = key.map(|k| k.id().to_string());
    match (tail, key) {
        (None, _) => Ok(id),
        (Some((seq, Some(chain))), None) => Err(format!(
            "the audit chain is keyed (record {seq} is signed with key {chain}): set {KEY_ENV} to record control-plane actions"
        )),
        (Some((_, Some(chain))), Some(k)) if chain != k.id() => Err(wrong_key(k, chain)),
        (Some((_, Some(_))), Some(_)) => Ok(id),
        (Some((_, None)), None) => Ok(None),
        (Some((_, None)), Some(_)) if action == KEYED_ACTION => Ok(id),
        (Some((seq, None)), Some(_)) => Err(format!(
            "{KEY_ENV} is set but the audit chain's newest record ({seq}) is not keyed: if this store was never keyed, start keying it with `seam audit key`; if it was, its keyed records were rewritten without the key (see `seam audit verify`)"
        )),
    }
}

fn wrong_key(key: &AuditKey, chain: &str) -> String {
    format!(
        "{KEY_ENV} is not the key the audit chain is signed with (it is key {}, the chain's is {chain})",
        key.id()
    )
}

/// The chain as far as an anchor knows it: how many records, and the newest one's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub count: i64,
    pub hash: String,
}

impl Head {
    pub fn of(chain: &[AuditRecord]) -> Head {
        Head {
            count: chain.len() as i64,
            hash: chain.last().map_or(GENESIS, |r| r.hash.as_str()).into(),
        }
    }
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.count, self.hash)
    }
}

impl std::str::FromStr for Head {
    type Err = String;

    /// `COUNT:HASH`, as `seam audit head` prints it.
    fn from_str(s: &str) -> Result<Head, String> {
        let bad =
            || format!("`{s}` is not a head: write COUNT:HASH as `seam audit head` prints it");
        let (count, hash) = s.trim().split_once(':').ok_or_else(bad)?;
        let count: i64 = count.parse().map_err(|_| bad())?;
        let hex = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
        if count < 0 || !hex(hash) {
            return Err(bad());
        }
        Ok(Head {
            count,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

/// One line an anchoring gateway appends: when, and the head then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    pub at: i64,
    pub count: i64,
    pub head: String,
}

impl Anchor {
    pub fn head(&self) -> Head {
        Head {
            count: self.count,
            hash: self.head.clone(),
        }
    }
}

/// Something that does not match.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// `audit record 7`, `approval of rel_… by ben`, `deploy dep_…`, `head 12:…`.
    pub at: String,
    /// The audit record it concerns, when it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<i64>,
    pub reason: String,
}

impl Problem {
    fn record(seq: i64, reason: String) -> Problem {
        Problem {
            at: format!("audit record {seq}"),
            record: Some(seq),
            reason,
        }
    }
}

/// What `seam audit verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub intact: bool,
    pub records: usize,
    /// The first signed record, when the chain is keyed.
    pub keyed_from: Option<i64>,
    /// The newest record's hash.
    pub head: String,
    pub releases: usize,
    pub approvals: usize,
    pub deploys: usize,
    pub problems: Vec<Problem>,
    #[serde(skip)]
    hashes: Vec<String>,
}

impl Verdict {
    /// Checks a head taken earlier (`--head`, an anchor line) against the chain as stored:
    /// a shorter chain lost its tail, a different hash at that count was rewritten.
    pub fn check_head(&mut self, at: &str, head: &Head) {
        let n = self.hashes.len() as i64;
        let reason = if head.count > n {
            let lost = match (n + 1, head.count) {
                (a, b) if a == b => format!("record {a} was"),
                (a, b) => format!("records {a}-{b} were"),
            };
            format!(
                "the chain has {n} records, fewer than the {} of this head: {lost} deleted, or the store was rolled back",
                head.count
            )
        } else if head.count == 0 && head.hash != GENESIS {
            format!("a head of 0 records is {GENESIS}")
        } else if head.count > 0 && self.hashes[head.count as usize - 1] != head.hash {
            format!(
                "record {}'s hash is not this head's: the chain was rewritten at or before record {}",
                head.count, head.count
            )
        } else {
            return;
        };
        self.problems.push(Problem {
            at: at.to_string(),
            record: None,
            reason,
        });
        self.intact = false;
    }
}

/// The chain checked link by link and the control-plane tables against it, with the key
/// the chain is signed with, if any.
pub fn verify(chain: &[AuditRecord], rows: &ControlRows, key: Option<&AuditKey>) -> Verdict {
    let mut problems = Vec::new();
    let keyed_from = match check_chain(chain, key) {
        Ok(from) => from,
        Err((from, p)) => {
            problems.push(p);
            from
        }
    };
    tables::check(chain, rows, &mut problems);
    Verdict {
        intact: problems.is_empty(),
        records: chain.len(),
        keyed_from,
        head: Head::of(chain).hash,
        releases: rows.releases.len(),
        approvals: rows.approvals.len(),
        deploys: rows.deploys.len(),
        problems,
        hashes: chain.iter().map(|r| r.hash.clone()).collect(),
    }
}

/// The first record that does not match the chain, if any.
pub fn verify_chain(chain: &[AuditRecord], key: Option<&AuditKey>) -> Option<Problem> {
    check_chain(chain, key).err().map(|(_, p)| p)
}

/// The first keyed record, or the first break (and the first keyed record before it).
fn check_chain(
    chain: &[AuditRecord],
    key: Option<&AuditKey>,
) -> Result<Option<i64>, (Option<i64>, Problem)> {
    let mut prev = GENESIS;
    let mut keyed_from = None;
    for (i, r) in chain.iter().enumerate() {
        let broken = |why: String| Err((keyed_from, Problem::record(r.seq, why)));
        if r.seq != i as i64 + 1 {
            return broken(format!(
                "expected record {} here: a record is missing",
                i + 1
            ));
        }
        if r.prev_hash != prev {
            return broken("its prev_hash is not the hash of the record before".into());
        }
        match (&r.key_id, key) {
            (None, _) if keyed_from.is_some() => {
                return broken(format!(
                    "it is not keyed, but the chain is keyed from record {}: it was written, or rewritten, without {KEY_ENV}",
                    keyed_from.unwrap_or_default()
                ));
            }
            (None, _) if record_hash(r) != r.hash => {
                return broken("its content does not match its hash (it was changed)".into());
            }
            (None, _) => {}
            (Some(_), None) => {
                return broken(format!(
                    "records from {} on are keyed: set {KEY_ENV} to verify them",
                    r.seq
                ));
            }
            (Some(id), Some(k)) if id != k.id() => return broken(wrong_key(k, id)),
            (Some(_), Some(k)) if k.mac(content(r).as_bytes()) != r.hash => {
                return broken(format!(
                    "its content does not match its signature under {KEY_ENV} (it was changed)"
                ));
            }
            (Some(_), Some(_)) => {
                keyed_from.get_or_insert(r.seq);
            }
        }
        prev = &r.hash;
    }
    if key.is_some() && chain.last().is_some_and(|r| r.key_id.is_none()) {
        // A verifier with the key expects the chain to end signed: otherwise a chain whose
        // keyed records were all rewritten as unkeyed would pass as one never keyed.
        let from = chain
            .iter()
            .rposition(|r| r.key_id.is_some())
            .map_or(0, |i| i + 1);
        let (first, last) = (from + 1, chain.len());
        return Err((
            keyed_from,
            Problem::record(
                first as i64,
                format!(
                    "records {first}-{last} are not keyed, though {KEY_ENV} is set: they were written, or rewritten, without the key; if this store was never keyed, start keying it with `seam audit key`"
                ),
            ),
        ));
    }
    Ok(keyed_from)
}

#[cfg(test)]
mod tests;
