//! Content capture: `[capture]` (retention and the defaults), a route's `capture = {...}` and
//! `[capture.tenants.NAME]`. Each key a tenant sets wins over the route's, which wins over
//! `[capture]`'s; nothing set anywhere is `mode = "off"`, today's behaviour.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One capture table as written: every key optional, so a level sets only what it changes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCapturePolicy {
    pub mode: Option<String>,
    pub sample: Option<f64>,
    pub redact: Option<Vec<String>>,
    pub max_bytes: Option<u64>,
    pub keep_failures: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCapture {
    pub retention_days: Option<u64>,
    pub mode: Option<String>,
    pub sample: Option<f64>,
    pub redact: Option<Vec<String>>,
    pub max_bytes: Option<u64>,
    pub keep_failures: Option<bool>,
    #[serde(default)]
    pub tenants: BTreeMap<String, RawCapturePolicy>,
}

/// What is kept of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaptureMode {
    /// Nothing beyond the call's record (today's behaviour).
    #[default]
    Off,
    /// The record only; content is not kept (the level to say "never" for a tenant).
    Metadata,
    /// The call's content, redacted.
    Full,
}

impl CaptureMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::Off => "off",
            CaptureMode::Metadata => "metadata",
            CaptureMode::Full => "full",
        }
    }
}

/// An opt-in redaction pack (provider-key shapes are always redacted, so are no pack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RedactPack {
    Email,
    Phone,
    /// Card numbers that pass the Luhn check.
    Card,
    /// IBANs that pass the mod-97 check.
    Iban,
    /// IPv4 and IPv6 addresses.
    Ip,
}

impl RedactPack {
    pub const ALL: [RedactPack; 5] = [
        RedactPack::Email,
        RedactPack::Phone,
        RedactPack::Card,
        RedactPack::Iban,
        RedactPack::Ip,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RedactPack::Email => "email",
            RedactPack::Phone => "phone",
            RedactPack::Card => "card",
            RedactPack::Iban => "iban",
            RedactPack::Ip => "ip",
        }
    }
}

/// One entry of `redact`: a pack by name, or `"regex:PATTERN"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redact {
    Pack(RedactPack),
    /// A pattern checked to compile and never to match empty text.
    Custom(String),
}

/// The prefix of a custom pattern in `redact`.
pub const CUSTOM_PREFIX: &str = "regex:";
pub const DEFAULT_MAX_BYTES: usize = 65_536;

/// The capture policy of one (tenant, route).
#[derive(Debug, Clone, PartialEq)]
pub struct CapturePolicy {
    pub mode: CaptureMode,
    /// The share of traces captured, 0.0 to 1.0, decided once per trace.
    pub sample: f64,
    /// Packs and patterns redacted on top of provider-key shapes.
    pub redact: Vec<Redact>,
    /// Content beyond this is truncated, with a flag.
    pub max_bytes: usize,
    /// A call that fails or is refused is kept whatever the sample says.
    pub keep_failures: bool,
}

impl Default for CapturePolicy {
    fn default() -> Self {
        CapturePolicy {
            mode: CaptureMode::Off,
            sample: 1.0,
            redact: Vec::new(),
            max_bytes: DEFAULT_MAX_BYTES,
            keep_failures: false,
        }
    }
}

/// One level's keys, validated: those it leaves out come from the level below.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaptureOverride {
    pub mode: Option<CaptureMode>,
    pub sample: Option<f64>,
    pub redact: Option<Vec<Redact>>,
    pub max_bytes: Option<usize>,
    pub keep_failures: Option<bool>,
}

impl CaptureOverride {
    fn apply_to(&self, p: &mut CapturePolicy) {
        if let Some(m) = self.mode {
            p.mode = m;
        }
        if let Some(s) = self.sample {
            p.sample = s;
        }
        if let Some(r) = &self.redact {
            p.redact.clone_from(r);
        }
        if let Some(n) = self.max_bytes {
            p.max_bytes = n;
        }
        if let Some(k) = self.keep_failures {
            p.keep_failures = k;
        }
    }
}

/// `[capture]` validated: retention, the defaults and the tenants' own keys (a route's are on
/// the route).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Capture {
    /// Captured content older than this is deleted; `None`: kept.
    pub retention_days: Option<u64>,
    pub default: CapturePolicy,
    pub tenants: BTreeMap<String, CaptureOverride>,
}

impl Capture {
    /// The policy of a call of `tenant` on a route with `route`'s keys: the tenant's keys,
    /// then the route's, then `[capture]`'s.
    pub fn policy(&self, tenant: &str, route: Option<&CaptureOverride>) -> CapturePolicy {
        let mut p = self.default.clone();
        for level in [route, self.tenants.get(tenant)].into_iter().flatten() {
            level.apply_to(&mut p);
        }
        p
    }
}

