//! Who may run what among the `seam eval` commands (docs/evals.md "Who may run what"), through
//! the binary with SEAM_TOKEN: a route run needs an operator of a tenant, a prompt run and
//! a gate on it an owner of the prompt, either an admin; reading runs any user.

mod evals_world;

use evals_world::World;
use serde_json::Value;
use std::process::Output;

const PROMPT: &str = "name = \"echo\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"sim-large-2026-01\"\nvariables = { word = \"string\" }\n\n[[messages]]\nrole = \"user\"\ncontent = \"it is {{ word }}\"\n";

/// The echo prompt, owned by ana, on production, once the gateway serves it.
async fn echo_on_production(w: &World) {
    let path = w.dir.path().join("echo.toml");
    std::fs::write(&path, PROMPT).unwrap();
    let prompt = seam_prompts::load_file(&path).unwrap();
    let content = serde_json::to_string(&prompt).unwrap();
    let store = seam_store::open(&w.url).await.unwrap();
    let release = seam_store::ReleaseRecord {
        id: seam_store::ReleaseRecord::id_of(&content),
        prompt: "echo".into(),
        content,
        author: "bo".into(),
        created_ms: 1,
    };
    seam_store::Releases::insert_release(&store, &release)
        .await
        .unwrap();
    seam_store::Releases::insert_deploy(
        &store,
        &seam_store::DeployRecord {
            id: "dep_1".into(),
            prompt: "echo".into(),
            channel: "production".into(),
            release_id: release.id.clone(),
            actor: "root".into(),
            kind: seam_vocab::DeployKind::Deploy,
            mode: seam_vocab::DeployMode::Drain,
            created_ms: 2,
        },
    )
    .await
    .unwrap();
    let probe = serde_json::json!({"model": "prompt:echo@production",
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
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the deploy was not picked up");
}

fn cases() -> Vec<String> {
    (0..3)
        .map(|i| {
            serde_json::json!({"id": format!("w{i}"), "variables": {"word": format!("w{i}")},
                "input": {"messages": [{"role": "user", "content": format!("it is w{i}")}]},
                "assert": [{"type": "contains", "value": format!("w{i}")}]})
            .to_string()
        })
        .collect()
}

impl World {
    async fn user(&self, root: &str, args: &[&str]) -> String {
        let mut all = vec!["users", "create"];
        all.extend_from_slice(args);
        all.push("--json");
        let out = self.seam_as(Some(root), &all).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["token"].as_str().unwrap().to_string()
    }

    async fn eval_run(&self, token: &str, target: &[&str]) -> Output {
        let mut args = vec!["eval", "run", "words"];
        args.extend_from_slice(target);
        args.extend_from_slice(&["--gateway", &self.gw, "--key", &self.key, "--json"]);
        self.seam_as(Some(token), &args).await
    }
}

fn ran(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["id"].as_str().unwrap().to_string()
}

fn refused(out: &Output, want: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should be refused: {err}");
    assert!(err.contains(want), "wanted {want:?} in: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_runs_and_gates_need_the_role_their_target_asks_for() {
    let w = World::start().await;
    w.dataset("words", &cases());
    echo_on_production(&w).await;
    let out = w.seam(&["users", "create", "root"]).await;
    let root = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let olga = w
        .user(&root, &["olga", "--role", "operator", "--tenant", "acme"])
        .await;
    let vic = w
        .user(&root, &["vic", "--role", "viewer", "--tenant", "acme"])
        .await;
    let ana = w.user(&root, &["ana"]).await;
    let route = ["--route", "chat"];
    let prompt = ["--prompt", "echo@production"];

    // A route run: an operator of a tenant, or an admin.
    refused(
        &w.eval_run(&vic, &route).await,
        "running evals against route `chat` needs role operator of a tenant, or admin; `vic` has viewer of acme",
    );
    refused(
        &w.eval_run(&ana, &route).await,
        "needs role operator of a tenant, or admin; `ana` has no role",
    );
    let olga_route = ran(&w.eval_run(&olga, &route).await);
    let root_route = ran(&w.eval_run(&root, &route).await);

    // A prompt run: an owner of the prompt, or an admin; an operator is not enough.
    refused(
        &w.eval_run(&olga, &prompt).await,
        "running evals against prompt `echo@production` needs an owner of `echo` (owners: ana) or role admin; `olga` is neither",
    );
    // Resuming a run needs what running it does.
    refused(
        &w.seam_as(
            Some(&vic),
            &[
                "eval",
                "run",
                "--resume",
                &olga_route,
                "--gateway",
                &w.gw,
                "--key",
                &w.key,
            ],
        )
        .await,
        "running evals against route `chat` needs role operator of a tenant",
    );
    let ana_prompt = ran(&w.eval_run(&ana, &prompt).await);
    let root_prompt = ran(&w.eval_run(&root, &prompt).await);

    // Nothing was stored by a refused run.
    let runs = w.seam_as(Some(&vic), &["eval", "runs", "--json"]).await;
    assert!(
        runs.status.success(),
        "{}",
        String::from_utf8_lossy(&runs.stderr)
    );
    let runs: Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 4, "{runs}");

    // A gate: what running each of its runs needs.
    let gate = |c: &str, b: &str| {
        ["eval", "gate", c, "--baseline", b, "--margin", "0.9"].map(str::to_string)
    };
    let args = gate(&olga_route, &root_route);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(
        &w.seam_as(Some(&vic), &args).await,
        &format!(
            "gating with eval run {olga_route} (route `chat`) needs role operator of a tenant, or admin; `vic` has viewer of acme"
        ),
    );
    let out = w.seam_as(Some(&olga), &args).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("candidate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let args = gate(&ana_prompt, &root_prompt);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(
        &w.seam_as(Some(&olga), &args).await,
        &format!(
            "gating with eval run {ana_prompt} (prompt `echo@production`) needs an owner of `echo` (owners: ana) or role admin; `olga` is neither"
        ),
    );
    let out = w.seam_as(Some(&ana), &args).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("candidate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A gate mixing a route run (olga may) and ana's prompt run (she may not) is refused.
    let args = gate(&olga_route, &ana_prompt);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(
        &w.seam_as(Some(&olga), &args).await,
        "needs an owner of `echo`",
    );

    // Reading: any user, a token needed once users exist.
    let nora = w.user(&root, &["nora"]).await;
    let out = w
        .seam_as(Some(&nora), &["eval", "show", &ana_prompt, "--json"])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    refused(
        &w.seam(&["eval", "runs"]).await,
        "this store has users: set SEAM_TOKEN",
    );
    refused(
        &w.seam(&[
            "eval",
            "run",
            "words",
            "--route",
            "chat",
            "--gateway",
            &w.gw,
            "--key",
            &w.key,
        ])
        .await,
        "this store has users: set SEAM_TOKEN",
    );
}
