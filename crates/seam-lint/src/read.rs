//! Lines of a file, one at a time, in memory bounded by the longest line: each line's raw
//! bytes (kept for `--fix`, which copies untouched lines byte for byte) and its text without
//! the line end, a first line's UTF-8 BOM, or a Windows `\r`.

use std::io::BufRead;

/// The longest line read: a 10 MB example is fine, a runaway file without line ends is not
/// read into memory whole.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// One line of the input.
#[derive(Debug, Default)]
pub struct Line {
    /// 1-based.
    pub number: usize,
    /// The bytes as read, line end included.
    pub raw: Vec<u8>,
    /// Whether the line ended with `\n` (the last line of a cut-off file does not).
    pub terminated: bool,
    /// The line was longer than [`MAX_LINE_BYTES`]: `raw` holds only its start.
    pub too_long: bool,
    /// Where the content starts in `raw` (3 after a BOM).
    start: usize,
}

impl Line {
    /// The content: without a BOM, `\r\n` or `\n`.
    pub fn content(&self) -> &[u8] {
        let mut end = self.raw.len();
        if self.terminated {
            end -= 1;
            if end > self.start && self.raw[end - 1] == b'\r' {
                end -= 1;
            }
        }
        &self.raw[self.start.min(end)..end]
    }

    /// Whether the content is only whitespace.
    pub fn is_blank(&self) -> bool {
        self.content().iter().all(u8::is_ascii_whitespace)
    }
}

/// Reads lines from `input`, counting the bytes read (for progress).
pub struct Lines<R> {
    input: R,
    number: usize,
    /// Bytes read so far.
    pub bytes: u64,
}

impl<R: BufRead> Lines<R> {
    pub fn new(input: R) -> Lines<R> {
        Lines {
            input,
            number: 0,
            bytes: 0,
        }
    }

    /// The next line into `line` (its buffer reused); false at the end of the input.
    pub fn next_into(&mut self, line: &mut Line) -> std::io::Result<bool> {
        line.raw.clear();
        line.terminated = false;
        line.too_long = false;
        line.start = 0;
        let mut any = false;
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match memchr(buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(line.raw.len());
            if take > room {
                line.too_long = true;
            }
            line.raw.extend_from_slice(&buf[..take.min(room)]);
            self.input.consume(take);
            self.bytes += take as u64;
            if done {
                line.terminated = true;
                break;
            }
        }
        if !any {
            return Ok(false);
        }
        self.number += 1;
        line.number = self.number;
        if self.number == 1 && line.raw.starts_with(b"\xEF\xBB\xBF") {
            line.start = 3;
        }
        if line.too_long && line.terminated && line.raw.last() != Some(&b'\n') {
            // The kept start has no line end: `content` must not cut its last byte.
            line.terminated = false;
        }
        Ok(true)
    }
}

fn memchr(buf: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<(usize, Vec<u8>, bool)> {
        let mut lines = Lines::new(input);
        let mut line = Line::default();
        let mut out = Vec::new();
        while lines.next_into(&mut line).unwrap() {
            out.push((line.number, line.content().to_vec(), line.terminated));
        }
        out
    }

    #[test]
    fn bom_crlf_and_a_last_line_without_its_end() {
        let got = all(b"\xEF\xBB\xBF{\"a\":1}\r\n{\"b\":2}\r\n{\"c\"");
        assert_eq!(
            got,
            vec![
                (1, b"{\"a\":1}".to_vec(), true),
                (2, b"{\"b\":2}".to_vec(), true),
                (3, b"{\"c\"".to_vec(), false),
            ]
        );
    }

    #[test]
    fn an_empty_input_has_no_lines() {
        assert!(all(b"").is_empty());
    }
}
