//! `regex` (and `not-regex`): the answer's text must (must not) match. Rust's regex syntax
//! (`(?i)` for case-insensitive), linear in the answer's length whatever the pattern; a
//! pattern that does not compile is refused when the dataset is read.

use super::text::quote;
use super::{Checked, Subject, keys};
use crate::fields::{FieldError, Obj};

/// Compiled patterns are capped (the regex crate's default is 10 MB): a pattern written as
/// `\w{1000}{1000}` is refused when read, not built.
const SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    regex: regex::Regex,
}

impl Pattern {
    pub fn parse(o: &Obj<'_>) -> Result<Pattern, FieldError> {
        o.only(&keys(&["value"]), "regex")?;
        let source = o.req_str("value")?;
        let regex = regex::RegexBuilder::new(source)
            .size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| {
                // The error's own text spans lines (the pattern, a caret, the reason).
                let e = e.to_string().replace('\n', " ");
                o.err("value", format!("the regex does not compile: {e}"))
            })?;
        Ok(Pattern { regex })
    }

    pub fn check(&self, s: &Subject<'_>) -> Checked {
        let text = s.output.text_or_empty();
        match self.regex.find(text) {
            Some(m) => Checked::binary(
                true,
                format!(
                    "the answer matches {} at character {}",
                    quote(self.regex.as_str()),
                    text[..m.start()].chars().count()
                ),
            ),
            None => Checked::binary(
                false,
                format!("the answer does not match {}", quote(self.regex.as_str())),
            ),
        }
    }
}
