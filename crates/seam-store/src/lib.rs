//! Seam's storage: one trait per domain ([`Records`], [`Reports`], [`Keys`], [`Users`],
//! [`Audit`], [`Releases`], [`Sessions`], [`Events`], [`Retention`], [`Evals`], [`UiSessions`],
//! [`Canaries`], [`UsageHistory`], [`Failures`]) composed as [`Store`], the record types,
//! versioned migrations, and the SQL backend. `conformance` (feature `conformance`, for tests)
//! holds the behaviour every backend must show.

pub mod audit;
pub mod buckets;
mod canaries;
mod clock;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod evals;
mod failures;
pub mod hours;
mod migrate;
mod records;
pub mod reliability;
mod retention;
mod sink;
mod spend;
pub mod spool;
mod sql;
mod store;
pub mod streams;
mod usage;

pub use buckets::{AttemptBucket, Buckets, CallBucket};
pub use canaries::{Canaries, CanaryRunRecord};
pub use clock::{now_ms, status_range, timestamp};
pub use evals::{EvalGateRecord, EvalResultRecord, EvalRunRecord, Evals, ValueEntryRecord};
pub use failures::{
    CallWithContent, FailureBy, FailureCount, FailureCounts, Failures, FeedbackRecord, FlagQuery,
    FlagRecord,
};
pub use hours::{AttemptHour, CallHour, HOUR_MS, Hours, hour_floor};
pub use migrate::Progress;
pub use records::{
    ApprovalRecord, AttemptRecord, AuditRecord, CallRecord, ContentRecord, DeployRecord,
    EventRecord, KeyRecord, Pinned, ReleaseRecord, RoleRecord, ServedRecord, SessionCount,
    SessionKey, SessionQuery, SessionRecord, SessionTtl, StreamRecord, UiSessionRecord, UserRecord,
    attempt_id,
};
pub use reliability::{AttemptGroup, CallGroup, RouteReliability};
pub use retention::{Deleted, Dropped, Expiry};
pub use sink::{Priority, RecordBatch, RecordSink, StoreSink, record_sink};
pub use spend::{Spend, SpendQuery, SpendRow, TraceSpend};
pub use sql::{SqlStore, sqlite_file};
pub use store::{
    Audit, Events, Keys, Records, Releases, Reports, Retention, Sessions, Store, UiSessions, Users,
};
pub use usage::{ImportedHour, UsageHistory, UsageHour, UsageSource};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// What `seam report usage` groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageBy {
    Tenant,
    Route,
    Trace,
}

impl UsageBy {
    pub fn column(self) -> &'static str {
        match self {
            UsageBy::Tenant => "tenant",
            UsageBy::Route => "route",
            UsageBy::Trace => "trace_id",
        }
    }
}

/// Totals of one group: calls as clients made them, attempts and tokens as providers billed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UsageRow {
    pub key: String,
    pub calls: i64,
    pub refused: i64,
    pub failed: i64,
    pub attempts: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub tokens_estimated: bool,
    /// Calls with tokens that had no price: where above 0, `cost_usd` is incomplete.
    pub unpriced_calls: i64,
    /// The group's traffic: live, or an eval run's (reported apart).
    pub purpose: seam_vocab::Purpose,
}

/// Whose records a read returns: every tenant's, or only these tenants' (the reader's roles).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Tenants {
    #[default]
    All,
    Only(Vec<String>),
}

impl Tenants {
    pub fn allows(&self, tenant: &str) -> bool {
        match self {
            Tenants::All => true,
            Tenants::Only(list) => list.iter().any(|t| t == tenant),
        }
    }
}

/// Filters for reading calls back; each one given narrows the query itself (SQL), so the
/// limit counts matching calls.
#[derive(Debug, Clone, Default)]
pub struct CallQuery {
    pub since_ms: i64,
    pub tenant: Option<String>,
    pub limit: i64,
    pub route: Option<String>,
    /// The HTTP status Seam answered with, within `(from, to)` inclusive: one status, or a
    /// class such as 500..=599.
    pub status: Option<(i64, i64)>,
    /// One of [`CALL_OUTCOMES`].
    pub outcome: Option<String>,
    /// The prompt release a call was served from.
    pub release_id: Option<String>,
    /// Only calls made before this time.
    pub until_ms: Option<i64>,
}

/// Every outcome a call is recorded with: answered (`ok`), failed upstream (`error`), refused by
/// a limit (`refused`), rejected before any attempt (`rejected`: unknown model, invalid
/// request), or a stream the client left (`client_closed`).
pub const CALL_OUTCOMES: &[seam_vocab::Outcome] = seam_vocab::Outcome::ALL;

/// Filters for listing traces.
#[derive(Debug, Clone, Default)]
pub struct TraceQuery {
    pub since_ms: i64,
    pub tenant: Option<String>,
    pub limit: i64,
}

/// One trace's calls of one tenant (a trace id is the client's, and may span tenants),
/// totalled.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub tenant: String,
    pub calls: i64,
    /// Upstream attempts of those calls (per attempt, pre-retry).
    pub attempts: i64,
    pub first_ms: i64,
    pub last_ms: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Over every attempt, failed ones included.
    pub cost_usd: f64,
    pub tokens_estimated: bool,
    /// Calls with tokens that had no price: where above 0, `cost_usd` is incomplete.
    pub unpriced_calls: i64,
    /// Calls by outcome (see [`CALL_OUTCOMES`]), those with none left out.
    pub outcomes: std::collections::BTreeMap<String, i64>,
}

/// What `seam store export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Calls,
    Attempts,
    Streams,
    Events,
    /// Captured content, its body as stored (compressed, in hex): the reader decodes it.
    Contents,
}

impl ExportKind {
    pub const ALL: [ExportKind; 5] = [
        ExportKind::Calls,
        ExportKind::Attempts,
        ExportKind::Streams,
        ExportKind::Events,
        ExportKind::Contents,
    ];

    /// The `type` of its JSON lines.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Calls => "call",
            ExportKind::Attempts => "attempt",
            ExportKind::Streams => "stream",
            ExportKind::Events => "event",
            ExportKind::Contents => "content",
        }
    }
}

/// Where an export page starts: after this (created_ms, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCursor {
    pub created_ms: i64,
    pub id: String,
}

/// Opens the store a URL names and brings its schema up to date.
/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = migrate::LATEST;

/// Connects and migrates (tests, and a new embedded store).
pub async fn open(url: &str) -> Result<SqlStore> {
    let store = SqlStore::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Connects for running: the embedded SQLite store is migrated as needed (zero set-up); a
/// PostgreSQL store must already be at this build's schema (`seam migrate`). A schema newer
/// than this build knows is refused either way.
pub async fn open_for_use(url: &str, max_connections: u32) -> Result<SqlStore> {
    let store = SqlStore::connect_with(url, max_connections).await?;
    let at = store.schema_version().await?;
    if at > SCHEMA_VERSION {
        return Err(StoreError::Invalid(format!(
            "the store's schema is at version {at}, newer than this seam knows ({SCHEMA_VERSION}): run a seam at least as new as the one that migrated it"
        )));
    }
    if at < SCHEMA_VERSION {
        if !store.is_sqlite() {
            return Err(StoreError::Invalid(format!(
                "the store's schema is at version {at}; this seam needs {SCHEMA_VERSION}: run `seam migrate` first"
            )));
        }
        store.migrate().await?;
    }
    Ok(store)
}
