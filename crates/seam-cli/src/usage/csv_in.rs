//! Reading a usage history file (`seam usage import`): the whole file is checked before
//! anything is stored, and every bad row is named by line and column.

use super::when::parse_time;
use seam_store::{HOUR_MS, ImportedHour, hour_floor};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

/// The columns a file may have; `timestamp`, `tenant`, `route`, `cost` and either `tokens` or
/// both `input_tokens` and `output_tokens` are required.
pub const COLUMNS: [&str; 9] = [
    "timestamp",
    "tenant",
    "route",
    "key",
    "tokens",
    "input_tokens",
    "output_tokens",
    "cost",
    "calls",
];

/// Problems listed before the rest are only counted.
pub const SHOWN_PROBLEMS: usize = 20;

/// A file that checked out: its rows summed per hour, tenant, route and key.
#[derive(Debug)]
pub struct Checked {
    /// Data rows read.
    pub rows: u64,
    pub hours: Vec<ImportedHour>,
}

impl Checked {
    pub fn tenants(&self) -> BTreeSet<&str> {
        self.hours.iter().map(|h| h.tenant.as_str()).collect()
    }

    /// The first hour and the end of the last (exclusive).
    pub fn span(&self) -> Option<(i64, i64)> {
        let first = self.hours.iter().map(|h| h.hour_ms).min()?;
        let last = self.hours.iter().map(|h| h.hour_ms).max()?;
        Some((first, last + HOUR_MS))
    }

    pub fn distinct_hours(&self) -> usize {
        self.hours
            .iter()
            .map(|h| h.hour_ms)
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// Every problem of a file, in line order, and how many there were.
#[derive(Debug)]
pub struct Problems(pub Vec<String>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} problem{} found; nothing was imported",
            if n == 1 { "" } else { "s" }
        )?;
        for p in self.0.iter().take(SHOWN_PROBLEMS) {
            write!(f, "\n  {p}")?;
        }
        if n > SHOWN_PROBLEMS {
            write!(f, "\n  ... and {} more", n - SHOWN_PROBLEMS)?;
        }
        Ok(())
    }
}

/// Where each column is in the header.
struct Header {
    at: BTreeMap<&'static str, usize>,
    width: usize,
}

impl Header {
    fn read(fields: &csv::StringRecord) -> Result<Header, Problems> {
        let mut at = BTreeMap::new();
        let mut problems = Vec::new();
        for (i, raw) in fields.iter().enumerate() {
            let name = raw
                .trim_start_matches('\u{feff}')
                .trim()
                .to_ascii_lowercase();
            match COLUMNS.iter().find(|c| **c == name) {
                Some(c) if at.insert(*c, i).is_some() => {
                    problems.push(format!("line 1: the column `{c}` is named twice"))
                }
                Some(_) => {}
                None => problems.push(format!(
                    "line 1: unknown column `{}`; the columns are {}",
                    seam_gateway::untrusted::escape(raw),
                    COLUMNS.join(", ")
                )),
            }
        }
        for c in ["timestamp", "tenant", "route", "cost"] {
            if !at.contains_key(c) {
                problems.push(format!("line 1: no `{c}` column"));
            }
        }
        let split = at.contains_key("input_tokens") || at.contains_key("output_tokens");
        let split_whole = at.contains_key("input_tokens") && at.contains_key("output_tokens");
        match (at.contains_key("tokens"), split, split_whole) {
            (true, true, _) => problems.push(
                "line 1: give `tokens`, or `input_tokens` and `output_tokens`, not both".into(),
            ),
            (false, _, false) => problems.push(
                "line 1: no tokens: give a `tokens` column, or `input_tokens` and `output_tokens`"
                    .into(),
            ),
            _ => {}
        }
        if problems.is_empty() {
            Ok(Header {
                at,
                width: fields.len(),
            })
        } else {
            Err(Problems(problems))
        }
    }
}

