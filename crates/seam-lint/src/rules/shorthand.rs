//! Internal shorthand in assistant turns: glossary terms (`--glossary FILE`, one term a
//! line), ticket codes such as `INC-20931` the user never gave, and acronyms neither spelled
//! out nor used by the user.

use crate::example::{Example, Role};
use regex::Regex;

pub const GLOSSARY: &str = "internal-term";
pub const TICKET_CODE: &str = "ticket-code";
pub const ACRONYM: &str = "unexplained-acronym";

/// Acronyms any customer knows.
const COMMON: &[&str] = &[
    "AI", "AM", "API", "ATM", "CEO", "CSV", "DM", "DNS", "EU", "FAQ", "GB", "GPS", "HTML", "HTTP",
    "HTTPS", "ID", "IDS", "IOS", "IP", "IT", "KB", "MB", "NYC", "OK", "PC", "PDF", "PIN", "PM",
    "PS", "SMS", "SSN", "TB", "TV", "UK", "UPS", "URL", "US", "USA", "USB", "USD", "EUR", "GBP",
    "VAT", "VPN", "WIFI", "ASAP", "FYI", "ETA", "CVV", "ZIP", "DHL", "FEDEX", "USPS", "MFA", "OTP",
    "QR", "TLDR", "UTC", "EST", "PST", "CET", "GMT", "FAQS", "APIS", "IDS", "PDFS",
];

pub struct Shorthand {
    glossary: Option<Regex>,
    ticket: Regex,
    acronym: Regex,
}

impl Shorthand {
    /// `terms`: the glossary's lines; blank lines and `#` comments are skipped.
    pub fn new(terms: &[String]) -> Result<Shorthand, String> {
        let words: Vec<String> = terms
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty() && !t.starts_with('#'))
            .map(regex::escape)
            .collect();
        let glossary = if words.is_empty() {
            None
        } else {
            let pattern = format!(r"(?i)\b(?:{})\b", words.join("|"));
            Some(Regex::new(&pattern).map_err(|e| format!("the glossary's terms: {e}"))?)
        };
        let re = |p: &str| Regex::new(p).map_err(|e| format!("built-in pattern {p}: {e}"));
        Ok(Shorthand {
            glossary,
            ticket: re(r"\b[A-Z]{2,6}-\d{2,8}\b")?,
            // Capitals, a digit allowed ("3PL", "B2B"); two capitals at least (checked below).
            acronym: re(r"\b(?:[0-9][A-Z]{2,5}|[A-Z][A-Z0-9]{1,5})\b")?,
        })
    }

    pub fn check(&self, ex: &Example, emit: &mut dyn FnMut(&'static str, usize, &str)) {
        // What the user (or a tool result, or the system prompt) said is not shorthand.
        let given: Vec<&str> = ex
            .messages
            .iter()
            .filter(|m| m.role != Role::Assistant)
            .map(|m| m.text.as_str())
            .collect();
        let said = |w: &str| given.iter().any(|t| has_word(t, w));
        for (i, m) in ex.messages.iter().enumerate() {
            if m.role != Role::Assistant {
                continue;
            }
            let text = m.text.as_str();
            if let Some(g) = self.glossary.as_ref().and_then(|g| g.find(text))
                && !said(g.as_str())
            {
                emit(GLOSSARY, i, g.as_str());
            }
            if let Some(t) = self.ticket.find_iter(text).find(|t| !said(t.as_str())) {
                emit(TICKET_CODE, i, t.as_str());
            }
            let unexplained = self.acronym.find_iter(text).find(|a| {
                let w = a.as_str();
                let after = &text[a.end()..];
                let before = &text[..a.start()];
                let known = w.bytes().filter(u8::is_ascii_uppercase).count() < 2
                    || COMMON.contains(&w)
                    || after.starts_with('-')
                    || after.starts_with(" (")
                    || before.ends_with('(')
                    || (w.len() <= 3 && shouted(text))
                    || self.glossary.as_ref().is_some_and(|g| g.is_match(w));
                !known && !said(w)
            });
            if let Some(a) = unexplained {
                emit(ACRONYM, i, a.as_str());
            }
        }
    }
}

/// Whether `w` is in `text` as a whole word.
fn has_word(text: &str, w: &str) -> bool {
    text.match_indices(w).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + w.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// A turn written mostly in capitals ("PLEASE NOTE THE NEW HOURS"): its words are not acronyms.
fn shouted(text: &str) -> bool {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let upper = text.chars().filter(|c| c.is_uppercase()).count();
    letters > 0 && upper * 2 > letters
}
