//! `seam failures` and `seam coverage` (docs/failures.md): signal rates per route, release or
//! signal against the previous period; the flagged calls' clusters held against the eval
//! datasets, uncovered first; candidate cases exported from a cluster. The work is
//! `seam_control::failures`', shared with the dashboard.

use crate::cli::StoreArgs;
use crate::eval::client::Gateway;
use crate::eval::inproc::Through;
use crate::format::{clean, parse_since, table};
use seam_control::failures::{self, By, CoverageReport, Embedder, Report, Scanned};
use seam_evals::dataset::Dataset;
use seam_evals::{Backend, NoBackend};
use seam_store::timestamp;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `seam failures`' options.
#[derive(Debug, clap::Args)]
pub struct FailuresArgs {
    /// The period: the last 7d (compared with the 7d before it).
    #[arg(long, default_value = "7d")]
    pub since: String,
    /// route, release or signal.
    #[arg(long, default_value = "signal")]
    pub by: String,
    /// Output as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub embed: EmbedArgs,
}

/// Where `[failures] embedding_route`'s calls go, as for `seam eval run`.
#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// The gateway the embedding calls go through (e.g. http://127.0.0.1:8080); without it, a
    /// gateway started in this process on the same config and store. Only with
    /// `[failures] embedding_route`.
    #[arg(long, value_name = "URL", global = true)]
    pub gateway: Option<String>,
    /// The gateway key the embedding calls are made with; needed unless the gateway takes
    /// calls without one (`[server] keyless_tenant`).
    #[arg(long, env = "SEAM_KEY", hide_env_values = true, global = true)]
    pub key: Option<String>,
}

/// `seam coverage`'s options.
#[derive(Debug, clap::Args)]
pub struct CoverageArgs {
    /// The period whose flagged calls are clustered.
    #[arg(long, default_value = "7d", global = true)]
    pub since: String,
    /// Hold the clusters against this dataset only (repeatable); default: every dataset in
    /// `[evals] dir`.
    #[arg(long = "dataset", value_name = "NAME", global = true)]
    pub datasets: Vec<String>,
    /// Output as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(flatten)]
    pub embed: EmbedArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum CoverageCommand {
    /// Write candidate eval cases (input only, `expected` empty, tagged `needs-review`) from a
    /// cluster's calls, for a person to complete.
    Export {
        /// The cluster's id, as `seam coverage` lists it.
        cluster: String,
        /// The dataset file to write (JSON lines; written whole or not at all).
        #[arg(long, value_name = "FILE.jsonl")]
        to: PathBuf,
        /// At most this many cases (the calls nearest the cluster's centre first).
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

fn period(since: &str) -> anyhow::Result<(i64, i64)> {
    let d = parse_since(since)?;
    let until = seam_store::now_ms();
    Ok((until - i64::try_from(d.as_millis())?, until))
}

/// `[failures]` and the datasets' directory: the config's, or the defaults with `--store`
/// and no config file.
fn settings(store_args: &StoreArgs) -> anyhow::Result<(seam_config::Failures, PathBuf)> {
    if store_args.store.is_some() && !store_args.config.exists() {
        let dir = PathBuf::from(seam_config::DEFAULT_EVALS_DIR);
        return Ok((seam_config::Failures::default(), dir));
    }
    let cfg = seam_config::load_lenient(&store_args.config)?;
    Ok((cfg.failures, cfg.evals.dir))
}

/// `seam failures`.
pub async fn failures(store_args: &StoreArgs, args: &FailuresArgs) -> anyhow::Result<()> {
    let by = match args.by.as_str() {
        "route" => By::Route,
        "release" => By::Release,
        "signal" => By::Signal,
        other => anyhow::bail!("--by `{other}`: use route, release or signal"),
    };
    let (since, until) = period(&args.since)?;
    let (cfg, _) = settings(store_args)?;
    let (store, who) = crate::actor::open_as(store_args).await?;
    let scope = who.read_scope("reading failure signals")?;
    if !args.json {
        eprintln!("scanning this period's and the previous period's calls for signals…");
    }
    let opts = failures::signal_options(&cfg);
    let through = open_embedding(&cfg, &args.embed, store_args).await;
    let backend = through.backend();
    let mut embedder = through.embedder(backend.as_ref(), &cfg);
    let report =
        failures::failures(&store, &scope, since, until, by, &opts, embedder.as_mut()).await;
    drop(embedder);
    through.close().await;
    let report = report?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", failures_text(&report, &args.since));
    }
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn failures_text(r: &Report, since: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Silent-failure signals by {}, {} to {} (last {since}), against the {since} before",
        serde_json::to_value(r.by)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        timestamp(r.since_ms),
        timestamp(r.until_ms)
    );
    scanned_text(&mut out, &r.scanned);
    if r.rows.is_empty() {
        let _ = writeln!(out, "\nno signal fired in either period");
    } else {
        let mut rows: Vec<Vec<String>> = r
            .rows
            .iter()
            .map(|row| {
                let rate = |x: &failures::report::Rate| match x.rate {
                    Some(p) => format!(
                        "{} [{}–{}]",
                        pct(p),
                        pct(x.interval.low),
                        pct(x.interval.high)
                    ),
                    None => "-".into(),
                };
                vec![
                    row.group.clone(),
                    row.signal.clone(),
                    format!("{}/{}", row.now.flagged, row.now.calls),
                    rate(&row.now),
                    format!("{}/{}", row.previous.flagged, row.previous.calls),
                    row.previous.rate.map_or("-".into(), pct),
                    row.change_p.map_or("-".into(), |p| {
                        if p < 0.001 {
                            "<0.001".into()
                        } else {
                            format!("{p:.3}")
                        }
                    }),
                ]
            })
            .collect();
        let mut headers = vec![
            "GROUP",
            "SIGNAL",
            "FLAGGED/CALLS",
            "RATE [95%]",
            "BEFORE",
            "RATE BEFORE",
            "CHANGE P",
        ];
        // By signal, the group is the signal.
        if r.by == By::Signal {
            headers.remove(0);
            rows.iter_mut().for_each(|r| {
                r.remove(0);
            });
        }
        let _ = write!(out, "\n{}", table(&headers, &rows));
    }
    let _ = writeln!(out, "\nmethod: {}", r.method);
    out
}

/// The gateway `[failures] embedding_route`'s calls go through, or why there is none.
struct Embedding {
    through: Option<Through>,
    key: Option<String>,
    why_not: Option<String>,
}

/// `--gateway`, else an in-process gateway, when an embedding route is configured. A gateway
/// that cannot be had is no error: the command is lexical and says why.
async fn open_embedding(
    cfg: &seam_config::Failures,
    args: &EmbedArgs,
    store_args: &StoreArgs,
) -> Embedding {
    let mut e = Embedding {
        through: None,
        key: args.key.clone(),
        why_not: None,
    };
    if cfg.embedding_route.is_none() {
        return e;
    }
    match Through::open(args.gateway.as_deref(), args.key.as_deref(), store_args).await {
        Ok(t) => e.through = Some(t),
        Err(err) => e.why_not = Some(err.to_string()),
    }
    e
}

impl Embedding {
    fn backend(&self) -> Box<dyn Backend> {
        let gateway = self
            .through
            .as_ref()
            .map(|t| Gateway::new(t.base(), self.key.clone()));
        match gateway {
            Some(Ok(g)) => Box::new(g),
            _ => Box::new(NoBackend),
        }
    }

    fn embedder<'a>(
        &self,
        backend: &'a dyn Backend,
        cfg: &seam_config::Failures,
    ) -> Option<Embedder<'a>> {
        let mut e = Embedder::new(backend, cfg)?;
        if let Some(why) = &self.why_not {
            e.fail(format!(
                "embedding route `{}` not reachable: {why}",
                e.route
            ));
        } else if self.through.is_none() {
            e.fail(format!("embedding route `{}`: no gateway to call", e.route));
        }
        Some(e)
    }

