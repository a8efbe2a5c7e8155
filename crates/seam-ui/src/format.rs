//! Values as the pages show them, and the query string's filters read.

/// `2026-01-01 00:00:00` (UTC) from milliseconds since the epoch.
pub(crate) fn timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

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

/// `429` -> 429..=429, `5xx` -> 500..=599.
pub(crate) fn status_range(s: &str) -> Result<(i64, i64), String> {
    let bad = || format!("status `{s}`: give a status such as 429, or a class such as 4xx or 5xx");
    let s = s.trim();
    if let Some(class) = s.strip_suffix("xx").or_else(|| s.strip_suffix("XX")) {
        let d: i64 = class.parse().map_err(|_| bad())?;
        if !(1..=5).contains(&d) || class.len() != 1 {
            return Err(bad());
        }
        return Ok((d * 100, d * 100 + 99));
    }
    let n: i64 = s.parse().map_err(|_| bad())?;
    if !(100..=599).contains(&n) {
        return Err(bad());
    }
    Ok((n, n))
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
