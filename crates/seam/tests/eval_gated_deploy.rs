//! A gated deploy through the binary: two releases on two channels of a real gateway, the
//! same dataset run against each (`--prompt NAME@CHANNEL`), and `seam deploy` refused until
//! `seam eval gate` has a passing decision of the candidate against the release served now.

mod evals_world;

use evals_world::World;
use seam_store::Releases;
use serde_json::Value;

const PROMPT: &str = "name = \"echo\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"sim-large-2026-01\"\nvariables = { word = \"string\" }\nGATE\n\n[[messages]]\nrole = \"user\"\ncontent = \"VERSION it is {{ word }}\"\n";
const GATE: &str =
    "gate = { dataset = \"words\", channel = \"production\", alpha = 0.05, margin = 0.9 }";

/// A release of the echo prompt (`version` makes it another release), approved by ana and on
/// `channel`, put in the store as `seam release create|approve|deploy` would leave it.
async fn on_channel(
    w: &World,
    store: &seam_store::SqlStore,
    version: &str,
    channel: &str,
) -> String {
    let path = w.dir.path().join("echo.toml");
    std::fs::write(
        &path,
        PROMPT.replace("GATE", GATE).replace("VERSION", version),
    )
    .unwrap();
    let release = evals_world::approved_release(store, &path).await;
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
    // The gateway picks the deploy up within a second: wait for it, bounded.
    let probe = serde_json::json!({"model": format!("prompt:echo@{channel}"),
        "messages": [{"role": "assistant", "content": "x"}], "seam_variables": {"word": "x"}});
    for _ in 0..100 {
        let r = w
            .client
            .post(format!("{}/v1/chat/completions", w.gw))
            .bearer_auth(&w.key)
            .json(&probe)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            return release.id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the deploy to {channel} was not picked up");
}

impl World {
    /// `seam eval run words --prompt echo@CHANNEL`, once its calls are recorded (the gate reads
    /// the release each call was served from).
    async fn run_on(&self, store: &seam_store::SqlStore, channel: &str) -> String {
        let target = format!("echo@{channel}");
        let run = self
            .ok_json(&[
                "eval",
                "run",
                "words",
                "--prompt",
                &target,
                "--gateway",
                &self.gw,
                "--key",
                &self.key,
                "--json",
            ])
            .await;
        let id = run["id"].as_str().unwrap().to_string();
        let (_, results) = seam_store::Evals::get_eval_run(store, &id)
            .await
            .unwrap()
            .unwrap();
        for r in results {
            let call = r.call_id.expect("a call id");
            let mut found = false;
            for _ in 0..200 {
                if seam_store::Records::get_call(store, &call)
                    .await
                    .unwrap()
                    .is_some()
                {
                    found = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert!(found, "call {call} recorded");
        }
        id
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gated_deploy_needs_a_passing_gate_against_the_release_served_now() {
    let w = World::start().await;
    let store = seam_store::open(&w.url).await.unwrap();
    let cases: Vec<String> = (0..30)
        .map(|i| {
            serde_json::json!({"id": format!("w{i:02}"), "variables": {"word": format!("w{i}")},
                "input": {"messages": [{"role": "assistant", "content": "noted"}]},
                "assert": [{"type": "contains", "value": format!("it is w{i}")}]})
            .to_string()
        })
        .collect();
    w.dataset("words", &cases);
    let baseline = on_channel(&w, &store, "v1", "production").await;
    let candidate = on_channel(&w, &store, "v2", "staging").await;

    // No decision yet: refused, saying what is missing and what to run.
    let out = w.seam(&["deploy", "echo@production", &candidate]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "there is no gate decision of {candidate} against {baseline}"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("seam eval run words --release {baseline}"))
            && err.contains(&format!("seam eval run words --release {candidate}")),
        "{err}"
    );

    let base = w.run_on(&store, "production").await;
    let cand = w.run_on(&store, "staging").await;
    // A decision looser than the gate asks (a margin above its 0.9) does not count...
    let out = w
        .seam(&[
            "eval",
            "gate",
            &cand,
            "--baseline",
            &base,
            "--margin",
            "0.95",
            "--json",
        ])
        .await;
    let decision: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            decision["candidate_release"].as_str(),
            decision["baseline_release"].as_str()
        ),
        (Some(candidate.as_str()), Some(baseline.as_str()))
    );
    let out = w.seam(&["deploy", "echo@production", &candidate]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("margin 0.95"), "{err}");

    // ... one made as the gate asks does.
    let out = w
        .seam(&[
            "eval",
            "gate",
            &cand,
            "--baseline",
            &base,
            "--margin",
            "0.9",
        ])
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let deployed = w
        .ok_json(&["deploy", "echo@production", &candidate, "--json"])
        .await;
    assert_eq!(deployed["release"], candidate.as_str());
}
