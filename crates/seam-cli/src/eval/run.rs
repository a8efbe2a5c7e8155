//! `seam eval run`: every (case, repeat) of a dataset sent through the gateway, graded and
//! stored as it finishes. Everything that can be refused (the dataset, the target, the model
//! graders' routes, each case's input) is checked before the first call.

use super::Reasons;
use super::client::{Answer, Gateway};
use super::inproc::Through;
use crate::cli::StoreArgs;
use crate::format::clean;
use anyhow::Context;
use futures_util::StreamExt;
use seam_evals::{Case, Dataset, Grader, Outcome, dataset};
use seam_store::{EvalResultRecord, EvalRunRecord, Evals, Releases, now_ms};
use seam_vocab::{EvalStatus, EvalVerdict};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `seam eval run`'s arguments.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The dataset: its file name in `[evals] dir` (with or without `.jsonl`) or a path.
    /// With `--resume`, the run's own dataset by default.
    pub dataset: Option<String>,
    /// Send each case's messages to this route.
    #[arg(long, conflicts_with_all = ["prompt", "release"])]
    pub route: Option<String>,
    /// Call this prompt's channel (`model: "prompt:NAME@CHANNEL"`) with each case's variables.
    #[arg(long, value_name = "NAME@CHANNEL", conflicts_with = "release")]
    pub prompt: Option<String>,
    /// Call this stored release by id (`model: "release:ID"`, deployed or not) with each
    /// case's variables: how a candidate is run before it is deployed.
    #[arg(long, value_name = "ID")]
    pub release: Option<String>,
    /// How many times each case is sent.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// The gateway's base URL (e.g. http://127.0.0.1:8080). Without it, a gateway is started
    /// in this process on the same config and store (on 127.0.0.1, quiet unless an error) and
    /// shut down, its records written, before the command ends.
    #[arg(long, value_name = "URL")]
    pub gateway: Option<String>,
    /// The gateway key the calls are made with; needed unless the gateway takes calls without
    /// one (`[server] keyless_tenant`).
    #[arg(long, env = "SEAM_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Finish a stored run: only its missing and errored (case, repeat) pairs are sent.
    #[arg(long, value_name = "RUN")]
    pub resume: Option<String>,
    /// The datasets directory; by default the config's `[evals] dir`.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What the run calls: `(kind, name)` as stored.
fn target(args: &RunArgs) -> anyhow::Result<Option<(&'static str, String)>> {
    Ok(match (&args.route, &args.prompt, &args.release) {
        (Some(r), None, None) => Some(("route", r.clone())),
        (None, None, Some(id)) => {
            if id.trim().is_empty() || id.contains(char::is_whitespace) {
                anyhow::bail!(
                    "--release `{}`: name a release id (see `seam release list NAME`)",
                    clean(id)
                );
            }
            Some(("release", id.clone()))
        }
        (None, Some(p), None) => {
            let ok = p
                .split_once('@')
                .is_some_and(|(n, c)| !n.is_empty() && !c.is_empty());
            if !ok {
                anyhow::bail!("--prompt `{}`: write NAME@CHANNEL", clean(p));
            }
            Some(("prompt", p.clone()))
        }
        _ => None,
    })
}

/// The chat body a case sends to the target; an error names the case's line.
fn body(case: &Case, kind: &str, target: &str, file: &str) -> anyhow::Result<Value> {
    let mut body = serde_json::Map::new();
    if let Some(input) = &case.input {
        body.insert("messages".into(), Value::from(input.messages.clone()));
        if !input.tools.is_empty() {
            body.insert("tools".into(), Value::from(input.tools.clone()));
        }
    }
    match kind {
        "prompt" | "release" => {
            body.insert("model".into(), json!(format!("{kind}:{target}")));
            if let Some(v) = &case.variables {
                body.insert("seam_variables".into(), v.clone());
            }
            if case.input.as_ref().is_none_or(|i| i.messages.is_empty()) {
                anyhow::bail!(
                    "{file}:{}: case `{}` has no `input.messages`: the gateway takes a prompt call only with at least one message of the call's own (after the release's)",
                    case.line,
                    clean(&case.id)
                );
            }
        }
        _ => {
            if case.input.is_none() {
                anyhow::bail!(
                    "{file}:{}: case `{}` has `variables` and no `input.messages`: a --route run sends messages (use --prompt NAME@CHANNEL or --release ID)",
                    case.line,
                    clean(&case.id)
                );
            }
            body.insert("model".into(), json!(target));
        }
    }
    Ok(Value::Object(body))
}

struct Progress {
    total: usize,
    done: usize,
    passed: usize,
    failed: usize,
    errored: usize,
    spend: f64,
    started: Instant,
    last: Option<Instant>,
    tty: bool,
}

