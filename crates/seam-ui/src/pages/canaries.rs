//! Canaries (`seam canaries`, `seam canary history`; docs/canaries.md): every golden with a
//! stored run, its last verdict, its last pass and how old its recording is; one golden's
//! history and its newest run in full (what changed against the recording, each replayed turn
//! with its call, the timeline since the recording). Read from the store's runs alone: the
//! golden files live beside the config, which the dashboard does not read. Any signed-in user
//! reads them, as the CLI lets any user.

use super::*;
use seam_evals::canary::Diff;
use seam_store::CanaryRunRecord;
use seam_vocab::CanaryVerdict;

/// A run's detail as stored; `null` when it is not JSON (the store keeps what it was given,
/// and a page shows what it can rather than refusing the golden).
fn detail(run: &CanaryRunRecord) -> Value {
    serde_json::from_str(&run.detail).unwrap_or(Value::Null)
}

fn text_or_dash(v: &Value) -> String {
    v.as_str().unwrap_or("-").to_string()
}

/// How long ago, as a reader wants it: minutes, then hours, then days.
fn age(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 3_600_000 {
        format!("{} min", ms / 60_000)
    } else if ms < 2 * DAY_MS {
        format!("{} h", ms / 3_600_000)
    } else {
        format!("{:.1} days", ms as f64 / DAY_MS as f64)
    }
}

/// A golden's newest run with its last pass and its recording (`seam canaries`' columns).
fn golden_row(last: &CanaryRunRecord, pass: Option<&CanaryRunRecord>, now: i64) -> Value {
    let d = detail(last);
    let recorded = &d["recorded"];
    let recorded_ms = recorded["ms"].as_i64();
    json!({
        "golden": last.golden,
        "segment": segment(&last.golden),
        "verdict": last.verdict.as_str(),
        "time": timestamp(last.started_ms),
        "trigger": last.trigger.as_str(),
        "release": last.release_id.as_deref().unwrap_or("-"),
        "served_model": last.served_model.as_deref().unwrap_or("-"),
        "last_pass": pass.map(|p| json!({
            "time": timestamp(p.started_ms),
            "age": age(now - p.started_ms),
            "release": p.release_id.as_deref().unwrap_or("-"),
            "served_model": p.served_model.as_deref().unwrap_or("-"),
        })),
        "recorded": recorded_ms.map(timestamp),
        "recorded_age": recorded_ms.map(|ms| age(now - ms)),
        "recorded_release": text_or_dash(&recorded["release"]),
        "recorded_model": text_or_dash(&recorded["served_model"]),
        "since": text_or_dash(&d["since"]["summary"]),
    })
}

/// A run of the history table (`seam canary history`' columns).
fn history_row(r: &CanaryRunRecord) -> Value {
    let d = detail(r);
    json!({
        "id": r.id,
        "time": timestamp(r.started_ms),
        "took": r.finished_ms.map(|f| format!("{:.1} s", (f - r.started_ms).max(0) as f64 / 1000.0)),
        "verdict": r.verdict.as_str(),
        "trigger": r.trigger.as_str(),
        "release": r.release_id.as_deref().unwrap_or("-"),
        "served_model": r.served_model.as_deref().unwrap_or("-"),
        "version": r.golden_version.get(..12).unwrap_or(&r.golden_version),
        "retried": d["retried"].as_bool().unwrap_or(false),
        "since": text_or_dash(&d["since"]["summary"]),
    })
}

/// What changed, per turn: the diff's lines, or the stored JSON when it is not a diff this
/// version reads (a record written by another version, or edited by hand).
fn diffs(d: &Value) -> Vec<Value> {
    let Some(all) = d["diffs"].as_array() else {
        return Vec::new();
    };
    all.iter()
        .map(|x| {
            let parsed = serde_json::from_value::<Diff>(x["diff"].clone());
            let (lines, raw) = match parsed {
                Ok(diff) => (diff.lines(), None),
                Err(_) => (
                    Vec::new(),
                    Some(serde_json::to_string_pretty(&x["diff"]).unwrap_or_default()),
                ),
            };
            json!({"turn": text_or_dash(&x["turn"]), "lines": lines, "raw": raw})
        })
        .collect()
}

