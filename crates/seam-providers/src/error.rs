//! How an upstream attempt failed, classified once so that retry, accounting and the client's
//! answer all read the same facts.

use crate::relayed::{Passed, ProviderError};
use seam_wire::At;
use seam_wire::UsageReport;
use serde_json::Value;
use std::time::Duration;

/// Most of an upstream error body kept in the record.
pub(crate) const ERROR_BODY_LIMIT: usize = 8 * 1024;

/// The class of a failed attempt; the vocabulary is shared (seam-vocab) with the store and the
/// gateway.
pub use seam_vocab::ErrorClass;

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
    pub usage: UsageReport,
    /// The provider's error as an OpenAI client should see it, when its status came with an
    /// error body (scrubbed like `message`).
    pub upstream: Option<Box<ProviderError>>,
    /// The headers of the failed response a client may read (`x-request-id`, ...).
    pub passed: Passed,
}

impl AttemptError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> AttemptError {
        AttemptError {
            class,
            status: None,
            message: message.into(),
            body: None,
            retry_after: None,
            usage: UsageReport::Missing,
            upstream: None,
            passed: Passed::default(),
        }
    }

    /// A success status whose body is an error (`{"error": {...}}`): no answer came, whatever
    /// the status says. The body is kept for the record, with any usage it reports.
    pub(crate) fn error_body(
        provider: &str,
        status: u16,
        body: &Value,
        raw: &[u8],
    ) -> AttemptError {
        let message = body
            .at(&["error", "message"])
            .and_then(Value::as_str)
            .unwrap_or("no message");
        let mut e = AttemptError::new(
            ErrorClass::BadResponse,
            format!("provider `{provider}` answered {status} with an error: {message}"),
        );
        e.status = Some(status);
        e.body = Some(capped(String::from_utf8_lossy(raw).into_owned()));
        e.usage = UsageReport::from_openai(body.get("usage"));
        e
    }

    /// A redirect: where it pointed, without the query, fragment or credentials a signed URL
    /// may carry.
    pub(crate) fn redirected(provider: &str, status: u16, location: Option<&str>) -> AttemptError {
        let to = match location {
            Some(l) => format!("redirected to {}", shown_location(l)),
            None => "a redirect without a Location".to_string(),
        };
        AttemptError {
            status: Some(status),
            ..AttemptError::new(
                ErrorClass::Redirect,
                format!(
                    "provider `{provider}` answered {status}, {to}; Seam does not follow redirects (check the provider's base_url)"
                ),
            )
        }
    }
}

/// At most [`ERROR_BODY_LIMIT`] bytes, cut on a character boundary.
pub(crate) fn capped(mut body: String) -> String {
    if body.len() > ERROR_BODY_LIMIT {
        let mut cut = ERROR_BODY_LIMIT;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    body
}

/// A `Location` as it may be shown: scheme, host and path only, at most 200 characters.
fn shown_location(location: &str) -> String {
    let end = location.find(['?', '#']).unwrap_or(location.len());
    let url = &location[..end];
    // `user:password@` in the authority, after `scheme://` or a leading `//`.
    let authority = url
        .find("://")
        .map(|i| i + 3)
        .or_else(|| url.starts_with("//").then_some(2));
    let url = match authority {
        Some(start) => {
            let rest = &url[start..];
            let host_end = rest.find('/').unwrap_or(rest.len());
            match rest[..host_end].rfind('@') {
                Some(at) => format!("{}{}", &url[..start], &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    };
    url.chars().filter(|c| !c.is_control()).take(200).collect()
}

impl std::fmt::Display for AttemptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class.as_str(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_shows_where_it_pointed_without_secrets() {
        for (location, shown) in [
            (
                "https://user:pw@api.example.com/v2/chat?sig=SECRET#frag",
                "https://api.example.com/v2/chat",
            ),
            ("//tok@cdn.example.com/x?k=SECRET", "//cdn.example.com/x"),
            ("/v2/chat/completions?key=SECRET", "/v2/chat/completions"),
        ] {
            let e = AttemptError::redirected("up", 302, Some(location));
            assert_eq!(e.class, ErrorClass::Redirect);
            assert_eq!(e.status, Some(302));
            assert!(
                e.message.contains(&format!("redirected to {shown};")),
                "{}",
                e.message
            );
            assert!(!e.message.contains("SECRET") && !e.message.contains("pw"));
        }
        let e = AttemptError::redirected("up", 307, None);
        assert!(e.message.contains("without a Location"), "{}", e.message);
        assert_eq!(ErrorClass::from_status(301), ErrorClass::Redirect);
        assert_eq!(ErrorClass::from_status(502), ErrorClass::Status5xx);
    }
}
