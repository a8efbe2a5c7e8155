use seam_gateway::authenticate::mint_key;
use seam_sim::{Scenario, Sim};
use seam_store::{AttemptRecord, CallRecord, Keys, Records, SqlStore};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub const PROVIDER_SECRET: &str = "sk-provider-secret-do-not-leak";
/// What `server.metrics_token_env = "SEAM_TEST_METRICS_TOKEN"` reads.
pub const METRICS_TOKEN: &str = "metrics-token-test";
/// The admin token, for a config with `admin_token_env = "SEAM_ADMIN_TOKEN"`.
pub const ADMIN_TOKEN: &str = "seam-admin-test-token";

pub struct Harness {
    pub gw: String,
    pub sim: String,
    pub key: String,
    pub store: Arc<SqlStore>,
    pub client: reqwest::Client,
    running: Option<seam_gateway::Running>,
    /// The config as written to `dir/seam.toml` (its prompts directory is `dir/prompts`).
    pub config_path: std::path::PathBuf,
    config_text: String,
    reloadable: bool,
    _dir: tempfile::TempDir,
    sim_stop: Option<tokio::sync::oneshot::Sender<()>>,
}

pub struct Options<'a> {
    pub scenario: &'a str,
    /// Extra TOML appended to the config (more providers, routes, server keys).
    pub extra: &'a str,
    pub server: &'a str,
    pub provider_kind: &'a str,
    pub timeout_ms: u64,
    /// More keys of the `up` provider (max_event_bytes, ...).
    pub provider_extra: &'a str,
    /// The `chat` route's retry table; by default no retries, so errors map one to one.
    pub retry: &'a str,
    /// Reloads from `dir/seam.toml` on change (the provider then has no key: a reload reads
    /// the process environment).
    pub reloadable: bool,
    /// More keys of the `chat` route (stream_slo, rechunk).
    pub route_extra: &'a str,
    /// The store, instead of a fresh SQLite file (e.g. a PostgreSQL schema of the test's own).
    pub store_url: Option<&'a str>,
    /// More keys of `[store]` (queue_capacity, ...).
    pub store_extra: &'a str,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            scenario: "[model]\nserved = \"sim-large-2026-01\"\nfingerprint = \"fp_1\"\n",
            extra: "",
            server: "",
            provider_kind: "openai",
            timeout_ms: 5_000,
            provider_extra: "",
            retry: "{ max_attempts = 1 }",
            reloadable: false,
            route_extra: "",
            store_url: None,
            store_extra: "",
        }
    }
}

impl Harness {
    pub async fn start(opts: Options<'_>) -> Harness {
        let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim_addr = sim_listener.local_addr().unwrap();
        let scenario = Scenario::from_toml(opts.scenario).expect("scenario");
        let (sim_stop, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(seam_sim::server::serve(
            sim_listener,
            Sim::new(scenario),
            async {
                let _ = rx.await;
            },
        ));
        let dir = tempfile::tempdir().unwrap();
        let base = if opts.provider_kind == "anthropic" {
            format!("http://{sim_addr}")
        } else {
            format!("http://{sim_addr}/v1")
        };
        let text = format!(
            r#"
[server]
listen = "127.0.0.1:0"
{server}

[store]
url = "{db}"
flush_interval_ms = 5
{store_extra}

[[providers]]
name = "up"
kind = "{kind}"
base_url = "{base}"
{key}
timeout_ms = {timeout}
{provider_extra}

[[routes]]
name = "chat"
targets = [{{ provider = "up", model = "sim-large-2026-01" }}]
retry = {retry}
{route_extra}

[prices."sim-large-2026-01"]
input = 1.0
output = 4.0

{extra}
"#,
            server = opts.server,
            store_extra = opts.store_extra,
            db = match opts.store_url {
                Some(u) => u.to_string(),
                None => format!("sqlite://{}", dir.path().join("seam.db").display()),
            },
            kind = opts.provider_kind,
            timeout = opts.timeout_ms,
            provider_extra = opts.provider_extra,
            retry = opts.retry,
            route_extra = opts.route_extra,
            extra = opts.extra,
            key = if opts.reloadable {
                ""
            } else {
                "api_key_env = \"UP_KEY\""
            },
        );
        std::fs::create_dir_all(dir.path().join("prompts")).unwrap();
        let config_path = dir.path().join("seam.toml");
        std::fs::write(&config_path, &text).unwrap();
        let config = parse(&text, &config_path);
        let config = with_spool(config, &dir.path().join("spool"));
        let store = Arc::new(seam_store::open(&config.store.url).await.unwrap());
        let key = mint_key("acme", None, 1);
        store.insert_key(&key.record).await.unwrap();
        let running = start_gateway(config, store.clone()).await;
        if opts.reloadable {
            running.watch_config(config_path.clone());
        }
        Harness {
            gw: format!("http://{}", running.addr),
            sim: format!("http://{sim_addr}"),
            key: key.plain,
            store,
            client: http_client(),
            running: Some(running),
            config_path,
            config_text: text,
            reloadable: opts.reloadable,
            _dir: dir,
            sim_stop: Some(sim_stop),
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.gw))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .expect("gateway answers")
    }

    pub async fn chat(&self, body: Value) -> reqwest::Response {
        self.post("/v1/chat/completions", &body).await
    }

