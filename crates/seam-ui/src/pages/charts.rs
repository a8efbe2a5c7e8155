//! What the charted pages share: SVG put into a page's context as markup (only SVG drawn by
//! `crate::svg`, never a record's text), and the reliability report's series over time.

use minijinja::Value as Mj;
use seam_store::RouteReliability;
use seam_store::reliability::ProviderReliability;
use serde_json::Value;
use std::collections::BTreeMap;

/// `data` (escaped as any record) with each of `svgs` added as markup under its name.
pub(crate) fn with_svg(data: &Value, svgs: Vec<(&str, String)>) -> Mj {
    let charts: BTreeMap<&str, Mj> = svgs
        .into_iter()
        .map(|(k, v)| (k, Mj::from_safe_string(v)))
        .collect();
    minijinja::context! { svg => charts, ..Mj::from(minijinja::value::Serde(data)) }
}

/// One figure of a route's report in each bucket of `starts`: NaN (a gap) where the route
/// had no call in it, or, for a rate (`per_call`), no call that reached a provider.
pub(crate) fn series(
    over: &BTreeMap<i64, Vec<RouteReliability>>,
    starts: &[i64],
    route: &str,
    per_call: bool,
    figure: impl Fn(&RouteReliability) -> f64,
) -> Vec<(i64, f64)> {
    starts
        .iter()
        .map(|s| {
            let r = over
                .get(s)
                .and_then(|rs| rs.iter().find(|r| r.route == route))
                .filter(|r| !per_call || r.calls_dispatched > 0);
            (*s, r.map_or(f64::NAN, &figure))
        })
        .collect()
}

/// One figure of a route's provider in each bucket: NaN where it had no attempt there.
pub(crate) fn provider_series(
    over: &BTreeMap<i64, Vec<RouteReliability>>,
    starts: &[i64],
    route: &str,
    provider: &str,
    figure: impl Fn(&ProviderReliability) -> f64,
) -> Vec<(i64, f64)> {
    starts
        .iter()
        .map(|s| {
            let p = over
                .get(s)
                .and_then(|rs| rs.iter().find(|r| r.route == route))
                .and_then(|r| r.providers.iter().find(|p| p.provider == provider))
                .filter(|p| p.attempts_by_outcome.values().sum::<i64>() > 0);
            (*s, p.map_or(f64::NAN, &figure))
        })
        .collect()
}
