//! Strings Seam did not write: what a tenant sends (model names, trace and session ids) and
//! what an upstream answers (served models, error text). Shown to an operator, in a log line
//! or by the CLI, their control characters are written as escapes, so that such a string
//! cannot start a forged log line, move the cursor or recolour a terminal; recorded, they
//! are capped in length.

use std::borrow::Cow;
use std::fmt;

/// The most of a requested model name a call may send (a longer one is a 400), and of an
/// upstream's served model or fingerprint that is recorded.
pub const MAX_MODEL_LEN: usize = 256;

/// The most of a call's error message that is recorded.
pub const MAX_ERROR_MESSAGE_LEN: usize = 4096;

/// Displays a string with its control characters escaped (see [`escape`]).
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(needs_escape) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c => write!(f, "\\u{{{:x}}}", c as u32)?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// `s` with every control character (C0, DEL, C1), line or paragraph separator and bidi
/// override written as an escape: `\n`, `\r`, `\t`, else `\u{1b}`. Borrowed when there is
/// none, as in almost every string.
pub fn escape(s: &str) -> Cow<'_, str> {
    if s.contains(needs_escape) {
        Cow::Owned(Escaped(s).to_string())
    } else {
        Cow::Borrowed(s)
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn cap(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` cut to at most `max` bytes, in place.
pub fn cap_owned(s: &mut String, max: usize) {
    let len = cap(s, max).len();
    s.truncate(len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert!(matches!(escape("gpt-4o — ok"), Cow::Borrowed(_)));
        assert_eq!(
            escape("m\r\nINFO forged\t\u{1b}[31mred\u{7f}\u{9b}\u{202e}"),
            "m\\r\\nINFO forged\\t\\u{1b}[31mred\\u{7f}\\u{9b}\\u{202e}"
        );
        assert_eq!(Escaped("a\nb").to_string(), "a\\nb");
    }

    #[test]
    fn caps_cut_on_a_character_boundary() {
        assert_eq!(cap("abc", 5), "abc");
        assert_eq!(cap("aé", 2), "a");
        let mut s = "ééé".to_string();
        cap_owned(&mut s, 5);
        assert_eq!(s, "éé");
    }
}
