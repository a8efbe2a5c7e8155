//! `[ui]`: the dashboard under `/ui/` (docs/dashboard.md).

use serde::Deserialize;

/// How long a dashboard sign-in lasts by default.
pub const DEFAULT_SESSION_HOURS: u64 = 12;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUi {
    pub enabled: Option<bool>,
    pub session_hours: Option<u64>,
    pub secure_cookie: Option<bool>,
}

/// `[ui]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ui {
    /// `seam serve` serves the dashboard under `/ui/` (default true; read at start).
    pub enabled: bool,
    /// A sign-in expires this many hours after it was made (1 to 720, default 12).
    pub session_hours: u64,
    /// Mark the session cookie `Secure`: set it when browsers reach Seam over HTTPS through
    /// a proxy that ends TLS (Seam itself serves plain HTTP). Default false.
    pub secure_cookie: bool,
}

impl Default for Ui {
    fn default() -> Ui {
        Ui {
            enabled: true,
            session_hours: DEFAULT_SESSION_HOURS,
            secure_cookie: false,
        }
    }
}

pub(crate) fn ui(raw: Option<RawUi>, problems: &mut Vec<String>) -> Ui {
    let raw = raw.unwrap_or_default();
    let session_hours = raw.session_hours.unwrap_or(DEFAULT_SESSION_HOURS);
    if !(1..=720).contains(&session_hours) {
        problems.push(format!(
            "ui.session_hours: {session_hours}: give 1 to 720 hours (default {DEFAULT_SESSION_HOURS})"
        ));
    }
    Ui {
        enabled: raw.enabled.unwrap_or(true),
        session_hours,
        secure_cookie: raw.secure_cookie.unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ui_defaults_bounds_and_unknown_keys() {
        let mut problems = Vec::new();
        let ui = super::ui(None, &mut problems);
        assert!(ui.enabled && ui.session_hours == 12 && !ui.secure_cookie);
        let raw: super::RawUi = toml::from_str("enabled = false\nsession_hours = 0").unwrap();
        let ui = super::ui(Some(raw), &mut problems);
        assert!(!ui.enabled);
        assert_eq!(
            problems,
            ["ui.session_hours: 0: give 1 to 720 hours (default 12)"]
        );
        let e = toml::from_str::<super::RawUi>("enable = false").unwrap_err();
        assert!(e.to_string().contains("unknown field `enable`"), "{e}");
    }
}
