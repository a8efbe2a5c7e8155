//! The one wall clock records, events and the control plane are stamped with.

/// Milliseconds since the Unix epoch (0 for a clock set before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` UTC, as the CLI and the dashboard
/// show times.
pub fn timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A status filter as [`crate::CallQuery`] takes it: `429` -> (429, 429), `5xx` -> (500, 599);
/// `None` for anything else (the caller names its own flag or field in the error).
pub fn status_range(s: &str) -> Option<(i64, i64)> {
    let s = s.trim();
    if let Some(class) = s.strip_suffix("xx").or_else(|| s.strip_suffix("XX")) {
        let d: i64 = class.parse().ok()?;
        return ((1..=5).contains(&d) && class.len() == 1).then_some((d * 100, d * 100 + 99));
    }
    let n: i64 = s.parse().ok()?;
    (100..=599).contains(&n).then_some((n, n))
}
