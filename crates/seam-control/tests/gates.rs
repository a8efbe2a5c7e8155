//! Gated deploys: a release with `gate = { .. }` for a channel goes on it only with a passing
//! gate decision against the release served there, on the dataset's current version, or an
//! admin's audited override.

use seam_control::gates::GateCheck;
use seam_control::{Actor, ControlError, DeployMode, approve, create_release, deploy_with};
use seam_store::{Audit, EvalGateRecord, Evals, Events, Releases, SqlStore, UserRecord, Users};
use seam_vocab::EventKind;
use std::path::Path;

const GATE: &str =
    r#"gate = { dataset = "billing.jsonl", channel = "production", alpha = 0.05, margin = 0.02 }"#;
const CASE: &str = r#"{"id": "a", "input": {"messages": [{"role": "user", "content": "hi"}]}}"#;

struct World {
    store: SqlStore,
    evals: tempfile::TempDir,
    _db: tempfile::TempDir,
    /// On production now.
    baseline: String,
    /// Approved, gated for production.
    candidate: String,
}

fn prompt(system: &str, gate: &str) -> seam_prompts::Prompt {
    let text = format!(
        "name = \"bot\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"sim-large-2026-01\"\n{gate}\n\n[[messages]]\nrole = \"system\"\ncontent = \"{system}\"\n"
    );
    seam_prompts::parse(&text, Path::new("bot.toml")).expect("prompt")
}

/// A release by `bo`, approved by `approver` (an admin while nothing is on production, then
/// the owner the production release names).
async fn released(store: &SqlStore, p: &seam_prompts::Prompt, approver: &Actor) -> String {
    let (rel, _) = create_release(store, "bo", p).await.expect("release");
    approve(store, approver, &rel.id).await.expect("approve");
    rel.id
}

fn version(evals: &Path) -> String {
    seam_evals::Dataset::load(&evals.join("billing.jsonl"))
        .expect("dataset")
        .version
}

async fn world() -> World {
    let db = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", db.path().join("seam.db").display());
    let store = seam_store::open(&url).await.expect("open");
    let evals = tempfile::tempdir().expect("tempdir");
    std::fs::write(evals.path().join("billing.jsonl"), format!("{CASE}\n")).expect("write");
    store
        .insert_user(&UserRecord {
            id: "usr_root".into(),
            name: "root".into(),
            token_hash: "x".into(),
            admin: true,
            created_ms: 1,
        })
        .await
        .expect("user");
    let baseline = released(&store, &prompt("v1", GATE), &Actor::admin("root")).await;
    let mut w = World {
        baseline,
        candidate: String::new(),
        store,
        evals,
        _db: db,
    };
    // The first deploy to a channel needs no gate, even of a gated release.
    deploy(&w, &Actor::admin("root"), &w.baseline, None)
        .await
        .expect("the first deploy needs no gate");
    w.candidate = released(&w.store, &prompt("v2", GATE), &Actor::user("ana")).await;
    w
}

async fn deploy(
    w: &World,
    who: &Actor,
    id: &str,
    override_reason: Option<&str>,
) -> Result<Vec<String>, ControlError> {
    let check = GateCheck {
        evals_dir: Some(w.evals.path().to_path_buf()),
        override_reason: override_reason.map(str::to_string),
    };
    deploy_with(
        &w.store,
        who,
        "bot@production",
        id,
        DeployMode::Drain,
        &[],
        &check,
    )
    .await
}

async fn decide(w: &World, baseline: &str, dataset_version: &str, decision: &str, n: i64) {
    w.store
        .insert_eval_gate(&EvalGateRecord {
            id: format!("evg_{n}"),
            created_ms: n,
            candidate_run: format!("evr_c{n}"),
            baseline_run: format!("evr_b{n}"),
            candidate_release: Some(w.candidate.clone()),
            baseline_release: Some(baseline.to_string()),
            dataset: "billing".into(),
            dataset_version: dataset_version.into(),
            decision: decision.into(),
            alpha: 0.05,
            margin: 0.02,
            actor: "ci".into(),
        })
        .await
        .expect("gate");
}

