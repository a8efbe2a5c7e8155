//! `seam eval run --release ID`: a stored release run by id before it is deployed anywhere
//! (`model: "release:ID"` as eval traffic), and its passing gate against the release a gated
//! channel serves letting `seam deploy` through.

mod evals_world;

use evals_world::World;
use seam_store::{Records, Releases};
use serde_json::Value;

const PROMPT: &str = "name = \"echo\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"sim-large-2026-01\"\nvariables = { word = \"string\" }\ngate = { dataset = \"words\", channel = \"production\", alpha = 0.05, margin = 0.9 }\n\n[[messages]]\nrole = \"user\"\ncontent = \"VERSION it is {{ word }}\"\n";

/// A release of the echo prompt, approved by ana; on `channel` when one is named.
async fn release(
    w: &World,
    store: &seam_store::SqlStore,
    version: &str,
    channel: Option<&str>,
) -> String {
    let path = w.dir.path().join("echo.toml");
    std::fs::write(&path, PROMPT.replace("VERSION", version)).unwrap();
    let release = evals_world::approved_release(store, &path).await;
    if let Some(channel) = channel {
        store
            .insert_deploy(&seam_store::DeployRecord {
                id: format!("dep_{channel}"),
                prompt: "echo".into(),
                channel: channel.into(),
                release_id: release.id.clone(),
                actor: "ana".into(),
                kind: seam_vocab::DeployKind::Deploy,
                mode: seam_vocab::DeployMode::Drain,
                created_ms: 3,
            })
            .await
            .unwrap();
    }
    release.id
}

/// `seam eval run words --release ID --json`; returns the summary once every call of the run
/// is recorded (waited for by call id), with the calls' records.
async fn run_release(
    w: &World,
    store: &seam_store::SqlStore,
    id: &str,
) -> (Value, Vec<seam_store::CallRecord>) {
    let run = w
        .ok_json(&[
            "eval",
            "run",
            "words",
            "--release",
            id,
            "--gateway",
            &w.gw,
            "--key",
            &w.key,
            "--json",
        ])
        .await;
    let run_id = run["id"].as_str().unwrap();
    let (_, results) = seam_store::Evals::get_eval_run(store, run_id)
        .await
        .unwrap()
        .unwrap();
    let mut calls = Vec::new();
    for r in results {
        let call = r.call_id.expect("a call id");
        let mut found = None;
        for _ in 0..200 {
            found = store.get_call(&call).await.unwrap();
            if found.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        calls.push(found.unwrap_or_else(|| panic!("call {call} recorded")).0);
    }
    (run, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_run_by_id_gates_its_deploy() {
    let w = World::start().await;
    let store = seam_store::open(&w.url).await.unwrap();
    let cases: Vec<String> = (0..20)
        .map(|i| {
            serde_json::json!({"id": format!("w{i:02}"), "variables": {"word": format!("w{i}")},
                "input": {"messages": [{"role": "assistant", "content": "noted"}]},
                "assert": [{"type": "contains", "value": format!("it is w{i}")}]})
            .to_string()
        })
        .collect();
    w.dataset("words", &cases);
    let baseline = release(&w, &store, "v1", Some("production")).await;
    // The candidate is on no channel at all.
    let candidate = release(&w, &store, "v2", None).await;

    // An id the store does not have is refused before any call.
    let out = w
        .seam(&[
            "eval",
            "run",
            "words",
            "--release",
            "rel_nope",
            "--gateway",
            &w.gw,
            "--key",
            &w.key,
        ])
        .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no release `rel_nope`"), "{err}");

    let (cand, calls) = run_release(&w, &store, &candidate).await;
    assert_eq!(cand["target_kind"], "release");
    assert_eq!(cand["target"], candidate.as_str());
    assert_eq!(cand["status"], "complete");
    assert_eq!(calls.len(), 20);
    for c in &calls {
        assert_eq!(c.release_id.as_deref(), Some(candidate.as_str()));
        assert_eq!(c.purpose, seam_vocab::Purpose::Eval);
        assert_eq!(c.requested_model, format!("release:{candidate}"));
    }
    let cand_id = cand["id"].as_str().unwrap();
    let shown = w.seam(&["eval", "show", cand_id]).await;
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains(&format!("release `{candidate}`")), "{text}");

    let (base, _) = run_release(&w, &store, &baseline).await;
    let base_id = base["id"].as_str().unwrap();
    let out = w
        .seam(&[
            "eval",
            "gate",
            cand_id,
            "--baseline",
            base_id,
            "--margin",
            "0.9",
            "--json",
        ])
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let decision: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            decision["candidate_release"].as_str(),
            decision["baseline_release"].as_str()
        ),
        (Some(candidate.as_str()), Some(baseline.as_str()))
    );
    let deployed = w
        .ok_json(&["deploy", "echo@production", &candidate, "--json"])
        .await;
    assert_eq!(deployed["release"], candidate.as_str());
}