/// Reads and checks a whole file. `known` says whether a tenant exists; with `allow_unknown`,
/// other tenants are imported too. `progress` is told the rows read, every 100,000.
pub fn check(
    input: impl Read,
    known: &dyn Fn(&str) -> bool,
    allow_unknown: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Checked, Problems> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = reader.records();
    let header = match records.next() {
        None => {
            return Err(Problems(vec![
                "the file is empty: it needs a header line, such as timestamp,tenant,route,tokens,cost"
                    .into(),
            ]));
        }
        Some(Err(e)) => return Err(Problems(vec![format!("line 1: {e}")])),
        Some(Ok(fields)) => Header::read(&fields)?,
    };
    let mut problems = Vec::new();
    let mut unknown: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut hours: BTreeMap<(i64, String, String, String), ImportedHour> = BTreeMap::new();
    let mut rows = 0u64;
    for record in records {
        let fields = match record {
            Ok(f) => f,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("line {line}: {e}"));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        };
        rows += 1;
        if rows.is_multiple_of(100_000) {
            progress(rows);
        }
        let line = fields.position().map_or(rows + 1, |p| p.line());
        if fields.len() != header.width {
            problems.push(format!(
                "line {line}: {} fields, the header has {}",
                fields.len(),
                header.width
            ));
            continue;
        }
        let Some(row) = row(&header, &fields, line, &mut problems) else {
            continue;
        };
        if !allow_unknown && !known(&row.tenant) {
            let seen = unknown.entry(row.tenant.clone()).or_insert((line, 0));
            seen.1 += 1;
            continue;
        }
        let key = (
            row.hour_ms,
            row.tenant.clone(),
            row.route.clone(),
            row.key_id.clone(),
        );
        match hours.get_mut(&key) {
            Some(h) => h.add(&row),
            None => {
                hours.insert(key, row);
            }
        }
    }
    for (tenant, (line, n)) in unknown {
        problems.push(format!(
            "line {line}, tenant: `{}` is not a tenant Seam knows (none of its keys and nothing in the config names it){}; check the name, or import it anyway with --allow-unknown",
            seam_gateway::untrusted::escape(&tenant),
            if n > 1 {
                format!(", on {n} rows")
            } else {
                String::new()
            }
        ));
    }
    if rows == 0 && problems.is_empty() {
        problems.push("no rows after the header: nothing to import".into());
    }
    if problems.is_empty() {
        Ok(Checked {
            rows,
            hours: hours.into_values().collect(),
        })
    } else {
        Err(Problems(problems))
    }
}

