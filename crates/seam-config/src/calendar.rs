//! `[calendar]`: holidays and special periods the forecasts treat as what they are (issue 28,
//! docs/usage.md "The calendar"). Entries come inline (`[[calendar.holidays]]`) and from
//! `files` (each a TOML file of `[[holidays]]`, relative to the config file). Every occurrence
//! is listed explicitly, past and future; the occurrences of one holiday share its `name`,
//! which is how a forecast learns its effect from the past ones.

use crate::window::{DAY_MS, parse_day};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCalendar {
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub holidays: Vec<RawHoliday>,
}

/// A calendar file: `[[holidays]]` entries only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendarFile {
    #[serde(default)]
    holidays: Vec<RawHoliday>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHoliday {
    pub name: String,
    pub start: String,
    pub end: String,
    pub tenants: Option<Vec<String>>,
}

/// One occurrence of a holiday or special period: whole UTC days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// Shared by every occurrence of the same holiday.
    pub name: String,
    /// 00:00 UTC of its first day.
    pub start_ms: i64,
    /// 00:00 UTC of the day after its last (exclusive).
    pub end_ms: i64,
    /// The tenants it applies to; None: every tenant.
    pub tenants: Option<Vec<String>>,
    /// Where it was written: `calendar.holidays[3]`, or `FILE: holidays[3]`.
    pub origin: String,
}

impl Holiday {
    pub fn applies_to(&self, tenant: &str) -> bool {
        self.tenants
            .as_ref()
            .is_none_or(|list| list.iter().any(|t| t == tenant))
    }
}

/// `[calendar]` validated: every entry, inline and from its files, by start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    pub holidays: Vec<Holiday>,
    /// The files read, as resolved against the config file's directory.
    pub files: Vec<std::path::PathBuf>,
}

impl Calendar {
    /// The periods that apply to `tenant`, by start: (name, start_ms, end_ms exclusive).
    pub fn periods_for<'a>(&'a self, tenant: &'a str) -> impl Iterator<Item = (&'a str, i64, i64)> {
        self.holidays
            .iter()
            .filter(move |h| h.applies_to(tenant))
            .map(|h| (h.name.as_str(), h.start_ms, h.end_ms))
    }
}

pub(crate) fn calendar(
    raw: Option<RawCalendar>,
    base_dir: &Path,
    known_tenants: &BTreeSet<String>,
    problems: &mut Vec<String>,
) -> Calendar {
    let Some(raw) = raw else {
        return Calendar::default();
    };
    let mut holidays = Vec::new();
    let mut files = Vec::new();
    for (i, f) in raw.files.iter().enumerate() {
        let path = base_dir.join(f);
        let text = match read_file(&path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!(
                    "calendar.files[{i}]: cannot read {}: {e}",
                    path.display()
                ));
                continue;
            }
        };
        match toml::from_str::<RawCalendarFile>(&text) {
            Ok(file) => {
                let prefix = format!("{}: holidays", path.display());
                for (j, h) in file.holidays.into_iter().enumerate() {
                    let key = format!("{prefix}[{j}]");
                    holidays.extend(holiday(h, key, known_tenants, problems));
                }
            }
            Err(e) => problems.push(format!(
                "calendar.files[{i}] ({}): {}",
                path.display(),
                e.to_string().trim_end()
            )),
        }
        files.push(path);
    }
    for (i, h) in raw.holidays.into_iter().enumerate() {
        let key = format!("calendar.holidays[{i}]");
        holidays.extend(holiday(h, key, known_tenants, problems));
    }
    holidays.sort_by(|a, b| (a.start_ms, &a.origin).cmp(&(b.start_ms, &b.origin)));
    overlaps(&holidays, problems);
    Calendar { holidays, files }
}

/// A calendar file's text: a regular file of at most [`MAX_FILE_BYTES`] (a config naming a
/// device or a pipe must not hang the parse).
fn read_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    if !file.metadata().map_err(|e| e.to_string())?.is_file() {
        return Err("not a regular file".into());
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {} MiB", MAX_FILE_BYTES >> 20));
    }
    Ok(text)
}

