//! Silent failures over a real SQLite store: a week of generated support traffic (one kind of
//! question answered badly), scanned for signals, its flags stored once however often it is
//! scanned, clustered and held against an eval dataset that covers every other kind; candidate
//! cases exported from the uncovered cluster load as a dataset. A viewer of another tenant sees
//! none of it. With an embedding route (a fake backend), the same report embeds, says so, and
//! falls back to the lexical method, saying why, when the route fails.

use seam_control::Actor;
use seam_control::failures::{self, By, Embedder, synth};
use seam_evals::dataset::Dataset;
use seam_evals::{Backend, BackendError, JudgeRequest};
use seam_store::{Failures, FlagQuery, Records, SqlStore, Tenants};
use std::collections::HashSet;
use std::sync::Mutex;

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
    let report = failures::coverage(
        &store,
        &Tenants::All,
        NOW - WEEK,
        NOW,
        &[dataset],
        &opts,
        None,
    )
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
    let a = failures::scan(&store, NOW - WEEK, NOW, &Tenants::All, &opts, None)
        .await
        .expect("scan");
    let b = failures::scan(&store, NOW - WEEK, NOW, &Tenants::All, &opts, None)
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

    let r = failures::failures(
        &store,
        &Tenants::All,
        NOW - WEEK,
        NOW,
        By::Signal,
        &opts,
        None,
    )
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
    let other = failures::failures(
        &store,
        &only("acme"),
        NOW - WEEK,
        NOW,
        By::Route,
        &opts,
        None,
    )
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
        None,
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
    let first = failures::scan(&store, NOW - WEEK, NOW, &Tenants::All, &bounded, None)
        .await
        .expect("bounded scan");
    assert_eq!(first.calls, 250);
    let at = first.stopped_at_ms.expect("stopped short, and says where");
    assert!((NOW - WEEK..NOW).contains(&at));
    // The next pass goes on from there (as serve's does) and reaches the end of the window.
    let mut since = at;
    let mut read = first.calls;
    for _ in 0..100 {
        let next = failures::scan(&store, since, NOW, &Tenants::All, &bounded, None)
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
    let whole = failures::scan(&store, NOW - WEEK, NOW, &Tenants::All, &exact, None)
        .await
        .expect("exact scan");
    assert_eq!((whole.calls, whole.stopped_at_ms), (all.calls, None));
}

// Embeddings through `[failures] embedding_route`, with a fake backend (hashed words: texts
// sharing words are close): each distinct text embedded once, in batches of at most 256, the
// method named in the report, and the lexical method, said why, when the route fails or a
// bound leaves texts out.

const DIMS: usize = 64;

/// `seam coverage` over the seeded week with `[failures]` `cfg`, embedding with `embed`.
async fn cover(
    store: &SqlStore,
    dataset: &Dataset,
    cfg: &seam_config::Failures,
    embed: Option<&mut Embedder<'_>>,
) -> failures::CoverageReport {
    let opts = failures::coverage_options(cfg);
    failures::coverage(
        store,
        &Tenants::All,
        NOW - WEEK,
        NOW,
        std::slice::from_ref(dataset),
        &opts,
        embed,
    )
    .await
    .expect("coverage")
}

/// Embeds by hashing words into signed slots; `down` answers every call with an error.
#[derive(Default)]
struct Fake {
    down: bool,
    /// Every call's batch.
    calls: Mutex<Vec<Vec<String>>>,
}

#[async_trait::async_trait]
impl Backend for Fake {
    async fn embed(&self, route: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, BackendError> {
        assert_eq!(route, "embed");
        self.calls.lock().expect("lock").push(texts.to_vec());
        if self.down {
            return Err(BackendError(
                "embedding route `embed` answered 503 Service Unavailable: upstream down".into(),
            ));
        }
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; DIMS];
                for w in seam_signals::normalize(t).split(' ') {
                    let h = w.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                    });
                    let h = seam_signals_mix(h);
                    v[(h % DIMS as u64) as usize] += if h >> 63 == 1 { -1.0 } else { 1.0 };
                }
                v[0] += 0.01; // never all zero
                v
            })
            .collect())
    }

    async fn judge(&self, _: &JudgeRequest) -> Result<String, BackendError> {
        Err(BackendError("no judge".into()))
    }
}

