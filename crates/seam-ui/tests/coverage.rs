//! The coverage page over a real SQLite store: a week of generated support traffic of tenant
//! acme (one kind of question answered badly) with its eval dataset in `[evals] dir`, plus
//! rephrased questions carrying markup (acme) and another tenant's (globex). The clusters
//! come uncovered first, a user's markup is shown as text, a viewer of acme sees nothing of
//! globex and gets no Export button, and the export is refused without the form token or the
//! operator role, and otherwise downloads candidate cases that load as a dataset.

mod common;

use common::*;
use http::{StatusCode, header};
use seam_control::failures::synth;
use seam_store::{RecordBatch, RoleRecord, UserRecord, now_ms};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

const OPAL: &str = "tok_opal_operator_0123456789";
const MARKUP: &str = "my widget export shows <script>alert(1)</script> in the csv report";

/// The gateway as the page needs it: only `[evals] dir` (`[failures]` at its defaults).
struct Evals(PathBuf);

impl seam_ui::Gateway for Evals {
    fn protected_channels(&self) -> Vec<String> {
        Vec::new()
    }
    fn evals_dir(&self) -> Option<PathBuf> {
        Some(self.0.clone())
    }
    fn deployed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
}

/// `n` sessions of `tenant` in which the user asks `text`, then asks it again 30 s later
/// (the first call is flagged `rephrase`), each with captured content.
fn rephrased(tenant: &str, route: &str, tag: &str, text: &str, n: usize, at: i64) -> RecordBatch {
    let mut batch = RecordBatch::default();
    for s in 0..n {
        for (k, words) in [text.to_string(), format!("no, {text}")].iter().enumerate() {
            let id = format!("call_{tag}{s}x{k}");
            let when = at + s as i64 * 600_000 + k as i64 * 30_000;
            let mut call = seam_store::conformance::sample_call(&id, when, tenant);
            call.route = route.into();
            call.session_id = Some(format!("{tag}-s{s}"));
            batch
                .contents
                .push(captured(&id, when, words, "Here is how."));
            batch.calls.push(call);
        }
    }
    batch
}

/// The dashboard world, plus opal (operator of acme), the traffic above and the dataset.
async fn world() -> (World, tempfile::TempDir) {
    let mut w = World::new().await;
    let now = now_ms();
    w.store
        .insert_user(&UserRecord {
            id: "u_opal".into(),
            name: "opal".into(),
            token_hash: seam_control::token_hash(OPAL),
            admin: false,
            created_ms: now,
        })
        .await
        .expect("user");
    w.store
        .insert_role(&RoleRecord {
            user_id: "u_opal".into(),
            role: "operator".into(),
            tenant: "acme".into(),
            created_ms: now,
        })
        .await
        .expect("role");
    let week = synth::support_week(7, "acme", "chat", now - 60_000, 30);
    w.store.insert_batch(&week.batch).await.expect("week");
    let hours = now - 5 * 3_600_000;
    let acme = rephrased("acme", "chat", "mk", MARKUP, 6, hours);
    w.store.insert_batch(&acme).await.expect("acme");
    let secret = "what is the globex quarterly roadmap secret plan";
    let globex = rephrased("globex", "globex-route", "gx", secret, 6, hours);
    w.store.insert_batch(&globex).await.expect("globex");
    let dir = tempfile::tempdir().expect("evals dir");
    std::fs::write(
        dir.path().join("support.jsonl"),
        week.dataset.join("\n") + "\n",
    )
    .expect("dataset");
    let ui = seam_ui::Ui::new(w.store.clone(), 12, false)
        .with_gateway(Arc::new(Evals(dir.path().to_path_buf())));
    w.app = seam_ui::router::<()>(Arc::new(ui));
    (w, dir)
}

/// The cluster ids of a page, in order, each with whether it is covered.
fn clusters(html: &str) -> Vec<(String, bool)> {
    html.split("<article class=\"cluster\" id=\"cluster-")
        .skip(1)
        .map(|a| {
            let id = a[..a.find('"').expect("id")].to_string();
            (
                id,
                !a[..a.find("</h3>").expect("heading")].contains("UNCOVERED"),
            )
        })
        .collect()
}