fn refusal(r: Result<Vec<String>, ControlError>) -> String {
    match r {
        Err(ControlError::Forbidden(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_release_without_a_gate_for_the_channel_needs_none() {
    let w = world().await;
    let staging_only = prompt("v3", &GATE.replace("production", "staging"));
    let id = released(&w.store, &staging_only, &Actor::user("ana")).await;
    deploy(&w, &Actor::admin("root"), &id, None)
        .await
        .expect("its gate is for staging, not production");
    let plain = released(&w.store, &prompt("v4", ""), &Actor::user("ana")).await;
    deploy(&w, &Actor::admin("root"), &plain, None)
        .await
        .expect("no gate");
}

#[tokio::test]
async fn refused_without_a_decision_and_the_refusal_says_what_to_run() {
    let w = world().await;
    let m = refusal(deploy(&w, &Actor::admin("root"), &w.candidate, None).await);
    assert!(m.contains("there is no gate decision"), "{m}");
    assert!(m.contains(&w.candidate) && m.contains(&w.baseline), "{m}");
    assert!(
        m.contains(&format!(
            "seam eval run billing.jsonl --release {}",
            w.baseline
        )) && m.contains(&format!(
            "seam eval run billing.jsonl --release {}",
            w.candidate
        )),
        "{m}"
    );
    assert!(
        m.contains(
            "seam eval gate CANDIDATE_RUN --baseline BASELINE_RUN --alpha 0.05 --margin 0.02"
        ),
        "{m}"
    );
    assert!(m.contains("--override-gate"), "{m}");
}

#[tokio::test]
async fn refused_with_a_failing_or_inconclusive_decision() {
    let w = world().await;
    let v = version(w.evals.path());
    decide(&w, &w.baseline.clone(), &v, "fail", 1).await;
    decide(&w, &w.baseline.clone(), &v, "inconclusive", 2).await;
    let m = refusal(deploy(&w, &Actor::admin("root"), &w.candidate, None).await);
    assert!(m.contains("is inconclusive (candidate run evr_c2"), "{m}");
}

#[tokio::test]
async fn refused_when_the_dataset_changed_since_the_decision() {
    let w = world().await;
    let old = version(w.evals.path());
    decide(&w, &w.baseline.clone(), &old, "pass", 1).await;
    let more = format!("{CASE}\n{}\n", CASE.replace("\"a\"", "\"b\""));
    std::fs::write(w.evals.path().join("billing.jsonl"), more).expect("write");
    let m = refusal(deploy(&w, &Actor::admin("root"), &w.candidate, None).await);
    assert!(m.contains(&format!("version {}", &old[..12])), "{m}");
    assert!(m.contains("and the dataset is now version"), "{m}");
}

#[tokio::test]
async fn refused_when_the_decision_was_against_another_baseline() {
    let w = world().await;
    decide(
        &w,
        "rel_0000000000000000",
        &version(w.evals.path()),
        "pass",
        1,
    )
    .await;
    let m = refusal(deploy(&w, &Actor::admin("root"), &w.candidate, None).await);
    assert!(m.contains("there is no gate decision"), "{m}");
}

#[tokio::test]
async fn refused_when_the_decision_was_looser_than_the_gate() {
    let w = world().await;
    let v = version(w.evals.path());
    w.store
        .insert_eval_gate(&EvalGateRecord {
            id: "evg_loose".into(),
            created_ms: 1,
            candidate_run: "evr_c".into(),
            baseline_run: "evr_b".into(),
            candidate_release: Some(w.candidate.clone()),
            baseline_release: Some(w.baseline.clone()),
            dataset: "billing".into(),
            dataset_version: v,
            decision: "pass".into(),
            alpha: 0.05,
            margin: 0.2,
            actor: "ci".into(),
        })
        .await
        .expect("gate");
    let m = refusal(deploy(&w, &Actor::admin("root"), &w.candidate, None).await);
    assert!(m.contains("margin 0.2"), "{m}");
}

#[tokio::test]
async fn allowed_with_a_passing_decision_on_the_current_version() {
    let w = world().await;
    let v = version(w.evals.path());
    decide(&w, &w.baseline.clone(), &v, "fail", 1).await;
    decide(&w, &w.baseline.clone(), &v, "pass", 2).await;
    deploy(&w, &Actor::user("ana"), &w.candidate, None)
        .await
        .expect("a passing gate");
    let served = w.store.list_deploys("bot").await.expect("deploys");
    assert_eq!(
        served.last().map(|d| d.release_id.as_str()),
        Some(w.candidate.as_str())
    );
}

#[tokio::test]
async fn an_admin_overrides_with_a_reason_audited_and_on_the_timeline() {
    let w = world().await;
    deploy(
        &w,
        &Actor::admin("root"),
        &w.candidate,
        Some("hotfix for INC-7"),
    )
    .await
    .expect("an admin's override");
    let audit = w.store.list_audit().await.expect("audit");
    let o = audit
        .iter()
        .find(|a| a.action == "eval_gate.overridden")
        .expect("the override on the audit chain");
    assert_eq!(
        (o.actor.as_str(), o.subject.as_str()),
        ("root", "bot@production")
    );
    let after: serde_json::Value = serde_json::from_str(o.after.as_deref().unwrap()).unwrap();
    assert_eq!(after["reason"], "hotfix for INC-7");
    assert_eq!(after["release"], w.candidate.as_str());
    assert!(
        after["missing"]
            .as_str()
            .unwrap()
            .contains("no gate decision")
    );
    let events = w.store.list_events(0, 100).await.expect("events");
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::EvalGateOverridden)
    );
}

#[tokio::test]
async fn a_non_admin_cannot_override_and_an_empty_reason_is_refused() {
    let w = world().await;
    let m = refusal(deploy(&w, &Actor::user("ana"), &w.candidate, Some("trust me")).await);
    assert!(m.contains("needs role admin"), "{m}");
    match deploy(&w, &Actor::admin("root"), &w.candidate, Some("  ")).await {
        Err(ControlError::Invalid(m)) => assert!(m.contains("needs a reason"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let audit = w.store.list_audit().await.expect("audit");
    assert!(!audit.iter().any(|a| a.action == "eval_gate.overridden"));
}
