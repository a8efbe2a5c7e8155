//! Rows in the text format of PostgreSQL's `COPY ... FROM STDIN`, for the record writer's
//! first try at a batch (`pg_sink.rs`): COPY parses rows straight into the table, where
//! `INSERT ... SELECT FROM UNNEST(arrays)` decoded an array per column, materialized the rows
//! and projected them again.

use super::cells::{Cell, Row};
use std::io::Write;

/// `COPY table (columns) FROM STDIN` for `T`'s table.
pub(super) fn statement<T: Row>() -> String {
    format!("COPY {} ({}) FROM STDIN", T::TABLE, T::COLUMNS)
}

/// `rows`, a line each, their cells tab-separated; NULL is `\N`.
pub(super) fn encode<T: Row>(rows: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 512);
    for row in rows {
        for (i, cell) in row.cells().into_iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            cell_into(&mut out, cell);
        }
        out.push(b'\n');
    }
    out
}

fn cell_into(out: &mut Vec<u8>, cell: Cell<'_>) {
    match cell {
        Cell::Text(None) | Cell::Int(None) | Cell::Real(None) | Cell::Blob(None) => {
            out.extend_from_slice(b"\\N")
        }
        Cell::Text(Some(s)) => escape_into(out, s.as_bytes()),
        // Writing to a Vec cannot fail.
        Cell::Int(Some(i)) => {
            let _ = write!(out, "{i}");
        }
        // Rust writes the shortest decimal that reads back as the same f64, never with an
        // exponent; `NaN`, `inf` and `-inf` are what float8's input takes for those.
        Cell::Real(Some(f)) => {
            let _ = write!(out, "{f}");
        }
        // bytea's hex input, its backslash escaped for COPY.
        Cell::Blob(Some(b)) => {
            out.extend_from_slice(b"\\\\x");
            out.extend_from_slice(hex::encode(b).as_bytes());
        }
    }
}

/// COPY's text format gives backslash, tab, newline and carriage return a meaning: each is
/// written as a backslash sequence.
fn escape_into(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sample<'a>(Vec<Cell<'a>>);

    impl Row for Sample<'_> {
        const TABLE: &'static str = "t";
        const COLUMNS: &'static str = "a, b";
        fn cells(&self) -> Vec<Cell<'_>> {
            self.0.clone()
        }
    }

    #[test]
    fn text_is_escaped_and_null_is_marked() {
        let rows = [
            Sample(vec![
                Cell::Text(Some("tab\there\nnew\rline \\N \\. «ü»")),
                Cell::Text(None),
            ]),
            Sample(vec![Cell::Int(Some(-42)), Cell::Real(Some(0.00009))]),
            Sample(vec![
                Cell::Real(Some(f64::NAN)),
                Cell::Real(Some(-f64::INFINITY)),
            ]),
            Sample(vec![Cell::Blob(Some(&[0, 0xff, 0x5c])), Cell::Blob(None)]),
        ];
        let text = String::from_utf8(encode(&rows)).expect("utf-8");
        assert_eq!(
            text,
            "tab\\there\\nnew\\rline \\\\N \\\\. «ü»\t\\N\n\
             -42\t0.00009\n\
             NaN\t-inf\n\
             \\\\x00ff5c\t\\N\n"
        );
        assert_eq!(statement::<Sample>(), "COPY t (a, b) FROM STDIN");
    }

    #[test]
    fn a_real_reads_back_as_the_same_value() {
        for f in [
            1e-300,
            0.1 + 0.2,
            123_456_789.123_456_78,
            1e300,
            f64::MIN_POSITIVE,
        ] {
            let mut out = Vec::new();
            cell_into(&mut out, Cell::Real(Some(f)));
            let back: f64 = std::str::from_utf8(&out)
                .expect("utf-8")
                .parse()
                .expect("a number");
            assert_eq!(back.to_bits(), f.to_bits(), "{f}");
        }
    }
}
