//! Server-sent events, decoded incrementally as the WHATWG HTML standard says
//! ("Interpreting an event stream"), with a bound on each event's size.
//!
//! Each byte an upstream sends is looked at a bounded number of times (once to find line
//! ends, once more when its line is read): a line that never ends costs time in proportion
//! to its length, not to its length squared, and it stops at `max_event_bytes`. The decoder
//! is synchronous and knows nothing of HTTP; [`crate::http`] drives it from a response body.

use bytes::Bytes;
use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

/// The UTF-8 byte order mark; one at the very start of a stream is ignored.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, or `message` when there was none.
    pub event: Cow<'static, str>,
    /// The `data:` lines, joined with `\n`.
    pub data: SseData,
    /// The last event id the stream set (it carries over to later events), or empty.
    pub id: String,
}

/// An event's data: text held in [`Bytes`]. An event of one `data:` line that came whole in
/// one read (most events) is a slice of the bytes read, not a copy, and a chunk built from it
/// keeps that slice.
#[derive(Clone, PartialEq, Eq)]
pub struct SseData(Bytes);

impl SseData {
    pub fn as_str(&self) -> &str {
        // SAFETY: a `SseData` is only made from a `String`, a `&str` or bytes `from_utf8` accepted
        // (`SseDecoder::line_end`), and its bytes are never changed.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for SseData {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for SseData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<String> for SseData {
    fn from(s: String) -> SseData {
        SseData(Bytes::from(s))
    }
}

impl From<&str> for SseData {
    fn from(s: &str) -> SseData {
        SseData(Bytes::copy_from_slice(s.as_bytes()))
    }
}

/// Why the decoder stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    /// An event (its lines, up to and including the blank line that ends it, each line end
    /// counted as one byte) grew past the limit. `limit` is the limit in bytes.
    EventTooLarge { limit: usize },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::EventTooLarge { limit } => {
                write!(f, "a stream event is larger than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// An incremental SSE decoder: feed it the body's bytes as they come with [`push`], in
/// chunks of any size split anywhere; it gives the same events whatever the split.
///
/// After an error it decodes nothing more and gives the same error again.
///
/// [`push`]: SseDecoder::push
#[derive(Debug)]
pub struct SseDecoder {
    max_event_bytes: usize,
    /// Bytes of the event being read so far: its lines, and one for each line end.
    event_bytes: usize,
    /// The start of a line that has not ended yet.
    line: Vec<u8>,
    /// How many bytes of a leading BOM have been seen; `None` once the start is decided.
    bom_seen: Option<usize>,
    /// The last chunk ended with CR: a LF at the start of the next one ends nothing more.
    after_cr: bool,
    data: String,
    /// The event's only `data:` line so far, when it came whole in one read and is UTF-8: a
    /// slice of that read (`data` is then empty).
    single: Option<SseData>,
    event_type: String,
    last_id: String,
    failed: Option<SseError>,
    scanned: u64,
}

impl SseDecoder {
    /// A decoder for one stream; an event larger than `max_event_bytes` is an error.
    pub fn new(max_event_bytes: usize) -> SseDecoder {
        SseDecoder {
            max_event_bytes,
            event_bytes: 0,
            line: Vec::new(),
            bom_seen: Some(0),
            after_cr: false,
            data: String::new(),
            single: None,
            event_type: String::new(),
            last_id: String::new(),
            failed: None,
            scanned: 0,
        }
    }

    /// Decodes the next bytes of the stream, appending the events they complete to `out`.
    /// On an error, the events completed before it are in `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        self.push_bytes(&Bytes::copy_from_slice(chunk), out)
    }

    /// [`SseDecoder::push`] for bytes already in [`Bytes`]: an event's data line that lies
    /// whole in them is kept as a slice of them.
    pub fn push_bytes(&mut self, chunk: &Bytes, out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.push_inner(chunk.clone(), out);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
            // What was held for the event is of no more use.
            self.line = Vec::new();
            self.data = String::new();
            self.single = None;
        }
        r
    }

    fn push_inner(&mut self, mut chunk: Bytes, out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if let Some(seen) = self.bom_seen {
            let n = (BOM.len() - seen).min(chunk.len());
            if chunk[..n] == BOM[seen..seen + n] {
                let _ = chunk.split_to(n);
                if seen + n < BOM.len() {
                    // All of this chunk may still be a BOM's start.
                    self.bom_seen = Some(seen + n);
                    return Ok(());
                }
                self.bom_seen = None;
            } else {
                // Not a BOM: what looked like its start is the stream's first bytes.
                self.bom_seen = None;
                self.scan(&Bytes::from_static(&BOM[..seen]), out)?;
            }
        }
        self.scan(&chunk, out)
    }

    /// Ends the stream. As the standard says, an event without the blank line that ends it
    /// is not dispatched; the result is how many of its bytes were dropped (0 when the
    /// stream ended between events).
    pub fn finish(self) -> usize {
        match self.failed {
            Some(_) => 0,
            None => self.event_bytes + self.bom_seen.unwrap_or(0),
        }
    }

    /// Bytes looked at so far: each byte once to find line ends, and once more when its
    /// line is read. At most twice the stream's length, whatever the chunks.
    pub fn bytes_scanned(&self) -> u64 {
        self.scanned
    }

    fn scan(&mut self, chunk: &Bytes, out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let mut pos = 0;
        if std::mem::take(&mut self.after_cr) && chunk[0] == b'\n' {
            // The LF of a CRLF split between chunks: the CR already ended (and counted) the
            // line.
            self.scanned += 1;
            pos = 1;
        }
        while let Some(i) = memchr::memchr2(b'\n', b'\r', &chunk[pos..]) {
            let end = pos + i;
            self.scanned += (i + 1) as u64;
            let crlf = chunk[end] == b'\r' && chunk.get(end + 1) == Some(&b'\n');
            // A line end counts as one byte, CRLF too: then the count does not depend on
            // whether a CRLF came in one chunk or two.
            self.count(end - pos + 1)?;
            let ending = if crlf { 2 } else { 1 };
            if self.line.is_empty() {
                self.line_end(&chunk[pos..end], Some(chunk), out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&chunk[pos..end]);
                self.line_end(&line, None, out);
                // Keep the allocation for the next long line.
                line.clear();
                self.line = line;
            }
            pos = end + ending;
            if chunk[end] == b'\r' && !crlf && pos == chunk.len() {
                self.after_cr = true;
            }
        }
        let tail = &chunk[pos..];
        self.scanned += tail.len() as u64;
        self.count(tail.len())?;
        self.line.extend_from_slice(tail);
        Ok(())
    }

    /// Counts bytes of the current event against the limit.
    fn count(&mut self, n: usize) -> Result<(), SseError> {
        self.event_bytes = self.event_bytes.saturating_add(n);
        if self.event_bytes > self.max_event_bytes {
            return Err(SseError::EventTooLarge {
                limit: self.max_event_bytes,
            });
        }
        Ok(())
    }

    /// One whole line, without its line end; `read` is the read it lies in, when it lies
    /// whole in one.
    fn line_end(&mut self, line: &[u8], read: Option<&Bytes>, out: &mut Vec<SseEvent>) {
        self.scanned += line.len() as u64;
        if line.is_empty() {
            self.event_bytes = 0;
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return; // a comment
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                // `from_utf8` first: `from_utf8_lossy` walks valid text chunk by chunk,
                // several times slower (~1.1k instructions a chunk of a stream).
                let text = std::str::from_utf8(value);
                if text.is_ok()
                    && self.single.is_none()
                    && self.data.is_empty()
                    && let Some(read) = read
                {
                    // Most events: one data line, whole in one read.
                    self.single = Some(SseData(read.slice_ref(value)));
                    return;
                }
                if let Some(first) = self.single.take() {
                    self.data.push_str(&first);
                    self.data.push('\n');
                }
                match text {
                    Ok(text) => self.data.push_str(text),
                    Err(_) => self.data.push_str(&String::from_utf8_lossy(value)),
                }
                self.data.push('\n');
            }
            b"event" => self.event_type = String::from_utf8_lossy(value).into_owned(),
            b"id" if !value.contains(&0) => {
                self.last_id = String::from_utf8_lossy(value).into_owned();
            }
            // `retry` sets a reconnection delay: Seam does not reconnect. Other fields are
            // ignored, as the standard says.
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event_type = std::mem::take(&mut self.event_type);
        let data = match self.single.take() {
            Some(line) => line,
            None if self.data.is_empty() => return,
            None => {
                let mut data = std::mem::take(&mut self.data);
                if data.ends_with('\n') {
                    data.pop();
                }
                SseData::from(data)
            }
        };
        out.push(SseEvent {
            event: if event_type.is_empty() {
                Cow::Borrowed("message")
            } else {
                Cow::Owned(event_type)
            },
            data,
            id: self.last_id.clone(),
        });
    }
}

#[cfg(test)]
#[path = "sse/tests.rs"]
mod tests;
