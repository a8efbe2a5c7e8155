//! The storage traits, one per domain, and [`Store`], their composition. Callers take the
//! narrowest one they use; `Arc<dyn Store>` upcasts to any of them.

use crate::retention::{Deleted, Dropped, Expiry};
use crate::sink::RecordBatch;
use crate::{
    ApprovalRecord, AttemptGroup, AttemptRecord, AuditRecord, CallGroup, CallQuery, CallRecord,
    ContentRecord, DeployRecord, EventRecord, ExportCursor, ExportKind, KeyRecord, Pinned,
    ReleaseRecord, Result, RoleRecord, ServedRecord, SessionCount, SessionKey, SessionQuery,
    SessionRecord, SessionTtl, Spend, SpendQuery, StreamRecord, Tenants, TraceQuery, TraceSummary,
    UiSessionRecord, UsageBy, UsageRow, UserRecord, audit,
};
use async_trait::async_trait;

/// Every domain, and the schema they live in.
#[async_trait]
pub trait Store:
    Records
    + Reports
    + Keys
    + Users
    + Audit
    + Releases
    + Sessions
    + Events
    + Retention
    + crate::Evals
    + UiSessions
    + crate::Canaries
    + crate::UsageHistory
    + crate::Failures
{
    /// Applies pending migrations; returns the schema version now in force.
    async fn migrate(&self) -> Result<i64>;
}

/// The gateway's call records (calls, attempts, streams, captured contents) and their reads.
#[async_trait]
pub trait Records: Send + Sync {
    /// Writes a batch's records together, in one transaction; a record already stored is
    /// skipped.
    async fn insert_batch(&self, batch: &RecordBatch) -> Result<()>;
    /// [`Records::insert_batch`] of records without content (tests and tools).
    async fn insert_records(
        &self,
        calls: &[CallRecord],
        attempts: &[AttemptRecord],
        streams: &[StreamRecord],
    ) -> Result<()> {
        self.insert_batch(&RecordBatch {
            calls: calls.to_vec(),
            attempts: attempts.to_vec(),
            streams: streams.to_vec(),
            contents: Vec::new(),
        })
        .await
    }
    /// A call's captured content; `None` when it was not captured (or is past retention).
    async fn get_content(&self, call_id: &str) -> Result<Option<ContentRecord>>;
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
    /// A streamed call's telemetry; `None` for a call that did not stream (or an unknown id).
    async fn get_stream(&self, call_id: &str) -> Result<Option<StreamRecord>>;

    /// Named traces (a client's `traceparent` or `x-seam-trace`; a call that names none is a
    /// trace of its own and is left out) with a call since `q.since_ms`, of `tenants` only,
    /// one row per trace and tenant, the most recently active first.
    async fn list_traces_in(&self, q: &TraceQuery, tenants: &Tenants) -> Result<Vec<TraceSummary>>;

    /// A trace's calls (oldest first) and all their attempts.
    async fn trace(&self, trace_id: &str) -> Result<(Vec<CallRecord>, Vec<AttemptRecord>)>;

    /// One page of `kind` rows after `after`, oldest first, as JSON; and the cursor of the
    /// next page, if there may be one.
    async fn export_page(
        &self,
        kind: ExportKind,
        after: &ExportCursor,
        limit: i64,
    ) -> Result<(Vec<serde_json::Value>, Option<ExportCursor>)>;
}

/// Aggregates over the call records: usage, the limits' spend, reliability.
#[async_trait]
pub trait Reports: Send + Sync {
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

    /// The hourly rollups (`crate::hours`) from the hour `since_ms` falls in onward, of
    /// `tenants`' calls only.
    async fn hours_in(&self, since_ms: i64, tenants: &Tenants) -> Result<crate::Hours>;
    /// `reliability_in` over time: calls and attempts since a time grouped by bucket
    /// (`created_ms / bucket_ms`, an attempt in its call's), route, provider and outcome.
    async fn reliability_buckets_in(
        &self,
        since_ms: i64,
        bucket_ms: i64,
        tenants: &Tenants,
    ) -> Result<crate::Buckets>;
}