fn seam_signals_mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn config() -> seam_config::Failures {
    seam_config::Failures {
        embedding_route: Some("embed".into()),
        embed_rephrase_threshold: 0.6,
        embed_cluster_threshold: 0.6,
        embed_cover_threshold: 0.6,
        ..seam_config::Failures::default()
    }
}

#[tokio::test]
async fn coverage_embeds_each_text_once_in_batches_and_names_the_method() {
    let (store, _dir, dataset) = seeded().await;
    let cfg = config();
    let fake = Fake::default();
    let mut e = Embedder::new(&fake, &cfg).expect("a route is configured");
    let report = cover(&store, &dataset, &cfg, Some(&mut e)).await;
    println!("{}\n{}", report.scanned.similarity, report.similarity);
    assert!(
        report
            .scanned
            .similarity
            .starts_with("embeddings via route `embed` ("),
        "{}",
        report.scanned.similarity
    );
    assert!(
        report
            .similarity
            .starts_with("embeddings via route `embed`"),
        "{}",
        report.similarity
    );
    assert_eq!(report.method, failures::coverage::METHOD_EMBEDDINGS);
    assert_eq!(report.cover_threshold, 0.6);
    assert!(!report.clusters.is_empty());
    let calls = fake.calls.lock().expect("lock");
    assert!(calls.len() > 1, "more texts than one batch");
    assert!(calls.iter().all(|b| !b.is_empty() && b.len() <= 256));
    let sent: Vec<&String> = calls.iter().flatten().collect();
    let distinct: HashSet<&String> = sent.iter().copied().collect();
    assert_eq!(
        sent.len(),
        distinct.len(),
        "a text embedded twice in one pass"
    );
    // The eval cases were embedded too (coverage by nearest case).
    let case = seam_control::failures::coverage::case_text(&dataset.cases[0]).expect("text");
    assert!(distinct.contains(&case));
}

#[tokio::test]
async fn a_failing_route_falls_back_to_lexical_and_says_why() {
    let (store, _dir, dataset) = seeded().await;
    let cfg = config();
    let lexical = cover(&store, &dataset, &cfg, None).await;
    assert_eq!(
        (
            lexical.similarity.as_str(),
            lexical.scanned.similarity.as_str()
        ),
        ("lexical", "lexical")
    );
    let fake = Fake {
        down: true,
        ..Fake::default()
    };
    let mut e = Embedder::new(&fake, &cfg).expect("a route");
    let report = cover(&store, &dataset, &cfg, Some(&mut e)).await;
    let why = "lexical (embedding route `embed` answered 503 Service Unavailable: upstream down)";
    assert_eq!(report.scanned.similarity, why);
    assert_eq!(report.similarity, why);
    assert_eq!(report.method, failures::coverage::METHOD);
    let ids = |r: &failures::CoverageReport| -> Vec<String> {
        r.clusters.iter().map(|c| c.id.clone()).collect()
    };
    assert_eq!(ids(&report), ids(&lexical), "the lexical clusters");
    assert_eq!(
        fake.calls.lock().expect("lock").len(),
        1,
        "no call after a failure"
    );
}

#[tokio::test]
async fn a_bound_on_texts_is_said_and_keeps_the_clusters_lexical() {
    let (store, _dir, dataset) = seeded().await;
    let cfg = config();
    let fake = Fake::default();
    let mut e = Embedder::new(&fake, &cfg)
        .expect("a route")
        .with_max_texts(50);
    let report = cover(&store, &dataset, &cfg, Some(&mut e)).await;
    assert!(
        report
            .scanned
            .similarity
            .contains("more compared lexically: at most 50 a pass"),
        "{}",
        report.scanned.similarity
    );
    assert!(
        report
            .similarity
            .starts_with("lexical (not every flagged text was embedded"),
        "{}",
        report.similarity
    );
    let sent: usize = fake.calls.lock().expect("lock").iter().map(Vec::len).sum();
    assert_eq!(sent, 50);
}
