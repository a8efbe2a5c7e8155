//! A local, append-only spool of record batches: where calls' records wait, on disk, while the
//! store cannot take them, so that an outage longer than the writer's queue loses nothing.
//!
//! The spool is a directory of segment files, each a sequence of batches as JSON lines; a
//! batch is appended and fsynced before [`Spool::append`] returns, and batches come back out
//! oldest first ([`Spool::peek`], then [`Spool::pop`] once the store has them). What has been
//! replayed is tracked in memory only: after a crash, the oldest segment is replayed from its
//! start, which stores nothing twice because record inserts skip ids already stored. A segment
//! is deleted once every batch in it is in the store. A lock file keeps a second process out
//! of a spool that is in use.
//!
//! All calls block on the file system: run them off the async runtime's workers.

use crate::{RecordBatch, Result, StoreError};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

const SUFFIX: &str = ".spool";

/// Where a SQLite store's spool goes unless configured otherwise: beside its file (`seam.db`
/// -> `seam.db.spool/`); nowhere for an in-memory store (its records end with the process
/// anyway). A PostgreSQL store's default is set by the config: beside the config file.
pub fn default_dir(url: &str) -> Option<PathBuf> {
    let file = crate::sql::sqlite_file(url)?;
    let mut name = file.file_name()?.to_os_string();
    name.push(".spool");
    Some(file.with_file_name(name))
}

pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segment_bytes: u64,
    /// Segment numbers and sizes on disk, oldest first.
    segments: VecDeque<(u64, u64)>,
    /// The newest segment, open for appending (always the back of `segments`).
    tail: Option<File>,
    /// The oldest segment, read whole for replay.
    head: Option<Head>,
    next_seq: u64,
    bytes: u64,
    /// Lines that could not be read back (a write torn by a crash, a damaged file).
    unreadable: u64,
    /// Held for as long as the spool is open: the kernel releases it when the process ends.
    _lock: File,
}

struct Head {
    seq: u64,
    data: Vec<u8>,
    /// Where the next batch starts.
    pos: usize,
    /// Where the batch last peeked ends.
    peeked_end: Option<usize>,
}

/// Whether a batch went to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    Spooled,
    /// The spool holds `max_bytes` already: the batch was not written.
    Full,
}

impl Spool {
    /// Opens (creating it if needed) the spool in `dir`, holding at most `max_bytes`; batches
    /// a previous process left there come out first.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool> {
        let fail = |what: &str, e: std::io::Error| {
            StoreError::Invalid(format!("records spool {}: {what}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| fail("cannot create it", e))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(|e| fail("cannot open its lock file", e))?;
        lock.try_lock().map_err(|_| {
            StoreError::Invalid(format!(
                "records spool {} is in use by another Seam process; give each gateway a \
                 `[records] spool_dir` of its own",
                dir.display()
            ))
        })?;
        let mut segments = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| fail("cannot list it", e))? {
            let entry = entry.map_err(|e| fail("cannot list it", e))?;
            let name = entry.file_name();
            let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_suffix(SUFFIX))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            let len = entry
                .metadata()
                .map_err(|e| fail("cannot read it", e))?
                .len();
            segments.push((seq, len));
        }
        segments.sort_unstable();
        let bytes = segments.iter().map(|s| s.1).sum();
        let next_seq = segments.last().map_or(1, |s| s.0 + 1);
        Ok(Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            segment_bytes: (max_bytes / 16).clamp(1 << 20, 64 << 20),
            segments: segments.into(),
            tail: None,
            head: None,
            next_seq,
            bytes,
            unreadable: 0,
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk, replayed batches of the oldest segment included until it is deleted.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Lines found unreadable while replaying, since the spool was opened.
    pub fn unreadable(&self) -> u64 {
        self.unreadable
    }

    /// Appends `batch` (a [`RecordBatch`], or anything that serializes as one) and makes it
    /// durable (fsync) before returning.
    pub fn append<B: serde::Serialize>(&mut self, batch: &B) -> Result<Appended> {
        let mut line = serde_json::to_vec(batch)
            .map_err(|e| StoreError::Invalid(format!("cannot encode records: {e}")))?;
        line.push(b'\n');
        let len = line.len() as u64;
        if self.bytes + len > self.max_bytes {
            return Ok(Appended::Full);
        }
        let full_tail = self
            .segments
            .back()
            .is_some_and(|s| s.1 + len > self.segment_bytes);
        if self.tail.is_none() || full_tail {
            self.start_segment()?;
        }
        let io = |e: std::io::Error| {
            StoreError::Invalid(format!(
                "records spool {}: cannot write: {e}",
                self.dir.display()
            ))
        };
        let Some(file) = self.tail.as_mut() else {
            return Err(StoreError::Invalid(
                "records spool has no open segment".into(),
            ));
        };
        if let Err(e) = file.write_all(&line).and_then(|()| file.sync_data()) {
            // Part of the line may be on disk (a full disk, say): cut it off, and start the
            // next batch in a new segment in any case, so that it cannot land after half a
            // line and be unreadable.
            let known = self.segments.back().map_or(0, |s| s.1);
            let _ = file.set_len(known);
            self.tail = None;
            return Err(io(e));
        }
        if let Some(last) = self.segments.back_mut() {
            last.1 += len;
        }
        self.bytes += len;
        Ok(Appended::Spooled)
    }

    fn start_segment(&mut self) -> Result<()> {
        let seq = self.next_seq;
        let path = self.dir.join(format!("{seq:016}{SUFFIX}"));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                StoreError::Invalid(format!(
                    "records spool: cannot create {}: {e}",
                    path.display()
                ))
            })?;
        // The new file's name must survive a crash as well as its content.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.next_seq += 1;
        self.segments.push_back((seq, 0));
        self.tail = Some(file);
        Ok(())
    }

