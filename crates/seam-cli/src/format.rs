//! Text output helpers: durations, timestamps and aligned tables.

use std::borrow::Cow;
use std::time::Duration;

/// The longest `--since`: a hundred years (longer windows would not fit in milliseconds
/// since the epoch, and nothing is older).
const MAX_SINCE_SECS: u64 = 36_500 * 86_400;

/// `30s`, `15m`, `1h`, `7d` -> a duration.
pub fn parse_since(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| {
        anyhow::anyhow!("--since `{s}`: expected a number and a unit, such as 30s, 15m, 1h or 7d")
    })?;
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" | "" => 3600,
        "d" => 86_400,
        other => anyhow::bail!("--since `{s}`: unknown unit `{other}`; use s, m, h or d"),
    };
    match n.checked_mul(unit_secs) {
        Some(secs) if secs <= MAX_SINCE_SECS => Ok(Duration::from_secs(secs)),
        _ => anyhow::bail!("--since `{s}`: at most {}d", MAX_SINCE_SECS / 86_400),
    }
}

pub use seam_store::timestamp;

/// A string for the terminal: its control characters escaped, so that a tenant's model name
/// or an upstream's served model cannot forge a line or recolour the terminal. Every table
/// cell goes through it; text outputs pass each field they interpolate through it.
pub fn clean(s: &str) -> Cow<'_, str> {
    seam_gateway::untrusted::escape(s)
}

/// Prints rows under headers, each column as wide as its widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    // Padded by hand: a format width over 65,535 (a stored model name that long) panics.
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(c);
            let w = widths.get(i).copied().unwrap_or(0);
            let pad = w.saturating_sub(c.chars().count());
            out.extend(std::iter::repeat_n(' ', pad));
        }
        out.truncate(out.trim_end().len());
        out
    };
    let mut out = line(headers.to_vec());
    for r in &rows {
        out.push('\n');
        out.push_str(&line(r.iter().map(|c| c.as_ref()).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_longer_than_the_headers_does_not_panic() {
        let t = table(&["A"], &[vec!["x".into(), "extra".into()]]);
        assert!(t.contains("extra"));
    }

    #[test]
    fn a_cell_wider_than_any_format_width_is_printed_whole() {
        let huge = "m".repeat(70_000);
        let t = table(
            &["MODEL", "N"],
            &[
                vec![huge.clone(), "1".into()],
                vec!["ok".into(), "2".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[1], format!("{huge}  1"));
        assert_eq!(lines[2].find("  2"), Some(70_000), "the columns line up");
    }

    #[test]
    fn control_characters_in_a_cell_are_escaped_and_the_columns_still_line_up() {
        let evil = "m\r\nacme  forged-row\u{1b}[31m".to_string();
        let t = table(
            &["MODEL", "N"],
            &[vec![evil, "1".into()], vec!["ok".into(), "2".into()]],
        );
        assert!(!t.contains(['\r', '\u{1b}']), "{t:?}");
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert_eq!(lines[1], "m\\r\\nacme  forged-row\\u{1b}[31m  1");
        assert_eq!(lines[1].find("  1"), lines[2].find("  2"), "{t}");
    }

    #[test]
    fn since_and_timestamps() {
        assert_eq!(parse_since("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_since("24h").unwrap(), Duration::from_secs(86_400));
        assert!(
            parse_since("1w")
                .unwrap_err()
                .to_string()
                .contains("unknown unit")
        );
        assert!(parse_since("h").is_err());
        assert!(
            parse_since("99999999999999999d")
                .unwrap_err()
                .to_string()
                .contains("at most 36500d")
        );
        assert_eq!(timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(timestamp(1_795_000_000_000), "2026-11-18 11:06:40");
    }
}
