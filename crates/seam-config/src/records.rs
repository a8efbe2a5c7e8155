//! `[records]`: what happens to calls' records on their way to the store — the local spool
//! that holds them while the store is down, and how durable a record is when its call's
//! response completes.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRecords {
    pub spool_dir: Option<String>,
    pub spool_max_mb: Option<u64>,
    pub durability: Option<String>,
    pub retention_days: Option<u64>,
}

/// `[records]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Records {
    /// Where records wait on disk while the store cannot take them; `None`: beside the store
    /// (see `seam_store::spool::default_dir`).
    pub spool_dir: Option<PathBuf>,
    /// The most the spool holds; records beyond it are dropped and counted.
    pub spool_max_bytes: u64,
    pub durability: Durability,
    /// Calls' records older than this are deleted; `None`: kept.
    pub retention_days: Option<u64>,
}

/// When a call's record is safe from a crash of the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Records are queued in memory and written in batches: a crash (`kill -9`, power loss)
    /// loses at most the records of the last flush interval.
    Batched,
    /// A call's record is in the local spool (fsynced, batched across concurrent calls)
    /// before its response completes: a crash loses no acknowledged call.
    Acknowledged,
}

impl Durability {
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Batched => "batched",
            Durability::Acknowledged => "acknowledged",
        }
    }
}

/// `store_url` places the default spool: `seam-spool/` beside the config file for PostgreSQL;
/// for a SQLite file the gateway puts it beside that file.
pub(crate) fn records(
    raw: Option<RawRecords>,
    base_dir: &Path,
    store_url: &str,
    problems: &mut Vec<String>,
) -> Records {
    let raw = raw.unwrap_or_default();
    let postgres = store_url.starts_with("postgres://") || store_url.starts_with("postgresql://");
    let spool_dir = match raw.spool_dir {
        Some(d) if d.trim().is_empty() => {
            problems.push("records.spool_dir: name a directory".into());
            None
        }
        Some(d) => Some(base_dir.join(d)),
        None if postgres => Some(base_dir.join("seam-spool")),
        None => None,
    };
    let spool_max_mb = raw.spool_max_mb.unwrap_or(1024);
    if spool_max_mb == 0 {
        problems.push("records.spool_max_mb: at least 1".into());
    }
    let durability = match raw.durability.as_deref() {
        None | Some("batched") => Durability::Batched,
        Some("acknowledged") => Durability::Acknowledged,
        Some(other) => {
            problems.push(format!(
                "records.durability: `{other}` is not one of \"batched\", \"acknowledged\""
            ));
            Durability::Batched
        }
    };
    Records {
        spool_dir,
        spool_max_bytes: spool_max_mb.max(1).saturating_mul(1 << 20),
        durability,
        retention_days: crate::capture::retention(
            raw.retention_days,
            "records.retention_days",
            problems,
        ),
    }
}

impl Default for Records {
    fn default() -> Self {
        Records {
            spool_dir: None,
            spool_max_bytes: 1 << 30,
            durability: Durability::Batched,
            retention_days: None,
        }
    }
}
