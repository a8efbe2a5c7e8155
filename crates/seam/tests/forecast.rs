//! `seam forecast` on a SQLite file with imported history: the text, `--json` with its
//! budgets, `--plot`, and bad flags named. The models and their accuracy are tested in
//! seam-forecast; the budgets' dates in seam-control.

mod support;

use std::fmt::Write as _;
use support::Store;

/// 2025-10-06 00:00 UTC, a Monday.
const START_MS: i64 = 1_759_708_800_000;
const HOUR_MS: i64 = 3_600_000;

/// Eight weeks of tenant acme's hourly cost: quieter nights and weekends.
fn history() -> String {
    let mut csv = String::from("timestamp,tenant,route,input_tokens,output_tokens,cost,calls\n");
    for h in 0..56 * 24 {
        let t = START_MS + h * HOUR_MS;
        let hour = h % 24;
        let weekend = (h / 24) % 7 >= 5;
        // A deterministic wobble of ±10%: a series with none has nothing to score a model on.
        let wobble = 1.0 + 0.1 * ((h as f64) * 12.9898).sin();
        let cost = wobble
            * if weekend { 0.5 } else { 1.0 }
            * if (8..20).contains(&hour) { 2.0 } else { 1.0 };
        let stamp = seam_store::timestamp(t);
        let _ = writeln!(csv, "{stamp},acme,chat,1000,200,{cost},10");
    }
    csv
}

const CONFIG: &str = r#"
[[providers]]
name = "sim"
kind = "sim"
base_url = "http://127.0.0.1:9/v1"

[[routes]]
name = "chat"
targets = [{ provider = "sim", model = "m" }]

[limits.tenants.acme]
cost_per_month = 2000.0
cost_per_day = 100.0
requests_per_minute = 60

[[calendar.holidays]]
name = "Company offsite"
start = "2025-11-24"
end = "2025-11-25"
"#;

fn setup() -> (Store, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::new());
    store.ok(&["keys", "create", "--tenant", "acme"]);
    let csv = store.dir.path().join("history.csv");
    std::fs::write(&csv, history()).unwrap();
    store.ok(&["usage", "import", &csv.display().to_string()]);
    let config = store.dir.path().join("seam.toml");
    std::fs::write(&config, CONFIG).unwrap();
    (store, config.display().to_string())
}

#[test]
fn a_forecast_reads_as_text_json_and_a_chart() {
    let (store, config) = setup();
    let as_of = ["--as-of", "2025-12-01", "--config", &config];
    let mut args = vec!["forecast"];
    args.extend_from_slice(&as_of);
    let text = store.ok(&args);
    assert!(
        text.contains("Forecast of cost by tenant, from 2025-12-01"),
        "{text}"
    );
    assert!(text.contains("\nacme\n"), "{text}");
    assert!(text.contains("backtest MASE"), "{text}");
    assert!(text.contains("next   7 days"), "{text}");
    assert!(text.contains("(estimated)"), "{text}");
    assert!(
        text.contains("tenant acme cost per month: limit $2000.00"),
        "{text}"
    );
    assert!(
        text.contains("not projected: requests per minute"),
        "{text}"
    );

    args.push("--json");
    let v = store.json(&args);
    assert_eq!(v["by"], "tenant");
    assert_eq!(v["metric"], "cost");
    let s = &v["series"][0];
    assert_eq!(s["name"], "acme");
    assert_eq!(s["forecast"]["status"]["kind"], "ok");
    assert_eq!(s["forecast"]["daily"].as_array().unwrap().len(), 30);
    assert!(s["forecast"]["mase"].is_number(), "{s}");
    assert_eq!(s["calendar"][0]["name"], "Company offsite");
    let budgets = v["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 3, "{budgets:?}");
    let month = budgets.iter().find(|b| b["window"] == "month").unwrap();
    // December: the window starts at the forecast's start, so nothing is spent yet; the
    // projection is the forecast's sum to 1 January 2026, about $970 against $2,000.
    assert_eq!(month["spent"], 0.0);
    assert_eq!(month["reset_ms"], 1_767_225_600_000_i64);
    let median = month["projection"]["at_reset"]["q50"].as_f64().unwrap();
    assert!((800.0..1300.0).contains(&median), "{month}");
    assert_eq!(month["projection"]["exceed_projected"], false);

    let plot = store.dir.path().join("acme.svg");
    let mut args = vec!["forecast", "--plot"];
    let p = plot.display().to_string();
    args.push(&p);
    args.extend_from_slice(&as_of);
    store.ok(&args);
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert!(svg.contains("<polygon"), "both bands are drawn");
    assert!(svg.contains("Company offsite"));
    assert!(svg.contains("daily limit $100.00"));
    assert!(svg.contains("per month: spent and projected"));
}

#[test]
fn a_spent_budget_is_projected_to_be_exceeded() {
    let (store, config) = setup();
    // By 25 November about $720 is spent, and the rest of the month adds about $36 a
    // weekday and $18 a weekend day: about $900 in all, against a limit of $800.
    let tight = std::fs::read_to_string(&config)
        .unwrap()
        .replace("cost_per_month = 2000.0", "cost_per_month = 800.0");
    std::fs::write(&config, tight).unwrap();
    let v = store.json(&[
        "forecast",
        "--as-of",
        "2025-11-25",
        "--config",
        &config,
        "--json",
    ]);
    let month = v["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["window"] == "month")
        .unwrap()
        .clone();
    assert!(
        (650.0..800.0).contains(&month["spent"].as_f64().unwrap()),
        "{month}"
    );
    assert_eq!(month["projection"]["exceed_projected"], true, "{month}");
    assert!(
        month["projection"]["crossing_ms"]["q50"].is_number(),
        "{month}"
    );
}

#[test]
fn bad_flags_are_named() {
    let (store, config) = setup();
    let cases: [(&[&str], &str); 5] = [
        (&["--by", "team"], "--by `team`"),
        (&["--metric", "dollars"], "--metric `dollars`"),
        (&["--as-of", "2025-02-30"], "--as-of"),
        (&["--horizon", "0h"], "--horizon"),
        (
            &["--name", "nobody", "--as-of", "2025-12-01"],
            "no tenant `nobody`",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["forecast", "--config", &config];
        args.extend_from_slice(extra);
        let out = store.run(None, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?}");
        assert!(err.contains(want), "{extra:?}: {err}");
    }
}

#[test]
fn no_history_is_said_not_guessed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::new());
    let text = store.ok(&["forecast"]);
    assert!(text.contains("no usage in that history"), "{text}");
}
