//! What spares most pattern searches: one pass over a text's bytes says which packs can match
//! at all, and where (the runs of digits, each `@` and `:`); a pack's pattern then runs only
//! over the windows around those places that could hold a match it would keep.
//!
//! Exact, not a heuristic: a window is a maximal run of the bytes a pack's matches are made
//! of (its pattern has no anchors or look-around), so a search inside it finds what the same
//! search over the whole text finds there, and a window skipped (too few digits, dots,
//! colons) holds no match its check would accept. `redact/tests.rs` compares the two.

use memchr::memchr_iter;

/// Which of the bytes packs need a text contains, and where its runs of digits start.
#[derive(Default)]
pub(crate) struct Seen {
    /// ASCII digits in the text.
    pub digits: usize,
    /// Two capitals then two digits somewhere: how every IBAN starts.
    pub iban_start: bool,
    /// A digit, a dot and a digit somewhere: inside every IPv4 address.
    pub dotted_digit: bool,
    pub at: bool,
    pub colon: bool,
    /// A provider-key shape can be there (see [`Seen::of`]).
    pub key: bool,
    /// The start of each run of ASCII digits, when asked for.
    pub digit_runs: Vec<usize>,
}

impl Seen {
    /// One pass over `text`. `key` is true when the text holds one of the things every
    /// provider-key match contains: `sk-`, `AKIA`, `ASIA`, `bearer` in any case (none of its
    /// letters folds to a non-ASCII one), or a `:` or `=` followed by spaces, an optional
    /// quote and 40 key characters (an AWS secret next to its name).
    pub(crate) fn of(text: &str, digit_runs: bool) -> Seen {
        let b = text.as_bytes();
        let mut s = Seen { ..Seen::default() };
        let mut i = 0;
        // Most bytes of a text (letters, spaces) say nothing: skipped by a table.
        while let Some(k) = b
            .get(i..)
            .and_then(|r| r.iter().position(|c| TELLS[usize::from(*c)]))
        {
            i += k;
            let c = b[i];
            if c.is_ascii_digit() {
                let run = i;
                i += b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                if digit_runs {
                    if s.digit_runs.capacity() == 0 {
                        // Room for a few numbers without growing; none for a text without.
                        s.digit_runs.reserve(16);
                    }
                    s.digit_runs.push(run);
                }
                s.digits += i - run;
                s.iban_start = s.iban_start
                    || (run >= 2
                        && i - run >= 2
                        && b[run - 2].is_ascii_uppercase()
                        && b[run - 1].is_ascii_uppercase());
                continue;
            }
            match c {
                b'@' => s.at = true,
                b'.' => {
                    s.dotted_digit = s.dotted_digit
                        || (i > 0
                            && b[i - 1].is_ascii_digit()
                            && b.get(i + 1).is_some_and(u8::is_ascii_digit))
                }
                b':' | b'=' => {
                    s.colon |= c == b':';
                    s.key = s.key || secret_after(b, i + 1);
                }
                b'-' => s.key = s.key || (i >= 2 && &b[i - 2..i] == b"sk"),
                b'A' => s.key = s.key || b[i..].starts_with(b"AKIA") || b[i..].starts_with(b"ASIA"),
                b'b' | b'B' => {
                    s.key = s.key
                        || b.get(i..i + 6)
                            .is_some_and(|w| w.eq_ignore_ascii_case(b"bearer"))
                }
                _ => {}
            }
            i += 1;
        }
        s
    }
}

/// The bytes [`Seen::of`] looks at: digits and the bytes its `match` names.
const TELLS: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_digit()
            || matches!(c, b'@' | b'.' | b':' | b'=' | b'-' | b'A' | b'b' | b'B');
        i += 1;
    }
    t
};

/// Spaces or tabs, an optional quote, then 40 of `[A-Za-z0-9/+]`, from `at`.
fn secret_after(b: &[u8], at: usize) -> bool {
    let mut i = at;
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
        i += 1;
    }
    b.get(i..i + 40).is_some_and(|w| {
        w.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'/' || *c == b'+')
    })
}

