//! What the sim answers, independent of transport: the HTTP server writes it to a socket,
//! the in-process provider hands it to the gateway directly.

use bytes::Bytes;
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Output {
    /// One JSON body. `cut` sends only its first half, then drops the connection.
    Json {
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
        cut: bool,
    },
    /// A stream of SSE events sent `interval` apart; `cut_after` drops the connection
    /// after that many events; `huge_line` replaces the events after its `after` with a
    /// line that never ends. `together` writes the events (those before a cut) as one frame.
    Sse {
        events: Vec<Bytes>,
        interval: Duration,
        together: bool,
        cut_after: Option<usize>,
        huge_line: Option<HugeLine>,
    },
    /// No answer for this long.
    Hang(Duration),
    /// Drop the connection without answering.
    Reset,
}

/// After `after` events, `data: ` and `bytes` more bytes without a line end, sent as fast
/// as the client reads them; then silence for `hold`, and the stream's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HugeLine {
    pub after: usize,
    pub bytes: u64,
    pub hold: Duration,
}

impl Output {
    pub fn json(status: u16, body: &serde_json::Value) -> Output {
        Output::Json {
            status,
            headers: Vec::new(),
            body: Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
            cut: false,
        }
    }
}
