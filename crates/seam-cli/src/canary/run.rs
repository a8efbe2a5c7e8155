//! `seam canary run [NAME]`: each golden replayed `repeat` times against what its channel or
//! route serves now, a verdict (pass, flaky, fail; error when it could not be replayed), a
//! failing golden replayed once more before it is reported, what changed against the
//! recording, and what the change timeline says changed since. Each result is stored (the
//! dated record `seam canaries` reads); a golden that starts failing, or passes again, puts
//! `canary_failed` or `canary_recovered` on the timeline.

use super::golden::{self, Golden};
use super::replay::{Replay, Replayer};
use crate::cli::StoreArgs;
use crate::eval::client::Gateway;
use crate::eval::inproc::Through;
use crate::format::{clean, timestamp};
use seam_evals::canary::{Diff, Verdict, diff, verdict};
use seam_evals::{Grader, Outcome};
use seam_notify::Notifier;
use seam_store::{Canaries, CanaryRunRecord, EventRecord, Events};
use seam_vocab::{CanaryTrigger, CanaryVerdict, EventKind};
use serde_json::{Value, json};

/// How long the command waits for its webhook deliveries before it exits.
const NOTIFY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The golden to replay; all of `[canaries] dir` without it.
    pub name: Option<String>,
    /// Replays per golden (default `[canaries] repeat`, 3).
    #[arg(long)]
    pub repeat: Option<u32>,
    /// The gateway to replay through; without it, one started in this process on the same
    /// config and store.
    #[arg(long)]
    pub gateway: Option<String>,
    /// The Seam key the replays are made with (default: SEAM_KEY).
    #[arg(long, env = "SEAM_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Exit 1 when a golden fails (by default a failure is reported and stored, and the
    /// command succeeds: a canary is a record, not a CI step).
    #[arg(long)]
    pub strict: bool,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What the timeline says changed since a recording.
pub struct Since {
    pub summary: String,
    pub events: Vec<Value>,
}

/// One golden's judged replays.
pub struct Judged {
    pub verdict: Verdict,
    pub replays: Vec<Replay>,
    /// The first round failed and this is the second.
    pub retried: bool,
    /// Per turn, the first failing replay's answer against the recording.
    pub diffs: Vec<(String, Diff)>,
}