/// Where a pack's matches can be.
pub(crate) struct Window {
    pub anchor: Anchor,
    /// The bytes every match of the pattern is made of (a table).
    pub class: &'static [bool; 256],
    /// Whether a window could hold a match the pack's check accepts.
    pub worth: fn(&[u8]) -> bool,
}

/// A byte every match contains: windows are grown from it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Digit,
    At,
    Colon,
}

impl Window {
    /// Calls `f(start, end)` for each window of `text` worth searching, in order; with
    /// `near`, the markers a pass put in, only the windows that touch one of them (their
    /// bytes or the byte either side, all a pack's check looks at beyond a match).
    pub(crate) fn each(
        &self,
        text: &str,
        seen: &Seen,
        near: Option<&[(usize, usize)]>,
        mut f: impl FnMut(usize, usize),
    ) {
        let b = text.as_bytes();
        let mut end = 0;
        let mut visit = |at: usize| {
            if at < end {
                return;
            }
            let mut s = at;
            while s > end && self.class[usize::from(b[s - 1])] {
                s -= 1;
            }
            let mut e = at;
            while e < b.len() && self.class[usize::from(b[e])] {
                e += 1;
            }
            end = e;
            if e > s && (self.worth)(&b[s..e]) {
                f(s, e);
            }
        };
        if let Some(near) = near {
            // A window ends just before a marker or starts just after it (a marker's `[` and
            // `]` are in no pack's bytes). Visiting a window without the anchor is harmless:
            // every match contains the anchor.
            for &(ms, me) in near {
                if ms > 0 && self.class[usize::from(b[ms - 1])] {
                    visit(ms - 1);
                }
                if me < b.len() && self.class[usize::from(b[me])] {
                    visit(me);
                }
            }
            return;
        }
        match self.anchor {
            Anchor::Digit => seen.digit_runs.iter().for_each(|&at| visit(at)),
            Anchor::At => memchr_iter(b'@', b).for_each(visit),
            Anchor::Colon => memchr_iter(b':', b).for_each(visit),
        }
    }
}

pub(crate) fn count(w: &[u8], f: impl Fn(u8) -> bool) -> usize {
    w.iter().filter(|b| f(**b)).count()
}

pub(crate) fn digits(w: &[u8]) -> usize {
    count(w, |b| b.is_ascii_digit())
}

/// A pattern written by hand: the end of its match starting at a position of a text, if any.
pub(crate) type MatchAt = fn(&[u8], usize) -> Option<usize>;

/// Digits from `at`, counted up to `max` (no more is ever needed: matching stays linear).
fn digit_run(b: &[u8], at: usize, max: usize) -> usize {
    b.get(at..).map_or(0, |r| {
        r.iter()
            .take(max)
            .take_while(|c| c.is_ascii_digit())
            .count()
    })
}

fn byte_is(b: &[u8], at: usize, f: impl Fn(u8) -> bool) -> bool {
    b.get(at).is_some_and(|c| f(*c))
}

/// The end of the card pattern's match starting at `s` (`[0-9](?:[ \-]?[0-9]){12,18}`,
/// leftmost-first: a separator is taken when a digit follows it, as many times as it can).
pub(crate) fn card_at(b: &[u8], s: usize) -> Option<usize> {
    if !byte_is(b, s, |c| c.is_ascii_digit()) {
        return None;
    }
    let mut p = s + 1;
    let mut reps = 0;
    while reps < 18 {
        if byte_is(b, p, |c| c == b' ' || c == b'-') && byte_is(b, p + 1, |c| c.is_ascii_digit()) {
            p += 2;
        } else if byte_is(b, p, |c| c.is_ascii_digit()) {
            p += 1;
        } else {
            break;
        }
        reps += 1;
    }
    (reps >= 12).then_some(p)
}

