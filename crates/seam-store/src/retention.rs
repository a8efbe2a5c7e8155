//! Retention's vocabulary: what expires, and what a pass deleted. The work is
//! [`crate::Retention`]'s (`sql/retention.rs`, and on PostgreSQL `sql/partitions.rs`); the
//! gateway's retention task decides when.

use serde::Serialize;

/// What an expiry applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    /// Calls, with their attempts, stream telemetry and captured content (`[records]
    /// retention_days`).
    Records,
    /// Captured content alone; the call's record stays (`[capture] retention_days`).
    Contents,
}

/// Rows deleted, per table. `attempts` counts rows of the attempts table: a call's only
/// attempt, kept in its call's row (migration 10), goes with the call. `flags` and `feedback`
/// (migration 27) expire with the records, by their own time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deleted {
    pub calls: u64,
    pub attempts: u64,
    pub streams: u64,
    pub contents: u64,
    pub flags: u64,
    pub feedback: u64,
}

impl Deleted {
    /// The tables, in the order [`Deleted::by_table`] gives them.
    pub const TABLES: [&'static str; 6] = [
        "calls", "attempts", "streams", "contents", "flags", "feedback",
    ];

    pub fn by_table(&self) -> [(&'static str, u64); 6] {
        [
            ("calls", self.calls),
            ("attempts", self.attempts),
            ("streams", self.streams),
            ("contents", self.contents),
            ("flags", self.flags),
            ("feedback", self.feedback),
        ]
    }

    pub fn total(&self) -> u64 {
        self.by_table().iter().map(|(_, n)| n).sum()
    }

    /// The most rows of one kind a pass of `what` picked by age: below its limit, nothing of
    /// `what` is left to delete. (A flag counts per call and signal, so flags can exceed the
    /// limit by a little; the next pass then finds fewer.)
    pub fn picked(&self, what: Expiry) -> u64 {
        match what {
            Expiry::Records => self.calls.max(self.flags).max(self.feedback),
            Expiry::Contents => self.contents,
        }
    }

    pub fn add(&mut self, other: Deleted) {
        self.calls += other.calls;
        self.attempts += other.attempts;
        self.streams += other.streams;
        self.contents += other.contents;
        self.flags += other.flags;
        self.feedback += other.feedback;
    }

    /// Adds `n` to the count of `table` (one of [`Deleted::TABLES`]; another name is ignored).
    pub(crate) fn add_to(&mut self, table: &str, n: u64) {
        match table {
            "calls" => self.calls += n,
            "attempts" => self.attempts += n,
            "streams" => self.streams += n,
            "contents" => self.contents += n,
            "flags" => self.flags += n,
            "feedback" => self.feedback += n,
            _ => {}
        }
    }
}

/// Whole partitions dropped (PostgreSQL), and the rows they held: PostgreSQL's count of
/// their live rows (its statistics, kept on every insert), not a scan, which would read a
/// month of records only to count them.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    pub partitions: Vec<String>,
    pub rows: Deleted,
}
