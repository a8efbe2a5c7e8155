//! Seam's storage: one [`Store`] trait, the record types, versioned migrations, and the
//! SQLite backend. [`conformance`] holds the behaviour every backend must show.

pub mod audit;
mod clock;
pub mod conformance;
mod migrate;
mod records;
pub mod reliability;
mod sink;
mod spend;
pub mod spool;
mod sql;

pub use clock::now_ms;
pub use records::{
    ApprovalRecord, AttemptRecord, AuditRecord, CallRecord, DeployRecord, EventRecord, KeyRecord,
    Pinned, ReleaseRecord, RoleRecord, ServedRecord, SessionCount, SessionKey, SessionQuery,
    SessionRecord, SessionTtl, StreamRecord, UserRecord, attempt_id,
};
pub use reliability::{AttemptGroup, CallGroup, RouteReliability};
pub use sink::{Priority, RecordBatch, RecordSink, StoreSink, record_sink};
pub use spend::{Spend, SpendQuery, SpendRow, TraceSpend};
pub use sql::{SqlStore, sqlite_file};

use async_trait::async_trait;

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

#[async_trait]
pub trait Store: Send + Sync {
    /// Applies pending migrations; returns the schema version now in force.
    async fn migrate(&self) -> Result<i64>;

    async fn insert_key(&self, key: &KeyRecord) -> Result<()>;
    async fn list_keys(&self) -> Result<Vec<KeyRecord>>;
    /// The key stored with this hash (revoked or not), if any.
    async fn key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>>;
    /// Revokes by id or by prefix; returns the keys revoked now.
    async fn revoke_key(&self, id_or_prefix: &str, now_ms: i64) -> Result<Vec<KeyRecord>>;

    /// Writes calls and attempts together, in one transaction.
    async fn insert_records(
        &self,
        calls: &[CallRecord],
        attempts: &[AttemptRecord],
        streams: &[StreamRecord],
    ) -> Result<()>;
    async fn list_streams(&self, since_ms: i64) -> Result<Vec<StreamRecord>> {
        self.list_streams_in(since_ms, &Tenants::All).await
    }
    /// Streams of calls of `tenants` since a time.
    async fn list_streams_in(&self, since_ms: i64, tenants: &Tenants) -> Result<Vec<StreamRecord>>;
    /// Newest first.
    async fn list_calls(&self, q: &CallQuery) -> Result<Vec<CallRecord>> {
        self.list_calls_in(q, &Tenants::All).await
    }
    /// `list_calls`, of `tenants` only.
    async fn list_calls_in(&self, q: &CallQuery, tenants: &Tenants) -> Result<Vec<CallRecord>>;
    async fn get_call(&self, id: &str) -> Result<Option<(CallRecord, Vec<AttemptRecord>)>>;

    /// Named traces (a client's `traceparent` or `x-seam-trace`; a call that names none is a
    /// trace of its own and is left out) with a call since `q.since_ms`, of `tenants` only,
    /// one row per trace and tenant, the most recently active first.
    async fn list_traces_in(&self, q: &TraceQuery, tenants: &Tenants) -> Result<Vec<TraceSummary>>;

    /// A trace's calls (oldest first) and all their attempts.
    async fn trace(&self, trace_id: &str) -> Result<(Vec<CallRecord>, Vec<AttemptRecord>)>;

    /// Calls since a time, totalled per tenant, route or trace.
    async fn usage(&self, by: UsageBy, since_ms: i64) -> Result<Vec<UsageRow>> {
        self.usage_in(by, since_ms, &Tenants::All).await
    }
    /// `usage`, over the calls of `tenants` only.
    async fn usage_in(
        &self,
        by: UsageBy,
        since_ms: i64,
        tenants: &Tenants,
    ) -> Result<Vec<UsageRow>>;

    /// What the limits counted, per tenant and key since each window's start, and per open
    /// named trace: what the gateway re-seeds its limit counters from.
    async fn spend(&self, q: &SpendQuery) -> Result<Spend>;

    /// Calls and attempts since a time, aggregated for the reliability report.
    async fn reliability(&self, since_ms: i64) -> Result<(Vec<CallGroup>, Vec<AttemptGroup>)> {
        self.reliability_in(since_ms, &Tenants::All).await
    }
    /// `reliability`, over the calls of `tenants` only.
    async fn reliability_in(
        &self,
        since_ms: i64,
        tenants: &Tenants,
    ) -> Result<(Vec<CallGroup>, Vec<AttemptGroup>)>;

    async fn insert_event(&self, event: &EventRecord) -> Result<()>;

