//! Values as the pages show them, and the query string's filters read.

pub(crate) use seam_store::timestamp;

/// A window such as `30m`, `24h` or `7d`, in milliseconds (at most 366 days).
pub(crate) fn since_ms(s: &str) -> Result<i64, String> {
    let bad = || format!("since `{s}`: give a window such as 30m, 24h or 7d");
    let s = s.trim();
    let unit = match s.chars().last() {
        Some('m') => 60_000,
        Some('h') => 3_600_000,
        Some('d') => 86_400_000,
        _ => return Err(bad()),
    };
    let n: i64 = s[..s.len() - 1].parse().map_err(|_| bad())?;
    if n <= 0 || n.saturating_mul(unit) > 366 * 86_400_000 {
        return Err(bad());
    }
    Ok(n * unit)
}

/// The `status` filter: `429` or a class such as `5xx`.
pub(crate) fn status_range(s: &str) -> Result<(i64, i64), String> {
    seam_store::status_range(s).ok_or_else(|| {
        format!("status `{s}`: give a status such as 429, or a class such as 4xx or 5xx")
    })
}

/// A rate as a percentage with one decimal.
pub(crate) fn pct(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_windows_and_statuses_read_as_the_cli_reads_them() {
        assert_eq!(timestamp(1_767_225_600_000), "2026-01-01 00:00:00");
        assert_eq!(timestamp(951_827_696_000), "2000-02-29 12:34:56");
        assert_eq!(since_ms("24h"), Ok(86_400_000));
        assert_eq!(since_ms("30m"), Ok(1_800_000));
        assert!(since_ms("0d").is_err() && since_ms("x").is_err() && since_ms("").is_err());
        assert!(since_ms("400d").is_err());
        assert_eq!(status_range("5xx"), Ok((500, 599)));
        assert_eq!(status_range("429"), Ok((429, 429)));
        assert!(status_range("6xx").is_err() && status_range("99").is_err());
        assert_eq!(pct(0.125), "12.5%");
    }
}
