//! `[audit]`: where `seam serve` anchors the audit chain's head (its record count and newest
//! hash), outside the store, so that a chain cut short or rolled back is seen.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAudit {
    pub anchor_file: Option<String>,
    pub anchor_url: Option<String>,
    pub anchor_interval_secs: Option<u64>,
}

/// `[audit]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// A file every interval's head is appended to, one JSON line each (relative paths are
    /// relative to the config file).
    pub anchor_file: Option<PathBuf>,
    /// A URL every interval's head is POSTed to, as the same JSON.
    pub anchor_url: Option<String>,
    pub anchor_interval: Duration,
}

pub const DEFAULT_ANCHOR_INTERVAL: Duration = Duration::from_secs(60);

impl Default for Audit {
    fn default() -> Self {
        Audit {
            anchor_file: None,
            anchor_url: None,
            anchor_interval: DEFAULT_ANCHOR_INTERVAL,
        }
    }
}

impl Audit {
    /// Whether the head is anchored anywhere.
    pub fn anchors(&self) -> bool {
        self.anchor_file.is_some() || self.anchor_url.is_some()
    }
}

pub(crate) fn audit(raw: Option<RawAudit>, base_dir: &Path, problems: &mut Vec<String>) -> Audit {
    let raw = raw.unwrap_or_default();
    if raw
        .anchor_file
        .as_deref()
        .is_some_and(|f| f.trim().is_empty())
    {
        problems.push(
            "audit.anchor_file: name a file, e.g. \"/var/lib/seam-anchor/heads.jsonl\"".into(),
        );
    }
    if let Some(u) = &raw.anchor_url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        problems.push(format!(
            "audit.anchor_url: `{}` must start with http:// or https://",
            crate::redact_url(u)
        ));
    }
    let anchor_interval = match raw.anchor_interval_secs {
        Some(0) => {
            problems.push("audit.anchor_interval_secs: must be at least 1 second".into());
            DEFAULT_ANCHOR_INTERVAL
        }
        Some(_) if raw.anchor_file.is_none() && raw.anchor_url.is_none() => {
            problems.push(
                "audit.anchor_interval_secs: set anchor_file or anchor_url too, or nothing is anchored"
                    .into(),
            );
            DEFAULT_ANCHOR_INTERVAL
        }
        Some(n) => Duration::from_secs(n),
        None => DEFAULT_ANCHOR_INTERVAL,
    };
    Audit {
        anchor_file: raw.anchor_file.map(|f| base_dir.join(f)),
        anchor_url: raw.anchor_url,
        anchor_interval,
    }
}

#[cfg(test)]
mod tests {
    use crate::parse;
    use std::path::Path;
    use std::time::Duration;

    fn audit(table: &str) -> Result<super::Audit, String> {
        parse(
            &format!("[audit]\n{table}"),
            Path::new("/etc/seam/seam.toml"),
            &|_| None,
        )
        .map(|c| c.audit)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn anchors_go_to_a_file_beside_the_config_or_a_url_every_interval() {
        let a = audit("anchor_file = \"anchors/heads.jsonl\"\nanchor_url = \"https://anchor.internal/seam\"\nanchor_interval_secs = 30")
            .expect("valid");
        assert_eq!(
            a.anchor_file.as_deref(),
            Some(Path::new("/etc/seam/anchors/heads.jsonl"))
        );
        assert_eq!(
            a.anchor_url.as_deref(),
            Some("https://anchor.internal/seam")
        );
        assert_eq!(a.anchor_interval, Duration::from_secs(30));
        assert!(a.anchors());
        let none = audit("").expect("valid");
        assert!(!none.anchors());
        assert_eq!(none.anchor_interval, Duration::from_secs(60));
    }

    #[test]
    fn a_bad_anchor_is_named_with_its_key() {
        let e = audit("anchor_url = \"ftp://u:secret@x\"\nanchor_interval_secs = 0").unwrap_err();
        assert!(
            e.contains("audit.anchor_url: `ftp://u:***@x` must start with http://"),
            "{e}"
        );
        assert!(!e.contains("secret"), "{e}");
        assert!(
            e.contains("audit.anchor_interval_secs: must be at least 1 second"),
            "{e}"
        );
        let e = audit("anchor_interval_secs = 10").unwrap_err();
        assert!(e.contains("set anchor_file or anchor_url too"), "{e}");
        let e = audit("anchor_file = \"\"").unwrap_err();
        assert!(e.contains("audit.anchor_file: name a file"), "{e}");
        let e = audit("anchor = \"x\"").unwrap_err();
        assert!(e.contains("unknown field `anchor`"), "{e}");
    }
}