/// Validates one level's keys, reporting bad values under `key`.
pub(crate) fn level(
    raw: RawCapturePolicy,
    key: &str,
    problems: &mut Vec<String>,
) -> CaptureOverride {
    let mode = raw.mode.as_deref().and_then(|m| match m {
        "off" => Some(CaptureMode::Off),
        "metadata" => Some(CaptureMode::Metadata),
        "full" => Some(CaptureMode::Full),
        other => {
            problems.push(format!(
                "{key}.mode: `{other}` is not one of \"off\", \"metadata\", \"full\""
            ));
            None
        }
    });
    let sample = raw.sample.filter(|s| {
        let ok = (0.0..=1.0).contains(s);
        if !ok {
            problems.push(format!(
                "{key}.sample: must be between 0.0 and 1.0, not {s}"
            ));
        }
        ok
    });
    let redact = raw.redact.map(|list| {
        list.iter()
            .enumerate()
            .filter_map(|(i, r)| redact(r, &format!("{key}.redact[{i}]"), problems))
            .collect()
    });
    let max_bytes = raw.max_bytes.and_then(|n| match usize::try_from(n) {
        Ok(n) if n >= 1024 => Some(n),
        _ => {
            problems.push(format!(
                "{key}.max_bytes: at least 1024 (default {DEFAULT_MAX_BYTES}), not {n}"
            ));
            None
        }
    });
    CaptureOverride {
        mode,
        sample,
        redact,
        max_bytes,
        keep_failures: raw.keep_failures,
    }
}

fn redact(entry: &str, key: &str, problems: &mut Vec<String>) -> Option<Redact> {
    if let Some(pattern) = entry.strip_prefix(CUSTOM_PREFIX) {
        return match regex::Regex::new(pattern) {
            Err(e) => {
                let e = e.to_string().replace('\n', " ");
                problems.push(format!("{key}: the pattern does not compile: {e}"));
                None
            }
            // A pattern matching empty text would mark every position.
            Ok(re) if re.is_match("") => {
                problems.push(format!("{key}: the pattern matches empty text"));
                None
            }
            Ok(_) => Some(Redact::Custom(pattern.to_string())),
        };
    }
    match RedactPack::ALL.into_iter().find(|p| p.as_str() == entry) {
        Some(p) => Some(Redact::Pack(p)),
        None => {
            problems.push(format!(
                "{key}: `{entry}` is not a pack (email, phone, card, iban, ip) nor \"{CUSTOM_PREFIX}PATTERN\"; provider keys are always redacted"
            ));
            None
        }
    }
}

pub(crate) fn capture(raw: Option<RawCapture>, problems: &mut Vec<String>) -> Capture {
    let raw = raw.unwrap_or_default();
    let retention_days = retention(raw.retention_days, "capture.retention_days", problems);
    let top = RawCapturePolicy {
        mode: raw.mode,
        sample: raw.sample,
        redact: raw.redact,
        max_bytes: raw.max_bytes,
        keep_failures: raw.keep_failures,
    };
    let mut default = CapturePolicy::default();
    level(top, "capture", problems).apply_to(&mut default);
    let tenants = raw
        .tenants
        .into_iter()
        .map(|(t, r)| {
            let o = level(r, &format!("capture.tenants.{t}"), problems);
            (t, o)
        })
        .collect();
    Capture {
        retention_days,
        default,
        tenants,
    }
}

/// The longest retention taken: a century, so that a cutoff in milliseconds stays far inside
/// i64 and a typo (`retention_days = 3650000`) is caught rather than meaning "forever".
pub const MAX_RETENTION_DAYS: u64 = 36_500;

/// A retention in days: from 1 to [`MAX_RETENTION_DAYS`] when set.
pub(crate) fn retention(v: Option<u64>, key: &str, problems: &mut Vec<String>) -> Option<u64> {
    match v {
        Some(0) => {
            problems.push(format!("{key}: at least 1 (leave it out to keep forever)"));
            None
        }
        Some(d) if d > MAX_RETENTION_DAYS => {
            problems.push(format!(
                "{key}: at most {MAX_RETENTION_DAYS} (100 years; leave it out to keep forever), not {d}"
            ));
            None
        }
        v => v,
    }
}

/// Content cannot outlive its call: retention deletes a call's content with its record.
pub(crate) fn check_retentions(
    records: Option<u64>,
    capture: Option<u64>,
    problems: &mut Vec<String>,
) {
    if let (Some(r), Some(c)) = (records, capture)
        && c > r
    {
        problems.push(format!(
            "capture.retention_days: {c} is longer than records.retention_days ({r}); content is deleted with its call's record, so keep it at most {r} days"
        ));
    }
}

#[cfg(test)]
mod tests;
