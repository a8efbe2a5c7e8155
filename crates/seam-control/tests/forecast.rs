//! Forecasts and budget projections over a real SQLite store: history imported as
//! `seam usage import` would, limits over day, week and month windows, and the
//! `budget_exceed_projected` events, once per limit and window.

use seam_config::{Calendar, LimitWindow, Limits, Metric, TenantLimit};
use seam_control::forecast::{self, BudgetReport, By, Measure, Query, exceed_events};
use seam_store::{Events, ImportedHour, KeyRecord, Keys, SqlStore, Tenants, UsageHistory};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a date, as ms.
fn day(y: i64, m: i64, d: i64) -> i64 {
    seam_config::civil_day(y, m, d).expect("a date") * DAY
}

async fn store() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("seam.db").display());
    (seam_store::open(&url).await.expect("open"), dir)
}

/// `per_hour` USD every hour of tenant acme's route chat over [from, to).
async fn import_flat(store: &SqlStore, from: i64, to: i64, per_hour: f64) {
    let rows: Vec<ImportedHour> = (0..(to - from) / HOUR)
        .map(|i| ImportedHour {
            hour_ms: from + i * HOUR,
            tenant: "acme".into(),
            route: "chat".into(),
            key_id: String::new(),
            input_tokens: 1_000,
            output_tokens: 250,
            cost_usd: per_hour,
            calls: 10,
        })
        .collect();
    store.import_hours(&rows).await.expect("import");
}

fn limits(window: LimitWindow, max: f64) -> Limits {
    let mut l = Limits::default();
    l.tenants.insert(
        "acme".into(),
        vec![TenantLimit {
            metric: Metric::Cost,
            window,
            max,
        }],
    );
    l
}

fn query(as_of: i64) -> Query {
    Query {
        by: By::Tenant,
        name: None,
        measure: Measure::Cost,
        horizon_hours: 24,
        as_of_ms: Some(as_of),
        history_days: 60,
        now_ms: as_of,
        budgets_only: false,
    }
}

async fn budgets(store: &SqlStore, l: &Limits, as_of: i64) -> Vec<BudgetReport> {
    let loaded = forecast::load(store, l, &Calendar::default(), &query(as_of), &Tenants::All)
        .await
        .expect("load");
    forecast::compute(loaded).budgets
}

/// A flat $1/h: the projection at the reset is what was spent plus an hour per hour left,
/// whatever the date; nothing divides by the time elapsed.
async fn projects(window: LimitWindow, as_of: i64, reset: i64, spent_hours: i64) {
    let (store, _dir) = store().await;
    import_flat(&store, as_of - 60 * DAY, as_of, 1.0).await;
    let b = budgets(&store, &limits(window, 1e9), as_of).await;
    assert_eq!(b.len(), 1, "{b:?}");
    let b = &b[0];
    assert_eq!(b.reset_ms, reset, "reset of {window:?} from {as_of}");
    assert!((b.spent - spent_hours as f64).abs() < 1e-9, "{b:?}");
    let p = b.projection.as_ref().expect("projected");
    let want = spent_hours as f64 + ((reset - as_of) / HOUR) as f64;
    assert!(
        (p.at_reset.q50 - want).abs() <= 0.05 * want.max(1.0),
        "{window:?} at {as_of}: projected {} against {want}",
        p.at_reset.q50
    );
    assert!(p.at_reset.q025 <= p.at_reset.q50 && p.at_reset.q50 <= p.at_reset.q975);
    for v in p.at_reset.to_array() {
        assert!(v.is_finite());
    }
    assert!(!p.exceed_projected);
}

#[tokio::test]
async fn the_first_hour_of_a_month_projects_without_dividing_by_zero() {
    let t = day(2026, 3, 1);
    projects(LimitWindow::Month, t, day(2026, 4, 1), 0).await;
}

#[tokio::test]
async fn december_projects_to_the_first_of_january() {
    let t = day(2026, 12, 31) + 23 * HOUR;
    projects(LimitWindow::Month, t, day(2027, 1, 1), 30 * 24 + 23).await;
}

#[tokio::test]
async fn a_day_window_projects_to_midnight_not_to_the_month_end() {
    let t = day(2026, 12, 15) + 9 * HOUR;
    projects(LimitWindow::Day, t, day(2026, 12, 16), 9).await;
}

#[tokio::test]
async fn a_week_window_projects_to_monday_across_the_year_end() {
    // Thursday 2026-12-31 15:00: the week began Monday 2026-12-28 and ends Monday 2027-01-04.
    let t = day(2026, 12, 31) + 15 * HOUR;
    projects(LimitWindow::Week, t, day(2027, 1, 4), 3 * 24 + 15).await;
}

#[tokio::test]
async fn a_limit_passed_before_the_reset_is_projected_once_per_window() {
    let (store, _dir) = store().await;
    let t = day(2026, 12, 10);
    import_flat(&store, t - 60 * DAY, t, 1.0).await;
    // Spent by the 10th: 9 days = $216; $744 by the month's end; the limit is $500.
    let l = limits(LimitWindow::Month, 500.0);
    let b = budgets(&store, &l, t).await;
    let p = b[0].projection.as_ref().expect("projected");
    assert!(p.exceed_projected, "{p:?}");
    let crossing = p.crossing_ms.q50.expect("crossed before the reset");
    // $500 - $216 = 284 more hours at $1: the 21st, about 20:00.
    let want = t + 284 * HOUR;
    assert!(
        (crossing - want).abs() <= 24 * HOUR,
        "{crossing} against {want}"
    );

    let first = exceed_events(&b, &[]);
    assert_eq!(first.len(), 1);
    assert!(
        first[0].message.contains("tenant acme cost per month"),
        "{}",
        first[0].message
    );
    store.insert_event(&first[0]).await.expect("event");
    let earlier = store.list_events(0, 100).await.expect("events");
    assert!(exceed_events(&b, &earlier).is_empty(), "once per window");
    // The next month is another window: its projection may raise the event again.
    let next = budgets(&store, &l, day(2027, 1, 10)).await;
    assert_eq!(next[0].window_id, b[0].window_id + 1);
}

