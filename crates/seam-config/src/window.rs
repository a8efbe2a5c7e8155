//! UTC calendar windows, as the limits count them (the gateway's counters, the dashboard's budgets).

use crate::limits::Window as LimitWindow;

pub(crate) const DAY_MS: i64 = 86_400_000;
/// 1970-01-01 was a Thursday: ISO weeks are counted from the Monday three days before it.
const EPOCH_MONDAY_MS: i64 = -3 * DAY_MS;

/// The calendar window `now_ms` falls in (UTC): its id, and when it ends. A week's id counts
/// ISO weeks (from Monday 00:00 UTC) since the epoch's Monday; a month's is `year * 12 + month`.
pub fn window_of(w: LimitWindow, now_ms: i64) -> (i64, i64) {
    let Some((size, origin)) = fixed(w) else {
        let (y, m) = year_month(now_ms.div_euclid(DAY_MS));
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        return (y * 12 + m, days_from_civil(ny, nm, 1) * DAY_MS);
    };
    let id = (now_ms - origin).div_euclid(size);
    (id, origin + (id + 1) * size)
}

/// A window's length in ms and the start of its window 0; a month has neither.
fn fixed(w: LimitWindow) -> Option<(i64, i64)> {
    match w {
        LimitWindow::Minute => Some((60_000, 0)),
        LimitWindow::Hour => Some((3_600_000, 0)),
        LimitWindow::Day => Some((DAY_MS, 0)),
        LimitWindow::Week => Some((7 * DAY_MS, EPOCH_MONDAY_MS)),
        LimitWindow::Month => None,
    }
}

/// When the calendar window `now_ms` falls in started (UTC).
pub fn window_start(w: LimitWindow, now_ms: i64) -> i64 {
    match fixed(w) {
        Some((size, origin)) => origin + (now_ms - origin).div_euclid(size) * size,
        None => {
            let (y, m) = year_month(now_ms.div_euclid(DAY_MS));
            days_from_civil(y, m, 1) * DAY_MS
        }
    }
}

/// (year, month) of a day count since 1970-01-01 (Howard Hinnant's civil-from-days).
fn year_month(days: i64) -> (i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m)
}

/// Days since 1970-01-01 of the date `year-month-day` (UTC), or None when there is no such
/// date (month 13, February 30, ...).
pub fn civil_day(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    let next = if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    };
    let first = days_from_civil(year, month, 1);
    (day <= next - first).then(|| first + day - 1)
}

