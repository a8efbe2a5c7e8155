//! The redactor: provider-key shapes always, the policy's packs and patterns on top, each
//! span replaced by a typed marker and counted.

use crate::packs::{self, Pack};
use crate::scan::{Anchor, Seen};
use seam_config::{CapturePolicy, Redact, RedactPack};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// What a redacted span was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Key,
    Email,
    Phone,
    Card,
    Iban,
    Ip,
    Custom,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Key,
        Kind::Email,
        Kind::Phone,
        Kind::Card,
        Kind::Iban,
        Kind::Ip,
        Kind::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Key => "key",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Ip => "ip",
            Kind::Custom => "custom",
        }
    }

    /// The text a redacted span becomes.
    pub fn marker(self) -> &'static str {
        match self {
            Kind::Key => "[key]",
            Kind::Email => "[email]",
            Kind::Phone => "[phone]",
            Kind::Card => "[card]",
            Kind::Iban => "[iban]",
            Kind::Ip => "[ip]",
            Kind::Custom => "[custom]",
        }
    }
}

/// Spans redacted, per kind; serialized as `{"email": 2}` with kinds never seen left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Redactions([u32; 7]);

impl Redactions {
    pub fn get(&self, kind: Kind) -> u32 {
        self.0[kind as usize]
    }

    pub fn total(&self) -> u32 {
        self.0.iter().fold(0u32, |a, n| a.saturating_add(*n))
    }

    pub fn add(&mut self, other: Redactions) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = a.saturating_add(b);
        }
    }

    fn bump(&mut self, kind: Kind) {
        let n = &mut self.0[kind as usize];
        *n = n.saturating_add(1);
    }

    /// `(kind, count)` for each kind redacted at least once.
    pub fn iter(&self) -> impl Iterator<Item = (Kind, u32)> + '_ {
        Kind::ALL
            .into_iter()
            .map(|k| (k, self.get(k)))
            .filter(|(_, n)| *n > 0)
    }
}

impl Serialize for Redactions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|(k, n)| (k.as_str(), n)))
    }
}

impl<'de> Deserialize<'de> for Redactions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<Kind, u32>::deserialize(d)?;
        let mut r = Redactions::default();
        for (k, n) in map {
            r.0[k as usize] = n;
        }
        Ok(r)
    }
}

/// Built once per policy (patterns compile here), then used for every call under it.
pub struct Redactor {
    /// In priority order: where two packs' matches overlap, the earlier pack's wins.
    packs: Vec<Pack>,
    /// Whether a pack with digits in all its matches is on (they share the digits' runs).
    digit_packs: bool,
    /// Search every pattern over the whole text, as before windows: the reference the
    /// tests compare with.
    #[cfg(test)]
    whole_text: bool,
}

/// A match next to a span redacted in the same pass can change (its neighbour becomes a
/// marker), so passes repeat until nothing changes; each is linear, and more than two is
/// rare (secrets glued together, each pass freeing the next).
const MAX_PASSES: usize = 16;

impl Redactor {
    /// Provider-key shapes plus `redact`'s packs and patterns. A pattern that does not
    /// compile is an error naming it (the config reports it with its key before this).
    pub fn new(redact: &[Redact]) -> Result<Redactor, String> {
        let has = |p: RedactPack| redact.contains(&Redact::Pack(p));
        let mut packs = vec![packs::keys()];
        for r in redact {
            if let Redact::Custom(pattern) = r {
                packs.push(
                    packs::custom(pattern)
                        .map_err(|e| format!("redact pattern `{pattern}`: {e}"))?,
                );
            }
        }
        if has(RedactPack::Email) {
            packs.push(packs::email());
        }
        if has(RedactPack::Iban) {
            packs.push(packs::iban());
        }
        if has(RedactPack::Card) {
            packs.push(packs::card());
        }
        if has(RedactPack::Ip) {
            packs.extend(packs::ip());
        }
        if has(RedactPack::Phone) {
            packs.push(packs::phone());
        }
        Ok(Redactor {
            digit_packs: packs
                .iter()
                .any(|p| p.window.as_ref().is_some_and(|w| w.anchor == Anchor::Digit)),
            packs,
            #[cfg(test)]
            whole_text: false,
        })
    }

    /// The redactor of a validated policy.
    pub fn for_policy(policy: &CapturePolicy) -> Result<Redactor, String> {
        Redactor::new(&policy.redact)
    }

