//! A gated deploy through the binary: two releases on two channels of a real gateway, the
//! same dataset run against each (`--prompt NAME@CHANNEL`), and `seam deploy` refused until
//! `seam eval gate` has a passing decision of the candidate against the release served now.

use seam_store::{Keys, Releases};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

const ECHO: &str = "[model]\nserved = \"sim-large-2026-01\"\n";

struct World {
    dir: tempfile::TempDir,
    url: String,
    config: PathBuf,
    gw: String,
    key: String,
    client: reqwest::Client,
    _running: seam_gateway::Running,
}

impl World {
    async fn start() -> World {
        let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim_addr = sim_listener.local_addr().unwrap();
        let scenario = seam_sim::Scenario::from_toml(ECHO).unwrap();
        tokio::spawn(seam_sim::server::serve(
            sim_listener,
            seam_sim::Sim::new(scenario),
            std::future::pending::<()>(),
        ));
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("seam.db").display());
        let text = format!(
            r#"
[server]
listen = "127.0.0.1:0"

[store]
url = "{url}"
flush_interval_ms = 5

[records]
spool_dir = "{spool}"

[evals]
dir = "evals"

[[providers]]
name = "up"
kind = "openai"
base_url = "http://{sim_addr}/v1"

[[routes]]
name = "chat"
targets = [{{ provider = "up", model = "sim-large-2026-01" }}]
retry = {{ max_attempts = 1 }}

[prices."sim-large-2026-01"]
input = 1.0
output = 4.0
"#,
            spool = dir.path().join("spool").display()
        );
        let config = dir.path().join("seam.toml");
        std::fs::write(&config, &text).unwrap();
        std::fs::create_dir_all(dir.path().join("evals")).unwrap();
        let parsed = seam_config::parse(&text, &config, &|_| None).expect("config");
        let store = Arc::new(seam_store::open(&url).await.unwrap());
        let key = seam_gateway::authenticate::mint_key("acme", None, 1);
        store.insert_key(&key.record).await.unwrap();
        let registry = seam_providers::Registry::from_config(&parsed.providers).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = seam_gateway::start(parsed, store, registry, listener)
            .await
            .unwrap();
        World {
            gw: format!("http://{}", running.addr),
            key: key.plain,
            client: seam_gateway::outbound::http_client(std::time::Duration::from_secs(2)).unwrap(),
            _running: running,
            dir,
            url,
            config,
        }
    }

    fn dataset(&self, name: &str, lines: &[String]) {
        std::fs::write(
            self.dir.path().join("evals").join(format!("{name}.jsonl")),
            lines.join("\n") + "\n",
        )
        .unwrap();
    }

    /// `seam ARGS` with the config and store, off the runtime's threads (the gateway the
    /// command calls runs on them).
    async fn seam(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seam"));
        cmd.args(args)
            .args([
                "--config",
                self.config.to_str().unwrap(),
                "--store",
                &self.url,
            ])
            .env_remove("SEAM_TOKEN")
            .env_remove("SEAM_STORE")
            .env_remove("SEAM_KEY")
            .current_dir(self.dir.path());
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    async fn ok_json(&self, args: &[&str]) -> Value {
        let out = self.seam(args).await;
        assert!(
            out.status.success(),
            "seam {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }
}

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
    let prompt = seam_prompts::load_file(&path).unwrap();
    let content = serde_json::to_string(&prompt).unwrap();
    let release = seam_store::ReleaseRecord {
        id: seam_store::ReleaseRecord::id_of(&content),
        prompt: "echo".into(),
        content,
        author: "bo".into(),
        created_ms: 1,
    };
    store.insert_release(&release).await.unwrap();
    store
        .insert_approval(&seam_store::ApprovalRecord {
            release_id: release.id.clone(),
            approver: "ana".into(),
            created_ms: 2,
        })
        .await
        .unwrap();
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
        err.contains("seam eval run words --prompt echo@production"),
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
