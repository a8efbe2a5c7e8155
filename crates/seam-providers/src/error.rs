//! How an upstream attempt failed, classified once so that retry, accounting and the client's
//! answer all read the same facts.

use seam_wire::Usage;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The connection could not be made; nothing was sent.
    Connect,
    /// No answer in time.
    Timeout,
    /// The connection dropped before a response arrived.
    Reset,
    Status429,
    Status4xx,
    Status5xx,
    /// A stream ended before it finished.
    StreamCut,
    /// The upstream answered with something that is not its documented format.
    BadResponse,
    /// Seam stopped the attempt because the client went away.
    Cancelled,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Connect => "connect",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Reset => "reset",
            ErrorClass::Status429 => "status_429",
            ErrorClass::Status4xx => "status_4xx",
            ErrorClass::Status5xx => "status_5xx",
            ErrorClass::StreamCut => "stream_cut",
            ErrorClass::BadResponse => "bad_response",
            ErrorClass::Cancelled => "cancelled",
        }
    }

    pub fn from_status(status: u16) -> ErrorClass {
        match status {
            429 => ErrorClass::Status429,
            400..=499 => ErrorClass::Status4xx,
            _ => ErrorClass::Status5xx,
        }
    }
}

/// One failed attempt. `message` is safe to show a client; `body` is the upstream's own
/// error body for the record. Neither contains the provider's key.
#[derive(Debug, Clone)]
pub struct AttemptError {
    pub class: ErrorClass,
    pub status: Option<u16>,
    pub message: String,
    pub body: Option<String>,
    pub retry_after: Option<Duration>,
    /// Usage the provider reported for the failed attempt, if any.
    pub usage: Option<Usage>,
}

impl AttemptError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> AttemptError {
        AttemptError {
            class,
            status: None,
            message: message.into(),
            body: None,
            retry_after: None,
            usage: None,
        }
    }
}

impl std::fmt::Display for AttemptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class.as_str(), self.message)
    }
}
