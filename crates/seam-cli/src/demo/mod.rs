//! `seam demo`: the main job on the embedded default. A sim and a gateway on a fresh SQLite
//! file, a short scripted mix of traffic, then what Seam recorded of it.

mod canary;
mod contamination;
mod coverage;
mod evals;
mod forecast;
mod install_hint;
mod lint;
mod retries;
mod sessions;
mod streams;

use crate::calls::calls_table;
use anyhow::Context;
use seam_gateway::authenticate::mint_key;
use seam_sim::{Scenario, Sim};
use seam_store::{Audit, CallQuery, Evals, Events, Keys, Records, Releases, Sessions, Users};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const BASE_SCENARIO: &str = r#"
[latency]
fixed_ms = 2
[model]
fingerprint = "fp_demo_1"
[stream]
tokens_per_chunk = 2
interval_ms = 5
"#;

fn config_text(sim: &str, listen: &str, db: &Path) -> String {
    format!(
        r#"# Written by `seam demo`. Run `seam calls --config THIS_FILE` to read its records.
[server]
listen = "{listen}"

[store]
url = "sqlite://{db}"

[[providers]]
name = "sim"
kind = "sim"
base_url = "http://{sim}/v1"

[[routes]]
name = "chat"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
retry = {{ max_attempts = 3, backoff_base_ms = 5, backoff_max_ms = 20 }}
# What was asked and answered, kept: the canary story records a conversation as a golden.
capture = {{ mode = "full" }}

[[routes]]
name = "agent"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
retry = {{ max_attempts = 3, backoff_base_ms = 5, backoff_max_ms = 20 }}
trace_limits = {{ max_calls = 8 }}

[[routes]]
name = "story"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
stream_slo = {{ gap_p95_ms = 150.0, chars_per_chunk_p50 = 8.0, max_stall_ms = 1000.0 }}

[[routes]]
name = "story-smooth"
targets = [{{ provider = "sim", model = "sim-large-2026-01" }}]
stream_slo = {{ gap_p95_ms = 150.0, chars_per_chunk_p50 = 8.0, max_stall_ms = 1000.0 }}
rechunk = {{ boundary = "word", min_chars = 16, max_hold_ms = 80 }}

[streams]
drift_window_streams = 10

[[routes]]
name = "embed"
targets = [{{ provider = "sim", model = "sim-embed-1" }}]

[prices."sim-large-2026-01"]
input = 1.0
output = 4.0

[prices."sim-embed-1"]
input = 0.1
output = 0.0

[divergence]
min_calls = 20
{calendar}"#,
        db = db.display(),
        calendar = forecast::CALENDAR,
    )
}