    async fn close(self) {
        if let Some(t) = self.through {
            t.close().await;
        }
    }
}

/// What the pass read, and what it could not compute.
fn scanned_text(out: &mut String, s: &Scanned) {
    let c = &s.coverage;
    let _ = writeln!(
        out,
        "scanned {} calls: {} with captured text, {} metadata only",
        s.calls, c.text_turns, c.metadata_only_turns
    );
    let _ = writeln!(out, "similarity (rephrase): {}", clean(&s.similarity));
    for u in &c.unchecked {
        let _ = writeln!(
            out,
            "  {} not computed for {} calls: {}",
            u.signal.as_str(),
            u.turns,
            u.reason
        );
    }
    if s.undecodable > 0 {
        let _ = writeln!(
            out,
            "  {} captured contents did not decode: read as metadata only",
            s.undecodable
        );
    }
    if let Some(at) = s.stopped_at_ms {
        let _ = writeln!(
            out,
            "  stopped at {} calls (the call of {}): later calls of the period were not \
             scanned; narrow --since or raise [failures] report_max_calls",
            s.calls,
            seam_store::timestamp(at)
        );
    }
}

fn datasets(dir: &Path, names: &[String]) -> anyhow::Result<Vec<Dataset>> {
    let paths: Vec<PathBuf> = if names.is_empty() {
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        seam_evals::dataset::list(dir).map_err(anyhow::Error::msg)?
    } else {
        names
            .iter()
            .map(|n| seam_evals::dataset::resolve(n, Some(dir)).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?
    };
    paths
        .iter()
        .map(|p| Dataset::load(p).map_err(|e| anyhow::anyhow!("{e}")))
        .collect()
}

async fn coverage_report(
    store_args: &StoreArgs,
    args: &CoverageArgs,
) -> anyhow::Result<(CoverageReport, seam_store::SqlStore, seam_control::Actor)> {
    let (since, until) = period(&args.since)?;
    let (cfg, dir) = settings(store_args)?;
    let sets = datasets(&dir, &args.datasets)?;
    let (store, who) = crate::actor::open_as(store_args).await?;
    let scope = who.read_scope("reading failure clusters")?;
    if !args.json {
        eprintln!("scanning calls, clustering the flagged ones, matching eval cases…");
    }
    let opts = failures::coverage_options(&cfg);
    let through = open_embedding(&cfg, &args.embed, store_args).await;
    let backend = through.backend();
    let mut embedder = through.embedder(backend.as_ref(), &cfg);
    let report = failures::coverage(
        &store,
        &scope,
        since,
        until,
        &sets,
        &opts,
        embedder.as_mut(),
    )
    .await;
    drop(embedder);
    through.close().await;
    let report = report?;
    Ok((report, store, who))
}

/// `seam coverage` and `seam coverage export`.
pub async fn coverage(
    store_args: &StoreArgs,
    args: &CoverageArgs,
    command: Option<&CoverageCommand>,
) -> anyhow::Result<()> {
    let (report, store, who) = coverage_report(store_args, args).await?;
    let Some(CoverageCommand::Export { cluster, to, limit }) = command else {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", coverage_text(&report));
        }
        return Ok(());
    };
    let Some(c) = report.clusters.iter().find(|c| &c.id == cluster) else {
        let known: Vec<&str> = report.clusters.iter().map(|c| c.id.as_str()).collect();
        anyhow::bail!(
            "no cluster `{}` in the last {} (clusters: {})",
            clean(cluster),
            args.since,
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        );
    };
    let got = failures::export::candidates(&store, &who, c, *limit).await?;
    write_jsonl(to, &got.cases)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"cluster": c.id, "file": to, "cases": got.cases.len(),
                "without_content": got.without_content, "duplicates": got.duplicates})
        );
    } else {
        println!(
            "wrote {} candidate cases from cluster {} to {} (input only, tagged {}: write what a good answer is, then add them to a dataset)",
            got.cases.len(),
            c.id,
            to.display(),
            failures::export::NEEDS_REVIEW
        );
        if got.without_content + got.duplicates > 0 {
            println!(
                "skipped {} calls whose content is gone and {} repeating an input already written",
                got.without_content, got.duplicates
            );
        }
    }
    Ok(())
}

