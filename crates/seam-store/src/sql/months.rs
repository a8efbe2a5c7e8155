//! UTC calendar months, for PostgreSQL's monthly record partitions: the month a time falls
//! in, its first millisecond, and the suffix a partition is named with (`calls_p202612`).

/// One UTC calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Month {
    year: i64,
    /// 1 to 12.
    month: i64,
}

const DAY_MS: i64 = 86_400_000;

impl Month {
    /// The month `ms` (milliseconds since the Unix epoch) falls in.
    pub fn of_ms(ms: i64) -> Month {
        let (year, month, _) = civil_from_days(ms.div_euclid(DAY_MS));
        Month { year, month }
    }

    /// Its first millisecond.
    pub fn start_ms(self) -> i64 {
        days_from_civil(self.year, self.month, 1) * DAY_MS
    }

    /// The first millisecond after it.
    pub fn end_ms(self) -> i64 {
        self.next().start_ms()
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// `YYYYMM`, for a partition's name; `None` outside years 1970 to 9999, whose rows stay in
    /// the default partition (a name must stay six digits, and such times are clock errors).
    pub fn suffix(self) -> Option<String> {
        (1970..=9999)
            .contains(&self.year)
            .then(|| format!("{:04}{:02}", self.year, self.month))
    }

    /// The month a `YYYYMM` suffix names.
    pub fn parse(suffix: &str) -> Option<Month> {
        if suffix.len() != 6 || !suffix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i64 = suffix[..4].parse().ok()?;
        let month: i64 = suffix[4..].parse().ok()?;
        ((1..=12).contains(&month) && year >= 1970).then_some(Month { year, month })
    }
}

// Howard Hinnant's algorithms for the proleptic Gregorian calendar
// (https://howardhinnant.github.io/date_algorithms.html), on days since 1970-01-01.

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_start_where_the_calendar_says() {
        // 2026-12-01T00:00:00Z and 2027-01-01T00:00:00Z (date -d ... +%s).
        let dec = Month::of_ms(1_796_083_200_000 + 5 * DAY_MS);
        assert_eq!(dec.suffix().as_deref(), Some("202612"));
        assert_eq!(dec.start_ms(), 1_796_083_200_000);
        assert_eq!(dec.end_ms(), 1_798_761_600_000);
        assert_eq!(dec.next().suffix().as_deref(), Some("202701"));
        // The last millisecond of a month is in it; the next one is not.
        assert_eq!(Month::of_ms(dec.end_ms() - 1), dec);
        assert_eq!(Month::of_ms(dec.end_ms()), dec.next());
        // A leap February: 2028-02-01 to 2028-03-01 is 29 days.
        let feb = Month::parse("202802").expect("parse");
        assert_eq!(feb.end_ms() - feb.start_ms(), 29 * DAY_MS);
        assert_eq!(Month::of_ms(0).suffix().as_deref(), Some("197001"));
        assert_eq!(
            Month::of_ms(-1).suffix(),
            None,
            "1969 stays in the default partition"
        );
        for bad in ["20261", "202613", "202600", "2026ab", "196912"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        // Every month from 1970 to 2100 round-trips through its suffix and its bounds.
        let mut m = Month::of_ms(0);
        while m.year < 2100 {
            let s = m.suffix().expect("suffix");
            assert_eq!(Month::parse(&s), Some(m));
            assert_eq!(Month::of_ms(m.start_ms()), m);
            assert!(m.end_ms() - m.start_ms() >= 28 * DAY_MS);
            m = m.next();
        }
    }
}
