//! Hourly series from the store's usage hours: grouped by tenant, route or key, one measure
//! each, dense (an hour with no row is a real zero).

use seam_forecast::Series;
use seam_store::UsageHour;
use std::collections::BTreeMap;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// What a series is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Tenant,
    Route,
    Key,
}

impl By {
    pub fn as_str(self) -> &'static str {
        match self {
            By::Tenant => "tenant",
            By::Route => "route",
            By::Key => "key",
        }
    }

    pub fn parse(s: &str) -> Option<By> {
        [By::Tenant, By::Route, By::Key]
            .into_iter()
            .find(|b| b.as_str() == s)
    }
}

/// What a series counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// USD.
    Cost,
    /// Input plus output tokens.
    Tokens,
    InputTokens,
    OutputTokens,
    Calls,
}

impl Measure {
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Cost => "cost",
            Measure::Tokens => "tokens",
            Measure::InputTokens => "input_tokens",
            Measure::OutputTokens => "output_tokens",
            Measure::Calls => "calls",
        }
    }

    /// `--metric`'s choices.
    pub fn parse(s: &str) -> Option<Measure> {
        [Measure::Cost, Measure::Tokens, Measure::Calls]
            .into_iter()
            .find(|m| m.as_str() == s)
    }

    /// The measure a limit's metric counts; none for requests and attempts (a forecast of
    /// calls is not a forecast of attempts).
    pub fn of_limit(m: seam_config::Metric) -> Option<Measure> {
        use seam_config::Metric;
        match m {
            Metric::Cost => Some(Measure::Cost),
            Metric::Tokens => Some(Measure::Tokens),
            Metric::InputTokens => Some(Measure::InputTokens),
            Metric::OutputTokens => Some(Measure::OutputTokens),
            Metric::Requests | Metric::Attempts => None,
        }
    }

    pub(crate) fn of(self, h: &UsageHour) -> f64 {
        match self {
            Measure::Cost => h.cost_usd,
            Measure::Tokens => (h.input_tokens + h.output_tokens) as f64,
            Measure::InputTokens => h.input_tokens as f64,
            Measure::OutputTokens => h.output_tokens as f64,
            Measure::Calls => h.calls as f64,
        }
    }

    /// A value of this measure as text: `$12.34`, `1200 tokens`, `35 calls`.
    pub fn amount(self, v: f64) -> String {
        match self {
            Measure::Cost => format!("${v:.2}"),
            _ => format!("{v:.0} {}", self.unit()),
        }
    }

    /// The unit a chart's axis reads in.
    pub fn unit(self) -> &'static str {
        match self {
            Measure::Cost => "USD",
            Measure::Calls => "calls",
            _ => "tokens",
        }
    }
}

/// One series: its name (a tenant, a route or a key id), its tenant, and its hours.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub name: String,
    pub tenant: Option<String>,
    pub series: Series,
}

/// The name a row belongs to under `by`; none for a row without a key under `By::Key`.
fn name_of(h: &UsageHour, by: By) -> Option<(&str, Option<&str>)> {
    match by {
        By::Tenant => Some((&h.tenant, Some(&h.tenant))),
        By::Route => Some((&h.route, None)),
        By::Key => (!h.key_id.is_empty()).then_some((h.key_id.as_str(), Some(h.tenant.as_str()))),
    }
}

/// The series of every name under `by`, hourly over [`from`, `to`), `from` and `to` on hours.
pub(crate) fn group(
    hours: &[UsageHour],
    by: By,
    measure: Measure,
    from: i64,
    to: i64,
) -> Vec<Group> {
    let len = usize::try_from((to - from).max(0) / HOUR_MS).unwrap_or(0);
    let mut out: BTreeMap<&str, Group> = BTreeMap::new();
    for h in hours {
        let Some((name, tenant)) = name_of(h, by) else {
            continue;
        };
        if h.hour_ms < from || h.hour_ms >= to {
            continue;
        }
        let g = out.entry(name).or_insert_with(|| Group {
            name: name.to_string(),
            tenant: tenant.map(str::to_string),
            series: Series {
                start_ms: from,
                values: vec![0.0; len],
            },
        });
        let i = usize::try_from((h.hour_ms - from) / HOUR_MS).unwrap_or(usize::MAX);
        if let Some(v) = g.series.values.get_mut(i) {
            *v += measure.of(h);
        }
    }
    out.into_values().collect()
}

/// One subject's series (a tenant's, or a key's) in `measure`.
pub(crate) fn subject(
    hours: &[UsageHour],
    by: By,
    name: &str,
    measure: Measure,
    from: i64,
    to: i64,
) -> Series {
    let kept: Vec<UsageHour> = hours
        .iter()
        .filter(|h| name_of(h, by).is_some_and(|(n, _)| n == name))
        .cloned()
        .collect();
    group(&kept, by, measure, from, to)
        .into_iter()
        .next()
        .map_or(
            Series {
                start_ms: from,
                values: vec![0.0; usize::try_from((to - from).max(0) / HOUR_MS).unwrap_or(0)],
            },
            |g| g.series,
        )
}

/// Daily totals of `series` over the UTC days that start in [`from`, `to`).
pub(crate) fn daily(series: &Series, from: i64, to: i64) -> Vec<(i64, f64)> {
    let mut days: BTreeMap<i64, f64> = BTreeMap::new();
    for (i, v) in series.values.iter().enumerate() {
        let t = series.start_ms + i as i64 * HOUR_MS;
        if t >= from && t < to {
            *days.entry(t.div_euclid(DAY_MS) * DAY_MS).or_insert(0.0) += v;
        }
    }
    days.into_iter().collect()
}

/// The sum of `series` over [`from`, `to`).
pub(crate) fn sum(series: &Series, from: i64, to: i64) -> f64 {
    series
        .values
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let t = series.start_ms + *i as i64 * HOUR_MS;
            t >= from && t < to
        })
        .fold(0.0, |a, (_, v)| a + v)
}
