//! Times as users write them: RFC 3339 (`2026-01-05T13:00:00Z`, `+02:00`), or
//! `YYYY-MM-DD HH:MM[:SS]` and `YYYY-MM-DD`, taken as UTC.

const DAY_MS: i64 = 86_400_000;

/// Milliseconds since the epoch of a time in one of the forms above, or why it is not one.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "`{s}` is not a time such as 2026-01-05T13:00:00Z, 2026-01-05 13:00 (UTC) or 2026-01-05"
        )
    };
    let date = s.get(..10).ok_or_else(bad)?;
    let day = seam_config::parse_day(date)
        .map_err(|e| if e.contains("no such date") { e } else { bad() })?;
    let rest = &s[10..];
    if rest.is_empty() {
        return Ok(day * DAY_MS);
    }
    let rest = rest.strip_prefix(['T', 't', ' ']).ok_or_else(bad)?;
    let num = |t: &str| -> Option<i64> {
        (t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (h, m) = (
        num(rest.get(..2).ok_or_else(bad)?).ok_or_else(bad)?,
        num(rest.get(3..5).ok_or_else(bad)?).ok_or_else(bad)?,
    );
    if rest.as_bytes()[2] != b':' || h > 23 || m > 59 {
        return Err(bad());
    }
    let mut rest = &rest[5..];
    let mut ms = h * 3_600_000 + m * 60_000;
    if let Some(r) = rest.strip_prefix(':') {
        // 60: a leap second, as RFC 3339 allows.
        let sec = num(r.get(..2).ok_or_else(bad)?)
            .filter(|s| *s <= 60)
            .ok_or_else(bad)?;
        ms += sec * 1000;
        rest = &r[2..];
        if let Some(r) = rest.strip_prefix('.') {
            let digits = r.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad());
            }
            let frac: String = r[..digits].chars().chain("000".chars()).take(3).collect();
            ms += frac.parse::<i64>().map_err(|_| bad())?;
            rest = &r[digits..];
        }
    }
    let offset_ms = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return Err(bad()),
            };
            let (oh, om) = (
                rest.get(1..3).and_then(num).ok_or_else(bad)?,
                rest.get(4..6).and_then(num).ok_or_else(bad)?,
            );
            if rest.len() != 6 || rest.as_bytes()[3] != b':' || oh > 23 || om > 59 {
                return Err(bad());
            }
            sign * (oh * 3_600_000 + om * 60_000)
        }
    };
    Ok(day * DAY_MS + ms - offset_ms)
}

/// `2026-01-05T13:00:00Z`.
pub fn rfc3339(ms: i64) -> String {
    format!("{}Z", seam_store::timestamp(ms).replacen(' ', "T", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MON: i64 = 1_767_571_200_000; // 2026-01-05 00:00 UTC

    #[test]
    fn the_forms_users_write() {
        assert_eq!(parse_time("2026-01-05"), Ok(MON));
        assert_eq!(parse_time("2026-01-05 13:00"), Ok(MON + 13 * 3_600_000));
        assert_eq!(
            parse_time("2026-01-05 13:00:30"),
            Ok(MON + 13 * 3_600_000 + 30_000)
        );
        assert_eq!(parse_time("2026-01-05T13:00:00Z"), Ok(MON + 13 * 3_600_000));
        assert_eq!(
            parse_time("2026-01-05T13:00:00.25Z"),
            Ok(MON + 13 * 3_600_000 + 250)
        );
        assert_eq!(
            parse_time("2026-01-05T13:00:00+02:00"),
            Ok(MON + 11 * 3_600_000)
        );
        assert_eq!(
            parse_time("2026-01-05T00:30:00-01:00"),
            Ok(MON + 90 * 60_000)
        );
        assert_eq!(rfc3339(MON + 13 * 3_600_000), "2026-01-05T13:00:00Z");
        assert_eq!(parse_time(&rfc3339(MON + 7)), Ok(MON));
    }

    #[test]
    fn what_is_refused_says_what_is_expected() {
        for bad in [
            "2026-01-05 25:00",
            "2026-01-05T13",
            "2026-01-05T13:00:00+2",
            "2026-01-05T13:00:00 UTC",
            "05/01/2026",
            "",
            "2026-01-05T13:00:00.",
            "2026-01-05é",
        ] {
            let e = parse_time(bad).unwrap_err();
            assert!(e.contains("is not a time such as"), "{bad}: {e}");
        }
        assert!(
            parse_time("2026-02-30")
                .unwrap_err()
                .contains("no such date")
        );
    }
}
