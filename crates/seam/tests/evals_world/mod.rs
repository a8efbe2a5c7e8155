//! The world the `seam eval` tests run in: the sim (echoing the last user message) on
//! loopback, a gateway in front of it on a SQLite store, `[evals] dir`, and the binary run
//! against them. Shared by the eval_*.rs tests.

#![allow(dead_code)]

use seam_store::Keys;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

pub const ECHO: &str = "[model]\nserved = \"sim-large-2026-01\"\n";

pub struct World {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub config: PathBuf,
    pub gw: String,
    pub sim: String,
    pub key: String,
    pub client: reqwest::Client,
    _running: seam_gateway::Running,
}

impl World {
    pub async fn start() -> World {
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
            sim: format!("http://{sim_addr}"),
            key: key.plain,
            client: seam_gateway::outbound::http_client(std::time::Duration::from_secs(2)).unwrap(),
            _running: running,
            dir,
            url,
            config,
        }
    }

    pub fn dataset(&self, name: &str, lines: &[String]) {
        std::fs::write(
            self.dir.path().join("evals").join(format!("{name}.jsonl")),
            lines.join("\n") + "\n",
        )
        .unwrap();
    }

    pub async fn scenario(&self, toml: &str) {
        let r = self
            .client
            .put(format!("{}/_sim/scenario", self.sim))
            .body(toml.to_string())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// `seam ARGS` with the config and store, off the runtime's threads (the gateway the
    /// command calls runs on them).
    pub async fn seam(&self, args: &[&str]) -> Output {
        self.seam_as(None, args).await
    }

    /// [`World::seam`] as the user `token` belongs to (None: no SEAM_TOKEN).
    pub async fn seam_as(&self, token: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seam"));
        if let Some(t) = token {
            cmd.env("SEAM_TOKEN", t);
        }
        cmd.args(args)
            .args([
                "--config",
                self.config.to_str().unwrap(),
                "--store",
                &self.url,
            ])
            .env_remove("SEAM_STORE")
            .env_remove("SEAM_KEY")
            .env_remove("SEAM_LOG")
            .current_dir(self.dir.path());
        if token.is_none() {
            cmd.env_remove("SEAM_TOKEN");
        }
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    pub async fn ok_json(&self, args: &[&str]) -> Value {
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

/// Every answer says alpha: the cases that expect beta fail.
pub const ALPHA: &str = "[model]\nserved = \"sim-large-2026-01\"\n[content]\nmode = \"fixed\"\ntext = \"it is alpha\"\n";

impl World {
    /// `seam eval run --resume ID`, which must succeed.
    pub async fn resume(&self, id: &str) -> Value {
        self.ok_json(&[
            "eval",
            "run",
            "--resume",
            id,
            "--gateway",
            &self.gw,
            "--key",
            &self.key,
            "--json",
        ])
        .await
    }

    pub async fn run(&self, dataset: &str, more: &[&str]) -> Value {
        let mut args = vec![
            "eval",
            "run",
            dataset,
            "--route",
            "chat",
            "--gateway",
            &self.gw,
            "--key",
            &self.key,
            "--json",
        ];
        args.extend_from_slice(more);
        self.ok_json(&args).await
    }
}

/// 11 cases that say alpha and 9 that say beta, each asserting its own word (and its id).
pub fn words() -> Vec<String> {
    (0..20)
        .map(|i| {
            let word = if i < 11 { "alpha" } else { "beta" };
            serde_json::json!({
                "id": format!("{word}-{i:02}"),
                "input": {"messages": [{"role": "user", "content": format!("it is {word}")}]},
                "assert": [
                    {"type": "icontains", "value": word},
                    {"type": "not-contains", "value": "gamma"},
                ],
            })
            .to_string()
        })
        .collect()
}

pub fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The prompt file at `path` (prompt `echo`) stored as a release by bo and approved by ana.
pub async fn approved_release(
    store: &seam_store::SqlStore,
    path: &std::path::Path,
) -> seam_store::ReleaseRecord {
    use seam_store::Releases;
    let prompt = seam_prompts::load_file(path).unwrap();
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
    release
}

impl World {
    /// `seam eval run DATASET --route chat --concurrency 1 EXTRA...` started in the background
    /// (its output piped), returned once its run has `results` results stored, with the store.
    pub async fn interruptible(
        &self,
        dataset: &str,
        extra: &[&str],
        results: usize,
    ) -> (
        std::process::Child,
        seam_store::SqlStore,
        seam_store::EvalRunRecord,
    ) {
        use seam_store::Evals;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seam"));
        cmd.args([
            "eval",
            "run",
            dataset,
            "--route",
            "chat",
            "--key",
            &self.key,
            "--concurrency",
            "1",
            "--config",
            self.config.to_str().unwrap(),
            "--store",
            &self.url,
        ])
        .args(extra)
        .env_remove("SEAM_TOKEN")
        .env_remove("SEAM_STORE")
        .env_remove("SEAM_LOG")
        .current_dir(self.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let store = seam_store::open(&self.url).await.unwrap();
        for _ in 0..1_000 {
            if let Some(r) = store.list_eval_runs().await.unwrap().first() {
                let (r, stored) = store.get_eval_run(&r.id).await.unwrap().unwrap();
                if stored.len() == results {
                    return (child, store, r);
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("no run with {results} results stored");
    }
}