    /// `text` with every secret replaced by its marker, and what was replaced. Redacting
    /// the result again changes nothing (short of secrets glued together more than
    /// sixteen deep, whose last stays for the next pass).
    pub fn redact<'t>(&self, text: &'t str) -> (Cow<'t, str>, Redactions) {
        let mut counts = Redactions::default();
        let mut out = Cow::Borrowed(text);
        let mut prior = None;
        for _ in 0..MAX_PASSES {
            match self.pass(&out, prior.as_ref(), &mut counts) {
                Some((next, p)) => {
                    out = Cow::Owned(next);
                    prior = Some(p);
                }
                None => break,
            }
        }
        (out, counts)
    }

    /// Redacts `text` in place, adding to `counts`.
    pub fn redact_string(&self, text: &mut String, counts: &mut Redactions) {
        if let (Cow::Owned(s), n) = self.redact(text) {
            *text = s;
            counts.add(n);
        }
    }

    /// One pass: `None` when nothing matched, else the text redacted and what a next pass
    /// over it needs to know.
    fn pass(
        &self,
        text: &str,
        prior: Option<&Prior>,
        counts: &mut Redactions,
    ) -> Option<(String, Prior)> {
        // A pack is searched only in a text with a byte all its matches have (a digit, `@`,
        // `:`), and only over the windows around them that could hold a match it keeps
        // (`scan`): one pass over the bytes spares most searches. A `RegexSet` over all packs
        // did this at half the cost of redacting (it cannot stop at a first match).
        //
        // A later pass, which checks that redacting changed nothing more, does not scan again:
        // this text is the last one with some spans turned into markers, which adds nothing a
        // pack needs (`[`, `]` and lower-case letters make no key shape, digit, capital, dot,
        // `@` or `:`), so the last pass's flags still say which packs can match. And a window that touches
        // no new marker is the same bytes, between the same neighbours, as a window the last
        // pass searched and found nothing to keep in (what it kept became a marker): only the
        // windows next to the new markers are searched again.
        let fresh;
        let seen = match prior {
            Some(p) if !self.whole_text() => &p.seen,
            _ => {
                fresh = Seen::of(text, self.digit_packs && prior.is_none());
                &fresh
            }
        };
        let near = prior
            .filter(|_| !self.whole_text())
            .map(|p| p.placed.as_slice());
        // start -> (end, kind), made at the first match a check accepts, with the markers
        // already in the text, kept as they are: a text (or a later pass) with nothing to
        // redact is not searched for markers.
        let mut spans: Option<BTreeMap<usize, (usize, Option<Kind>)>> = None;
        for pack in &self.packs {
            if !self.whole_text() && !pack.needs.met(seen) {
                continue;
            }
            let grouped = pack.inner;
            let mut consider = |s: usize, e: usize, inner: Option<(usize, usize)>| {
                if s == e {
                    return;
                }
                let Some(span) = packs::accept(pack.check, text, s, e) else {
                    return;
                };
                let (s, e) = inner.unwrap_or(span);
                let spans = spans
                    .get_or_insert_with(|| markers(text).map(|(s, e)| (s, (e, None))).collect());
                let overlaps = spans
                    .range(..e)
                    .next_back()
                    .is_some_and(|(_, (end, _))| *end > s);
                if !overlaps {
                    spans.insert(s, (e, Some(pack.kind)));
                }
            };
            match &pack.window {
                Some(window) if !self.whole_text() => window.each(text, seen, near, |a, b| {
                    if let Some(find) = pack.find {
                        // The window's end is the haystack's, as for the pattern below.
                        let w = &text.as_bytes()[..b];
                        let mut p = a;
                        while let Some((s, e)) = find(w, p) {
                            consider(s, e, None);
                            p = e;
                        }
                    } else if let Some(at) = pack.at {
                        // What `find_iter` does: the leftmost match, then on from its end.
                        let mut p = a;
                        while p < b {
                            match at(text.as_bytes(), p) {
                                Some(e) => {
                                    consider(p, e, None);
                                    p = e;
                                }
                                None => p += 1,
                            }
                        }
                    } else {
                        for m in pack.re.find_iter(&text[a..b]) {
                            consider(a + m.start(), a + m.end(), None);
                        }
                    }
                }),
                _ => {
                    // Captures only where the fast search matched: the same match, found again.
                    for m in pack.re.find_iter(text) {
                        let inner = if grouped {
                            pack.re
                                .captures_at(text, m.start())
                                .and_then(|c| c.iter().skip(1).flatten().next())
                                .map(|g| (g.start(), g.end()))
                        } else {
                            None
                        };
                        consider(m.start(), m.end(), inner);
                    }
                }
            }
        }
        let spans = spans?;
        let found = spans.values().filter(|(_, kind)| kind.is_some()).count();
        if found == 0 {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut placed = Vec::with_capacity(found);
        let mut at = 0;
        for (s, (e, kind)) in spans {
            let Some(kind) = kind else { continue };
            out.push_str(&text[at..s]);
            placed.push((out.len(), out.len() + kind.marker().len()));
            out.push_str(kind.marker());
            counts.bump(kind);
            at = e;
        }
        out.push_str(&text[at..]);
        let seen = Seen {
            digit_runs: Vec::new(),
            ..*seen
        };
        Some((out, Prior { seen, placed }))
    }

    #[cfg(test)]
    fn whole_text(&self) -> bool {
        self.whole_text
    }

    #[cfg(not(test))]
    fn whole_text(&self) -> bool {
        false
    }
}

/// What a pass that changed a text leaves for the next.
struct Prior {
    /// The flags of the text before: the redacted text has no byte a pack needs that it
    /// lacked.
    seen: Seen,
    /// The markers this pass put in, in order, as spans of the redacted text.
    placed: Vec<(usize, usize)>,
}

/// Markers already in a text: each `[` starting one (none is a prefix of another, none holds
/// a second `[`).
fn markers(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    memchr::memchr_iter(b'[', text.as_bytes()).filter_map(|at| {
        let rest = &text[at..];
        Kind::ALL
            .iter()
            .find(|k| rest.starts_with(k.marker()))
            .map(|k| (at, at + k.marker().len()))
    })
}

#[cfg(test)]
mod tests;