    pub async fn set_scenario(&self, toml: &str) {
        let r = self
            .client
            .put(format!("{}/_sim/scenario", self.sim))
            .body(toml.to_string())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    pub async fn sim_stats(&self) -> Value {
        self.client
            .get(format!("{}/_sim/stats", self.sim))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits (bounded) until the call's record is written, and returns it.
    pub async fn record(&self, call_id: &str) -> (CallRecord, Vec<AttemptRecord>) {
        for _ in 0..200 {
            if let Some(r) = self.store.get_call(call_id).await.unwrap() {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("call {call_id} was never recorded");
    }

    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.gw))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Stops the gateway and starts a new one on the same store and config (the sim stays).
    pub async fn restart(mut self) -> Harness {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        let config = parse(&self.config_text, &self.config_path);
        let config = with_spool(config, &self._dir.path().join("spool"));
        let running = start_gateway(config, self.store.clone()).await;
        self.gw = format!("http://{}", running.addr);
        self.running = Some(running);
        self
    }

    /// Another gateway on the same config, store and sim, as a second instance would be:
    /// its own connections to the store. Returns its base URL.
    pub async fn another_gateway(&self) -> (String, seam_gateway::Running) {
        let config = parse(&self.config_text, &self.config_path);
        static OTHERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        let n = OTHERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let config = with_spool(config, &self._dir.path().join(format!("spool-{n}")));
        let store = Arc::new(seam_store::open(&config.store.url).await.unwrap());
        let running = start_gateway(config, store).await;
        if self.reloadable {
            running.watch_config(self.config_path.clone());
        }
        (format!("http://{}", running.addr), running)
    }

    /// Reloads the config file and prompts directory now.
    pub async fn reload(
        &self,
        actor: &str,
    ) -> Result<seam_gateway::reload::Outcome, seam_gateway::reload::ReloadError> {
        match &self.running {
            Some(r) => r.reload(actor).await,
            None => panic!("the gateway is stopped"),
        }
    }

    /// Shuts the gateway down; the store (and the directory holding it) stay.
    pub async fn shutdown(self) -> (Arc<SqlStore>, tempfile::TempDir) {
        let (_, store, dir) = self.shutdown_reporting().await;
        (store, dir)
    }

    /// [`Harness::shutdown`], with what the gateway's shutdown said of its background tasks.
    pub async fn shutdown_reporting(
        mut self,
    ) -> (seam_gateway::Stopped, Arc<SqlStore>, tempfile::TempDir) {
        let mut stopped = seam_gateway::Stopped::default();
        if let Some(r) = self.running.take() {
            stopped = r.shutdown().await;
        }
        if let Some(s) = self.sim_stop.take() {
            let _ = s.send(());
        }
        (stopped, self.store.clone(), self._dir)
    }
}

/// Each gateway a records spool of its own in the test's directory (gateways of one test share
/// a config file, whose directory holds the default spool for PostgreSQL).
fn with_spool(mut config: seam_config::Config, dir: &std::path::Path) -> seam_config::Config {
    config.records.spool_dir = Some(dir.to_path_buf());
    config
}

fn parse(text: &str, path: &std::path::Path) -> seam_config::Config {
    let env = |name: &str| match name {
        "UP_KEY" => Some(PROVIDER_SECRET.to_string()),
        "SEAM_TEST_METRICS_TOKEN" => Some(METRICS_TOKEN.to_string()),
        "SEAM_ADMIN_TOKEN" => Some(ADMIN_TOKEN.to_string()),
        _ => None,
    };
    seam_config::parse(text, path, &env).expect("config")
}

async fn start_gateway(config: seam_config::Config, store: Arc<SqlStore>) -> seam_gateway::Running {
    let registry = seam_providers::Registry::from_config(&config.providers).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    seam_gateway::start(config, store, registry, listener)
        .await
        .unwrap()
}

pub fn call_id(r: &reqwest::Response) -> String {
    r.headers()
        .get("x-seam-call-id")
        .expect("x-seam-call-id")
        .to_str()
        .unwrap()
        .to_string()
}

/// The tests' client of the gateway and the sim: no proxy discovery, no redirects.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

pub fn hello() -> Value {
    serde_json::json!([{"role": "user", "content": "hello there gateway"}])
}

/// Splits an SSE body into its `data:` payloads.
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|e| e.trim().strip_prefix("data: "))
        .map(str::to_string)
        .collect()
}

/// A PostgreSQL schema of this test's own (dropped at the start of the next run of the same
/// test); fails, never skips, when PostgreSQL is unreachable.
pub async fn postgres_schema(name: &str) -> String {
    use sqlx::Executor;
    let base = std::env::var("SEAM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("seam_gw_{name}_{}", std::process::id());
    let admin = seam_store::SqlStore::connect(&base).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {base} is unreachable ({e}); start it (scripts/services) or set SEAM_TEST_POSTGRES")
    });
    admin
        .pool()
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        )))
        .await
        .expect("create schema");
    admin.pool().close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// The value of one series (`name{labels}` exactly as /metrics prints it), if it is there.
pub fn series(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

/// What the gateway logs on this thread, as `seam serve` formats it (without colours).
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures until the guard is dropped: a `#[tokio::test]` runtime runs the gateway's
    /// tasks on the test's thread.
    pub fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