/// Every turn of every repeat of a run, with the call it made (linked) and why it failed.
fn replays(d: &Value) -> Vec<Value> {
    let Some(all) = d["repeats"].as_array() else {
        return Vec::new();
    };
    all.iter()
        .enumerate()
        .map(|(i, r)| {
            let turns: Vec<Value> = r["turns"]
                .as_array()
                .map(|ts| {
                    ts.iter()
                        .map(|t| {
                            let call = t["call_id"].as_str();
                            json!({
                                "turn": text_or_dash(&t["case_id"]),
                                "outcome": text_or_dash(&t["outcome"]),
                                "reason": t["reason"].as_str().unwrap_or(""),
                                "call": call,
                                "call_segment": call.map(segment),
                                "served_model": text_or_dash(&t["served_model"]),
                                "release": text_or_dash(&t["release"]),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "repeat": i + 1,
                "outcome": text_or_dash(&r["outcome"]),
                "stopped": r["stopped"].as_str(),
                "turns": turns,
            })
        })
        .collect()
}

/// The timeline's events since the recording, as the run stored them.
fn since_events(d: &Value) -> Vec<Value> {
    d["since"]["events"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| {
                    json!({
                        "time": text_or_dash(&e["time"]),
                        "kind": text_or_dash(&e["kind"]),
                        "message": text_or_dash(&e["message"]),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Goldens whose newest run is a fail or flaky, with their last pass (Home).
pub(crate) async fn failing(ui: &Ui) -> Result<Vec<Value>, ControlError> {
    let now = seam_store::now_ms();
    let mut out = Vec::new();
    for last in ui.store.last_canary_runs().await? {
        if !matches!(last.verdict, CanaryVerdict::Fail | CanaryVerdict::Flaky) {
            continue;
        }
        let pass = ui.store.last_canary_pass(&last.golden).await?;
        out.push(golden_row(&last, pass.as_ref(), now));
    }
    Ok(out)
}

/// GET /ui/canaries?verdict=: every golden with a stored run, by name.
pub(crate) async fn canaries(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let verdict = match param(&q, "verdict").map(str::parse::<CanaryVerdict>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => {
            return ui.message(
                StatusCode::BAD_REQUEST,
                &format!("verdict: {e}; give pass, flaky, fail or error"),
                Some(&who),
            );
        }
    };
    let lasts = match ui.store.last_canary_runs().await {
        Ok(l) => l,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let now = seam_store::now_ms();
    let mut rows = Vec::new();
    for last in lasts
        .iter()
        .filter(|l| verdict.is_none_or(|v| l.verdict == v))
    {
        let pass = match ui.store.last_canary_pass(&last.golden).await {
            Ok(p) => p,
            Err(e) => return control_error(&ui, &who, e.into()),
        };
        rows.push(golden_row(last, pass.as_ref(), now));
    }
    ui.page(
        StatusCode::OK,
        "Canaries",
        "canaries.html",
        json!({
            "goldens": rows,
            "any": !lasts.is_empty(),
            "verdict": verdict.map(|v| v.as_str()).unwrap_or(""),
            "verdicts": CanaryVerdict::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        }),
        Some(&who),
    )
}

/// GET /ui/canaries/{name}?limit=50: a golden's newest run in full and its history.
pub(crate) async fn canary(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Params,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let limit = match param(&q, "limit").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            return ui.message(
                StatusCode::BAD_REQUEST,
                "limit: give 1 to 1000 runs",
                Some(&who),
            );
        }
    };
    let runs = match ui.store.canary_runs(Some(&name), limit).await {
        Ok(r) => r,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let Some(newest) = runs.first() else {
        return ui.message(
            StatusCode::NOT_FOUND,
            &format!(
                "No run of a golden `{name}` is stored (`seam canaries` lists the goldens; `seam canary run {name}` replays one)."
            ),
            Some(&who),
        );
    };
    let pass = match ui.store.last_canary_pass(&name).await {
        Ok(p) => p,
        Err(e) => return control_error(&ui, &who, e.into()),
    };
    let now = seam_store::now_ms();
    let d = detail(newest);
    let mut summary = golden_row(newest, pass.as_ref(), now);
    summary["id"] = json!(newest.id);
    summary["finished"] = json!(newest.finished_ms.map(timestamp));
    summary["version"] = json!(newest.golden_version);
    summary["retried"] = json!(d["retried"].as_bool().unwrap_or(false));
    summary["readable"] = json!(!d.is_null());
    ui.page(
        StatusCode::OK,
        &format!("Canary {name}"),
        "canary.html",
        json!({
            "run": summary,
            "diffs": diffs(&d),
            "replays": replays(&d),
            "events": since_events(&d),
            "history": runs.iter().map(history_row).collect::<Vec<_>>(),
            "limit": limit,
            "more": runs.len() == limit,
        }),
        Some(&who),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_unit_a_reader_wants() {
        assert_eq!(age(-5), "0 min");
        assert_eq!(age(59 * 60_000), "59 min");
        assert_eq!(age(5 * 3_600_000), "5 h");
        assert_eq!(age(3 * DAY_MS + DAY_MS / 2), "3.5 days");
    }

    #[test]
    fn a_diff_that_does_not_parse_is_shown_as_stored() {
        let d = json!({"diffs": [
            {"turn": "g#1", "diff": {"text": {"compact": "[-a-] {+b+}", "removed_words": 1, "added_words": 1}}},
            {"turn": "g#2", "diff": {"tool_calls": "not a list"}},
        ]});
        let out = diffs(&d);
        assert_eq!(
            out[0]["lines"][0],
            "answer: [-a-] {+b+} (1 word(s) removed, 1 added)"
        );
        assert!(out[0]["raw"].is_null());
        assert!(
            out[1]["raw"]
                .as_str()
                .is_some_and(|r| r.contains("not a list"))
        );
        assert!(diffs(&Value::Null).is_empty() && replays(&Value::Null).is_empty());
    }
}
