//! Personal data and secrets in any turn, found by capture's redaction packs (email, phone,
//! payment cards with Luhn, IBANs with mod-97, provider keys) plus street addresses when
//! configured. A hit's span is masked: the report of a file with personal data in it must
//! not spread that data into CI logs.

use crate::example::Example;
use regex::Regex;
use seam_capture::{Kind, Redactor};
use seam_config::{Redact, RedactPack};

pub const PII: &str = "pii";

pub struct Pii {
    redactor: Redactor,
    address: Option<Regex>,
}

impl Pii {
    pub fn new(addresses: bool) -> Result<Pii, String> {
        let packs = [
            RedactPack::Email,
            RedactPack::Phone,
            RedactPack::Card,
            RedactPack::Iban,
        ];
        let redact: Vec<Redact> = packs.into_iter().map(Redact::Pack).collect();
        let address = addresses
            .then(|| {
                Regex::new(concat!(
                    r"\b\d{1,5} (?:[A-Z][a-z]+ ){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd",
                    r"|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Close|Square|Sq)\b",
                ))
                .map_err(|e| format!("the address pattern: {e}"))
            })
            .transpose()?;
        Ok(Pii {
            redactor: Redactor::new(&redact)?,
            address,
        })
    }

    pub fn check(&self, ex: &Example, emit: &mut dyn FnMut(&'static str, usize, &str)) {
        for (i, m) in ex.messages.iter().enumerate() {
            if let Some(found) = self.first(&m.text) {
                emit(PII, i, &found);
            }
        }
    }

    /// The first piece of personal data in `text`, as "kind: masked span".
    fn first(&self, text: &str) -> Option<String> {
        let (redacted, counts) = self.redactor.redact(text);
        if counts.total() > 0 {
            let found = spans(text, &redacted)
                .into_iter()
                .find(|(kind, span)| !(*kind == Kind::Phone && inside_number(text, span)));
            if let Some((kind, span)) = found {
                return Some(format!("{}: {}", kind.as_str(), mask(span)));
            }
        }
        let a = self.address.as_ref()?.find(text)?;
        Some(format!("address: {}", mask(a.as_str())))
    }
}

/// Whether `span` (a slice of `text`) continues a number before it ("4111 1111 1111 1112"
/// is an order number that fails Luhn, not a phone number in its last twelve digits).
fn inside_number(text: &str, span: &str) -> bool {
    let start = (span.as_ptr() as usize)
        .saturating_sub(text.as_ptr() as usize)
        .min(text.len());
    let before = &text.as_bytes()[..start];
    matches!(before, [.., d, b' ' | b'-' | b'.'] if d.is_ascii_digit())
        || before.last().is_some_and(u8::is_ascii_digit)
}

/// `span` with all but its first and last two characters hidden.
fn mask(span: &str) -> String {
    let chars: Vec<char> = span.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 4))
}

/// The spans of `original` that `redacted` replaced by markers, found by walking the two:
/// the text between markers is the original's, unchanged. Two markers side by side leave the
/// first's end unknown: its span is then empty.
fn spans<'t>(original: &'t str, redacted: &str) -> Vec<(Kind, &'t str)> {
    let next_marker = |from: usize| -> Option<(usize, Kind)> {
        redacted[from..].match_indices('[').find_map(|(at, _)| {
            let at = from + at;
            Kind::ALL
                .iter()
                .find(|k| redacted[at..].starts_with(k.marker()))
                .map(|k| (at, *k))
        })
    };
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let Some((m, kind)) = next_marker(j) {
        i += m - j;
        j = m + kind.marker().len();
        if original
            .get(i..)
            .is_some_and(|t| t.starts_with(kind.marker()))
        {
            // A marker written in the original text, not a redaction.
            i += kind.marker().len();
            continue;
        }
        let seg_end = next_marker(j).map_or(redacted.len(), |(at, _)| at);
        let seg = &redacted[j..seg_end];
        let end = if seg.is_empty() {
            if seg_end == redacted.len() {
                original.len()
            } else {
                i
            }
        } else {
            let from = (i + 1).min(original.len());
            original
                .get(from..)
                .and_then(|t| t.find(seg))
                .map_or(original.len(), |at| from + at)
        };
        if let Some(span) = original.get(i..end) {
            out.push((kind, span));
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_found_in_the_original() {
        let p = Pii::new(true).unwrap();
        let t = "mail jane.doe@example.com or call +1 415 555 0100, card 4111 1111 1111 1111.";
        let (r, _) = p.redactor.redact(t);
        let got: Vec<(Kind, &str)> = spans(t, &r);
        assert_eq!(
            got,
            vec![
                (Kind::Email, "jane.doe@example.com"),
                (Kind::Phone, "+1 415 555 0100"),
                (Kind::Card, "4111 1111 1111 1111"),
            ]
        );
        assert_eq!(p.first(t).as_deref(), Some("email: ja****************om"));
        assert_eq!(
            p.first("ship to 221 Baker Street please").as_deref(),
            Some("address: 22************et")
        );
        assert_eq!(p.first("order 12345 shipped"), None);
    }
}
