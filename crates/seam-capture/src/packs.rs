//! The patterns of each pack and the checks a match must pass (context, checksum). The regex
//! crate matches in time linear in the input whatever the pattern; the checks look at a
//! match and its two neighbours only.

use crate::redact::Kind;
use crate::scan::{self, Anchor, Seen, Window, count, digits};
use regex::Regex;

/// One pack: a pattern, and which part of a match is redacted (capture group 1 when the
/// pattern has it and it matched, such as a bearer token without its `Bearer `).
pub(crate) struct Pack {
    pub kind: Kind,
    pub re: Regex,
    pub check: Check,
    /// Redact the first capture group that took part, not the whole match.
    pub inner: bool,
    /// A byte every match contains: a text without it is not searched.
    pub needs: Needs,
    /// Where matches can be, when the pattern is searched only there.
    pub window: Option<Window>,
    /// The pattern written by hand: the end of its match starting at a position, if any
    /// (tests compare it with `re`, which the whole-text search still uses).
    pub at: Option<scan::MatchAt>,
    /// The pattern written by hand as a search (tests compare it with `re`).
    pub find: Option<scan::Find>,
}

/// What a text must contain for a pack to be worth searching for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    Nothing,
    /// At least this many digits in the text (a card has 13, a phone number 10).
    Digits(usize),
    /// Two capitals then two digits.
    IbanStart,
    /// A digit, a dot, a digit.
    DottedDigit,
    At,
    Colon,
    /// Something every provider-key match contains ([`Seen::of`]).
    KeyShape,
}