fn phone_sep(c: u8) -> bool {
    c == b' ' || c == b'.' || c == b'-'
}

/// `(?:[ .\-]?[0-9]{2,4}){1,5}` from `p`, leftmost-first: each time the separator when digits
/// follow it, then as many digits as it can; at least once.
fn phone_groups(b: &[u8], mut p: usize) -> Option<usize> {
    let mut count = 0;
    while count < 5 {
        let q = if byte_is(b, p, phone_sep) && digit_run(b, p + 1, 2) >= 2 {
            p + 1
        } else if digit_run(b, p, 2) >= 2 {
            p
        } else {
            break;
        };
        p = q + digit_run(b, q, 4);
        count += 1;
    }
    (count >= 1).then_some(p)
}

/// `(?:\([0-9]{1,4}\)|[0-9]{1,4})` then the groups, from `p`: the alternatives and digit
/// counts in the order a backtracking matcher tries them.
fn phone_area(b: &[u8], p: usize) -> Option<usize> {
    if byte_is(b, p, |c| c == b'(') {
        let r = digit_run(b, p + 1, 5);
        if (1..=4).contains(&r)
            && byte_is(b, p + 1 + r, |c| c == b')')
            && let Some(e) = phone_groups(b, p + 2 + r)
        {
            return Some(e);
        }
    }
    let r = digit_run(b, p, 4);
    (1..=r).rev().find_map(|k| phone_groups(b, p + k))
}

/// The end of the phone pattern's match starting at `s`, as the regex crate finds it
/// (leftmost-first):
/// `(?:\+[0-9]{1,3}[ .\-]?)?(?:\([0-9]{1,4}\)|[0-9]{1,4})(?:[ .\-]?[0-9]{2,4}){1,5}`.
pub(crate) fn phone_at(b: &[u8], s: usize) -> Option<usize> {
    if byte_is(b, s, |c| c == b'+') {
        let r = digit_run(b, s + 1, 3);
        for k in (1..=r).rev() {
            let p = s + 1 + k;
            if byte_is(b, p, phone_sep)
                && let Some(e) = phone_area(b, p + 1)
            {
                return Some(e);
            }
            if let Some(e) = phone_area(b, p) {
                return Some(e);
            }
        }
    }
    phone_area(b, s)
}

/// A pattern written by hand that finds its leftmost match from a position itself: the match's
/// start and end, which are never equal.
pub(crate) type Find = fn(&[u8], usize) -> Option<(usize, usize)>;

fn email_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn email_label(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// The leftmost match of the email pattern in `b` from `from`, as the regex crate finds it:
/// `[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}`. Every match
/// starts where the run of local-part bytes before an `@` starts (its domain decides, so any
/// later start before the same `@` fails as well), and each byte is looked at a bounded
/// number of times: linear.
pub(crate) fn email_find(b: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut floor = from;
    for at in memchr_iter(b'@', b.get(from..)?).map(|i| from + i) {
        let mut s = at;
        while s > floor && email_local(b[s - 1]) {
            s -= 1;
        }
        if s < at
            && let Some(e) = email_domain(b, at + 1)
        {
            return Some((s, e));
        }
        floor = at + 1;
    }
    None
}

/// The end of the domain from `d`: labels (whole runs, as a greedy label cannot end before a
/// dot) joined by single dots; the match closes in the last label after the first that starts
/// with two letters, after at most 24 of them (what the greedy repetition tries first).
fn email_domain(b: &[u8], d: usize) -> Option<usize> {
    let run = |i: usize| i + b[i..].iter().take_while(|c| email_label(**c)).count();
    let mut p = run(d);
    if p == d {
        return None;
    }
    let mut end = None;
    while p + 1 < b.len() && b[p] == b'.' && email_label(b[p + 1]) {
        let label = p + 1;
        let letters = b[label..]
            .iter()
            .take(24)
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        if letters >= 2 {
            end = Some(label + letters);
        }
        p = run(label);
    }
    end
}