impl Progress {
    fn add(&mut self, r: &EvalResultRecord) {
        self.done += 1;
        match r.verdict {
            EvalVerdict::Pass => self.passed += 1,
            EvalVerdict::Fail => self.failed += 1,
            EvalVerdict::Error => self.errored += 1,
        }
        self.spend += r.cost_usd.unwrap_or(0.0);
    }

    fn rate(&self) -> f64 {
        if self.done == 0 {
            0.0
        } else {
            self.passed as f64 / self.done as f64 * 100.0
        }
    }

    /// One line on standard error: on a terminal rewritten in place, else at most twice a
    /// second (and at the end) so that a CI log stays short.
    fn show(&mut self, force: bool) {
        let now = Instant::now();
        if !force
            && self
                .last
                .is_some_and(|t| now - t < Duration::from_millis(500))
        {
            return;
        }
        self.last = Some(now);
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta = if self.done == 0 {
            "?".to_string()
        } else {
            let left = (self.total - self.done) as f64 * elapsed / self.done as f64;
            format!("{left:.0}s")
        };
        let line = format!(
            "eval: {}/{} done, pass {:.1}%, {} error, spend ${:.4}, ETA {eta}",
            self.done,
            self.total,
            self.rate(),
            self.errored,
            self.spend
        );
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            write!(err, "\r{line}\x1b[K")
        } else {
            writeln!(err, "{line}")
        };
    }
}

pub async fn run(store_args: &StoreArgs, args: RunArgs) -> anyhow::Result<()> {
    let asked = target(&args)?;
    if args.repeat == 0 || args.concurrency == 0 {
        anyhow::bail!("--repeat and --concurrency must be at least 1");
    }
    if !store_args.config.exists() {
        anyhow::bail!(
            "no config file {}: the run checks its routes and prices there (--config FILE)",
            store_args.config.display()
        );
    }
    let config = seam_config::load_lenient(&store_args.config)?;
    let store = store_args.open_to_write().await?;
    let who = crate::actor::user(&store).await?;

    let prior = match &args.resume {
        Some(id) => Some(store.get_eval_run(id).await?.ok_or_else(|| {
            anyhow::anyhow!("no eval run `{}` (see `seam eval runs`)", clean(id))
        })?),
        None => None,
    };
    let (kind, name) = match (&prior, asked) {
        (Some((p, _)), Some((k, n)))
            if (p.target_kind.as_str(), p.target.as_str()) != (k, n.as_str()) =>
        {
            anyhow::bail!(
                "run {} was made against {} `{}`, not {k} `{}`: --resume keeps the run's target",
                p.id,
                p.target_kind,
                clean(&p.target),
                clean(&n)
            )
        }
        (Some((p, _)), _) => (p.target_kind.clone(), p.target.clone()),
        (None, Some((k, n))) => (k.to_string(), n),
        (None, None) => {
            anyhow::bail!(
                "name what to run against: --route NAME, --prompt NAME@CHANNEL or --release ID"
            )
        }
    };
    seam_control::evals::require_eval(
        &store,
        &who,
        &kind,
        &name,
        &format!("running evals against {kind} `{}`", clean(&name)),
    )
    .await?;
    let dataset_name = match (&args.dataset, &prior) {
        (Some(d), _) => d.clone(),
        (None, Some((p, _))) => p.dataset.clone(),
        (None, None) => anyhow::bail!("name a dataset: its file name in [evals] dir, or a path"),
    };
    let dir = args.dir.clone().unwrap_or_else(|| config.evals.dir.clone());
    let path = dataset::resolve(&dataset_name, Some(&dir))
        .map_err(|e| anyhow::anyhow!(clean(&e).into_owned()))?;
    let ds = Dataset::load(&path)
        .map_err(|e| anyhow::anyhow!("invalid dataset: {}", clean(&e.to_string())))?;
    if let Some((p, _)) = &prior
        && (p.dataset != ds.name || p.dataset_version != ds.version)
    {
        anyhow::bail!(
            "run {} was made on dataset `{}` version {}; {} is `{}` version {} now: start a new run",
            p.id,
            clean(&p.dataset),
            super::short(&p.dataset_version),
            path.display(),
            clean(&ds.name),
            super::short(&ds.version)
        );
    }
    let known = |r: &str| config.route(r).is_some();
    let routes: Vec<String> = config.routes.iter().map(|r| r.name.clone()).collect();
    if kind == "route" && !known(&name) {
        anyhow::bail!(
            "no route `{}` in {} (routes: {})",
            clean(&name),
            store_args.config.display(),
            routes.join(", ")
        );
    }
    if kind == "release" && store.get_release(&name).await?.is_none() {
        anyhow::bail!(
            "no release `{}` in the store (see `seam release list NAME`)",
            clean(&name)
        );
    }
    let grader_routes = ds
        .routes(
            config.evals.judge_route.as_deref(),
            config.evals.embedding_route.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!("invalid dataset: {}", clean(&e.to_string())))?;
    if let Some(r) = grader_routes.iter().find(|r| !known(r)) {
        anyhow::bail!(
            "dataset `{}` grades through route `{}`, which is not in {} (routes: {})",
            ds.name,
            clean(r),
            store_args.config.display(),
            routes.join(", ")
        );
    }
    let file = path.display().to_string();
    let bodies: Vec<Value> = ds
        .cases
        .iter()
        .map(|c| body(c, &kind, &name, &file))
        .collect::<anyhow::Result<_>>()?;

    let through = Through::open(args.gateway.as_deref(), args.key.as_deref(), store_args).await?;
    // Whatever happens to the run, an in-process gateway is shut down and its records written.
    let outcome = run_through(
        &through,
        &store,
        &config,
        &args,
        &ds,
        &bodies,
        prior,
        (kind, name),
        &who.name,
    )
    .await;
    let resume_hint = through.resume_hint();
    through.close().await;
    let (run, status) = outcome?;
    let (run, all) = store
        .get_eval_run(&run.id)
        .await?
        .context("the run just stored is gone")?;
    let mark = super::show::mark(&store, &run, &all).await?;
    super::show::summary(&run, &all, mark.as_ref(), args.json)?;
    if status == EvalStatus::Interrupted {
        anyhow::bail!(
            "interrupted: {} of {} results stored; finish with `seam eval run --resume {}{}`",
            all.len(),
            run.cases * run.repeats,
            run.id,
            resume_hint
        );
    }
    Ok(())
}