#[tokio::test]
async fn a_limit_within_reach_raises_nothing() {
    let (store, _dir) = store().await;
    let t = day(2026, 12, 10);
    import_flat(&store, t - 60 * DAY, t, 1.0).await;
    let b = budgets(&store, &limits(LimitWindow::Month, 2_000.0), t).await;
    let p = b[0].projection.as_ref().expect("projected");
    assert!(!p.exceed_projected);
    assert!(p.crossing_ms.q50.is_none());
    assert!(exceed_events(&b, &[]).is_empty());
}

#[tokio::test]
async fn requests_and_minute_windows_are_named_not_projected() {
    let (store, _dir) = store().await;
    let t = day(2026, 12, 10);
    import_flat(&store, t - 30 * DAY, t, 1.0).await;
    let mut l = limits(LimitWindow::Minute, 5.0);
    l.tenants.get_mut("acme").expect("acme").push(TenantLimit {
        metric: Metric::Requests,
        window: LimitWindow::Day,
        max: 10.0,
    });
    let b = budgets(&store, &l, t).await;
    assert_eq!(b.len(), 2);
    for x in &b {
        assert!(x.projection.is_none());
        assert!(
            x.note
                .as_deref()
                .is_some_and(|n| n.starts_with("not projected")),
            "{x:?}"
        );
    }
}

#[tokio::test]
async fn a_tenant_that_stopped_is_reported_stopped_not_zero() {
    let (store, _dir) = store().await;
    let t = day(2026, 12, 10);
    import_flat(&store, t - 60 * DAY, t - 20 * DAY, 1.0).await;
    let loaded = forecast::load(
        &store,
        &Limits::default(),
        &Calendar::default(),
        &query(t),
        &Tenants::All,
    )
    .await
    .expect("load");
    let r = forecast::compute(loaded);
    assert_eq!(r.series.len(), 1);
    let f = &r.series[0].forecast;
    assert!(
        matches!(f.status, seam_forecast::Status::Stopped { .. }),
        "{:?}",
        f.status
    );
    assert!(f.point.is_empty() || f.point.iter().all(|v| v.is_finite()));
}

#[tokio::test]
async fn another_tenants_series_is_not_read() {
    let (store, _dir) = store().await;
    let t = day(2026, 12, 10);
    import_flat(&store, t - 30 * DAY, t, 1.0).await;
    let scope = Tenants::Only(vec!["globex".into()]);
    let loaded = forecast::load(
        &store,
        &Limits::default(),
        &Calendar::default(),
        &query(t),
        &scope,
    )
    .await
    .expect("load");
    assert!(forecast::compute(loaded).series.is_empty());
}

#[tokio::test]
async fn a_keys_own_limit_is_projected_on_that_keys_usage() {
    let (store, _dir) = store().await;
    let t = day(2026, 12, 10) + 12 * HOUR;
    let rows: Vec<ImportedHour> = (0..30 * 24)
        .flat_map(|i| {
            ["key_a", "key_b"].map(|k| ImportedHour {
                hour_ms: t - 30 * DAY + i * HOUR,
                tenant: "acme".into(),
                route: "chat".into(),
                key_id: k.into(),
                input_tokens: if k == "key_a" { 1_000 } else { 10 },
                output_tokens: 0,
                cost_usd: 0.5,
                calls: 1,
            })
        })
        .collect();
    store.import_hours(&rows).await.expect("import");
    for (id, limits) in [
        ("key_a", Some(r#"{"tokens_per_day": 20000}"#)),
        ("key_b", None),
    ] {
        store
            .insert_key(&KeyRecord {
                id: id.into(),
                tenant: "acme".into(),
                name: None,
                prefix: format!("sk-seam-{id}"),
                hash: format!("hash-{id}"),
                created_ms: 1,
                revoked_ms: None,
                limits: limits.map(str::to_string),
            })
            .await
            .expect("key");
    }
    let mut q = query(t);
    q.by = By::Key;
    let loaded = forecast::load(
        &store,
        &Limits::default(),
        &Calendar::default(),
        &q,
        &Tenants::All,
    )
    .await
    .expect("load");
    let r = forecast::compute(loaded);
    assert_eq!(r.series.len(), 2, "one series per key");
    assert_eq!(r.budgets.len(), 1, "only key_a has limits of its own");
    let b = &r.budgets[0];
    assert_eq!(
        (b.subject.as_str(), b.metric, b.window),
        ("key key_a", "tokens", "day")
    );
    // 12 hours of 1,000 tokens spent; 12 more to midnight: 24,000 against 20,000.
    assert!((b.spent - 12_000.0).abs() < 1e-6, "{b:?}");
    let p = b.projection.as_ref().expect("projected");
    assert!((p.at_reset.q50 - 24_000.0).abs() < 500.0, "{p:?}");
    // A constant series leaves its backtest no error to calibrate on: the projection says so
    // and raises no event.
    assert!(p.p_exceed_label.contains("uncalibrated"), "{p:?}");
    assert!(!p.exceed_projected, "{p:?}");
}