/// Writes the lines to a temporary file beside `path`, then renames it: never a partial file.
fn write_jsonl(path: &Path, cases: &[serde_json::Value]) -> anyhow::Result<()> {
    let mut text = String::new();
    for c in cases {
        text.push_str(&serde_json::to_string(c)?);
        text.push('\n');
    }
    let tmp = path.with_extension("jsonl.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| anyhow::anyhow!("--to {}: {e}", path.display()))
}

fn coverage_text(r: &CoverageReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Failure clusters, {} to {}: {} flagged calls, {} with captured text (clustered)",
        timestamp(r.since_ms),
        timestamp(r.until_ms),
        r.flagged_calls,
        r.flagged_with_text
    );
    let _ = writeln!(
        out,
        "held against {} cases of {} dataset(s){}; covered: {} of the flagged calls with text",
        r.cases,
        r.datasets.len(),
        if r.datasets.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.datasets.join(", "))
        },
        pct(r.covered_share)
    );
    scanned_text(&mut out, &r.scanned);
    for c in &r.clusters {
        let _ = writeln!(
            out,
            "\n{} {}  {} calls ({} of flagged)  nearest case {} (similarity {:.2})",
            if c.covered { "covered  " } else { "UNCOVERED" },
            c.id,
            c.size,
            pct(c.share),
            c.nearest_case
                .as_ref()
                .map_or("none".into(), |k| format!("{}:{}", k.dataset, k.case_id)),
            c.similarity
        );
        let signals: Vec<String> = c.signals.iter().map(|(s, n)| format!("{s} {n}")).collect();
        let _ = writeln!(out, "  signals: {}", signals.join(", "));
        let _ = writeln!(out, "  terms: {}", c.top_terms.join(", "));
        let _ = writeln!(
            out,
            "  routes: {}; releases: {}",
            c.routes.join(", "),
            if c.releases.is_empty() {
                "-".into()
            } else {
                c.releases.join(", ")
            }
        );
        for e in &c.examples {
            let _ = writeln!(out, "  {}  {}", e.call_id, clean(&e.text));
        }
    }
    if r.small_clusters > 0 {
        let _ = writeln!(
            out,
            "\n{} smaller clusters ({} calls) are shown only in aggregate ([failures] min_cluster_size)",
            r.small_clusters, r.small_cluster_calls
        );
    }
    let _ = writeln!(
        out,
        "\nsimilarity (clusters and coverage): {}",
        clean(&r.similarity)
    );
    let _ = writeln!(
        out,
        "method: {}; covered at similarity >= {:.2}",
        r.method, r.cover_threshold
    );
    out
}