/// The run's calls through `through`, each result stored as it comes; the run's status set
/// when they end (all done, or Ctrl-C).
#[allow(clippy::too_many_arguments)]
async fn run_through(
    through: &Through,
    store: &seam_store::SqlStore,
    config: &seam_config::Config,
    args: &RunArgs,
    ds: &Dataset,
    bodies: &[Value],
    prior: Option<(EvalRunRecord, Vec<EvalResultRecord>)>,
    (kind, name): (String, String),
    actor: &str,
) -> anyhow::Result<(EvalRunRecord, EvalStatus)> {
    let (run, mut done, mut served) = match prior {
        Some((p, results)) => {
            // An errored result (a provider that failed mid-run, a judge that did not answer)
            // is sent again and replaced: resuming is how a run recovers from an outage.
            let done: HashSet<(String, i64)> = results
                .iter()
                .filter(|r| r.verdict != EvalVerdict::Error)
                .map(|r| (r.case_id.clone(), r.repeat_index))
                .collect();
            let served: BTreeSet<String> = p.served_models.iter().cloned().collect();
            store
                .set_eval_run_status(&p.id, EvalStatus::Running, None, &p.served_models)
                .await?;
            (p, done, served)
        }
        None => {
            let run = EvalRunRecord {
                id: format!("evr_{:016x}", rand::random::<u64>()),
                created_ms: now_ms(),
                finished_ms: None,
                dataset: ds.name.clone(),
                dataset_version: ds.version.clone(),
                target_kind: kind.clone(),
                target: name.clone(),
                served_models: Vec::new(),
                repeats: i64::from(args.repeat),
                cases: ds.cases.len() as i64,
                status: EvalStatus::Running,
                actor: actor.to_string(),
            };
            store.insert_eval_run(&run).await?;
            (run, HashSet::new(), BTreeSet::new())
        }
    };
    let work: Vec<(usize, i64)> = (0..ds.cases.len())
        .flat_map(|i| (0..run.repeats).map(move |r| (i, r)))
        .filter(|(i, r)| !done.contains(&(ds.cases[*i].id.clone(), *r)))
        .collect();
    eprintln!(
        "eval run {}: {} calls ({} cases x {} repeats{}) to {} `{}` through {}",
        run.id,
        work.len(),
        ds.cases.len(),
        run.repeats,
        if done.is_empty() {
            String::new()
        } else {
            format!(", {} stored already", done.len())
        },
        kind,
        clean(&name),
        through.describe()
    );

    let gw = Gateway::new(through.base(), args.key.clone())?;
    let grader = Grader {
        backend: &gw,
        judge_route: config.evals.judge_route.as_deref(),
        embedding_route: config.evals.embedding_route.as_deref(),
    };
    let mut progress = Progress {
        total: work.len(),
        done: 0,
        passed: 0,
        failed: 0,
        errored: 0,
        spend: 0.0,
        started: Instant::now(),
        last: None,
        tty: std::io::stderr().is_terminal(),
    };
    let run_id = run.id.clone();
    // The first Ctrl-C stops new calls and lets those in flight finish and be stored (their
    // calls recorded too); a second stops at once.
    let stopping = std::cell::Cell::new(false);
    let mut results = futures_util::stream::iter(work.into_iter().take_while(|_| !stopping.get()))
        .map(|(i, repeat)| {
            let (case, body, gw, grader, config, run_id) =
                (&ds.cases[i], &bodies[i], &gw, grader, config, &run_id);
            async move {
                let answer = gw.chat(body).await;
                let served = answer.served_model.clone();
                (
                    grade(grader, config, run_id, case, repeat, answer).await,
                    served,
                )
            }
        })
        .buffer_unordered(args.concurrency);
    let mut ctrl_c = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot listen for Ctrl-C")?;
    let mut interrupted = false;
    let (saver, saved) = save(store.clone());
    loop {
        tokio::select! {
            next = results.next() => {
                let Some((result, model)) = next else { break };
                done.insert((result.case_id.clone(), result.repeat_index));
                served.extend(model);
                progress.add(&result);
                progress.show(false);
                if saver.send(result).await.is_err() {
                    break;
                }
            }
            _ = ctrl_c.recv() => {
                if interrupted {
                    break;
                }
                interrupted = true;
                stopping.set(true);
                if progress.tty {
                    eprintln!();
                }
                eprintln!(
                    "interrupted: no new calls; waiting for those in flight (Ctrl-C again to stop now)"
                );
            }
        }
    }
    drop(results);
    drop(saver);
    // Every graded result is stored before the run's status is: a partial run is consistent.
    saved.await.context("the results' writer stopped")??;
    progress.show(true);
    if progress.tty {
        eprintln!();
    }
    // Interrupted after the last call was sent, a run that has every result is complete.
    let complete = done.len() as i64 == run.cases * run.repeats;
    let status = if !complete {
        EvalStatus::Interrupted
    } else {
        EvalStatus::Complete
    };
    let served: Vec<String> = served.into_iter().collect();
    store
        .set_eval_run_status(&run.id, status, Some(now_ms()), &served)
        .await?;
    Ok((run, status))
}