/// One row, or None with its problems noted (every bad cell of it).
fn row(
    header: &Header,
    fields: &csv::StringRecord,
    line: u64,
    problems: &mut Vec<String>,
) -> Option<ImportedHour> {
    let before = problems.len();
    let cell = |c: &str| header.at.get(c).and_then(|i| fields.get(*i)).map(str::trim);
    let mut bad = |c: &str, why: String| problems.push(format!("line {line}, {c}: {why}"));
    let shown = |v: &str| seam_gateway::untrusted::escape(v).into_owned();
    let hour_ms = match parse_time(cell("timestamp").unwrap_or("")) {
        Ok(ms) => hour_floor(ms),
        Err(e) => {
            bad("timestamp", shown(&e));
            0
        }
    };
    let mut name = |c: &str| -> String {
        let v = cell(c).unwrap_or("");
        if v.is_empty() {
            bad(c, "empty".into());
        }
        v.to_string()
    };
    let (tenant, route) = (name("tenant"), name("route"));
    let mut count = |c: &str, absent: Option<i64>| -> i64 {
        match cell(c) {
            None | Some("") if absent.is_some() => absent.unwrap_or(0),
            v => {
                let v = v.unwrap_or("");
                v.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .unwrap_or_else(|| {
                        bad(
                            c,
                            format!("`{}` is not a whole number, 0 or more", shown(v)),
                        );
                        0
                    })
            }
        }
    };
    let (input_tokens, output_tokens) = if header.at.contains_key("tokens") {
        // A total alone: kept as input tokens (the file does not say how it splits).
        (count("tokens", None), 0)
    } else {
        (count("input_tokens", None), count("output_tokens", None))
    };
    let calls = count("calls", Some(0));
    let cost = cell("cost").unwrap_or("");
    let cost_usd = cost
        .parse::<f64>()
        .ok()
        .filter(|c| c.is_finite() && *c >= 0.0)
        .unwrap_or_else(|| {
            bad(
                "cost",
                format!("`{}` is not an amount of USD, such as 0.125", shown(cost)),
            );
            0.0
        });
    (problems.len() == before).then(|| ImportedHour {
        hour_ms,
        tenant,
        route,
        key_id: cell("key").unwrap_or("").to_string(),
        input_tokens,
        output_tokens,
        cost_usd,
        calls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Checked, Problems> {
        check(text.as_bytes(), &|t| t != "ghost", false, &mut |_| ())
    }

    #[test]
    fn rows_are_summed_per_hour_tenant_route_and_key() {
        let c = run(
            "Timestamp,tenant,route,input_tokens,output_tokens,cost,key\n\
             2026-01-05 13:10,acme,chat,10,20,0.5,k1\n\
             2026-01-05T13:59:59Z,acme,chat,1,2,0.25,k1\n\
             \"2026-01-05 14:00\",\"acme\",\"chat, with a comma\",3,4,1,\n",
        )
        .unwrap();
        assert_eq!(c.rows, 3);
        assert_eq!(c.hours.len(), 2);
        let h = &c.hours[0];
        assert_eq!(
            (h.input_tokens, h.output_tokens, h.cost_usd, h.calls),
            (11, 22, 0.75, 0)
        );
        assert_eq!(c.hours[1].route, "chat, with a comma");
        assert_eq!(c.hours[1].key_id, "");
        assert_eq!(c.distinct_hours(), 2);
        let (from, until) = c.span().unwrap();
        assert_eq!(until - from, 2 * HOUR_MS);
    }

    #[test]
    fn every_bad_row_is_named_and_nothing_passes() {
        let e = run("timestamp,tenant,route,tokens,cost,calls\n\
             2026-01-05 13:00,acme,chat,10,0.5,1\n\
             2026-13-05 13:00,acme,chat,10,0.5,1\n\
             2026-01-05 13:00,,chat,-4,abc,1.5\n\
             2026-01-05 13:00,acme,chat\n\
             2026-01-05 13:00,ghost,chat,1,1,1\n\
             2026-01-05 14:00,ghost,chat,1,1,1\n")
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("7 problems found; nothing was imported"),
            "{text}"
        );
        for want in [
            "line 3, timestamp: `2026-13-05`: there is no such date",
            "line 4, tenant: empty",
            "line 4, tokens: `-4` is not a whole number, 0 or more",
            "line 4, cost: `abc` is not an amount of USD",
            "line 4, calls: `1.5` is not a whole number",
            "line 5: 3 fields, the header has 6",
            "line 6, tenant: `ghost` is not a tenant Seam knows",
            ", on 2 rows",
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
        assert!(
            check(
                "timestamp,tenant,route,tokens,cost\n2026-01-05,ghost,r,1,1\n".as_bytes(),
                &|_| false,
                true,
                &mut |_| ()
            )
            .is_ok()
        );
    }

    #[test]
    fn the_header_must_say_what_the_rows_are() {
        let e = run("timestamp,tenant,route,input_tokens,cost,colour\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1: unknown column `colour`"), "{e}");
        assert!(e.contains("line 1: no tokens"), "{e}");
        let e = run("timestamp,tenant,tokens,input_tokens,output_tokens,cost,cost\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no `route` column")
                && e.contains("not both")
                && e.contains("`cost` is named twice"),
            "{e}"
        );
        assert!(
            run("")
                .unwrap_err()
                .to_string()
                .contains("the file is empty")
        );
        assert!(
            run("timestamp,tenant,route,tokens,cost\n")
                .unwrap_err()
                .to_string()
                .contains("no rows")
        );
    }

    #[test]
    fn only_the_first_twenty_problems_are_listed() {
        let mut text = String::from("timestamp,tenant,route,tokens,cost\n");
        for _ in 0..25 {
            text.push_str("yesterday,acme,chat,1,1\n");
        }
        let e = run(&text).unwrap_err().to_string();
        assert_eq!(e.lines().count(), 1 + SHOWN_PROBLEMS + 1, "{e}");
        assert!(e.ends_with("... and 5 more"), "{e}");
        assert!(!e.contains("line 22, timestamp") && e.contains("line 21, timestamp"));
    }
}
