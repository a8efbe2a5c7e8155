//! The embedded store's record writer: one SQLite connection of its own, driven synchronously
//! with prepared multi-row statements (`sqlite_insert.rs`), one transaction per batch.
//!
//! Why not the sqlx pool: a batch through sqlx's worker thread costs a cross-thread hand-off
//! per statement, and the long steps of a commit run at the same priority as the gateway's
//! event loop. On a busy core the kernel does not preempt such a step when a request arrives,
//! so a request waited for up to a millisecond behind a commit (measured: added p99 ~1 ms at
//! one request in flight). Here batches run on a thread at idle CPU priority while the writer
//! keeps up, and on tokio's blocking pool at normal priority when records pile
//! up ([`Priority::Normal`]), so that a saturated gateway still writes everything.

use super::cells::Row;
use super::pace::Pace;
use super::rows::insert_sql;
use super::sqlite_insert::Insert;
use crate::sink::{Priority, RecordBatch, RecordSink};
use crate::{AttemptRecord, CallRecord, Result, StoreError};
use async_trait::async_trait;
use rusqlite::{Connection, TransactionBehavior};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tokio::sync::oneshot;

/// WAL pages after which a commit copies them back into the database (SQLite's default: 1,000).
const WAL_AUTOCHECKPOINT: i64 = 300;

type Job = (Arc<RecordBatch>, oneshot::Sender<Result<()>>);

pub struct SqliteSink {
    writer: Arc<Mutex<Writer>>,
    background: mpsc::Sender<Job>,
}

/// The connection and its prepared INSERTs by table and rows per statement. The statements
/// come first so that they are finalized before the connection closes.
struct Writer {
    inserts: HashMap<(&'static str, usize), Insert>,
    conn: Connection,
}

/// The file a `sqlite:` URL names, or `None` for an in-memory database (which only the
/// store's own connection can see) and for other schemes.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path.contains(":memory:") || query.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

impl SqliteSink {
    /// Opens a second connection to an existing (migrated) store file.
    pub fn open(path: &Path) -> Result<SqliteSink> {
        let conn = Connection::open(path).map_err(|e| {
            StoreError::Invalid(format!(
                "cannot open {} for writing records: {e}",
                path.display()
            ))
        })?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The checkpoint that copies the WAL back into the database runs inside a commit, in one
        // go, copying every page the WAL holds: at SQLite's default of 1,000 pages it kept the
        // gateway's core for ~2 ms (perf sched, bench/results/2026-12-06-tail.md). At 300 each
        // copy takes about a third of that; 100 measured no better and cost more CPU (two
        // fsyncs a checkpoint, and the pages every commit touches copied more often).
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)?;
        let writer = Arc::new(Mutex::new(Writer {
            inserts: HashMap::new(),
            conn,
        }));
        let (background, jobs) = mpsc::channel::<Job>();
        let shared = writer.clone();
        std::thread::Builder::new()
            .name("seam-records".into())
            .spawn(move || {
                lower_priority();
                // Ends when the sink (the only sender) is dropped.
                while let Ok((batch, done)) = jobs.recv() {
                    let _ = done.send(write(&shared, &batch, &mut Pace::Free));
                }
            })
            .map_err(|e| StoreError::Invalid(format!("cannot start the record writer: {e}")))?;
        Ok(SqliteSink { writer, background })
    }
}

#[async_trait]
impl RecordSink for SqliteSink {
    async fn write(&self, batch: Arc<RecordBatch>, priority: Priority) -> Result<()> {
        match priority {
            Priority::Background => {
                let (done, result) = oneshot::channel();
                self.background
                    .send((batch, done))
                    .map_err(|_| StoreError::Invalid("the record writer thread stopped".into()))?;
                result
                    .await
                    .map_err(|_| StoreError::Invalid("the record writer thread stopped".into()))?
            }
            Priority::Normal => {
                let writer = self.writer.clone();
                tokio::task::spawn_blocking(move || write(&writer, &batch, &mut Pace::shared()))
                    .await
                    .map_err(|e| StoreError::Invalid(format!("the record writer failed: {e}")))?
            }
        }
    }
}

/// SCHED_IDLE for the calling thread only: it runs when the core has nothing else to do, and
/// any other thread that wakes up preempts it at once (a nice value, even 19, still let a commit
/// finish its time slice first: measured up to 1.2 ms). Unprivileged, and never undone: urgent
/// batches go to tokio's blocking pool instead.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` outlives the call; pid 0 is the calling thread.
        let lowered = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0 };
        if !lowered {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "could not lower the record writer's CPU priority; it writes at normal priority"
            );
        }
    }
}

fn write(writer: &Mutex<Writer>, b: &RecordBatch, pace: &mut Pace) -> Result<()> {
    // A panic elsewhere while holding the lock leaves the connection usable: the open
    // transaction was rolled back when it was dropped.
    let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
    if write_batch(&mut w, b, None, pace)? {
        return Ok(());
    }
    // Some of its calls were stored already (a batch written again after its acknowledgement
    // was lost): written again, the hourly rollups counting only the calls new to the store.
    let stored = stored_calls(&w.conn, &b.calls)?;
    write_batch(&mut w, b, Some(&stored), pace).map(|_| ())
}