/// Results are stored by a task of their own, in batches of what has arrived, so that a
/// write never holds up the calls in flight.
fn save(
    store: seam_store::SqlStore,
) -> (
    tokio::sync::mpsc::Sender<EvalResultRecord>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    const BATCH: usize = 256;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<EvalResultRecord>(BATCH * 4);
    let task = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        while rx.recv_many(&mut batch, BATCH).await > 0 {
            store.insert_eval_results(&batch).await?;
            batch.clear();
        }
        Ok(())
    });
    (tx, task)
}

async fn grade(
    grader: Grader<'_>,
    config: &seam_config::Config,
    run_id: &str,
    case: &Case,
    repeat: i64,
    answer: Answer,
) -> EvalResultRecord {
    let cost = answer
        .served_model
        .as_deref()
        .and_then(|m| config.price(m))
        .map(|p| p.cost(answer.input_tokens, answer.output_tokens));
    let (verdict, score, reasons) = match answer.output {
        Ok(mut output) => {
            output.latency_ms = Some(answer.latency_ms);
            output.cost_usd = cost;
            let g = grader.grade_case(case, &output).await;
            let verdict = match g.outcome {
                Outcome::Pass => EvalVerdict::Pass,
                Outcome::Fail => EvalVerdict::Fail,
                Outcome::Error => EvalVerdict::Error,
            };
            let reasons = Reasons {
                reason: g.reason,
                grades: g.grades,
                group: case.group.clone(),
                required: case.required,
            };
            (verdict, g.score, reasons)
        }
        Err(e) => (
            EvalVerdict::Error,
            None,
            Reasons {
                reason: e,
                grades: Vec::new(),
                group: case.group.clone(),
                required: case.required,
            },
        ),
    };
    EvalResultRecord {
        run_id: run_id.to_string(),
        case_id: case.id.clone(),
        repeat_index: repeat,
        created_ms: now_ms(),
        verdict,
        score,
        reasons: serde_json::to_string(&reasons).unwrap_or_else(|_| "{}".into()),
        call_id: answer.call_id,
        latency_ms: Some(answer.latency_ms.round() as i64),
        cost_usd: cost,
        case_hash: Some(dataset::case_hash(&case.content)),
    }
}