/// Decades of holidays for many regions fit in far less.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// One entry, or None (its problems noted) when it does not validate.
fn holiday(
    h: RawHoliday,
    key: String,
    known_tenants: &BTreeSet<String>,
    problems: &mut Vec<String>,
) -> Option<Holiday> {
    let before = problems.len();
    if h.name.trim().is_empty() {
        problems.push(format!("{key}.name: must name the holiday"));
    }
    let start = parse_day(&h.start)
        .map_err(|e| problems.push(format!("{key}.start: {e}")))
        .ok();
    let end = parse_day(&h.end)
        .map_err(|e| problems.push(format!("{key}.end: {e}")))
        .ok();
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        problems.push(format!(
            "{key}.end: `{}` is before the start `{}` (both days are included)",
            h.end, h.start
        ));
    }
    if let Some(list) = &h.tenants {
        if list.is_empty() {
            problems.push(format!(
                "{key}.tenants: name at least one tenant, or leave it out for every tenant"
            ));
        }
        for t in list.iter().filter(|t| !known_tenants.contains(*t)) {
            problems.push(format!(
                "{key}.tenants: `{t}` is not a tenant this config names ({}); name it under [limits.tenants] or [capture.tenants], or leave it out",
                if known_tenants.is_empty() {
                    "it names none".to_string()
                } else {
                    known_tenants.iter().cloned().collect::<Vec<_>>().join(", ")
                }
            ));
        }
    }
    if problems.len() > before {
        return None;
    }
    Some(Holiday {
        name: h.name,
        start_ms: start? * DAY_MS,
        end_ms: (end? + 1) * DAY_MS,
        tenants: h.tenants,
        origin: key,
    })
}