    async fn insert_user(&self, u: &UserRecord) -> Result<()>;
    async fn list_users(&self) -> Result<Vec<UserRecord>>;
    async fn user_by_token_hash(&self, hash: &str) -> Result<Option<UserRecord>>;
    /// Makes a user an admin, or not.
    async fn set_admin(&self, user_id: &str, admin: bool) -> Result<()>;
    /// Grants a tenant-scoped role; false when the user had it already.
    async fn insert_role(&self, r: &RoleRecord) -> Result<bool>;
    /// Every user's tenant-scoped roles.
    async fn list_roles(&self) -> Result<Vec<RoleRecord>>;

    /// Appends a control-plane action to the audit chain (computing its hash) and returns it.
    async fn append_audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        before: Option<String>,
        after: Option<String>,
        now_ms: i64,
    ) -> Result<AuditRecord>;
    /// The whole chain, oldest first.
    async fn list_audit(&self) -> Result<Vec<AuditRecord>>;
    /// The newest record's seq and hash (0 and [`audit::GENESIS`] for an empty chain): what
    /// an anchor keeps outside the store.
    async fn audit_head(&self) -> Result<audit::Head>;
    /// The chain, and the releases, approvals and deploys tables against it, checked with the
    /// store's audit key (`SEAM_AUDIT_KEY`), if it has one.
    async fn verify_audit(&self) -> Result<audit::Verdict>;
    /// Whether an append now would be taken (see [`audit::next_key`]): checked before an
    /// action, so that a refused append does not leave the action unrecorded.
    async fn check_audit_key(&self) -> Result<()>;

    /// Stores a release unless one with its id exists; returns whether it was new.
    async fn insert_release(&self, r: &ReleaseRecord) -> Result<bool>;
    async fn get_release(&self, id: &str) -> Result<Option<ReleaseRecord>>;
    /// A prompt's releases, oldest first.
    async fn list_releases(&self, prompt: &str) -> Result<Vec<ReleaseRecord>>;
    async fn insert_approval(&self, a: &ApprovalRecord) -> Result<()>;
    async fn list_approvals(&self, release_id: &str) -> Result<Vec<ApprovalRecord>>;
    async fn insert_deploy(&self, d: &DeployRecord) -> Result<()>;
    /// A prompt's deploys and rollbacks on every channel, oldest first.
    async fn list_deploys(&self, prompt: &str) -> Result<Vec<DeployRecord>>;
    /// What every channel of every prompt points at now.
    async fn current_deploys(&self) -> Result<Vec<DeployRecord>>;

    /// Every served model and fingerprint seen so far.
    /// The session's pin after a call at `now_ms`: the existing one if it is live (its
    /// activity and expiry brought forward), else a new one on `release_id`. Concurrent first
    /// calls from several gateways agree on one pin.
    async fn pin_session(
        &self,
        key: &SessionKey,
        release_id: &str,
        now_ms: i64,
        ttl: SessionTtl,
    ) -> Result<Pinned>;
    /// Moves a session from release `from` to `to`; false when it was not on `from` (moved
    /// already by someone else) or has no row.
    async fn move_session(
        &self,
        key: &SessionKey,
        from: &str,
        to: &str,
        now_ms: i64,
    ) -> Result<bool>;
    async fn list_sessions(&self, q: &SessionQuery) -> Result<Vec<SessionRecord>>;
    async fn session_counts(&self, live_at_ms: i64) -> Result<Vec<SessionCount>>;

    async fn list_served(&self) -> Result<Vec<ServedRecord>>;
    /// Remembers one; a pair already known is left as it was.
    /// Remembers a (served model, fingerprint); false when it was known already.
    async fn insert_served(&self, s: &ServedRecord) -> Result<bool>;
    /// Oldest first.
    async fn list_events(&self, since_ms: i64, limit: i64) -> Result<Vec<EventRecord>>;

    /// One page of `kind` rows after `after`, oldest first, as JSON; and the cursor of the
    /// next page, if there may be one.
    async fn export_page(
        &self,
        kind: ExportKind,
        after: &ExportCursor,
        limit: i64,
    ) -> Result<(Vec<serde_json::Value>, Option<ExportCursor>)>;
}

/// What `seam store export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Calls,
    Attempts,
    Streams,
    Events,
}

impl ExportKind {
    pub const ALL: [ExportKind; 4] = [
        ExportKind::Calls,
        ExportKind::Attempts,
        ExportKind::Streams,
        ExportKind::Events,
    ];

    /// The `type` of its JSON lines.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Calls => "call",
            ExportKind::Attempts => "attempt",
            ExportKind::Streams => "stream",
            ExportKind::Events => "event",
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