pub async fn run(exit: bool, port: u16) -> anyhow::Result<()> {
    // Warnings (such as the divergence event) are printed by the script itself.
    crate::init_logging("error");
    let dir = std::env::temp_dir().join(format!("seam-demo-{}", seam_store::now_ms()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let db = dir.join("seam.db");

    // The simulated upstream, over real HTTP on loopback.
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim_addr = sim_listener.local_addr()?;
    let scenario = Scenario::from_toml(BASE_SCENARIO).map_err(anyhow::Error::msg)?;
    let (sim_stop, sim_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sim_task = tokio::spawn(seam_sim::server::serve(
        sim_listener,
        Sim::new(scenario),
        async {
            let _ = sim_stop_rx.await;
        },
    ));

    let gw_listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("port {port} is busy ({e}); using a free port instead");
            tokio::net::TcpListener::bind("127.0.0.1:0").await?
        }
    };
    let gw_addr = gw_listener.local_addr()?;
    let config_path = dir.join("seam.toml");
    std::fs::write(
        &config_path,
        config_text(&sim_addr.to_string(), &gw_addr.to_string(), &db),
    )?;
    let config = seam_config::load(&config_path, &seam_config::process_env)?;
    let store = Arc::new(seam_store::open(&config.store.url).await?);
    let key = mint_key("demo", Some("seam demo".into()), seam_store::now_ms());
    store.insert_key(&key.record).await?;
    let registry =
        seam_providers::Registry::from_config(&config.providers).map_err(anyhow::Error::msg)?;
    let running = seam_gateway::start(config, store.clone(), registry, gw_listener).await?;

    println!("Seam demo");
    println!("  sim (simulated upstream)  http://{sim_addr}");
    println!("  gateway                   http://{gw_addr}/v1");
    println!("  store                     {}\n", db.display());

    let client =
        seam_gateway::outbound::http_client(Duration::from_secs(2)).map_err(anyhow::Error::msg)?;
    let script = Script {
        client: &client,
        base: format!("http://{gw_addr}/v1"),
        sim: format!("http://{sim_addr}"),
        key: &key.plain,
    };
    script.play().await?;

    // The writer flushes every 100 ms; give it a moment, then read back what it wrote.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let calls = store
        .list_calls(&CallQuery {
            since_ms: 0,
            tenant: None,
            limit: 100,
            ..Default::default()
        })
        .await?;
    println!(
        "\nWhat Seam recorded ({} calls; `*` = tokens estimated):\n",
        calls.len()
    );
    println!("{}", calls_table(&calls));
    let attempts: i64 = calls.iter().map(|c| c.attempts).sum();
    let (tin, tout): (i64, i64) = calls.iter().fold((0, 0), |(i, o), c| {
        (i + c.input_tokens, o + c.output_tokens)
    });
    let cost: f64 = calls.iter().map(|c| c.cost_usd).sum();
    println!(
        "\n{} calls, {} upstream attempts, {} input + {} output tokens, ${:.6}",
        calls.len(),
        attempts,
        tin,
        tout,
        cost
    );
    retries::degradation(&script, store.as_ref()).await?;
    retries::agent_loop(&script, store.as_ref()).await?;
    let recorded = frozen_prompt(&script, store.as_ref(), &dir).await?;
    sessions::hot_reload(&script, store.as_ref(), &dir).await?;
    streams::chunk_shape(&script, store.as_ref()).await?;
    evals::gate(&script, store.as_ref(), &dir, &config_path).await?;
    contamination::guard(&script, store.as_ref(), &dir, &config_path).await?;
    canary::replay(&script, store.clone(), &config_path, recorded).await?;
    forecast::holiday_trough(store.as_ref(), &config_path).await?;
    coverage::uncovered(store.as_ref(), &dir, &config_path).await?;
    lint::fine_tuning_data(&dir)?;
    // A user to read it all as: the dashboard signs in people, not keys. The store has a
    // user from here on, so its CLI commands need the token too.
    let token = format!(
        "{}{}",
        crate::users::TOKEN_PREFIX,
        crate::users::hex_token()
    );
    seam_control::users::create(
        store.as_ref(),
        &seam_control::Actor::admin("bootstrap"),
        "demo",
        seam_gateway::authenticate::hash_key(&token),
        true,
        &[],
    )
    .await?;
    println!(
        "\nRead it all in the dashboard, http://{gw_addr}/ui/ while the demo serves, signed in as `demo` (an admin) with the token {token}; the CLI takes the same token as SEAM_TOKEN."
    );
    if let Some(c) = calls
        .iter()
        .find(|c| c.outcome == seam_vocab::Outcome::Error && c.stream)
    {
        println!(
            "See one call and its attempts: SEAM_TOKEN={token} seam calls show {} --config {}",
            c.id,
            config_path.display()
        );
    }
    let exe = std::env::current_exe().ok();
    if let Some(h) = install_hint::hint(exe.as_deref(), std::env::var_os("PATH").as_deref()) {
        println!("{h}");
    }

    if exit {
        running.shutdown().await;
        let _ = sim_stop.send(());
        let _ = sim_task.await;
        return Ok(());
    }
    println!(
        r#"
Seam keeps serving. Point the OpenAI SDK at it:

    from openai import OpenAI
    client = OpenAI(base_url="http://{gw_addr}/v1", api_key="{key}")
    print(client.chat.completions.create(model="chat", messages=[{{"role": "user", "content": "hi"}}]))

Then: SEAM_TOKEN={token} seam calls --config {config}
Ctrl-C stops the demo."#,
        key = key.plain,
        config = config_path.display()
    );
    running.run_until(crate::shutdown_signal()).await;
    let _ = sim_stop.send(());
    let _ = sim_task.await;
    Ok(())
}

struct Script<'a> {
    client: &'a reqwest::Client,
    base: String,
    sim: String,
    key: &'a str,
}

