//! `[server.cors]`: which browser origins may call the gateway (off unless configured).

use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCors {
    pub allowed_origins: Option<Vec<String>>,
    pub allowed_headers: Option<Vec<String>>,
    pub max_age_secs: Option<u64>,
}

/// `[server.cors]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Cors {
    /// `None`: any origin (`allowed_origins = ["*"]`); else these, exactly as browsers send
    /// them (`https://app.example`, `http://localhost:3000`).
    pub origins: Option<Vec<String>>,
    /// The request headers a preflight allows, lowercase; `None`: those the preflight asks
    /// for (the SDKs send headers of their own, `x-stainless-*` for OpenAI's).
    pub allowed_headers: Option<Vec<String>>,
    /// How long a browser may cache a preflight's answer.
    pub max_age: Duration,
}

impl Cors {
    /// Whether a request from `origin` may be answered.
    pub fn allows(&self, origin: &str) -> bool {
        match &self.origins {
            None => true,
            Some(list) => list.iter().any(|o| o == origin),
        }
    }
}

pub const DEFAULT_MAX_AGE_SECS: u64 = 600;
/// Browsers cap a preflight's cache at a day (Firefox) or two hours (Chromium).
const MAX_AGE_LIMIT_SECS: u64 = 86_400;

pub(crate) fn cors(raw: Option<RawCors>, problems: &mut Vec<String>) -> Option<Cors> {
    let raw = raw?;
    let origins = match raw.allowed_origins {
        None => {
            problems.push(
                "server.cors.allowed_origins: required, e.g. [\"https://app.example\"] or [\"*\"]"
                    .into(),
            );
            None
        }
        Some(list) if list.is_empty() => {
            problems.push("server.cors.allowed_origins: name at least one origin, or leave [server.cors] out to turn CORS off".into());
            None
        }
        Some(list) if list.iter().any(|o| o == "*") => {
            if list.len() > 1 {
                problems.push(
                    "server.cors.allowed_origins: \"*\" allows every origin; list it alone".into(),
                );
            }
            None
        }
        Some(list) => {
            for o in &list {
                if let Err(why) = check_origin(o) {
                    problems.push(format!("server.cors.allowed_origins: `{o}` {why}"));
                }
            }
            Some(list)
        }
    };
    let allowed_headers = raw.allowed_headers.map(|list| {
        list.iter()
            .filter_map(|h| {
                let lower = h.trim().to_ascii_lowercase();
                match is_token(&lower) {
                    true => Some(lower),
                    false => {
                        problems.push(format!(
                            "server.cors.allowed_headers: `{h}` is not a header name"
                        ));
                        None
                    }
                }
            })
            .collect()
    });
    let max_age_secs = raw.max_age_secs.unwrap_or(DEFAULT_MAX_AGE_SECS);
    if max_age_secs > MAX_AGE_LIMIT_SECS {
        problems.push(format!(
            "server.cors.max_age_secs: at most {MAX_AGE_LIMIT_SECS} (browsers cap it lower anyway)"
        ));
    }
    Some(Cors {
        origins,
        allowed_headers,
        max_age: Duration::from_secs(max_age_secs.min(MAX_AGE_LIMIT_SECS)),
    })
}

/// A header name: an HTTP token (RFC 9110).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An origin as a browser sends it: scheme, host and maybe port; no path, no trailing slash.
fn check_origin(o: &str) -> Result<(), &'static str> {
    let Some(rest) = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
    else {
        return Err("must start with https:// or http://");
    };
    if rest.is_empty() {
        return Err("has no host");
    }
    if rest.contains('/') {
        return Err("must be an origin only: no path or trailing slash");
    }
    if rest
        .chars()
        .any(|c| c.is_whitespace() || c.is_ascii_control() || c.is_ascii_uppercase())
        || !o.is_ascii()
    {
        return Err("must be lowercase ASCII without spaces, as browsers send it");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(origins: &[&str]) -> RawCors {
        RawCors {
            allowed_origins: Some(origins.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn off_unless_configured() {
        let mut p = Vec::new();
        assert_eq!(cors(None, &mut p), None);
        assert!(p.is_empty());
    }

    #[test]
    fn origins_are_listed_or_any() {
        let mut p = Vec::new();
        let c = cors(
            Some(raw(&["https://app.example", "http://localhost:3000"])),
            &mut p,
        )
        .expect("on");
        assert!(p.is_empty(), "{p:?}");
        assert!(c.allows("https://app.example") && c.allows("http://localhost:3000"));
        assert!(!c.allows("https://evil.example") && !c.allows("https://app.example.evil"));
        assert_eq!(c.max_age, Duration::from_secs(DEFAULT_MAX_AGE_SECS));
        assert_eq!(c.allowed_headers, None);
        let any = cors(Some(raw(&["*"])), &mut p).expect("on");
        assert!(p.is_empty(), "{p:?}");
        assert!(any.allows("https://anything.example"));
    }

    #[test]
    fn every_problem_is_named() {
        let mut p = Vec::new();
        cors(
            Some(RawCors {
                allowed_origins: Some(vec![
                    "app.example".into(),
                    "https://app.example/".into(),
                    "https://App.example".into(),
                ]),
                allowed_headers: Some(vec!["x-ok".into(), "bad header".into()]),
                max_age_secs: Some(1_000_000),
            }),
            &mut p,
        );
        assert_eq!(p.len(), 5, "{p:?}");
        assert!(p.iter().all(|m| m.starts_with("server.cors.")), "{p:?}");
        let mut p = Vec::new();
        cors(Some(raw(&["*", "https://a.example"])), &mut p);
        cors(Some(raw(&[])), &mut p);
        cors(Some(RawCors::default()), &mut p);
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn allowed_headers_are_lowercased() {
        let mut p = Vec::new();
        let c = cors(
            Some(RawCors {
                allowed_headers: Some(vec!["Authorization".into(), "Content-Type".into()]),
                max_age_secs: Some(60),
                ..raw(&["*"])
            }),
            &mut p,
        )
        .expect("on");
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            c.allowed_headers.as_deref(),
            Some(&["authorization".to_string(), "content-type".to_string()][..])
        );
        assert_eq!(c.max_age, Duration::from_secs(60));
    }
}
