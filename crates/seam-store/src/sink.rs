//! Where the gateway's call records go: a batch of calls, attempts, streams and captured
//! contents written in one transaction. SQLite files and PostgreSQL get writers of their own (`sql/sqlite_sink.rs`,
//! `sql/pg_sink.rs`); an in-memory store takes batches through [`Records::insert_batch`].

use crate::{AttemptRecord, CallRecord, ContentRecord, Records, Result, StreamRecord};
use async_trait::async_trait;
use std::sync::Arc;

/// Records written together.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RecordBatch {
    pub calls: Vec<CallRecord>,
    pub attempts: Vec<AttemptRecord>,
    pub streams: Vec<StreamRecord>,
    /// Captured content of some of the calls (absent from spool lines older than capture).
    #[serde(default)]
    pub contents: Vec<ContentRecord>,
}

impl RecordBatch {
    pub fn rows(&self) -> u64 {
        (self.calls.len() + self.attempts.len() + self.streams.len() + self.contents.len()) as u64
    }
}

/// How urgently a batch must be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// The writer keeps up: write when the machine has CPU to spare, so that writing never
    /// delays a call on a busy core.
    Background,
    /// Records are piling up (or the gateway is stopping): write now, competing fairly.
    Normal,
}

#[async_trait]
pub trait RecordSink: Send + Sync {
    async fn write(&self, batch: Arc<RecordBatch>, priority: Priority) -> Result<()>;
}

/// Batches through the store's own connection pool (PostgreSQL, in-memory SQLite, tests).
pub struct StoreSink(pub Arc<dyn Records>);

#[async_trait]
impl RecordSink for StoreSink {
    async fn write(&self, batch: Arc<RecordBatch>, _: Priority) -> Result<()> {
        self.0.insert_batch(&batch).await
    }
}

/// The sink for the store at `url`: SQLite files get [`crate::sql::SqliteSink`], PostgreSQL
/// [`crate::sql::PgSink`], anything else (an in-memory SQLite) the store itself.
pub fn record_sink(url: &str, store: Arc<dyn Records>) -> Result<Arc<dyn RecordSink>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(crate::sql::PgSink::connect_lazy(url)?));
    }
    match crate::sql::sqlite_file(url) {
        Some(path) => Ok(Arc::new(crate::sql::SqliteSink::open(&path)?)),
        None => Ok(Arc::new(StoreSink(store))),
    }
}