/// Two entries that share a day and a tenant: which day a forecast masks as which holiday
/// would be ambiguous.
fn overlaps(sorted: &[Holiday], problems: &mut Vec<String>) {
    for (i, a) in sorted.iter().enumerate() {
        for b in sorted[i + 1..].iter().take_while(|b| b.start_ms < a.end_ms) {
            let shared = match (&a.tenants, &b.tenants) {
                (Some(x), Some(y)) => {
                    let common: Vec<&str> = x
                        .iter()
                        .filter(|t| y.contains(t))
                        .map(String::as_str)
                        .collect();
                    if common.is_empty() {
                        continue;
                    }
                    format!("tenant {}", common.join(", "))
                }
                (Some(x), None) | (None, Some(x)) => format!("tenant {}", x.join(", ")),
                (None, None) => "every tenant".into(),
            };
            problems.push(format!(
                "{}: `{}` overlaps {} (`{}`) for {shared}: periods of one tenant must not share a day",
                b.origin, b.name, a.origin, a.name
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn parse(text: &str) -> Result<crate::Config, String> {
        crate::parse(text, Path::new("t.toml"), &|_| None).map_err(|e| e.to_string())
    }

    const TENANTS: &str =
        "[limits.tenants.acme]\ncost_per_day = 5.0\n[capture.tenants.beta]\nmode = \"off\"\n";

    #[test]
    fn holidays_are_whole_utc_days_per_tenant() {
        let c = parse(&format!(
            "{TENANTS}[[calendar.holidays]]\nname = \"Christmas–New Year\"\nstart = \"2025-12-22\"\nend = \"2026-01-02\"\n\
             [[calendar.holidays]]\nname = \"Acme offsite\"\nstart = \"2026-03-02\"\nend = \"2026-03-02\"\ntenants = [\"acme\"]\n"
        ))
        .unwrap();
        let day = crate::window::DAY_MS;
        let xmas_start = crate::window::parse_day("2025-12-22").unwrap() * day;
        let acme: Vec<_> = c.calendar.periods_for("acme").collect();
        assert_eq!(acme.len(), 2);
        assert_eq!(
            acme[0],
            ("Christmas–New Year", xmas_start, xmas_start + 12 * day)
        );
        assert_eq!(acme[1].0, "Acme offsite");
        assert_eq!(acme[1].2 - acme[1].1, day, "one day, inclusive");
        let beta: Vec<_> = c.calendar.periods_for("beta").map(|p| p.0).collect();
        assert_eq!(beta, ["Christmas–New Year"]);
    }

    #[test]
    fn bad_entries_are_named_by_key() {
        let e = parse(&format!(
            "{TENANTS}[[calendar.holidays]]\nname = \"a\"\nstart = \"2026-02-30\"\nend = \"2026-03-01\"\n\
             [[calendar.holidays]]\nname = \"b\"\nstart = \"2026-05-02\"\nend = \"2026-05-01\"\n\
             [[calendar.holidays]]\nname = \"c\"\nstart = \"2026-06-01\"\nend = \"2026-06-01\"\ntenants = [\"acne\"]\n\
             [[calendar.holidays]]\nname = \"d\"\nstart = \"26-7-1\"\nend = \"2026-07-01\"\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("calendar.holidays[0].start: `2026-02-30`: there is no such date"),
            "{e}"
        );
        assert!(
            e.contains("calendar.holidays[1].end: `2026-05-01` is before the start"),
            "{e}"
        );
        assert!(e.contains("calendar.holidays[2].tenants: `acne` is not a tenant this config names (acme, beta)"), "{e}");
        assert!(
            e.contains("calendar.holidays[3].start: `26-7-1` is not a date"),
            "{e}"
        );
        let e = parse("[[calendar.holidays]]\nname = \"a\"\nstart = \"2026-01-01\"\nend = \"2026-01-01\"\nmultiplier = 2\n").unwrap_err();
        assert!(e.contains("unknown field `multiplier`"), "{e}");
    }

    #[test]
    fn overlaps_of_one_tenant_are_refused() {
        let entry = |name: &str, start: &str, end: &str, tenants: &str| {
            format!(
                "[[calendar.holidays]]\nname = \"{name}\"\nstart = \"{start}\"\nend = \"{end}\"\n{tenants}"
            )
        };
        let e = parse(&format!(
            "{TENANTS}{}{}",
            entry("x", "2026-01-01", "2026-01-05", ""),
            entry("y", "2026-01-05", "2026-01-06", "tenants = [\"acme\"]\n")
        ))
        .unwrap_err();
        assert!(
            e.contains(
                "calendar.holidays[1]: `y` overlaps calendar.holidays[0] (`x`) for tenant acme"
            ),
            "{e}"
        );
        // Different tenants, or back to back: fine.
        parse(&format!(
            "{TENANTS}{}{}{}",
            entry("x", "2026-01-01", "2026-01-05", "tenants = [\"beta\"]\n"),
            entry("y", "2026-01-05", "2026-01-06", "tenants = [\"acme\"]\n"),
            entry("z", "2026-01-07", "2026-01-07", "")
        ))
        .unwrap();
    }

    #[test]
    fn files_are_read_beside_the_config_and_named_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("h.toml"),
            "[[holidays]]\nname = \"Easter\"\nstart = \"2026-04-03\"\nend = \"2026-04-06\"\n\
             [[holidays]]\nname = \"Bad\"\nstart = \"2026-04-10\"\nend = \"2026-04-09\"\n",
        )
        .unwrap();
        let cfg = dir.path().join("seam.toml");
        let text = "[calendar]\nfiles = [\"h.toml\", \"missing.toml\"]\n";
        let e = crate::parse(text, &cfg, &|_| None).unwrap_err().to_string();
        let file = dir.path().join("h.toml");
        assert!(
            e.contains(&format!("{}: holidays[1].end", file.display())),
            "{e}"
        );
        assert!(e.contains("calendar.files[1]: cannot read"), "{e}");
        let e = crate::parse(
            "[calendar]\nfiles = [\"/dev/zero\", \".\"]\n",
            &cfg,
            &|_| None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("calendar.files[0]: cannot read /dev/zero: not a regular file"),
            "{e}"
        );
        assert!(e.contains("calendar.files[1]: cannot read"), "{e}");
        std::fs::write(
            dir.path().join("h.toml"),
            "[[holidays]]\nname = \"Easter\"\nstart = \"2026-04-03\"\nend = \"2026-04-06\"\n",
        )
        .unwrap();
        let c = crate::parse("[calendar]\nfiles = [\"h.toml\"]\n", &cfg, &|_| None).unwrap();
        assert_eq!(c.calendar.periods_for("anyone").count(), 1);
    }
}