pub async fn run(store_args: &StoreArgs, args: RunArgs) -> anyhow::Result<()> {
    let config = super::config(store_args)?;
    let repeat = args.repeat.unwrap_or(config.canaries.repeat);
    anyhow::ensure!(
        (1..=20).contains(&repeat),
        "--repeat {repeat}: give 1 to 20 replays per golden"
    );
    let goldens = match &args.name {
        Some(n) => {
            golden::check_name(n)?;
            let path = golden::path_of(&config.canaries.dir, n);
            anyhow::ensure!(
                path.exists(),
                "no golden `{n}` in {} (see `seam canaries`; `seam canary record CALL_ID --name {n}` makes one)",
                config.canaries.dir.display()
            );
            vec![Ok(golden::load(&path)?)]
        }
        None => golden::load_dir(&config.canaries.dir)?,
    };
    anyhow::ensure!(
        !goldens.is_empty(),
        "no goldens in {} (`seam canary record CALL_ID --name NAME` makes one)",
        config.canaries.dir.display()
    );
    let (store, who) = crate::actor::open_to_act(store_args).await?;
    // As eval runs: a golden of a prompt is its owners' (or an admin's) to replay, one of a
    // route an operator's; refused before any call.
    for g in goldens.iter().flatten() {
        let (kind, target) = match g.prompt() {
            Some(p) => ("prompt", p),
            None => ("route", g.turns[0].model.as_str()),
        };
        seam_control::evals::require_eval(
            &store,
            &who,
            kind,
            target,
            &format!("replaying canary `{}`", g.name),
        )
        .await?;
    }
    let notifier = Notifier::new(&config.notify.webhooks).map_err(anyhow::Error::msg)?;
    let through = Through::open(args.gateway.as_deref(), args.key.as_deref(), store_args).await?;
    let mut gw = Gateway::new(through.base(), args.key.clone())?;
    gw.purpose = "canary";
    let replayer = Replayer {
        gateway: &gw,
        grader: Grader {
            backend: &gw,
            judge_route: config.evals.judge_route.as_deref(),
            embedding_route: config.canaries.embedding_route.as_deref(),
        },
        config: &config,
    };
    let mut docs = Vec::new();
    let mut failed = false;
    let mut broken = 0;
    for g in goldens {
        let g = match g {
            Ok(g) => g,
            Err(e) => {
                eprintln!("skipped: {e}");
                broken += 1;
                continue;
            }
        };
        let started = seam_store::now_ms();
        let judged = judge(&replayer, &g, repeat).await;
        let since = since(&store, &g).await?;
        let record = store_run(
            &store,
            &notifier,
            &g,
            &judged,
            &since,
            started,
            CanaryTrigger::Manual,
        )
        .await?;
        failed |= judged.verdict == Verdict::Fail;
        if args.json {
            docs.push(run_json(&record));
        } else {
            print!("{}", report(&g, &judged, &since));
        }
    }
    through.close().await;
    if !notifier.flush(NOTIFY_WAIT).await {
        eprintln!(
            "webhooks: deliveries still retrying after {}s were dropped; the events stay on the timeline",
            NOTIFY_WAIT.as_secs()
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json!({"runs": docs}))?);
    }
    anyhow::ensure!(
        broken == 0 || !docs.is_empty() || !args.json,
        "no golden could be read"
    );
    if args.strict && failed {
        std::process::exit(1);
    }
    Ok(())
}

/// `repeat` replays; a failing round is replayed once more and the second round reported.
pub async fn judge(replayer: &Replayer<'_>, g: &Golden, repeat: u32) -> Judged {
    let mut retried = false;
    let mut replays = round(replayer, g, repeat).await;
    let mut v = verdict_of(&replays);
    if v == Verdict::Fail {
        retried = true;
        replays = round(replayer, g, repeat).await;
        v = verdict_of(&replays);
    }
    let diffs = diffs(g, &replays);
    Judged {
        verdict: v,
        replays,
        retried,
        diffs,
    }
}

async fn round(replayer: &Replayer<'_>, g: &Golden, repeat: u32) -> Vec<Replay> {
    let mut out = Vec::with_capacity(repeat as usize);
    for _ in 0..repeat {
        out.push(replayer.replay(g).await);
    }
    out
}

fn verdict_of(replays: &[Replay]) -> Verdict {
    let outcomes: Vec<Outcome> = replays.iter().map(|r| r.outcome).collect();
    verdict(&outcomes)
}

/// Each turn's answer against its recording, from the first replay that failed (else the
/// first replay): what a reader needs to see what changed.
fn diffs(g: &Golden, replays: &[Replay]) -> Vec<(String, Diff)> {
    let Some(r) = replays
        .iter()
        .find(|r| r.outcome != Outcome::Pass)
        .or_else(|| replays.first())
    else {
        return Vec::new();
    };
    r.turns
        .iter()
        .filter_map(|t| {
            let turn = g.turns.iter().find(|x| x.case.id == t.case_id)?;
            let rec = turn.recorded.as_ref()?;
            let now = t.output.as_ref()?;
            let d = diff(&rec.output, now);
            (!d.is_empty()).then(|| (t.case_id.clone(), d))
        })
        .collect()
}