impl Needs {
    /// Whether a text whose bytes `seen` describes can match.
    pub(crate) fn met(self, seen: &Seen) -> bool {
        match self {
            Needs::Nothing => true,
            Needs::Digits(n) => seen.digits >= n,
            Needs::IbanStart => seen.iban_start,
            Needs::DottedDigit => seen.dotted_digit,
            Needs::At => seen.at,
            Needs::Colon => seen.colon,
            Needs::KeyShape => seen.key,
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Check {
    /// Not inside a word: no letter or digit touches the match.
    Standalone,
    /// Standalone, and a valid email domain.
    Email,
    /// Standalone, 13 to 19 digits, Luhn-valid; else a shorter run ending at a separator.
    Card,
    /// Standalone, mod-97 valid; else a shorter run ending at a space.
    Iban,
    /// Standalone, not a dotted part of a longer number (versions, OIDs).
    Ipv4,
    /// Parses as an IPv6 address, standalone.
    Ipv6,
    /// 10 to 15 digits, written as a phone number (a `+` or separators), not an IPv4.
    Phone,
    /// Anything the pattern matches.
    Any,
}

/// The bytes `|b| predicate` accepts, as a table built at compile time.
macro_rules! class {
    (|$b:ident| $accept:expr) => {{
        const TABLE: [bool; 256] = {
            let mut t = [false; 256];
            let mut i = 0;
            while i < 256 {
                let $b = i as u8;
                t[i] = $accept;
                i += 1;
            }
            t
        };
        &TABLE
    }};
}

fn re(pattern: &str) -> Regex {
    // The built-in patterns are constants, covered by every test that builds a Redactor.
    Regex::new(pattern).unwrap_or_else(|e| panic!("built-in pattern {pattern}: {e}"))
}

pub(crate) fn keys() -> Pack {
    Pack {
        kind: Kind::Key,
        re: re(concat!(
            // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-) and the many sk- lookalikes.
            r"sk-[A-Za-z0-9_\-]{20,}",
            // A bearer token: the token only.
            r"|(?i:bearer)[ \t]+([A-Za-z0-9\-._~+/]{16,}=*)",
            // AWS access key ids.
            r"|(?:AKIA|ASIA)[A-Z0-9]{16}",
            // An AWS secret access key next to its name.
            r#"|(?i:aws_?secret_?access_?key|secret_?access_?key)["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9/+]{40})"#,
        )),
        check: Check::Standalone,
        inner: true,
        needs: Needs::KeyShape,
        at: None,
        find: None,
        window: None,
    }
}

pub(crate) fn email() -> Pack {
    Pack {
        kind: Kind::Email,
        re: re(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}"),
        check: Check::Email,
        inner: false,
        needs: Needs::At,
        at: None,
        find: Some(scan::email_find),
        window: Some(Window {
            anchor: Anchor::At,
            class: class!(|b| b.is_ascii_alphanumeric()
                || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'@')),
            worth: |_| true,
        }),
    }
}

pub(crate) fn card() -> Pack {
    Pack {
        kind: Kind::Card,
        re: re(r"[0-9](?:[ \-]?[0-9]){12,18}"),
        check: Check::Card,
        inner: false,
        needs: Needs::Digits(13),
        at: Some(scan::card_at),
        find: None,
        // 13 to 19 digits.
        window: Some(Window {
            anchor: Anchor::Digit,
            class: class!(|b| b.is_ascii_digit() || b == b' ' || b == b'-'),
            worth: |w| digits(w) >= 13,
        }),
    }
}

pub(crate) fn iban() -> Pack {
    Pack {
        kind: Kind::Iban,
        re: re(r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}"),
        check: Check::Iban,
        inner: false,
        needs: Needs::IbanStart,
        at: None,
        find: None,
        // Two capitals then two digits, and 15 characters at least.
        window: Some(Window {
            anchor: Anchor::Digit,
            class: class!(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b' '),
            worth: |w| {
                w.len() >= 15
                    && w.windows(4).any(|q| {
                        q[0].is_ascii_uppercase()
                            && q[1].is_ascii_uppercase()
                            && q[2].is_ascii_digit()
                            && q[3].is_ascii_digit()
                    })
            },
        }),
    }
}

pub(crate) fn ip() -> [Pack; 2] {
    let octet = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    [
        Pack {
            kind: Kind::Ip,
            re: re(&format!(r"{octet}(?:\.{octet}){{3}}")),
            check: Check::Ipv4,
            inner: false,
            needs: Needs::DottedDigit,
            at: None,
            find: None,
            // Three dots.
            window: Some(Window {
                anchor: Anchor::Digit,
                class: class!(|b| b.is_ascii_digit() || b == b'.'),
                worth: |w| count(w, |b| b == b'.') >= 3,
            }),
        },
        Pack {
            kind: Kind::Ip,
            re: re(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3}"),
            check: Check::Ipv6,
            inner: false,
            needs: Needs::Colon,
            at: None,
            find: None,
            // Two colons.
            window: Some(Window {
                anchor: Anchor::Colon,
                class: class!(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
                worth: |w| count(w, |b| b == b':') >= 2,
            }),
        },
    ]
}

pub(crate) fn phone() -> Pack {
    Pack {
        kind: Kind::Phone,
        re: re(r"(?:\+[0-9]{1,3}[ .\-]?)?(?:\([0-9]{1,4}\)|[0-9]{1,4})(?:[ .\-]?[0-9]{2,4}){1,5}"),
        check: Check::Phone,
        inner: false,
        needs: Needs::Digits(10),
        at: Some(scan::phone_at),
        find: None,
        // 10 to 15 digits.
        window: Some(Window {
            anchor: Anchor::Digit,
            class: class!(
                |b| b.is_ascii_digit() || matches!(b, b' ' | b'+' | b'.' | b'-' | b'(' | b')')
            ),
            worth: |w| digits(w) >= 10,
        }),
    }
}

pub(crate) fn custom(pattern: &str) -> Result<Pack, regex::Error> {
    Ok(Pack {
        kind: Kind::Custom,
        re: Regex::new(pattern)?,
        check: Check::Any,
        inner: false,
        needs: Needs::Nothing,
        at: None,
        find: None,
        window: None,
    })
}

fn before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

fn after(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

fn standalone(text: &str, s: usize, e: usize) -> bool {
    !before(text, s).is_some_and(char::is_alphanumeric)
        && !after(text, e).is_some_and(char::is_alphanumeric)
}

/// The span to redact of a match at `s..e`, if the match passes the pack's check.
pub(crate) fn accept(check: Check, text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    let m = &text[s..e];
    let ok = match check {
        Check::Any => true,
        Check::Standalone => standalone(text, s, e),
        Check::Email => {
            standalone(text, s, e)
                && !before(text, s).is_some_and(|c| "._%+-".contains(c))
                && !after(text, e).is_some_and(|c| c == '@' || c == '-')
        }
        Check::Card => return longest_valid(text, s, e, b" -", card_valid),
        Check::Iban => return longest_valid(text, s, e, b" ", iban_valid),
        Check::Ipv4 => {
            // A dot then a digit on either side: part of a longer dotted number.
            let mut left = text[..s].chars().rev();
            let mut right = text[e..].chars();
            let dotted = |a: Option<char>, b: Option<char>| {
                a == Some('.') && b.is_some_and(|c| c.is_ascii_digit())
            };
            standalone(text, s, e)
                && !dotted(left.next(), left.next())
                && !dotted(right.next(), right.next())
        }
        Check::Ipv6 => {
            standalone(text, s, e)
                && !before(text, s).is_some_and(|c| c == ':' || c == '.')
                && after(text, e) != Some(':')
                && m.bytes().any(|b| b.is_ascii_hexdigit())
                && m.parse::<std::net::Ipv6Addr>().is_ok()
        }
        Check::Phone => {
            let digits = m.bytes().filter(u8::is_ascii_digit).count();
            let written = m.starts_with('+') || m.bytes().any(|b| b" .-(".contains(&b));
            let dotted_quad = !m.contains(['+', ' ', '-', '('])
                && m.split('.').count() == 4
                && m.split('.').all(|g| (1..=3).contains(&g.len()));
            (10..=15).contains(&digits)
                && written
                && !dotted_quad
                && standalone(text, s, e)
                && !before(text, s).is_some_and(|c| "+.-".contains(c))
                && !(text[e..].starts_with('.')
                    && text[e + 1..].starts_with(|c: char| c.is_ascii_digit()))
        }
    };
    ok.then_some((s, e))
}

/// The longest prefix of `s..e` that ends at the match's end or just before a separator, is
/// standalone and passes `valid` (a card followed by a year, an IBAN followed by a word).
fn longest_valid(
    text: &str,
    s: usize,
    e: usize,
    seps: &[u8],
    valid: fn(&str) -> bool,
) -> Option<(usize, usize)> {
    let m = &text[s..e];
    // The separators are ASCII: each is a char boundary.
    let ends = std::iter::once(m.len()).chain(
        m.bytes()
            .enumerate()
            .rev()
            .filter(|(_, b)| seps.contains(b))
            .map(|(i, _)| i),
    );
    for end in ends {
        if standalone(text, s, s + end) && valid(&m[..end]) {
            return Some((s, s + end));
        }
    }
    None
}

fn card_valid(m: &str) -> bool {
    // Luhn over the digits from the right, without collecting them.
    let (mut n, mut sum) = (0u32, 0u32);
    for b in m.bytes().rev().filter(u8::is_ascii_digit) {
        let d = u32::from(b - b'0');
        sum += match (n % 2 == 1, d * 2) {
            (true, x) if x > 9 => x - 9,
            (true, x) => x,
            (false, _) => d,
        };
        n += 1;
    }
    (13..=19).contains(&n) && sum.is_multiple_of(10)
}

pub(crate) fn iban_valid(m: &str) -> bool {
    let compact: Vec<u8> = m.bytes().filter(|b| *b != b' ').collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    // Rotate the country and check digits to the end, letters as 10..35, remainder 1.
    let mut rem = 0u32;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}
