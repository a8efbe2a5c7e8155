//! Keeps a provider's key out of what Seam shows or stores of an upstream's answer. An
//! upstream that echoes the key may write it JSON-escaped (`sk\u002d...`), which a plain
//! search misses and a JSON decoder turns back into the key; so the key is matched with each
//! of its characters written as it is or as any JSON escape of it.

use crate::AttemptError;
use seam_config::Secret;

const REDACTED: &str = "<redacted>";

/// `text` with every occurrence of the key, escaped or not, replaced by `<redacted>`.
pub(crate) fn redact(text: &str, key: Option<&Secret>) -> String {
    let key = match key {
        Some(k) if !k.expose().is_empty() => k.expose(),
        _ => return text.to_string(),
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(len) = match_at(rest, key) {
            out.push_str(REDACTED);
            rest = &rest[len..];
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

impl AttemptError {
    /// The error with the key taken out of its message and body.
    pub(crate) fn scrubbed(mut self, key: Option<&Secret>) -> AttemptError {
        if key.is_some() {
            self.message = redact(&self.message, key);
            self.body = self.body.map(|b| redact(&b, key));
            if let Some(u) = &mut self.upstream {
                u.message = redact(&u.message, key);
                u.param = u.param.as_deref().map(|p| redact(p, key));
                u.code = u.code.as_deref().map(|c| redact(c, key));
            }
        }
        self
    }
}

/// The length of the key written at the start of `text`, each character plain or escaped.
fn match_at(text: &str, key: &str) -> Option<usize> {
    let mut at = 0;
    for want in key.chars() {
        let rest = &text[at..];
        if rest.starts_with(want) {
            at += want.len_utf8();
            continue;
        }
        let (got, len) = unescape_one(rest)?;
        if got != want {
            return None;
        }
        at += len;
    }
    Some(at)
}

/// The character a JSON escape at the start of `text` stands for, and the escape's length.
fn unescape_one(text: &str) -> Option<(char, usize)> {
    let b = text.as_bytes();
    if b.first() != Some(&b'\\') {
        return None;
    }
    let short = match b.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let unit = |at: usize| {
                let hex = text.get(at..at + 4)?;
                if hex.starts_with('+') {
                    return None;
                }
                u32::from_str_radix(hex, 16).ok()
            };
            let hi = unit(2)?;
            if (0xD800..0xDC00).contains(&hi) {
                // A surrogate pair: `\uD83D\uDE00`.
                if text.get(6..8)? != "\\u" {
                    return None;
                }
                let lo = unit(8)?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return None;
                }
                let c = char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?;
                return Some((c, 12));
            }
            return Some((char::from_u32(hi)?, 6));
        }
        _ => return None,
    };
    Some((short, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Secret {
        Secret::new("sk-live/abc".into())
    }

    #[test]
    fn the_key_is_redacted_plain_and_in_every_json_escape() {
        let k = key();
        let r = |t: &str| redact(t, Some(&k));
        assert_eq!(r("bad key sk-live/abc!"), "bad key <redacted>!");
        assert_eq!(r(r#"{"m":"sk\u002dlive\/abc"}"#), r#"{"m":"<redacted>"}"#);
        assert_eq!(
            r(r"\u0073\u006B\u002D\u006c\u0069\u0076\u0065\u002f\u0061\u0062\u0063"),
            "<redacted>"
        );
        // Both forms, twice, next to other escapes that are kept as they are.
        assert_eq!(
            r(r#"\n"sk-live/abc" \"sk\u002dlive/abc\" é"#),
            r#"\n"<redacted>" \"<redacted>\" é"#
        );
        // Almost the key is not the key.
        assert_eq!(r(r"sk\u002dlive/abd \\u002d"), r"sk\u002dlive/abd \\u002d");
        assert_eq!(redact("sk-live/abc", None), "sk-live/abc");
    }

    #[test]
    fn a_key_outside_the_basic_plane_matches_its_surrogate_pair() {
        let k = Secret::new("k😀y".into());
        assert_eq!(redact(r"x k\uD83D\uDE00y x", Some(&k)), "x <redacted> x");
        assert_eq!(redact(r"k\uD83Dy", Some(&k)), r"k\uD83Dy");
    }

    #[test]
    fn an_error_is_scrubbed_in_message_and_body() {
        let k = key();
        let mut e = AttemptError::new(crate::ErrorClass::Status5xx, "said sk-live/abc");
        e.body = Some(r#"{"error":"sk\u002dlive/abc"}"#.into());
        let e = e.scrubbed(Some(&k));
        assert_eq!(e.message, "said <redacted>");
        assert_eq!(e.body.as_deref(), Some(r#"{"error":"<redacted>"}"#));
    }
}
