//! What `/metrics` shows before and after traffic: counters an alert watches exist at 0 from
//! the start (so the alert sees a zero, not "no data"), and limit refusals are counted by code.

use crate::harness::{Harness, Options, hello, series};
use serde_json::json;

/// A second provider and a route that falls back to it, with a stream SLO.
const FALLBACK: &str = r#"
[[providers]]
name = "spare"
kind = "sim"

[[routes]]
name = "both"
targets = [{ provider = "up", model = "sim-large-2026-01" }, { provider = "spare", model = "sim-large-2026-01" }]
stream_slo = { chars_per_chunk_p50 = 8.0 }
"#;

fn assert_zero(metrics: &str, names: &[String]) {
    let missing: Vec<&String> = names
        .iter()
        .filter(|s| series(metrics, s) != Some(0.0))
        .collect();
    assert!(
        missing.is_empty(),
        "not at 0 on a fresh gateway: {missing:#?}\n{metrics}"
    );
}

#[tokio::test]
async fn a_fresh_gateway_shows_the_counters_alerts_watch_at_zero() {
    let h = Harness::start(Options {
        extra: FALLBACK,
        ..Options::default()
    })
    .await;
    let m = h.metrics().await;
    let mut want: Vec<String> = [
        "queue_full",
        "writer_stopped",
        "spool_full",
        "spool_error",
        "store_error",
        "spool_unreadable",
    ]
    .iter()
    .map(|r| format!("seam_records_dropped_total{{reason=\"{r}\"}}"))
    .collect();
    for kind in [
        "served_model_changed",
        "provider_degraded_hidden_by_retries",
        "stream_shape_changed",
        "records_dropped",
        "store_outage",
        "config_reload_refused",
    ] {
        want.push(format!("seam_events_total{{reason=\"{kind}\"}}"));
    }
    for code in [
        "tenant_request_limit",
        "tenant_cost_limit",
        "key_token_limit",
        "trace_call_limit",
        "trace_cost_limit",
        "limits_unavailable",
    ] {
        want.push(format!("seam_limit_refusals_total{{code=\"{code}\"}}"));
    }
    want.extend([
        "seam_limit_backend_errors_total{reason=\"open\"}".to_string(),
        "seam_limit_backend_errors_total{reason=\"closed\"}".to_string(),
        "seam_reloads_total{reason=\"refused\"}".to_string(),
        "seam_stream_slo_total{route=\"both\",outcome=\"met\"}".to_string(),
        "seam_stream_slo_total{route=\"both\",outcome=\"breached\"}".to_string(),
    ]);
    for (route, provider) in [("chat", "up"), ("both", "up"), ("both", "spare")] {
        let rp = format!("route=\"{route}\",provider=\"{provider}\"");
        want.extend([
            format!("seam_calls_total{{{rp},outcome=\"ok\",status=\"200\"}}"),
            format!("seam_first_attempts_total{{{rp},outcome=\"ok\",status=\"\"}}"),
            format!("seam_first_attempts_total{{{rp},outcome=\"error\",status=\"\"}}"),
            format!("seam_attempts_total{{{rp},outcome=\"ok\",error_class=\"\"}}"),
            format!("seam_retries_total{{{rp}}}"),
            format!("seam_retry_budget_refusals_total{{{rp}}}"),
            format!("seam_stream_stalls_total{{{rp}}}"),
            format!("seam_stream_client_disconnects_total{{{rp}}}"),
            format!("seam_call_duration_seconds_count{{{rp}}}"),
            format!("seam_failed_attempts_cost_usd_total{{{rp}}}"),
        ]);
    }
    assert_zero(&m, &want);
    // A route without an SLO has no SLO series to mislead a dashboard.
    assert!(!m.contains("seam_stream_slo_total{route=\"chat\""), "{m}");
}

#[tokio::test]
async fn a_route_a_reload_adds_gets_its_zero_series() {
    let h = Harness::start(Options {
        reloadable: true,
        ..Options::default()
    })
    .await;
    let text = std::fs::read_to_string(&h.config_path).unwrap();
    std::fs::write(
        &h.config_path,
        format!("{text}\n[[routes]]\nname = \"later\"\ntargets = [{{ provider = \"up\", model = \"sim-large-2026-01\" }}]\n"),
    )
    .unwrap();
    // The file watch may apply it first; either way the route is there after this.
    let _ = h.reload("ana").await;
    let m = h.metrics().await;
    assert_zero(
        &m,
        &[
            "seam_stream_stalls_total{route=\"later\",provider=\"up\"}".to_string(),
            "seam_retry_budget_refusals_total{route=\"later\",provider=\"up\"}".to_string(),
        ],
    );
}

#[tokio::test]
async fn limit_refusals_are_counted_by_code() {
    // One request a minute (refused when the call is admitted), and an output budget smaller
    // than the call's max_tokens (refused when its attempt reserves its estimate).
    let h = Harness::start(Options {
        extra: "[limits.tenant_default]\nrequests_per_minute = 2\noutput_tokens_per_day = 100\n",
        ..Options::default()
    })
    .await;
    let big = json!({"model": "chat", "messages": hello(), "max_tokens": 1000});
    assert_eq!(h.chat(big).await.status(), 429);
    assert_eq!(
        h.chat(json!({"model": "chat", "messages": hello(), "max_tokens": 5}))
            .await
            .status(),
        200
    );
    assert_eq!(
        h.chat(json!({"model": "chat", "messages": hello()}))
            .await
            .status(),
        429
    );
    let m = h.metrics().await;
    let count = |code: &str| series(&m, &format!("seam_limit_refusals_total{{code=\"{code}\"}}"));
    assert_eq!(count("tenant_output_token_limit"), Some(1.0), "{m}");
    assert_eq!(count("tenant_request_limit"), Some(1.0), "{m}");
    assert_eq!(count("trace_call_limit"), Some(0.0), "{m}");
}