/// `YYYY-MM-DD` (exactly: four, two and two digits) as days since 1970-01-01, or why not.
pub fn parse_day(s: &str) -> Result<i64, String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let parsed = (b.len() == 10 && b[4] == b'-' && b[7] == b'-')
        .then(|| Some((digits(0..4)?, digits(5..7)?, digits(8..10)?)))
        .flatten();
    match parsed {
        None => Err(format!(
            "`{s}` is not a date such as 2026-01-05 (YYYY-MM-DD)"
        )),
        Some((y, m, d)) => {
            civil_day(y, m, d).ok_or_else(|| format!("`{s}`: there is no such date"))
        }
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_000_000_000; // 2026-11-18 11:06:40 UTC

    #[test]
    fn calendar_windows_roll_over_in_utc() {
        assert_eq!(window_of(LimitWindow::Minute, T0).1, T0 + 20_000);
        let (id, end) = window_of(LimitWindow::Month, T0);
        assert_eq!(id, 2026 * 12 + 11);
        assert_eq!(end, 1_796_083_200_000, "2026-12-01 00:00 UTC");
        let (dec, _) = window_of(LimitWindow::Month, end);
        assert_eq!(dec, 2026 * 12 + 12);
        assert_eq!(
            window_start(LimitWindow::Month, T0),
            1_793_491_200_000,
            "2026-11-01"
        );
        assert_eq!(window_start(LimitWindow::Day, T0), 1_794_960_000_000);
        assert_eq!(window_start(LimitWindow::Minute, T0), T0 - 40_000);
    }

    /// `YYYY-MM-DD HH:MM` UTC in ms.
    fn at(y: i64, mo: i64, d: i64, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo, d) * DAY_MS + h * 3_600_000 + mi * 60_000
    }

    #[test]
    fn months_start_on_the_first_and_december_rolls_into_the_next_year() {
        let month = LimitWindow::Month;
        for t in [at(2026, 3, 1, 0, 0), at(2026, 3, 1, 0, 30)] {
            assert_eq!(window_start(month, t), at(2026, 3, 1, 0, 0));
            assert_eq!(window_of(month, t), (2026 * 12 + 3, at(2026, 4, 1, 0, 0)));
        }
        let dec = at(2026, 12, 31, 23, 30);
        assert_eq!(
            window_of(month, dec),
            (2026 * 12 + 12, at(2027, 1, 1, 0, 0))
        );
        assert_eq!(window_start(month, dec), at(2026, 12, 1, 0, 0));
        let jan = at(2027, 1, 1, 0, 0);
        assert_eq!(window_of(month, jan), (2027 * 12 + 1, at(2027, 2, 1, 0, 0)));
        assert_eq!(window_start(month, jan), jan);
        // 2028 is a leap year: February has 29 days.
        assert_eq!(
            window_of(month, at(2028, 2, 28, 12, 0)).1,
            at(2028, 3, 1, 0, 0)
        );
        assert_eq!(
            window_of(month, at(2028, 2, 29, 23, 59)).1,
            at(2028, 3, 1, 0, 0)
        );
        assert_eq!(
            window_start(month, at(2028, 2, 29, 23, 59)),
            at(2028, 2, 1, 0, 0)
        );
        assert_eq!(
            window_of(month, at(2027, 2, 28, 23, 59)).1,
            at(2027, 3, 1, 0, 0)
        );
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(parse_day("1970-01-01"), Ok(0));
        assert_eq!(parse_day("2028-02-29"), Ok(days_from_civil(2028, 2, 29)));
        assert_eq!(parse_day("2027-12-31"), Ok(days_from_civil(2028, 1, 1) - 1));
        for bad in [
            "2027-02-29",
            "2026-13-01",
            "2026-04-31",
            "2026-00-10",
            "2026-01-00",
        ] {
            assert!(
                parse_day(bad).unwrap_err().contains("no such date"),
                "{bad}"
            );
        }
        for bad in [
            "2026-1-05",
            "26-01-05",
            "2026/01/05",
            "2026-01-05T00",
            "",
            "2026-0a-05",
        ] {
            assert!(parse_day(bad).unwrap_err().contains("YYYY-MM-DD"), "{bad}");
        }
    }

    #[test]
    fn a_day_ends_at_midnight() {
        let t = at(2028, 2, 28, 23, 59);
        assert_eq!(window_start(LimitWindow::Day, t), at(2028, 2, 28, 0, 0));
        assert_eq!(window_of(LimitWindow::Day, t).1, at(2028, 2, 29, 0, 0));
        let (id, end) = window_of(LimitWindow::Day, at(2028, 2, 29, 0, 0));
        assert_eq!(end, at(2028, 3, 1, 0, 0));
        assert_eq!(id, window_of(LimitWindow::Day, t).0 + 1);
    }

    #[test]
    fn weeks_are_iso_weeks_from_monday_utc() {
        let week = LimitWindow::Week;
        // Sunday 2026-01-04 23:00 is in the week of Monday 2025-12-29; it ends at Monday 00:00.
        let sunday = at(2026, 1, 4, 23, 0);
        let monday = at(2026, 1, 5, 0, 0);
        assert_eq!(window_start(week, sunday), at(2025, 12, 29, 0, 0));
        assert_eq!(window_of(week, sunday).1, monday);
        assert_eq!(window_start(week, monday), monday);
        assert_eq!(window_of(week, monday).0, window_of(week, sunday).0 + 1);
        assert_eq!(window_of(week, monday).1, at(2026, 1, 12, 0, 0));
        // Monday 2026-12-28 to Sunday 2027-01-03 is one week, across the year's end.
        let first = window_of(week, at(2026, 12, 28, 0, 0));
        for t in [
            at(2026, 12, 31, 23, 30),
            at(2027, 1, 1, 0, 0),
            at(2027, 1, 3, 23, 59),
        ] {
            assert_eq!(window_of(week, t), first);
            assert_eq!(window_start(week, t), at(2026, 12, 28, 0, 0));
        }
        assert_eq!(first.1, at(2027, 1, 4, 0, 0));
        // The epoch's week began on Monday 1969-12-29: id 0.
        assert_eq!(window_of(week, 0), (0, 4 * DAY_MS));
        assert_eq!(window_start(week, -1), -3 * DAY_MS);
    }
}
