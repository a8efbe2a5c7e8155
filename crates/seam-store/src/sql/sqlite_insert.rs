//! A prepared INSERT for the SQLite record writer that binds a record's text in place.
//!
//! rusqlite binds every string as `SQLITE_TRANSIENT`, so SQLite copies it into memory of its
//! own (an allocation, a copy and a free per value: ~200 instructions, ~45 values per call,
//! about a quarter of the writer's work). A batch's records outlive the statement's run here,
//! so they are bound `SQLITE_STATIC`. The pointers stay bound after the run, never read again:
//! the statement only runs once every parameter is bound anew (clearing them cost ~900
//! instructions a stream's records, for nothing SQLite would read).

use super::cells::Cell;
use rusqlite::{Connection, ffi};
use std::ffi::{CStr, c_char, c_int};
use std::ptr::NonNull;

pub(super) struct Insert {
    stmt: NonNull<ffi::sqlite3_stmt>,
    params: usize,
}

// SAFETY: the statement is only used under the record writer's mutex, together with the
// connection it was prepared on, which rusqlite opens without SQLite's own mutex: one thread
// at a time, which SQLite's multi-thread mode allows.
unsafe impl Send for Insert {}

impl Insert {
    /// Prepares `sql` on `conn`. The statement must be dropped before the connection.
    pub(super) fn prepare(conn: &Connection, sql: &str) -> rusqlite::Result<Insert> {
        let len = c_int::try_from(sql.len()).map_err(|_| misuse("statement too long"))?;
        let mut stmt = std::ptr::null_mut();
        // SAFETY: the handle is the live connection's; `sql` is valid for `len` bytes;
        // `stmt` receives a statement we own from here on.
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                conn.handle(),
                sql.as_ptr().cast::<c_char>(),
                len,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(failure(conn, rc));
        }
        let stmt = NonNull::new(stmt).ok_or_else(|| misuse("empty statement"))?;
        // SAFETY: a statement just prepared.
        let params = unsafe { ffi::sqlite3_bind_parameter_count(stmt.as_ptr()) } as usize;
        Ok(Insert { stmt, params })
    }

    /// Binds exactly as many cells as the statement has parameters, runs it once, and
    /// leaves it reset, whatever happened. Its bindings then point into cells that may be
    /// gone: it never runs again before all of them are bound anew.
    pub(super) fn run<'c>(
        &mut self,
        conn: &Connection,
        cells: impl Iterator<Item = Cell<'c>>,
    ) -> rusqlite::Result<()> {
        let stmt = self.stmt.as_ptr();
        let mut bound = 0;
        let mut rc = ffi::SQLITE_OK;
        for cell in cells {
            bound += 1;
            if bound > self.params {
                break;
            }
            // Parameters count from 1; `params` came from a c_int.
            let i = bound as c_int;
            // SAFETY: `stmt` is live and reset; text and blobs are bound SQLITE_STATIC from a `&'c` slice
            // that outlives this call, and only a step in this call reads them.
            rc = unsafe {
                match cell {
                    Cell::Text(Some(s)) => match c_int::try_from(s.len()) {
                        Ok(n) => ffi::sqlite3_bind_text(
                            stmt,
                            i,
                            s.as_ptr().cast::<c_char>(),
                            n,
                            ffi::SQLITE_STATIC(),
                        ),
                        Err(_) => ffi::SQLITE_TOOBIG,
                    },
                    Cell::Int(Some(v)) => ffi::sqlite3_bind_int64(stmt, i, v),
                    Cell::Blob(Some(b)) => match c_int::try_from(b.len()) {
                        Ok(n) => ffi::sqlite3_bind_blob(
                            stmt,
                            i,
                            b.as_ptr().cast(),
                            n,
                            ffi::SQLITE_STATIC(),
                        ),
                        Err(_) => ffi::SQLITE_TOOBIG,
                    },
                    Cell::Real(Some(v)) => ffi::sqlite3_bind_double(stmt, i, v),
                    Cell::Text(None) | Cell::Int(None) | Cell::Real(None) | Cell::Blob(None) => {
                        ffi::sqlite3_bind_null(stmt, i)
                    }
                }
            };
            if rc != ffi::SQLITE_OK {
                break;
            }
        }
        let result = if rc != ffi::SQLITE_OK {
            Err(failure(conn, rc))
        } else if bound != self.params {
            Err(misuse(
                "a row's values do not match the statement's columns",
            ))
        } else {
            // SAFETY: every parameter is bound.
            match unsafe { ffi::sqlite3_step(stmt) } {
                ffi::SQLITE_DONE => Ok(()),
                rc => Err(failure(conn, rc)),
            }
        };
        // SAFETY: `stmt` is live. Reset reads no bound value; the stale ones are overwritten
        // before any step (above: a step needs `bound == params`).
        unsafe {
            ffi::sqlite3_reset(stmt);
        }
        result
    }
}

