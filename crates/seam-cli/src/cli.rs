//! The command line: `seam serve`, `seam sim`, `seam keys`, `seam calls`, `seam demo`.

mod store_args;
mod subcommands;

pub(crate) use store_args::{StoreArgs, sqlite_dir_exists};
pub(crate) use subcommands::*;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "seam",
    version,
    about = "Seam: an OpenAI-compatible LLM gateway that records every call and attempt"
)]
pub struct Cli {
    /// Log lines as text (no colour unless on a terminal) or one JSON object per line.
    #[arg(
        long,
        global = true,
        env = "SEAM_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// The config file (see examples/seam.toml).
        #[arg(long, short, default_value = "seam.toml", env = "SEAM_CONFIG")]
        config: PathBuf,
    },
    /// Check a config file and its prompts as `seam serve` would, without binding a port,
    /// opening the store or reaching a provider.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Run the simulated upstream (OpenAI and Anthropic wire formats).
    Sim {
        #[arg(long, default_value = "127.0.0.1:4010")]
        listen: SocketAddr,
        /// A scenario file (see docs/sim.md); the default answers every request at once.
        #[arg(long)]
        scenario: Option<PathBuf>,
    },
    /// Create, list and revoke virtual API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Read recorded calls back.
    Calls {
        #[command(subcommand)]
        command: Option<CallsCommand>,
        /// How far back: 30s, 15m, 1h, 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Only this tenant's calls.
        #[arg(long)]
        tenant: Option<String>,
        /// At most this many calls, newest first.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        filters: crate::calls::Filters,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Reports over the recorded calls and attempts.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Usage and spend forecasts per tenant, route or key, with calibrated intervals, and
    /// every cost or token limit projected to its window's reset (docs/forecasts.md).
    Forecast {
        #[command(flatten)]
        args: crate::forecast::Args,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Silent-failure signals (rephrase, regenerate, abandon, refusal, truncated, tool error,
    /// loop, feedback) per route, release or signal against the previous period.
    Failures {
        #[command(flatten)]
        args: crate::failures::FailuresArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The flagged calls clustered and held against the eval datasets, uncovered first.
    Coverage {
        #[command(subcommand)]
        command: Option<crate::failures::CoverageCommand>,
        #[command(flatten)]
        args: crate::failures::CoverageArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Hourly usage history: import it from before Seam, export it (docs/usage.md).
    Usage {
        #[command(subcommand)]
        command: UsageCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// People who act on the control plane (each with a token; SEAM_TOKEN names you).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The audit chain of control-plane actions.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Releases of a prompt: create one (content-addressed, immutable), approve it.
    Release {
        #[command(subcommand)]
        command: ReleaseCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Point NAME@CHANNEL at an approved release.
    Deploy {
        /// NAME@CHANNEL, e.g. support-bot@production
        target: String,
        /// The release id (from `seam release create`).
        release: String,
        /// drain: sessions in flight keep their release until they end; immediate: every
        /// session moves at its next call (each move is an event).
        #[arg(long, default_value = "drain")]
        mode: String,
        /// Admins only: deploy a gated release without a passing eval gate, saying why (the
        /// reason goes on the audit chain and the timeline; docs/evals.md "Gated deploys").
        #[arg(long, value_name = "REASON")]
        override_gate: Option<String>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Point NAME@CHANNEL back at the release it had before.
    Rollback {
        /// NAME@CHANNEL
        target: String,
        /// drain or immediate, as for deploy.
        #[arg(long, default_value = "drain")]
        mode: String,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Sessions in flight, per release: age and last activity (pinned releases drain).
    Sessions {
        #[command(subcommand)]
        command: Option<SessionsCommand>,
        /// Only sessions of this prompt.
        #[arg(long)]
        prompt: Option<String>,
        /// Only sessions pinned to this release.
        #[arg(long)]
        release: Option<String>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Bring the store's schema up to this seam's version (explicit; safe to run twice).
    Migrate {
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The store's records and events, for other tools.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Ask a running gateway to reload its config file and prompts directory now.
    Reload {
        /// The gateway's config file (its server.listen is where to ask).
        #[arg(long, short, default_value = "seam.toml", env = "SEAM_CONFIG")]
        config: PathBuf,
        /// The gateway's address instead, e.g. http://127.0.0.1:8080
        #[arg(long)]
        url: Option<String>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// The same as `seam release list NAME`.
    #[command(hide = true)]
    Releases {
        name: String,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Prompt files: lint them before they ship.
    Prompt {
        #[command(subcommand)]
        command: PromptCommand,
    },
    /// Traces: one user request and every call it fanned out into. Without a subcommand,
    /// the recent named traces (calls that name no trace are each a trace of their own: see
    /// `seam calls`).
    Traces {
        #[command(subcommand)]
        command: Option<TracesCommand>,
        /// How far back: 30s, 15m, 1h, 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Only this tenant's traces.
        #[arg(long)]
        tenant: Option<String>,
        /// At most this many traces, the most recently active first.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print the traces as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Eval datasets: `seam dataset add FILE --from-call ID` makes cases of recorded calls;
    /// `list`, `show` and `diff` read the datasets in `[evals] dir`.
    Dataset {
        #[command(subcommand)]
        command: DatasetCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Eval runs: `run` sends a dataset's cases through a gateway and grades the answers;
    /// `runs` and `show` read stored runs; `gate` compares a candidate run with a baseline.
    Eval {
        #[command(subcommand)]
        command: crate::eval::EvalCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Canaries: `record` makes a golden of a captured call or trace; `run` replays goldens
    /// against what is deployed now; `history` shows a golden's runs.
    Canary {
        #[command(subcommand)]
        command: crate::canary::CanaryCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Every golden with its last verdict, when it last passed and against which release and
    /// served model, and the age of its recording.
    Canaries {
        /// Output as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The change timeline: events such as a provider degrading behind retries.
    Changes {
        /// How far back: 30s, 15m, 1h, 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a shell completion script: `source <(seam completions bash)`, or save it where
    /// your shell loads completions from.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Start a sim and a gateway on a fresh SQLite file, send scripted traffic, show what
    /// was recorded, then keep serving until Ctrl-C.
    Demo {
        /// Stop after the script instead of serving.
        #[arg(long)]
        exit: bool,
        /// The gateway's port (0 picks a free one).
        #[arg(long, default_value_t = 4000)]
        port: u16,
    },
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve { config } => crate::serve::run(&config).await,
            Command::Completions { shell } => {
                use clap::CommandFactory;
                use std::io::Write;
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "seam", &mut script);
                std::io::stdout().write_all(&script)?;
                Ok(())
            }
            Command::Config {
                command:
                    ConfigCommand::Check {
                        config,
                        skip_secrets,
                        json,
                    },
            } => crate::config_check::check(&config, skip_secrets, json).await,
            Command::Sim { listen, scenario } => crate::sim::run(listen, scenario.as_deref()).await,
            Command::Keys { command, store } => crate::keys::run(command, &store).await,
            Command::Calls {
                command,
                since,
                tenant,
                limit,
                filters,
                json,
                store,
            } => match command {
                Some(CallsCommand::Show { id, json }) => {
                    crate::calls::show(&store, &id, json).await
                }
                None => crate::calls::list(&store, &since, tenant, limit, filters, json).await,
            },
            Command::Forecast { args, store } => crate::forecast::run(&store, &args).await,
            Command::Failures { args, store } => crate::failures::failures(&store, &args).await,
            Command::Coverage {
                command,
                args,
                store,
            } => crate::failures::coverage(&store, &args, command.as_ref()).await,
            Command::Report { command, store } => match command {
                ReportCommand::Streams { since, json } => {
                    crate::streams::report(&store, &since, json).await
                }
                ReportCommand::Reliability { since, json } => {
                    crate::report::reliability(&store, &since, json).await
                }
                ReportCommand::Usage { by, since, json } => {
                    crate::report::usage(&store, &by, &since, json).await
                }
                ReportCommand::Value {
                    since,
                    quarter,
                    format,
                    json,
                } => {
                    let format = if json { "json" } else { format.as_str() };
                    crate::value::report(&store, since.as_deref(), quarter.as_deref(), format).await
                }
            },
            Command::Usage { command, store } => match command {
                UsageCommand::Import {
                    file,
                    allow_unknown,
                    json,
                } => crate::usage::import(&store, &file, allow_unknown, json).await,
                UsageCommand::Export {
                    since,
                    until,
                    by,
                    format,
                    out,
                    json,
                } => {
                    let format = if json { "json" } else { format.as_str() };
                    crate::usage::export(
                        &store,
                        &since,
                        until.as_deref(),
                        &by,
                        format,
                        out.as_deref(),
                    )
                    .await
                }
            },
            Command::Release { command, store } => match command {
                ReleaseCommand::Create {
                    name,
                    dir,
                    allow_contamination,
                    json,
                } => crate::releases::create(&store, &name, dir, allow_contamination, json).await,
                ReleaseCommand::List { name, json } => {
                    crate::releases::list(&store, &name, json).await
                }
                ReleaseCommand::Approve { id, yes, json } => {
                    crate::releases::approve(&store, &id, yes, json).await
                }
            },
            Command::Deploy {
                target,
                release,
                mode,
                override_gate,
                json,
                store,
            } => {
                crate::releases::deploy(&store, &target, &release, &mode, override_gate, json).await
            }
            Command::Rollback {
                target,
                mode,
                json,
                store,
            } => crate::releases::rollback(&store, &target, &mode, json).await,
            Command::Sessions {
                command,
                prompt,
                release,
                json,
                store,
            } => match command {
                None => crate::sessions::list(&store, prompt, release, json).await,
                Some(SessionsCommand::Migrate {
                    id,
                    to,
                    tenant,
                    channel,
                    json: json_out,
                }) => crate::sessions::migrate(&store, &id, &to, tenant, channel, json_out).await,
            },
            Command::Migrate { json, store } => crate::store::migrate(&store, json).await,
            Command::Store { command, store } => match command {
                StoreCommand::Export { since, only } => {
                    crate::store::export(&store, &since, only.as_deref()).await
                }
            },
            Command::Reload { config, url, json } => {
                crate::reload::reload(&config, url, json).await
            }
            Command::Releases { name, json, store } => {
                crate::releases::list(&store, &name, json).await
            }
            Command::Users { command, store } => match command {
                UsersCommand::Create {
                    name,
                    role,
                    tenants,
                    admin,
                    json,
                } => {
                    let role = role.or(admin.then(|| "admin".to_string()));
                    crate::users::create(&store, &name, role.as_deref(), &tenants, json).await
                }
                UsersCommand::Grant {
                    name,
                    role,
                    tenant,
                    json,
                } => crate::users::grant(&store, &name, &role, tenant.as_deref(), json).await,
                UsersCommand::List { json } => crate::users::list(&store, json).await,
            },
            Command::Audit { command, store } => match command {
                AuditCommand::Log { json } => crate::audit::log(&store, json).await,
                AuditCommand::Verify {
                    heads,
                    anchor_file,
                    json,
                } => crate::audit::verify(&store, &heads, anchor_file.as_deref(), json).await,
                AuditCommand::Head { json } => crate::audit::head(&store, json).await,
                AuditCommand::Key { json } => crate::audit::key(&store, json).await,
            },
            Command::Prompt { command } => match command {
                PromptCommand::Lint { dir, config, json } => {
                    crate::prompts::lint(dir, config, json).await
                }
                PromptCommand::Diff {
                    name,
                    releases,
                    dir,
                    store,
                } => crate::prompts::diff(&store, &name, &releases, dir).await,
            },
            Command::Traces {
                command,
                since,
                tenant,
                limit,
                json,
                store,
            } => match command {
                Some(TracesCommand::Show { id, content, json }) => {
                    crate::traces::show(&store, &id, content, json).await
                }
                None => crate::traces::list(&store, &since, tenant, limit, json).await,
            },
            Command::Dataset { command, store } => match command {
                DatasetCommand::Add(args) => crate::dataset::add(&store, args).await,
                DatasetCommand::Lint(args) => crate::dataset::lint::lint(&store, *args).await,
                DatasetCommand::Convert(args) => crate::dataset::lint::convert(args),
                DatasetCommand::List { dir, json } => {
                    crate::dataset::list(dir, &store.config, json)
                }
                DatasetCommand::Show { name, dir, json } => {
                    crate::dataset::show(&name, dir, &store.config, json)
                }
                DatasetCommand::Diff {
                    from,
                    to: Some(to),
                    dir,
                    json,
                    ..
                } => crate::dataset::diff(&from, &to, dir, &store.config, json),
                DatasetCommand::Diff {
                    from,
                    to: None,
                    run,
                    dir,
                    json,
                } => crate::dataset::diff_since(&from, run.as_deref(), dir, &store, json).await,
            },
            Command::Eval { command, store } => match command {
                crate::eval::EvalCommand::Run(args) => crate::eval::run(&store, args).await,
                crate::eval::EvalCommand::Runs { json } => crate::eval::list(&store, json).await,
                crate::eval::EvalCommand::Show { run, json, junit } => {
                    crate::eval::show(&store, &run, json, junit.as_deref()).await
                }
                crate::eval::EvalCommand::Gate {
                    candidate,
                    baseline,
                    alpha,
                    margin,
                    accept_contaminated,
                    horizon_days,
                    json,
                } => {
                    let options = crate::eval::GateOptions {
                        alpha,
                        margin,
                        accept_contaminated,
                        horizon_days,
                        json,
                    };
                    crate::eval::gate(&store, &candidate, &baseline, &options).await
                }
                crate::eval::EvalCommand::Contamination(args) => {
                    crate::eval::contamination(&store, args).await
                }
            },
            Command::Canary { command, store } => crate::canary::dispatch(&store, command).await,
            Command::Canaries { json, store } => crate::canary::list(&store, json).await,
            Command::Changes { since, json, store } => {
                crate::changes::changes(&store, &since, json).await
            }
            Command::Demo { exit, port } => crate::demo::run(exit, port).await,
        }
    }
}