/// Virtual API keys.
#[async_trait]
pub trait Keys: Send + Sync {
    async fn insert_key(&self, key: &KeyRecord) -> Result<()>;
    async fn list_keys(&self) -> Result<Vec<KeyRecord>>;
    /// The key stored with this hash (revoked or not), if any.
    async fn key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>>;
    /// Revokes by id or by prefix; returns the keys revoked now.
    async fn revoke_key(&self, id_or_prefix: &str, now_ms: i64) -> Result<Vec<KeyRecord>>;
}

/// Control-plane users and their tenant-scoped roles.
#[async_trait]
pub trait Users: Send + Sync {
    async fn insert_user(&self, u: &UserRecord) -> Result<()>;
    async fn list_users(&self) -> Result<Vec<UserRecord>>;
    async fn user_by_token_hash(&self, hash: &str) -> Result<Option<UserRecord>>;
    /// Makes a user an admin, or not.
    async fn set_admin(&self, user_id: &str, admin: bool) -> Result<()>;
    /// Grants a tenant-scoped role; false when the user had it already.
    async fn insert_role(&self, r: &RoleRecord) -> Result<bool>;
    /// Every user's tenant-scoped roles.
    async fn list_roles(&self) -> Result<Vec<RoleRecord>>;
}

/// The audit chain of control-plane actions.
#[async_trait]
pub trait Audit: Send + Sync {
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
}

/// Prompt releases, their approvals, and the deploys that point channels at them.
#[async_trait]
pub trait Releases: Send + Sync {
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
}

/// Sessions pinned to a release.
#[async_trait]
pub trait Sessions: Send + Sync {
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
}

/// The change timeline, and the served models and fingerprints seen so far.
#[async_trait]
pub trait Events: Send + Sync {
    async fn insert_event(&self, event: &EventRecord) -> Result<()>;
    /// Oldest first.
    async fn list_events(&self, since_ms: i64, limit: i64) -> Result<Vec<EventRecord>>;
    /// Every served model and fingerprint seen so far.
    async fn list_served(&self) -> Result<Vec<ServedRecord>>;
    /// Remembers a (served model, fingerprint); false when it was known already (the pair
    /// is left as it was).
    async fn insert_served(&self, s: &ServedRecord) -> Result<bool>;
}

/// Retention: the lease that lets one gateway at a time delete expired records, the deletes
/// themselves (bounded, so that no writer or reader waits long), and on PostgreSQL the monthly
/// partitions the records live in (`sql/partitions.rs`).
#[async_trait]
pub trait Retention: Send + Sync {
    /// Takes the lease `name` for `holder` until `now_ms + ttl_ms`, or renews it if `holder`
    /// has it; false while another holder's lease has not expired.
    async fn take_lease(&self, name: &str, holder: &str, now_ms: i64, ttl_ms: i64) -> Result<bool>;
    /// Gives the lease up (a holder that stops), so that another can take it at once.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;
    /// PostgreSQL: makes the partitions of the month of `now_ms` and of the two after it, if
    /// missing; the names of those made. SQLite: nothing.
    async fn prepare_partitions(&self, now_ms: i64) -> Result<Vec<String>>;
    /// PostgreSQL: detaches and drops the month partitions whose rows are all older than
    /// `before_ms` (every record table's for [`Expiry::Records`], the contents table's for
    /// [`Expiry::Contents`]). SQLite: nothing.
    async fn drop_expired_partitions(&self, what: Expiry, before_ms: i64) -> Result<Dropped>;
    /// Deletes at most `limit` of the oldest calls created before `before_ms`, with their
    /// attempts, streams and contents ([`Expiry::Records`]), or of the oldest contents
    /// ([`Expiry::Contents`]), in one transaction; fewer than `limit` means none are left.
    async fn delete_expired(&self, what: Expiry, before_ms: i64, limit: i64) -> Result<Deleted>;
}

/// The dashboard's sign-in sessions (docs/dashboard.md), found by the hash of their id.
#[async_trait]
pub trait UiSessions: Send + Sync {
    /// Stores a new session, and deletes the sessions expired by `now_ms`.
    async fn insert_ui_session(&self, s: &UiSessionRecord, now_ms: i64) -> Result<()>;
    /// The session with this id hash, unless it expired by `now_ms`.
    async fn ui_session(&self, id_hash: &str, now_ms: i64) -> Result<Option<UiSessionRecord>>;
    /// Ends a session (sign-out); false when there was none.
    async fn delete_ui_session(&self, id_hash: &str) -> Result<bool>;
}