impl Script<'_> {
    async fn play(&self) -> anyhow::Result<()> {
        let hello =
            json!([{"role": "user", "content": "What does a gateway record for each call?"}]);
        self.step("chat", json!({"model": "chat", "messages": hello}), None)
            .await?;
        self.step(
            "chat, streamed, with usage",
            json!({"model": "chat", "messages": hello, "stream": true, "stream_options": {"include_usage": true}}),
            None,
        )
        .await?;
        self.step(
            "chat, streamed",
            json!({"model": "chat", "messages": hello, "stream": true}),
            None,
        )
        .await?;
        self.step(
            "embeddings",
            json!({"model": "embed", "input": ["billing question", "refund policy"]}),
            None,
        )
        .await?;
        self.set_scenario(&format!(
            "{BASE_SCENARIO}\n[content]\nmode = \"tool_call\"\ntool = {{ name = \"lookup_invoice\", arguments = {{ id = \"inv_42\" }} }}\n"
        ))
        .await?;
        let tools = json!([{"type": "function", "function": {"name": "lookup_invoice", "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}]);
        self.step(
            "chat with a tool call",
            json!({"model": "chat", "messages": hello, "tools": tools}),
            None,
        )
        .await?;
        self.set_scenario(&format!(
            "{BASE_SCENARIO}\n[[errors]]\nkind = \"status\"\nstatus = 429\nretry_after_secs = 1\nfirst = 1\n"
        ))
        .await?;
        self.step(
            "upstream 429 once: Retry-After waited out",
            json!({"model": "chat", "messages": hello}),
            None,
        )
        .await?;
        self.set_scenario(&format!(
            "{BASE_SCENARIO}\n[[errors]]\nkind = \"cut\"\nafter_chunks = 4\nfirst = 1\n"
        ))
        .await?;
        self.step(
            "stream cut mid-way by the upstream",
            json!({"model": "chat", "messages": hello, "stream": true}),
            None,
        )
        .await?;
        self.set_scenario(BASE_SCENARIO).await?;
        self.step(
            "unknown model",
            json!({"model": "gpt-nope", "messages": hello}),
            None,
        )
        .await?;
        self.step(
            "wrong key (not recorded: no tenant)",
            json!({"model": "chat", "messages": hello}),
            Some("sk-seam-wrong"),
        )
        .await?;
        Ok(())
    }

    /// Calls to the deployed prompt, `n` of them.
    async fn prompt_calls(&self, n: usize) -> anyhow::Result<usize> {
        let mut ok = 0;
        for _ in 0..n {
            let r = self
                .client
                .post(format!("{}/chat/completions", self.base))
                .bearer_auth(self.key)
                .json(&json!({
                    "model": "prompt:support-bot",
                    "messages": [{"role": "user", "content": "Can I get a refund?"}],
                    "seam_variables": {"customer": "Acme"},
                }))
                .send()
                .await?;
            ok += usize::from(r.status().is_success());
        }
        Ok(ok)
    }

    /// A runaway agent: one user request keeps calling the model under one trace.
    async fn agent(&self, trace: &str, max: usize) -> anyhow::Result<(usize, Option<String>)> {
        self.set_scenario(&format!(
            "{BASE_SCENARIO}\n[[errors]]\nkind = \"status\"\nstatus = 503\npattern = \"x..\"\n"
        ))
        .await?;
        let mut made = 0;
        let mut refusal = None;
        for step in 0..max {
            let r = self
                .client
                .post(format!("{}/chat/completions", self.base))
                .bearer_auth(self.key)
                .header("x-seam-trace", trace)
                .json(&json!({"model": "agent", "messages": [{"role": "user", "content": format!("plan step {step}")}]}))
                .send()
                .await?;
            made += 1;
            if r.status().as_u16() == 429 {
                let body: Value = r.json().await.unwrap_or_default();
                refusal = body
                    .pointer("/error/code")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                break;
            }
        }
        self.set_scenario(BASE_SCENARIO).await?;
        Ok((made, refusal))
    }

    /// The provider starts failing 40% of first attempts; retries hide it from clients.
    async fn degrade(&self, calls: usize) -> anyhow::Result<(usize, usize)> {
        self.set_scenario(&format!(
            "{BASE_SCENARIO}\n[[errors]]\nkind = \"status\"\nstatus = 503\npattern = \"x..x...\"\n"
        ))
        .await?;
        let hello = json!([{"role": "user", "content": "Is my refund on its way?"}]);
        let mut ok = 0;
        for _ in 0..calls {
            let r = self
                .client
                .post(format!("{}/chat/completions", self.base))
                .bearer_auth(self.key)
                .json(&json!({"model": "chat", "messages": hello}))
                .send()
                .await?;
            ok += usize::from(r.status().is_success());
        }
        self.set_scenario(BASE_SCENARIO).await?;
        Ok((ok, calls))
    }

    async fn step(&self, label: &str, body: Value, key: Option<&str>) -> anyhow::Result<()> {
        let path = if body.get("input").is_some() {
            "embeddings"
        } else {
            "chat/completions"
        };
        let resp = self
            .client
            .post(format!("{}/{path}", self.base))
            .bearer_auth(key.unwrap_or(self.key))
            .json(&body)
            .send()
            .await
            .with_context(|| format!("{label}: the gateway did not answer"))?;
        let status = resp.status().as_u16();
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string()
        };
        let call = header("x-seam-call-id");
        let attempts = header("x-seam-attempts");
        let text = resp.text().await.unwrap_or_default();
        let summary = summarize(&text);
        println!("  {label:<42} {status}  attempts {attempts}  {call}  {summary}");
        Ok(())
    }

    async fn set_scenario(&self, toml: &str) -> anyhow::Result<()> {
        let r = self
            .client
            .put(format!("{}/_sim/scenario", self.sim))
            .body(toml.to_string())
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "the sim refused a scenario: {}",
            r.text().await.unwrap_or_default()
        );
        Ok(())
    }
}

/// One short line about a response body: the reply text, the SSE event count, or the error.
fn summarize(text: &str) -> String {
    if text.starts_with("data: ") {
        let events = text.matches("data: ").count();
        let err = text.contains("\"error\"");
        return format!(
            "{events} SSE events{}",
            if err {
                ", ended with an error event"
            } else {
                ""
            }
        );
    }
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if let Some(m) = v.pointer("/error/message").and_then(Value::as_str) {
        return format!("error: {}", m.chars().take(70).collect::<String>());
    }
    if let Some(c) = v
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
    {
        return format!("\"{}\"", c.chars().take(50).collect::<String>());
    }
    if let Some(t) = v.pointer("/choices/0/message/tool_calls/0/function") {
        return format!(
            "tool call {}({})",
            t["name"].as_str().unwrap_or(""),
            t["arguments"].as_str().unwrap_or("")
        );
    }
    if let Some(d) = v.get("data").and_then(Value::as_array) {
        return format!("{} embeddings", d.len());
    }
    String::new()
}

/// The base scenario after the provider rolled its alias to a new snapshot.
const ALIAS_MOVED: &str = r#"
[latency]
fixed_ms = 2
[model]
served = "sim-large-2026-02"
fingerprint = "fp_demo_2"
[stream]
tokens_per_chunk = 2
interval_ms = 5
"#;

/// The example prompt from examples/prompts: pinned to sim-large-2026-01, alerts on change.
const DEMO_PROMPT: &str = include_str!("../../../../examples/prompts/support-bot.toml");

/// Writes `text` as the prompt file, releases it as ana, has `approver` approve it and
/// `deployer` deploy it (drain), and waits the second the gateway takes to see a deploy.
/// (A prompt's first release is approved and put on production by an admin; after that its
/// owners, ana and ben, ship it.)
async fn ship(
    store: &(impl Users + Audit + Releases + Sessions + Events + Evals + ?Sized),
    dir: &Path,
    text: &str,
    approver: &seam_control::Actor,
    deployer: &seam_control::Actor,
) -> anyhow::Result<seam_store::ReleaseRecord> {
    let prompts = dir.join("prompts");
    std::fs::create_dir_all(&prompts)?;
    let path = prompts.join("support-bot.toml");
    std::fs::write(&path, text)?;
    let prompt = seam_prompts::load_file(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (release, _) = seam_control::create_release(store, "ana", &prompt).await?;
    seam_control::approve(store, approver, &release.id).await?;
    seam_control::deploy(
        store,
        deployer,
        "support-bot@production",
        &release.id,
        seam_control::DeployMode::Drain,
        &[seam_control::owners::PRODUCTION.to_string()],
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    Ok(release)
}

/// The seed's story: a prompt frozen and approved weeks ago, then the provider moves the
/// model under it; the timeline shows a change no person made.
async fn frozen_prompt(
    script: &Script<'_>,
    store: &(impl Users + Audit + Releases + Sessions + Events + Evals + ?Sized),
    dir: &Path,
) -> anyhow::Result<i64> {
    println!(
        "\nFrozen prompt: ana releases support-bot (pinned to sim-large-2026-01); an admin approves and deploys its first release."
    );
    let admin = seam_control::Actor::admin("admin");
    let release = ship(store, dir, DEMO_PROMPT, &admin, &admin).await?;
    let before = script.prompt_calls(3).await?;
    let recorded = canary::record(script, &dir.join("seam.toml")).await?;
    println!(
        "  {before} calls to prompt:support-bot answered by release {}",
        release.id
    );
    println!(
        "  the provider now rolls its alias forward: sim-large-2026-01 is served as sim-large-2026-02"
    );
    script.set_scenario(ALIAS_MOVED).await?;
    let after = script.prompt_calls(3).await?;
    script.set_scenario(BASE_SCENARIO).await?;
    println!("  {after} more calls answered; nobody deployed anything");
    tokio::time::sleep(Duration::from_millis(400)).await;
    println!("  seam changes:");
    for e in store.list_events(0, 100).await?.iter().filter(|e| {
        use seam_vocab::EventKind as K;
        matches!(
            e.kind,
            K::ReleaseCreate
                | K::ReleaseApprove
                | K::ReleaseDeploy
                | K::ReleaseRollback
                | K::ReleaseModelMismatch
                | K::ServedModelChanged
        )
    }) {
        let actor = serde_json::from_str::<Value>(&e.details)
            .ok()
            .and_then(|d| d.get("actor").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        println!("    {:<24} {:<9} {}", e.kind, actor, e.message);
    }
    Ok(recorded)
}
