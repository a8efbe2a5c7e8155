//! Reliability over time: per route and provider, the reliability report in time buckets.

use super::charts::{provider_series, series, with_svg};
use super::*;
use crate::svg::{self, Series, Unit};
use seam_store::RouteReliability;

/// At most this many buckets in a view (7 days of 1 h buckets is 168).
const MAX_BUCKETS: i64 = 1_000;

/// GET /ui/reliability?since=7d&route=&provider=&bucket=1h: per route (and per provider of
/// it), first-attempt against final error rate, attempts per call, the retry tax and budget
/// refusals in each bucket, as charts and a table.
pub(crate) async fn reliability(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let since = param(&q, "since").unwrap_or("7d");
    let bucket = param(&q, "bucket").unwrap_or("1h");
    let (route, provider) = (param(&q, "route"), param(&q, "provider"));
    let bad = |text: String| ui.message(StatusCode::BAD_REQUEST, &text, Some(&who));
    let window = match since_ms(since) {
        Ok(w) => w,
        Err(e) => return bad(e),
    };
    let bucket_ms = match since_ms(bucket) {
        Ok(b) if b >= 60_000 && window / b <= MAX_BUCKETS => b,
        _ => {
            return bad(format!(
                "bucket `{bucket}`: give a width such as 5m, 1h or 1d, at least 1m and at most \
                 {MAX_BUCKETS} buckets in the window `{since}`"
            ));
        }
    };
    let scope = match who.actor.read_scope("reading the reliability report") {
        Ok(s) => s,
        Err(e) => return control_error(&ui, &who, e),
    };
    let now = seam_store::now_ms();
    let since_at = now - window;
    let buckets = match ui
        .store
        .reliability_buckets_in(since_at, bucket_ms, &scope)
        .await
    {
        Ok(b) => b.only(route, provider),
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let over = buckets.over_time();
    let starts = buckets.starts(since_at, now, MAX_BUCKETS as usize + 1);
    let from = starts.first().copied().unwrap_or(since_at);
    let routes: Vec<minijinja::Value> = buckets
        .total()
        .iter()
        .map(|r| route_view(r, &over, &starts, from, now))
        .collect();
    let data = json!({
        "since": since,
        "bucket": bucket,
        "route": route.unwrap_or(""),
        "provider": provider.unwrap_or(""),
        "since_utc": timestamp(since_at),
    });
    let ctx = minijinja::context! { routes => routes, ..minijinja::Value::from(minijinja::value::Serde(&data)) };
    ui.page(
        StatusCode::OK,
        "Reliability",
        "reliability.html",
        ctx,
        Some(&who),
    )
}

/// One route's charts, its table by bucket and its providers.
fn route_view(
    r: &RouteReliability,
    over: &std::collections::BTreeMap<i64, Vec<RouteReliability>>,
    starts: &[i64],
    from: i64,
    to: i64,
) -> minijinja::Value {
    let name = r.route.as_str();
    let rates = svg::line_chart(
        &[
            Series {
                label: "first-attempt error rate",
                points: series(over, starts, name, true, |r| r.first_attempt_error_rate),
            },
            Series {
                label: "final error rate",
                points: series(over, starts, name, true, |r| r.final_error_rate),
            },
            Series {
                label: "retry tax",
                points: series(over, starts, name, false, |r| {
                    if r.cost_usd > 0.0 {
                        r.retry_tax
                    } else {
                        f64::NAN
                    }
                }),
            },
        ],
        from,
        to,
        Unit::Rate,
    );
    let counts = svg::line_chart(
        &[
            Series {
                label: "attempts per call",
                points: series(over, starts, name, true, |r| r.retry_amplification),
            },
            Series {
                label: "budget refusals",
                points: series(over, starts, name, false, |r| r.budget_refusals as f64),
            },
        ],
        from,
        to,
        Unit::Number,
    );
    let rows: Vec<Value> = over
        .iter()
        .filter_map(|(start, rs)| rs.iter().find(|x| x.route == name).map(|x| (start, x)))
        .rev()
        .map(|(start, x)| {
            json!({
                "time": timestamp(*start),
                "calls": x.calls_by_outcome.values().sum::<i64>(),
                "dispatched": x.calls_dispatched,
                "first": pct(x.first_attempt_error_rate),
                "final": pct(x.final_error_rate),
                "amplification": format!("{:.2}", x.retry_amplification),
                "retry_tax": pct(x.retry_tax),
                "budget_refusals": x.budget_refusals,
            })
        })
        .collect();
    let providers: Vec<minijinja::Value> = r
        .providers
        .iter()
        .map(|p| {
            let chart = svg::line_chart(
                &[
                    Series {
                        label: "first-attempt error rate",
                        points: provider_series(over, starts, name, &p.provider, |p| {
                            if p.first_attempts > 0 {
                                p.first_attempt_error_rate
                            } else {
                                f64::NAN
                            }
                        }),
                    },
                    Series {
                        label: "attempt error rate",
                        points: provider_series(over, starts, name, &p.provider, |p| {
                            p.attempt_error_rate
                        }),
                    },
                ],
                from,
                to,
                Unit::Rate,
            );
            let classes: Vec<String> = p
                .errors_by_class
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let row = json!({
                "provider": p.provider,
                "attempts": p.attempts_by_outcome.values().sum::<i64>(),
                "error_rate": pct(p.attempt_error_rate),
                "first_attempts": p.first_attempts,
                "first_rate": pct(p.first_attempt_error_rate),
                "classes": if classes.is_empty() { "-".into() } else { classes.join(", ") },
                "cost": format!("{:.6}", p.cost_usd),
                "failed_cost": format!("{:.6}", p.failed_attempts_cost_usd),
            });
            with_svg(&row, vec![("chart", chart)])
        })
        .collect();
    let data = json!({
        "route": name,
        "query": serde_urlencoded::to_string([("route", name)]).unwrap_or_default(),
        "calls": r.calls_by_outcome.values().sum::<i64>(),
        "first": pct(r.first_attempt_error_rate),
        "final": pct(r.final_error_rate),
        "amplification": format!("{:.2}", r.retry_amplification),
        "retry_tax": pct(r.retry_tax),
        "budget_refusals": r.budget_refusals,
        "rows": rows,
    });
    minijinja::context! {
        providers => providers,
        ..with_svg(&data, vec![("rates", rates), ("counts", counts)])
    }
}