/// The timeline since the golden was recorded, as it concerns the golden: deploys and
/// rollbacks of its prompt, served-model and fingerprint changes on its routes, config
/// changes and reloads.
pub async fn since(store: &(impl Events + ?Sized), g: &Golden) -> anyhow::Result<Since> {
    let Some(from) = g.recorded_ms() else {
        return Ok(Since {
            summary: "no recording: judged by its assertions alone".into(),
            events: Vec::new(),
        });
    };
    let prompt = g.prompt();
    let routes = g.routes();
    let events = store.list_events(from, 10_000).await?;
    let relevant: Vec<&EventRecord> = events
        .iter()
        .filter(|e| {
            use EventKind as K;
            match e.kind {
                K::ReleaseDeploy | K::ReleaseRollback => {
                    prompt.is_some()
                        && serde_json::from_str::<Value>(&e.details)
                            .ok()
                            .and_then(|d| d["prompt"].as_str().map(str::to_string))
                            .as_deref()
                            == prompt
                }
                K::ServedModelChanged | K::FingerprintChanged | K::ReleaseModelMismatch => {
                    e.route.as_deref().is_some_and(|r| routes.contains(&r))
                }
                K::ConfigChange | K::ConfigReload => true,
                _ => false,
            }
        })
        .collect();
    let count = |kinds: &[EventKind]| relevant.iter().filter(|e| kinds.contains(&e.kind)).count();
    let mut parts = Vec::new();
    for (n, one, many) in [
        (count(&[EventKind::ReleaseDeploy]), "deploy", "deploys"),
        (
            count(&[EventKind::ReleaseRollback]),
            "rollback",
            "rollbacks",
        ),
        (
            count(&[
                EventKind::ServedModelChanged,
                EventKind::ReleaseModelMismatch,
            ]),
            "served-model change",
            "served-model changes",
        ),
        (
            count(&[EventKind::FingerprintChanged]),
            "fingerprint change",
            "fingerprint changes",
        ),
        (
            count(&[EventKind::ConfigChange, EventKind::ConfigReload]),
            "config change",
            "config changes",
        ),
    ] {
        if n > 0 {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    }
    let (release, model) = g.recorded_against();
    let summary = format!(
        "recorded {} against {}, model {}; since then: {}",
        timestamp(from),
        release.unwrap_or("no release"),
        model.unwrap_or("-"),
        if parts.is_empty() {
            "no change on the timeline".to_string()
        } else {
            parts.join(", ")
        }
    );
    Ok(Since {
        summary,
        events: relevant
            .iter()
            .map(|e| json!({"time": timestamp(e.created_ms), "kind": e.kind.as_str(), "message": e.message}))
            .collect(),
    })
}

/// Stores the result and puts a change of verdict on the timeline (and to the webhooks that
/// asked for its kind).
pub async fn store_run(
    store: &(impl Canaries + Events + ?Sized),
    notifier: &Notifier,
    g: &Golden,
    j: &Judged,
    since: &Since,
    started_ms: i64,
    trigger: CanaryTrigger,
) -> anyhow::Result<CanaryRunRecord> {
    let previous = store
        .canary_runs(Some(&g.name), 1)
        .await?
        .into_iter()
        .next();
    let last = j
        .replays
        .iter()
        .rev()
        .flat_map(|r| r.turns.iter().rev())
        .next();
    let (recorded_release, recorded_model) = g.recorded_against();
    let record = CanaryRunRecord {
        id: format!("cnr_{}", uuid::Uuid::now_v7().simple()),
        golden: g.name.clone(),
        started_ms,
        finished_ms: Some(seam_store::now_ms()),
        verdict: stored(j.verdict),
        trigger,
        release_id: last.and_then(|t| t.release.clone()),
        served_model: last.and_then(|t| t.served_model.clone()),
        golden_version: g.version.clone(),
        detail: json!({
            "repeats": j.replays,
            "retried": j.retried,
            "diffs": j.diffs.iter().map(|(t, d)| json!({"turn": t, "diff": d})).collect::<Vec<_>>(),
            "since": {"summary": since.summary, "events": since.events},
            "recorded": {"ms": g.recorded_ms(), "release": recorded_release, "served_model": recorded_model},
        })
        .to_string(),
    };
    store.insert_canary_run(&record).await?;
    let was_failing = previous
        .as_ref()
        .is_some_and(|p| p.verdict == CanaryVerdict::Fail);
    let kind = match j.verdict {
        Verdict::Fail if !was_failing => Some(EventKind::CanaryFailed),
        Verdict::Pass if was_failing => Some(EventKind::CanaryRecovered),
        _ => None,
    };
    if let Some(kind) = kind {
        let message = match kind {
            EventKind::CanaryFailed => format!(
                "canary `{}` failed against {} ({}); {}",
                g.name,
                record.release_id.as_deref().unwrap_or("its route"),
                record.served_model.as_deref().unwrap_or("-"),
                since.summary
            ),
            _ => format!("canary `{}` passes again", g.name),
        };
        let mut e = EventRecord::new(
            kind,
            message,
            json!({"golden": g.name, "run": record.id, "verdict": record.verdict.as_str()}),
        );
        e.route = g.routes().first().map(|r| r.to_string());
        store.insert_event(&e).await?;
        // The webhooks that asked for it (never in the way: delivered by tasks of their own).
        notifier.notify(&e);
    }
    Ok(record)
}

/// The judged verdict as the store keeps it.
fn stored(v: Verdict) -> CanaryVerdict {
    match v {
        Verdict::Pass => CanaryVerdict::Pass,
        Verdict::Flaky => CanaryVerdict::Flaky,
        Verdict::Fail => CanaryVerdict::Fail,
        Verdict::Error => CanaryVerdict::Error,
    }
}

/// A stored run as `--json` shows it.
pub fn run_json(r: &CanaryRunRecord) -> Value {
    json!({
        "id": r.id,
        "golden": r.golden,
        "verdict": r.verdict.as_str(),
        "trigger": r.trigger.as_str(),
        "started": timestamp(r.started_ms),
        "finished": r.finished_ms.map(timestamp),
        "release": r.release_id,
        "served_model": r.served_model,
        "golden_version": r.golden_version,
        "detail": serde_json::from_str::<Value>(&r.detail).unwrap_or(Value::Null),
    })
}

/// The text report of one golden's run.
pub fn report(g: &Golden, j: &Judged, since: &Since) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let pass = j
        .replays
        .iter()
        .filter(|r| r.outcome == Outcome::Pass)
        .count();
    let last = j
        .replays
        .iter()
        .rev()
        .flat_map(|r| r.turns.iter().rev())
        .next();
    let _ = writeln!(
        out,
        "canary {}: {}  ({pass}/{} replays passed{}), against {}, model {}",
        clean(&g.name),
        j.verdict.as_str().to_uppercase(),
        j.replays.len(),
        if j.retried {
            "; replayed again after a failing round"
        } else {
            ""
        },
        last.and_then(|t| t.release.as_deref())
            .unwrap_or("its route"),
        last.and_then(|t| t.served_model.as_deref()).unwrap_or("-"),
    );
    let _ = writeln!(out, "  {}", clean(&since.summary));
    if let Some(r) = j.replays.iter().find(|r| r.outcome != Outcome::Pass) {
        for t in r.turns.iter().filter(|t| t.outcome != Outcome::Pass) {
            let _ = writeln!(
                out,
                "  turn {} {}: {}",
                clean(&t.case_id),
                match t.outcome {
                    Outcome::Fail => "failed",
                    _ => "errored",
                },
                clean(&t.reason)
            );
        }
        if let Some(s) = &r.stopped {
            let _ = writeln!(out, "  {}", clean(s));
        }
    }
    for (turn, d) in &j.diffs {
        let _ = writeln!(out, "  changed in turn {}:", clean(turn));
        for line in d.lines() {
            let _ = writeln!(out, "    {}", clean(&line));
        }
    }
    out
}