impl Drop for Insert {
    fn drop(&mut self) {
        // SAFETY: we own the statement and drop it once.
        unsafe {
            ffi::sqlite3_finalize(self.stmt.as_ptr());
        }
    }
}

/// The connection's error for `rc`, with SQLite's message.
fn failure(conn: &Connection, rc: c_int) -> rusqlite::Error {
    // SAFETY: the handle is live; SQLite's message is a NUL-terminated string it owns until
    // the next call on the connection, copied here at once.
    let message = unsafe {
        let m = ffi::sqlite3_errmsg(conn.handle());
        (!m.is_null()).then(|| CStr::from_ptr(m).to_string_lossy().into_owned())
    };
    rusqlite::Error::SqliteFailure(ffi::Error::new(rc), message)
}

fn misuse(what: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_MISUSE), Some(what.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a TEXT, b INTEGER, c REAL)")
            .unwrap();
        conn
    }

    fn rows(conn: &Connection) -> Vec<(Option<String>, Option<i64>, Option<f64>)> {
        let mut s = conn
            .prepare("SELECT a, b, c FROM t ORDER BY rowid")
            .unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn binds_text_in_place_and_reads_back() {
        let conn = table();
        let mut insert =
            Insert::prepare(&conn, "INSERT INTO t VALUES (?, ?, ?), (?, ?, ?)").unwrap();
        let text = String::from("héllo 'quoted' \"and\" \u{1F600}");
        insert
            .run(
                &conn,
                [
                    Cell::Text(Some(&text)),
                    Cell::Int(Some(-7)),
                    Cell::Real(Some(1.5)),
                    Cell::Text(None),
                    Cell::Int(None),
                    Cell::Real(None),
                ]
                .into_iter(),
            )
            .unwrap();
        drop(text);
        assert_eq!(
            rows(&conn),
            vec![
                (
                    Some("héllo 'quoted' \"and\" \u{1F600}".into()),
                    Some(-7),
                    Some(1.5)
                ),
                (None, None, None)
            ]
        );
    }

    #[test]
    fn the_wrong_number_of_values_is_an_error_and_leaves_the_statement_usable() {
        let conn = table();
        let mut insert = Insert::prepare(&conn, "INSERT INTO t VALUES (?, ?, ?)").unwrap();
        let few = insert.run(&conn, [Cell::Int(Some(1))].into_iter());
        assert!(few.is_err());
        let many = insert.run(&conn, std::iter::repeat_n(Cell::Int(Some(1)), 4));
        assert!(many.is_err());
        insert
            .run(
                &conn,
                [
                    Cell::Text(Some("x")),
                    Cell::Int(Some(2)),
                    Cell::Real(Some(0.25)),
                ]
                .into_iter(),
            )
            .unwrap();
        assert_eq!(rows(&conn), vec![(Some("x".into()), Some(2), Some(0.25))]);
    }

    #[test]
    fn a_run_short_of_values_after_the_last_ones_are_gone_writes_nothing() {
        let conn = table();
        let mut insert = Insert::prepare(&conn, "INSERT INTO t VALUES (?, ?, ?)").unwrap();
        fn row(text: &str, n: i64) -> [Cell<'_>; 3] {
            [Cell::Text(Some(text)), Cell::Int(Some(n)), Cell::Real(None)]
        }
        let text = String::from("first");
        insert.run(&conn, row(&text, 1).into_iter()).unwrap();
        drop(text);
        // The statement still points at "first": it must not run on it.
        assert!(insert.run(&conn, [Cell::Int(Some(2))].into_iter()).is_err());
        let again = String::from("second");
        insert.run(&conn, row(&again, 3).into_iter()).unwrap();
        assert_eq!(
            rows(&conn),
            vec![
                (Some("first".into()), Some(1), None),
                (Some("second".into()), Some(3), None)
            ]
        );
    }

    #[test]
    fn sqlite_errors_carry_its_message() {
        let conn = table();
        conn.execute_batch("CREATE UNIQUE INDEX t_a ON t (a)")
            .unwrap();
        let mut insert = Insert::prepare(&conn, "INSERT INTO t VALUES (?, ?, ?)").unwrap();
        let row = || [Cell::Text(Some("same")), Cell::Int(None), Cell::Real(None)].into_iter();
        insert.run(&conn, row()).unwrap();
        let e = insert.run(&conn, row()).unwrap_err().to_string();
        assert!(e.contains("UNIQUE"), "{e}");
        assert!(Insert::prepare(&conn, "INSERT INTO nope VALUES (?)").is_err());
    }
}
