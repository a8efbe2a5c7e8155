//! Streams: what streams felt like to clients (`seam report streams`), over time.

use super::charts::with_svg;
use super::*;
use crate::svg::{self, Series, Unit};
use seam_store::StreamRecord;
use seam_store::streams::{StreamGroup, groups, summarise};
use std::collections::BTreeMap;

/// Buckets in a route's charts over the window.
const BUCKETS: i64 = 24;
/// Bins of each distribution.
const BINS: usize = 10;

/// GET /ui/streams?since=24h&route=: per route, SLO attainment beside tokens per second over
/// the window; the distributions of the streams' gaps and chunk sizes; `seam report
/// streams`' table; and the stream shape changes of the timeline.
pub(crate) async fn streams(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let since = param(&q, "since").unwrap_or("24h");
    let route = param(&q, "route");
    let window = match since_ms(since) {
        Ok(w) => w,
        Err(e) => return ui.message(StatusCode::BAD_REQUEST, &e, Some(&who)),
    };
    let scope = match who.actor.read_scope("reading the streams report") {
        Ok(s) => s,
        Err(e) => return control_error(&ui, &who, e),
    };
    let now = seam_store::now_ms();
    let since_at = now - window;
    let rows = match ui.store.list_streams_in(since_at, &scope).await {
        Ok(r) => r,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let rows: Vec<StreamRecord> = rows
        .into_iter()
        .filter(|r| route.is_none_or(|x| r.route == x))
        .collect();
    let events = match seam_control::sessions::changes(
        ui.store.as_ref(),
        &who.actor,
        since_at,
        10_000,
    )
    .await
    {
        Ok(e) => e,
        Err(e) => return control_error(&ui, &who, e),
    };
    let shapes: Vec<Value> = events
        .iter()
        .rev()
        .filter(|e| e["kind"].as_str() == Some(seam_vocab::EventKind::StreamShapeChanged.as_str()))
        .filter(|e| route.is_none_or(|r| e["route"].as_str() == Some(r)))
        .map(event_row)
        .collect();
    // A bucket a 24th of the window, in whole minutes.
    let bucket_ms = (window / BUCKETS).max(60_000) / 60_000 * 60_000;
    let mut by_route: BTreeMap<&str, Vec<&StreamRecord>> = BTreeMap::new();
    for r in &rows {
        by_route.entry(r.route.as_str()).or_default().push(r);
    }
    let routes: Vec<minijinja::Value> = by_route
        .iter()
        .map(|(name, rs)| route_charts(name, rs, bucket_ms, since_at, now))
        .collect();
    let dist = |f: fn(&StreamRecord) -> f64, what: &str| {
        let v: Vec<f64> = rows.iter().map(f).collect();
        svg::histogram_chart(&v, BINS, what)
    };
    let mut svgs = Vec::new();
    if !rows.is_empty() {
        svgs.push((
            "gap_p50",
            dist(|r| r.gap_p50_ms, "streams by median gap, ms"),
        ));
        svgs.push((
            "gap_p95",
            dist(|r| r.gap_p95_ms, "streams by 95th-percentile gap, ms"),
        ));
        svgs.push((
            "chunk",
            dist(|r| r.chars_p50, "streams by median characters per chunk"),
        ));
    }
    let data = json!({
        "since": since,
        "route": route.unwrap_or(""),
        "since_utc": timestamp(since_at),
        "bucket_minutes": bucket_ms / 60_000,
        "streams": rows.len(),
        "groups": groups(&rows).iter().map(group_row).collect::<Vec<_>>(),
        "shapes": shapes,
    });
    let ctx = minijinja::context! { routes => routes, ..with_svg(&data, svgs) };
    ui.page(StatusCode::OK, "Streams", "streams.html", ctx, Some(&who))
}

/// A route's SLO attainment and median tokens per second in each bucket of the window.
fn route_charts(
    name: &str,
    rs: &[&StreamRecord],
    bucket_ms: i64,
    from: i64,
    to: i64,
) -> minijinja::Value {
    let mut buckets: BTreeMap<i64, Vec<&StreamRecord>> = BTreeMap::new();
    let first = from.div_euclid(bucket_ms) * bucket_ms;
    let mut s = first;
    while s <= to {
        buckets.insert(s, Vec::new());
        s += bucket_ms;
    }
    for r in rs {
        let at = r.created_ms.div_euclid(bucket_ms) * bucket_ms;
        buckets.entry(at).or_default().push(r);
    }
    let (mut slo, mut tps) = (Vec::new(), Vec::new());
    for (start, b) in &buckets {
        let g = summarise(name.into(), String::new(), String::new(), b);
        slo.push((*start, g.slo_attainment.unwrap_or(f64::NAN)));
        tps.push((*start, g.tokens_per_sec_p50.unwrap_or(f64::NAN)));
    }
    let total = summarise(name.into(), String::new(), String::new(), rs);
    let data = json!({
        "route": name,
        "streams": rs.len(),
        "slo": total.slo_attainment.map(pct).unwrap_or_else(|| "no SLO".into()),
        "tps": total.tokens_per_sec_p50.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into()),
    });
    with_svg(
        &data,
        vec![
            (
                "slo",
                svg::line_chart(
                    &[Series {
                        label: "SLO attainment",
                        points: slo,
                    }],
                    first,
                    to,
                    Unit::Rate,
                ),
            ),
            (
                "tps",
                svg::line_chart(
                    &[Series {
                        label: "tokens per second (median)",
                        points: tps,
                    }],
                    first,
                    to,
                    Unit::Number,
                ),
            ),
        ],
    )
}

/// A row of `seam report streams`' table.
fn group_row(g: &StreamGroup) -> Value {
    let f1 = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
    json!({
        "route": g.route,
        "provider": g.provider,
        "served_model": g.served_model,
        "streams": g.streams,
        "slo": match g.slo_attainment {
            Some(a) => format!("{} ({}/{})", pct(a), g.slo_met, g.slo_checked),
            None => "no SLO".into(),
        },
        "tps": f1(g.tokens_per_sec_p50),
        "gaps": format!("{:.0}/{:.0}/{:.0}", g.gap_p50_ms, g.gap_p95_ms, g.gap_max_ms),
        "chars": format!("{:.1}", g.chars_per_chunk_p50),
        "tokens": format!("{:.1}", g.tokens_per_chunk),
        "stalls": g.stalls,
        "left": g.client_disconnects,
        "breach": g.top_breach.as_deref().unwrap_or("-"),
    })
}
