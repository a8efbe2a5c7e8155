//! UTC calendar windows, as the limits count them (the gateway's counters, the dashboard's budgets).

use crate::limits::Window as LimitWindow;

/// The calendar window `now_ms` falls in (UTC): its id, and when it ends.
pub fn window_of(w: LimitWindow, now_ms: i64) -> (i64, i64) {
    let Some(size) = fixed_size(w) else {
        let (y, m) = year_month(now_ms.div_euclid(86_400_000));
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        return (y * 12 + m, days_from_civil(ny, nm, 1) * 86_400_000);
    };
    let id = now_ms.div_euclid(size);
    (id, (id + 1) * size)
}

/// The length of a window in ms; a month has none.
fn fixed_size(w: LimitWindow) -> Option<i64> {
    match w {
        LimitWindow::Minute => Some(60_000),
        LimitWindow::Hour => Some(3_600_000),
        LimitWindow::Day => Some(86_400_000),
        LimitWindow::Month => None,
    }
}

/// When the calendar window `now_ms` falls in started (UTC).
pub fn window_start(w: LimitWindow, now_ms: i64) -> i64 {
    match fixed_size(w) {
        Some(size) => now_ms.div_euclid(size) * size,
        None => {
            let (y, m) = year_month(now_ms.div_euclid(86_400_000));
            days_from_civil(y, m, 1) * 86_400_000
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

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
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
}
