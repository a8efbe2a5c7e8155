//! Canaries (docs/canaries.md): golden traces, files in `[canaries] dir`, replayed against
//! what is deployed now, with a dated record of every verdict. `record` makes a golden of a
//! captured call or trace, `run` replays, `history` and `seam canaries` read the record.

pub mod golden;
mod record;
mod replay;
pub mod run;
pub mod schedule;

pub use record::RecordArgs;
pub use run::RunArgs;

use crate::cli::StoreArgs;
use crate::format::{clean, table, timestamp};
use seam_store::Canaries;
use serde_json::{Value, json};

/// `seam canary`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum CanaryCommand {
    /// Make a golden of a captured call, or of every chat call of a trace in order: its
    /// inputs, the recorded answers and tool calls, and default assertions derived from them,
    /// written to `[canaries] dir/NAME.jsonl` for review.
    Record(RecordArgs),
    /// Replay goldens (one, or all of `[canaries] dir`) against what their channel or route
    /// serves now, `repeat` times each: pass, flaky or fail, with what changed.
    Run(RunArgs),
    /// Every stored run of a golden, newest first.
    History {
        name: String,
        /// How many runs (default 50).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Output as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) async fn dispatch(store: &StoreArgs, command: CanaryCommand) -> anyhow::Result<()> {
    match command {
        CanaryCommand::Record(args) => record::record(store, args).await,
        CanaryCommand::Run(args) => run::run(store, args).await,
        CanaryCommand::History { name, limit, json } => history(store, &name, limit, json).await,
    }
}

/// `seam canary record ID --name NAME --force`, as `seam demo` records its golden.
pub(crate) async fn record_golden(store: &StoreArgs, id: &str, name: &str) -> anyhow::Result<()> {
    record::record(
        store,
        RecordArgs {
            id: id.to_string(),
            name: name.to_string(),
            force: true,
            json: false,
        },
    )
    .await
}

/// The config the canary commands read: `[canaries]` (its dir, repeat, routes) and the prices.
pub(crate) fn config(store_args: &StoreArgs) -> anyhow::Result<seam_config::Config> {
    seam_config::load_lenient(&store_args.config).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `seam canaries`: every golden with its last verdict, when it last passed and against what,
/// and how old its recording is.
pub async fn list(store_args: &StoreArgs, as_json: bool) -> anyhow::Result<()> {
    let config = config(store_args)?;
    let goldens = golden::load_dir(&config.canaries.dir)?;
    let (store, _who) = crate::actor::open_as(store_args).await?;
    let last = store.last_canary_runs().await?;
    let now = seam_store::now_ms();
    let mut docs = Vec::new();
    let mut rows = Vec::new();
    for g in &goldens {
        let g = match g {
            Ok(g) => g,
            Err(e) => {
                docs.push(json!({"error": e}));
                rows.push(vec![
                    "-".into(),
                    "unreadable".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    clean(e).chars().take(80).collect(),
                ]);
                continue;
            }
        };
        let run = last.iter().find(|r| r.golden == g.name);
        let passed = store.last_canary_pass(&g.name).await?;
        let age_days = g
            .recorded_ms()
            .map(|ms| (now - ms).max(0) as f64 / 86_400_000.0);
        docs.push(json!({
            "golden": g.name,
            "turns": g.turns.len(),
            "recorded": g.recorded_ms().map(timestamp),
            "age_days": age_days,
            "last_verdict": run.map(|r| r.verdict.as_str()),
            "last_run": run.map(|r| timestamp(r.started_ms)),
            "last_pass": passed.as_ref().map(|p| json!({
                "time": timestamp(p.started_ms), "release": p.release_id, "served_model": p.served_model,
            })),
        }));
        rows.push(vec![
            g.name.clone(),
            run.map_or("never run".into(), |r| {
                format!("{} {}", r.verdict.as_str(), timestamp(r.started_ms))
            }),
            passed.as_ref().map_or("never".into(), |p| {
                format!(
                    "{} {} {}",
                    timestamp(p.started_ms),
                    p.release_id.as_deref().unwrap_or("-"),
                    p.served_model.as_deref().unwrap_or("-")
                )
            }),
            g.recorded_ms().map_or("-".into(), timestamp),
            age_days.map_or("-".into(), |d| format!("{d:.1}d")),
            format!("{} turn(s)", g.turns.len()),
        ]);
    }
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"dir": config.canaries.dir, "goldens": docs}))?
        );
    } else if rows.is_empty() {
        println!(
            "no goldens in {} (`seam canary record CALL_ID --name NAME` makes one)",
            config.canaries.dir.display()
        );
    } else {
        print!(
            "{}",
            table(
                &["GOLDEN", "LAST", "LAST PASS", "RECORDED", "AGE", "TURNS"],
                &rows
            )
        );
    }
    Ok(())
}

async fn history(
    store_args: &StoreArgs,
    name: &str,
    limit: usize,
    as_json: bool,
) -> anyhow::Result<()> {
    golden::check_name(name)?;
    let (store, _who) = crate::actor::open_as(store_args).await?;
    let runs = store.canary_runs(Some(name), limit).await?;
    if as_json {
        let docs: Vec<Value> = runs.iter().map(run::run_json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"golden": name, "runs": docs}))?
        );
        return Ok(());
    }
    if runs.is_empty() {
        println!("golden `{name}` has no runs yet (`seam canary run {name}`)");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let detail: Value = serde_json::from_str(&r.detail).unwrap_or(Value::Null);
            vec![
                timestamp(r.started_ms),
                r.verdict.as_str().to_string(),
                r.trigger.as_str().to_string(),
                r.release_id.clone().unwrap_or_else(|| "-".into()),
                r.served_model.clone().unwrap_or_else(|| "-".into()),
                clean(detail["since"]["summary"].as_str().unwrap_or("-")).into_owned(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "STARTED",
                "VERDICT",
                "TRIGGER",
                "RELEASE",
                "MODEL",
                "SINCE THE RECORDING"
            ],
            &rows
        )
    );
    Ok(())
}