    /// The oldest batch not yet taken by [`Spool::pop`], or `None` when the spool is empty.
    /// Unreadable lines are skipped and counted ([`Spool::unreadable`]).
    pub fn peek(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if self.head.is_none() && !self.open_head()? {
                return Ok(None);
            }
            let Some(head) = self.head.as_mut() else {
                return Ok(None);
            };
            let rest = &head.data[head.pos..];
            if rest.is_empty() {
                self.finish_head()?;
                continue;
            }
            let Some(n) = rest.iter().position(|&b| b == b'\n') else {
                // A write the process did not finish before it stopped: never acknowledged
                // as spooled.
                tracing::warn!(
                    segment = head.seq,
                    bytes = rest.len(),
                    "records spool: skipping an incomplete last batch"
                );
                self.unreadable += 1;
                head.pos = head.data.len();
                continue;
            };
            match serde_json::from_slice::<RecordBatch>(&rest[..n]) {
                Ok(batch) => {
                    head.peeked_end = Some(head.pos + n + 1);
                    return Ok(Some(batch));
                }
                Err(e) => {
                    tracing::warn!(segment = head.seq, offset = head.pos, error = %e, "records spool: skipping an unreadable batch");
                    self.unreadable += 1;
                    head.pos += n + 1;
                }
            }
        }
    }

    /// Takes the batch [`Spool::peek`] returned off the spool: it is in the store.
    pub fn pop(&mut self) -> Result<()> {
        if let Some(head) = self.head.as_mut()
            && let Some(end) = head.peeked_end.take()
        {
            head.pos = end;
            if head.pos >= head.data.len() {
                self.finish_head()?;
            }
        }
        Ok(())
    }

    /// Reads the oldest segment; the segment being appended to is closed first, so that what
    /// is appended from then on goes to a new one.
    fn open_head(&mut self) -> Result<bool> {
        let Some(&(seq, _)) = self.segments.front() else {
            return Ok(false);
        };
        if self.segments.len() == 1 {
            self.tail = None;
        }
        let path = self.segment_path(seq);
        let data = std::fs::read(&path).map_err(|e| {
            StoreError::Invalid(format!(
                "records spool: cannot read {}: {e}",
                path.display()
            ))
        })?;
        self.head = Some(Head {
            seq,
            data,
            pos: 0,
            peeked_end: None,
        });
        Ok(true)
    }

    fn finish_head(&mut self) -> Result<()> {
        let Some(head) = self.head.take() else {
            return Ok(());
        };
        let path = self.segment_path(head.seq);
        std::fs::remove_file(&path).map_err(|e| {
            StoreError::Invalid(format!(
                "records spool: cannot remove {}: {e}",
                path.display()
            ))
        })?;
        if let Some((_, len)) = self.segments.pop_front() {
            self.bytes = self.bytes.saturating_sub(len);
        }
        Ok(())
    }

    fn segment_path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:016}{SUFFIX}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{sample_attempt, sample_call};

    fn batch(ids: std::ops::Range<usize>) -> RecordBatch {
        let calls: Vec<_> = ids
            .map(|i| sample_call(&format!("call_{i}"), i as i64, "t"))
            .collect();
        let attempts = calls.iter().map(|c| sample_attempt(c, 1, true)).collect();
        // Content travels through the spool too, its body as hex text.
        let contents = calls_content(&calls);
        RecordBatch {
            calls,
            attempts,
            streams: Vec::new(),
            contents,
        }
    }

    fn calls_content(calls: &[crate::CallRecord]) -> Vec<crate::ContentRecord> {
        calls
            .iter()
            .take(1)
            .map(|c| crate::ContentRecord {
                call_id: c.id.clone(),
                created_ms: c.created_ms,
                format: crate::ContentRecord::FORMAT,
                bytes: 3,
                truncated: false,
                redactions: 0,
                body: vec![0, 0x7f, 0xff],
            })
            .collect()
    }

    fn drain(spool: &mut Spool) -> Vec<String> {
        let mut ids = Vec::new();
        while let Some(b) = spool.peek().unwrap() {
            ids.extend(b.calls.into_iter().map(|c| c.id));
            spool.pop().unwrap();
        }
        ids
    }

    #[test]
    fn batches_come_back_in_order_across_segments_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 30).unwrap();
        spool.segment_bytes = 4_000; // a few batches per segment
        for i in 0..10 {
            assert_eq!(
                spool.append(&batch(i * 3..i * 3 + 3)).unwrap(),
                Appended::Spooled
            );
        }
        assert!(spool.segments.len() > 2, "{:?}", spool.segments);
        // Half replayed, then the process stops.
        let mut seen = Vec::new();
        for _ in 0..5 {
            let b = spool.peek().unwrap().unwrap();
            seen.extend(b.calls.into_iter().map(|c| c.id));
            spool.pop().unwrap();
        }
        drop(spool);
        let mut spool = Spool::open(dir.path(), 1 << 30).unwrap();
        // What was replayed of the oldest remaining segment comes again (the store skips it);
        // nothing is lost and the order holds.
        let again = drain(&mut spool);
        let expected: Vec<String> = (0..30).map(|i| format!("call_{i}")).collect();
        let first_again = expected.iter().position(|id| *id == again[0]).unwrap();
        assert!(first_again <= seen.len());
        assert_eq!(again, expected[first_again..]);
        assert!(spool.is_empty());
        assert_eq!(spool.bytes(), 0);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(SUFFIX))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn appends_while_replaying_come_after_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 30).unwrap();
        spool.append(&batch(0..2)).unwrap();
        let b = spool.peek().unwrap().unwrap();
        assert_eq!(b.calls[0].id, "call_0");
        assert_eq!(
            b.contents[0].body,
            [0, 0x7f, 0xff],
            "content bytes survive the spool"
        );
        spool.append(&batch(2..4)).unwrap();
        spool.pop().unwrap();
        assert_eq!(drain(&mut spool), ["call_2", "call_3"]);
    }

    #[test]
    fn a_full_spool_refuses_and_a_torn_write_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let one = serde_json::to_vec(&batch(0..2)).unwrap().len() as u64 + 1;
        let mut spool = Spool::open(dir.path(), one * 2).unwrap();
        assert_eq!(spool.append(&batch(0..2)).unwrap(), Appended::Spooled);
        assert_eq!(spool.append(&batch(2..4)).unwrap(), Appended::Spooled);
        assert_eq!(spool.append(&batch(4..6)).unwrap(), Appended::Full);
        drop(spool);
        // A crash in the middle of a write leaves half a line at the end.
        let seg = dir.path().join(format!("{:016}{SUFFIX}", 1));
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(b"{\"calls\":[{\"id\":\"call_9").unwrap();
        drop(f);
        let mut spool = Spool::open(dir.path(), 1 << 30).unwrap();
        assert_eq!(drain(&mut spool), ["call_0", "call_1", "call_2", "call_3"]);
        assert_eq!(spool.unreadable(), 1);
    }

    #[test]
    fn the_default_spool_sits_beside_the_store() {
        assert_eq!(
            default_dir("sqlite:///var/lib/seam/seam.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/seam/seam.db.spool"))
        );
        assert_eq!(
            default_dir("sqlite://seam.db"),
            Some(PathBuf::from("seam.db.spool"))
        );
        // PostgreSQL's default comes from the config (beside the config file).
        assert_eq!(default_dir("postgres://u@h/db"), None);
        assert_eq!(default_dir("sqlite::memory:"), None);
    }

    #[test]
    fn one_process_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Spool::open(dir.path(), 1 << 20).unwrap();
        let second = Spool::open(dir.path(), 1 << 20);
        let Err(e) = second else {
            panic!("two processes opened one spool")
        };
        assert!(e.to_string().contains("in use by another"), "{e}");
    }
}
