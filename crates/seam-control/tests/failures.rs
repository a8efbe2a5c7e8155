//! Silent failures over a real SQLite store: a week of generated support traffic (one kind of
//! question answered badly), scanned for signals, its flags stored once however often it is
//! scanned, clustered and held against an eval dataset that covers every other kind; candidate
//! cases exported from the uncovered cluster load as a dataset. A viewer of another tenant sees
//! none of it.

use seam_control::Actor;
use seam_control::failures::{self, By, synth};
use seam_evals::dataset::Dataset;
use seam_store::{Failures, FlagQuery, Records, SqlStore, Tenants};

const NOW: i64 = 1_796_860_800_000; // 2026-12-10 00:00 UTC
const WEEK: i64 = 7 * 86_400_000;

async fn seeded() -> (SqlStore, tempfile::TempDir, Dataset) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("seam.db").display());
    let store = seam_store::open(&url).await.expect("open");
    let week = synth::support_week(7, "support", "chat", NOW, 60);
    store.insert_batch(&week.batch).await.expect("insert");
    let path = dir.path().join("support.jsonl");
    std::fs::write(&path, week.dataset.join("\n") + "\n").expect("write dataset");
    let dataset = Dataset::load(&path).expect("the generated dataset loads");
    (store, dir, dataset)
}

fn only(t: &str) -> Tenants {
    Tenants::Only(vec![t.into()])
}

#[tokio::test]
async fn the_uncovered_failure_mode_comes_first_and_exports_as_cases() {
    let (store, dir, dataset) = seeded().await;
    let opts = failures::coverage_options(&seam_config::Failures::default());
    let report = failures::coverage(&store, &Tenants::All, NOW - WEEK, NOW, &[dataset], &opts)
        .await
        .expect("coverage");
    for c in &report.clusters {
        println!(
            "{:<9} {:<40} size {:>3} share {:.3} similarity {:.2} signals {:?}",
            if c.covered { "covered" } else { "UNCOVERED" },
            c.id,
            c.size,
            c.share,
            c.similarity,
            c.signals
        );
    }
    let first = report.clusters.first().expect("clusters");
    assert!(!first.covered, "uncovered first");
    assert!(
        first.top_terms.iter().any(|t| t.starts_with("invoice"))
            && first.top_terms.iter().any(|t| t.starts_with("currenc")),
        "the planted mode: {:?}",
        first.top_terms
    );
    assert!(first.signals.get("rephrase").copied().unwrap_or(0) > 10);
    assert!(first.signals.get("abandon").copied().unwrap_or(0) > 10);
    assert!(
        report.clusters.iter().filter(|c| !c.covered).count() == 1,
        "every other kind has cases"
    );
    assert!(report.covered_share > 0.0 && report.covered_share < 0.6);
    assert_eq!(report.scanned.coverage.metadata_only_turns, 0);

    let got = failures::export::candidates(&store, &Actor::admin("t"), first, 5)
        .await
        .expect("export");
    assert_eq!(got.cases.len(), 5);
    let path = dir.path().join("candidates.jsonl");
    let text: String = got.cases.iter().map(|c| format!("{c}\n")).collect();
    std::fs::write(&path, text).expect("write");
    let exported = Dataset::load(&path).expect("candidates load as a dataset");
    for case in &exported.cases {
        assert!(
            case.tags.iter().any(|t| t == "needs-review"),
            "{:?}",
            case.tags
        );
        assert!(
            case.expected.as_ref().is_none_or(|e| e.is_null()),
            "input only"
        );
        let input = case.input.as_ref().expect("an input");
        assert!(input.messages.iter().any(|m| m["role"] == "user"));
    }
    // An actor who only reads the tenant may not write its content out.
    let viewer = Actor::user("vera");
    assert!(
        failures::export::candidates(&store, &viewer, first, 5)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn scanning_twice_stores_each_flag_once_and_reports_compare_periods() {
    let (store, _dir, _) = seeded().await;
    let opts = seam_signals::Options::default();
    let a = failures::scan(&store, NOW - WEEK, NOW, &Tenants::All, &opts)
        .await
        .expect("scan");
    let b = failures::scan(&store, NOW - WEEK, NOW, &Tenants::All, &opts)
        .await
        .expect("scan again");
    assert_eq!(a.by_signal, b.by_signal);
    let q = FlagQuery {
        since_ms: NOW - WEEK,
        until_ms: NOW,
        signal: None,
        route: None,
        limit: 1_000_000,
    };
    let stored = store.list_flags_in(&q, &Tenants::All).await.expect("flags");
    assert_eq!(stored.len(), a.by_signal.values().sum::<usize>());
    assert!(
        a.by_signal["rephrase"] > 20 && a.by_signal["abandon"] > 10,
        "{:?}",
        a.by_signal
    );

    let r = failures::failures(&store, &Tenants::All, NOW - WEEK, NOW, By::Signal, &opts)
        .await
        .expect("report");
    let rephrase = r
        .rows
        .iter()
        .find(|r| r.signal == "rephrase")
        .expect("a rephrase row");
    assert_eq!(rephrase.previous.calls, 0, "nothing before the week");
    assert_eq!(rephrase.now.calls as usize, a.calls);
    assert!(rephrase.now.interval.low < rephrase.now.rate.unwrap_or(0.0));

    // Another tenant's viewer: nothing scanned, nothing counted.
    let other = failures::failures(&store, &only("acme"), NOW - WEEK, NOW, By::Route, &opts)
        .await
        .expect("report");
    assert!(other.rows.is_empty() && other.scanned.calls == 0);
    assert!(
        store
            .list_flags_in(&q, &only("acme"))
            .await
            .expect("flags")
            .is_empty()
    );
}

#[tokio::test]
async fn a_pass_reads_at_most_max_calls_and_says_where_it_stopped() {
    let (store, _dir, _) = seeded().await;
    let all = failures::scan(
        &store,
        NOW - WEEK,
        NOW,
        &Tenants::All,
        &seam_signals::Options::default(),
    )
    .await
    .expect("scan");
    assert!(all.calls > 300, "the week holds {} calls", all.calls);
    assert_eq!(
        all.stopped_at_ms, None,
        "an unbounded pass reads the window"
    );
    let bounded = seam_signals::Options {
        max_calls: Some(250),
        ..seam_signals::Options::default()
    };
    let first = failures::scan(&store, NOW - WEEK, NOW, &Tenants::All, &bounded)
        .await
        .expect("bounded scan");
    assert_eq!(first.calls, 250);
    let at = first.stopped_at_ms.expect("stopped short, and says where");
    assert!((NOW - WEEK..NOW).contains(&at));
    // The next pass goes on from there (as serve's does) and reaches the end of the window.
    let mut since = at;
    let mut read = first.calls;
    for _ in 0..100 {
        let next = failures::scan(&store, since, NOW, &Tenants::All, &bounded)
            .await
            .expect("next pass");
        read += next.calls;
        match next.stopped_at_ms {
            Some(t) => {
                assert!(t >= since, "passes move forward");
                since = t;
            }
            None => break,
        }
    }
    assert!(read >= all.calls, "read {read} of {} calls", all.calls);
    // A window of exactly max_calls calls is read whole, and not reported as cut short.
    let exact = seam_signals::Options {
        max_calls: Some(all.calls),
        ..seam_signals::Options::default()
    };
    let whole = failures::scan(&store, NOW - WEEK, NOW, &Tenants::All, &exact)
        .await
        .expect("exact scan");
    assert_eq!((whole.calls, whole.stopped_at_ms), (all.calls, None));
}