/// Writes the batch and adds it to the hourly rollups in one transaction. Without `stored`
/// (the calls known to be in the store already), a batch with a call the store had is rolled
/// back instead, and `false` returned.
fn write_batch(
    w: &mut Writer,
    b: &RecordBatch,
    stored: Option<&HashSet<String>>,
    pace: &mut Pace,
) -> Result<bool> {
    let Writer { inserts, conn } = w;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Most calls' only attempt goes in the call's row (see cells::inline_attempts).
    let (calls, attempts) = super::cells::inline_attempts(&b.calls, &b.attempts);
    let before = tx.total_changes();
    insert_rows(&tx, inserts, &calls, pace)?;
    let inserted = tx.total_changes().saturating_sub(before);
    if stored.is_none() && usize::try_from(inserted).ok() != Some(calls.len()) {
        return Ok(false);
    }
    insert_rows(&tx, inserts, &attempts, pace)?;
    insert_rows(&tx, inserts, &b.streams, pace)?;
    insert_rows(&tx, inserts, &b.contents, pace)?;
    let new = |id: &str| stored.is_none_or(|s| !s.contains(id));
    let new_calls: Vec<&CallRecord> = b.calls.iter().filter(|c| new(&c.id)).collect();
    let new_attempts: Vec<&AttemptRecord> = b.attempts.iter().filter(|a| new(&a.call_id)).collect();
    add_hours(&tx, &crate::hours::deltas(&new_calls, &new_attempts))?;
    pace.step();
    tx.commit()?;
    Ok(true)
}

/// Which of `calls` the store holds already.
fn stored_calls(conn: &Connection, calls: &[CallRecord]) -> rusqlite::Result<HashSet<String>> {
    let mut q = conn.prepare_cached("SELECT 1 FROM calls WHERE id = ?1")?;
    let mut out = HashSet::new();
    for c in calls {
        if q.exists([&c.id])? {
            out.insert(c.id.clone());
        }
    }
    Ok(out)
}

/// Upserts the rollup rows of a batch: one statement per group (a few per batch), where a
/// trigger would run one per row.
fn add_hours(conn: &Connection, h: &crate::Hours) -> rusqlite::Result<()> {
    let mut up = conn.prepare_cached(crate::hours::UPSERT_CALL_HOUR)?;
    for r in &h.calls {
        up.execute(rusqlite::params![
            r.hour_ms,
            r.tenant,
            r.key_id,
            r.route,
            r.provider,
            r.purpose,
            r.outcome,
            r.error_class,
            r.calls,
            r.dispatched,
            r.attempts,
            r.budget_exhausted,
            r.input_tokens,
            r.output_tokens,
            r.cost_usd,
            r.estimated,
            r.unpriced
        ])?;
    }
    let mut up = conn.prepare_cached(crate::hours::UPSERT_ATTEMPT_HOUR)?;
    for r in &h.attempts {
        up.execute(rusqlite::params![
            r.hour_ms,
            r.tenant,
            r.route,
            r.provider,
            r.outcome,
            r.error_class,
            r.attempts,
            r.first_attempts,
            r.cost_usd
        ])?;
    }
    Ok(())
}

/// Rows per multi-row INSERT: one execution opens the table's and its indexes' cursors once
/// for all of them, instead of once per row (callgrind, instructions per call: 16 and 32 about
/// equal, 8 ~1% more, 64 ~9% more).
const ROWS_PER_INSERT: usize = 16;

fn insert_rows<T: Row>(
    conn: &Connection,
    inserts: &mut HashMap<(&'static str, usize), Insert>,
    rows: &[T],
    pace: &mut Pace,
) -> rusqlite::Result<()> {
    let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
    if chunks.len() > 0 {
        let insert = prepared::<T>(conn, inserts, ROWS_PER_INSERT)?;
        for chunk in &mut chunks {
            insert.run(conn, chunk.iter().flat_map(|row| row.cells()))?;
            pace.step();
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let insert = prepared::<T>(conn, inserts, 1)?;
        for row in rest {
            insert.run(conn, row.cells().into_iter())?;
        }
    }
    Ok(())
}

/// `OR ROLLBACK`: a batch is written whole or not at all anyway, and a statement that may only
/// fail by ending the transaction needs no statement journal (which a multi-row INSERT that
/// may abort half-way would write to). A record already stored is skipped (`insert_sql`).
fn prepared<'a, T: Row>(
    conn: &Connection,
    inserts: &'a mut HashMap<(&'static str, usize), Insert>,
    rows: usize,
) -> rusqlite::Result<&'a mut Insert> {
    match inserts.entry((T::TABLE, rows)) {
        Entry::Occupied(e) => Ok(e.into_mut()),
        Entry::Vacant(e) => {
            let sql = insert_sql("INSERT OR ROLLBACK", T::TABLE, T::COLUMNS, rows, true);
            Ok(e.insert(Insert::prepare(conn, &sql)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_file;
    use std::path::PathBuf;

    #[test]
    fn urls_name_files_or_nothing() {
        assert_eq!(
            sqlite_file("sqlite://seam.db"),
            Some(PathBuf::from("seam.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///tmp/x/seam.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x/seam.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://file?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