#[tokio::test]
async fn clusters_come_uncovered_first_with_markup_as_text_and_a_chart() {
    let (mut w, _dir) = world().await;
    let (ada, _) = w.sign_in(ADA).await;
    let page = w.get("/ui/coverage?since=7d", Some(&ada)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let found = clusters(&page.body);
    println!("clusters: {found:?}");
    assert!(found.iter().any(|(_, c)| !c), "an uncovered cluster");
    assert!(found.iter().any(|(_, c)| *c), "a covered cluster");
    let first_covered = found.iter().position(|(_, c)| *c).expect("covered");
    assert!(
        found[first_covered..].iter().all(|(_, c)| *c),
        "uncovered first: {found:?}"
    );
    assert!(
        page.body
            .contains("shows &lt;script&gt;alert(1)&lt;&#x2f;script&gt; in the csv"),
        "the user's markup as text"
    );
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(page.body.contains("<svg"), "the signals chart");
    assert!(
        page.body.contains("<td>rephrase "),
        "the chart's numbers by day"
    );
    assert!(
        page.body.contains("href=\"/ui/calls/call_"),
        "examples link"
    );
    assert!(page.body.contains("Datasets: support ("));
    assert!(
        page.body.contains("Texts compared by: lexical."),
        "the page names its method"
    );
    assert!(page.body.contains("Export candidate cases"), "an admin may");
    assert!(
        page.body.contains("globex-route"),
        "an admin sees every tenant"
    );
    assert!(page.body.contains("href=\"/ui/coverage\""), "the nav link");

    let one = w
        .get("/ui/coverage?since=48h&dataset=support", Some(&ada))
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert!(one.body.contains("per hour"));
    let bad = w.get("/ui/coverage?since=2y", Some(&ada)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("since `2y`"), "{}", bad.body);
    let unknown = w.get("/ui/coverage?dataset=..%2Fetc", Some(&ada)).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown
            .body
            .contains("no such dataset in [evals] dir (datasets: support)"),
        "{}",
        unknown.body
    );
}

#[tokio::test]
async fn a_viewer_sees_only_their_tenant_and_may_not_export() {
    let (mut w, _dir) = world().await;
    let (vic, csrf) = w.sign_in(VIC).await;
    let page = w.get("/ui/coverage", Some(&vic)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!clusters(&page.body).is_empty());
    for other in ["globex", "roadmap", "call_gx"] {
        assert!(
            !page.body.contains(other),
            "{other} shown to a viewer of acme"
        );
    }
    assert!(!page.body.contains("Export candidate cases"));
    let (id, _) = clusters(&page.body).remove(0);
    let refused = w
        .post(
            "/ui/coverage/export",
            &vic,
            &format!("csrf={csrf}&cluster={id}&since=7d"),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body.contains("needs role operator") && refused.body.contains("viewer of acme"),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn an_operator_exports_candidates_as_jsonl() {
    let (mut w, _dir) = world().await;
    let (opal, csrf) = w.sign_in(OPAL).await;
    let page = w.get("/ui/coverage", Some(&opal)).await;
    assert!(page.body.contains("Export candidate cases"));
    let (id, covered) = clusters(&page.body).remove(0);
    assert!(!covered);

    let forged = w
        .post("/ui/coverage/export", &opal, &format!("cluster={id}"))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        forged.body.contains("form is out of date"),
        "{}",
        forged.body
    );
    let gone = w
        .post(
            "/ui/coverage/export",
            &opal,
            &format!("csrf={csrf}&cluster=no-such-cluster&since=7d"),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(
        gone.body.contains("no cluster `no-such-cluster`"),
        "{}",
        gone.body
    );

    let got = w
        .post(
            "/ui/coverage/export",
            &opal,
            &format!("csrf={csrf}&cluster={id}&since=7d&dataset="),
        )
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.headers[header::CONTENT_TYPE], "application/x-ndjson");
    assert_eq!(
        got.headers[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"coverage-{id}.jsonl\"").as_str()
    );
    let lines: Vec<serde_json::Value> = got
        .body
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(!lines.is_empty() && lines.len() <= 20, "{}", lines.len());
    for case in &lines {
        let tags: Vec<&str> = case["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter_map(|t| t.as_str())
            .collect();
        assert!(tags.contains(&"needs-review"), "{tags:?}");
        assert!(
            tags.contains(&format!("coverage:{id}").as_str()),
            "{tags:?}"
        );
        assert!(case["expected"].is_null());
    }
    let parsed = seam_evals::dataset::Dataset::parse_bytes(
        got.body.as_bytes(),
        std::path::Path::new("candidates.jsonl"),
    )
    .expect("the candidates load as a dataset");
    assert_eq!(parsed.cases.len(), lines.len());
}
