//! The command line: `seam serve`, `seam sim`, `seam keys`, `seam calls`, `seam demo`.

use clap::{Args, Parser, Subcommand};
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

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a key for a tenant; the key is printed once and stored only as a hash.
    Create {
        /// The tenant the key's calls are recorded, limited and billed as.
        #[arg(long)]
        tenant: String,
        /// A label to recognise the key by.
        #[arg(long)]
        name: Option<String>,
        /// A limit of this key's own, on top of its tenant's: METRIC_per_WINDOW=MAX, e.g.
        /// requests_per_minute=60 or cost_per_day=5 (repeatable).
        #[arg(long = "key-limit", value_name = "METRIC_per_WINDOW=MAX")]
        limits: Vec<String>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// List keys (never the keys themselves: id, tenant, prefix, state).
    List {
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id or prefix.
    Revoke {
        /// The key's id, or enough of its prefix to name it alone (sk-seam-XXXX...).
        id_or_prefix: String,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReleaseCommand {
    /// Make a release of prompt NAME from its file; it must lint clean.
    Create {
        /// The prompt's name (its file is NAME.toml in the prompts directory).
        name: String,
        /// The prompts directory; by default the config's `[prompts] dir`, else ./prompts.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// Approve a release: you must own the prompt (be an owner of its release on production;
    /// an admin approves a prompt's first release) and not be its author. Shows what the
    /// release changes (model, tools, owners) and, on a terminal, asks first.
    /// A prompt's releases, their approvals and the channels on them.
    List {
        /// The prompt's name.
        name: String,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    Approve {
        /// The release id (from `seam release create` or `seam release list`).
        id: String,
        /// Do not ask.
        #[arg(long, short)]
        yes: bool,
        /// Output as JSON (one document; the same facts as the text). Implies --yes.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UsersCommand {
    /// Create a user; the token is printed once and stored only as a hash. The first user of
    /// a store is an admin; after that only an admin (SEAM_TOKEN) can create users. Without
    /// --role the user holds no role: they author releases and approve and deploy those of
    /// prompts they own, and read no tenant's records.
    Create {
        /// One word, e.g. ana.
        name: String,
        /// admin; operator (keys, key limits, sessions and records of each --tenant); or
        /// viewer (records of each --tenant).
        #[arg(long)]
        role: Option<String>,
        /// A tenant the role covers (repeatable; operator and viewer only).
        #[arg(long = "tenant", value_name = "TENANT")]
        tenants: Vec<String>,
        /// The same as --role admin.
        #[arg(long, hide = true)]
        admin: bool,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// Give a user a role: admin, or operator or viewer of a tenant (admin only).
    Grant {
        /// The user's name.
        name: String,
        /// admin, operator or viewer.
        #[arg(long)]
        role: String,
        /// The tenant an operator or viewer role covers.
        #[arg(long)]
        tenant: Option<String>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// Users and their roles.
    List {
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Every control-plane action, oldest first.
    Log {
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// Recomputes the chain (with SEAM_AUDIT_KEY when it is keyed) and checks the releases,
    /// approvals and deploys tables against it; names what does not match and exits non-zero.
    Verify {
        /// A head taken earlier (`seam audit head`): the chain must still hold it, so a
        /// deleted tail or a rollback shows (repeatable).
        #[arg(long = "head", value_name = "COUNT:HASH")]
        heads: Vec<String>,
        /// A file `seam serve` anchors heads to ([audit] anchor_file): every line is checked.
        #[arg(long, value_name = "PATH")]
        anchor_file: Option<PathBuf>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// The chain's head, COUNT:HASH (records, newest hash): keep it outside the store.
    Head {
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// Start signing the chain with SEAM_AUDIT_KEY (HMAC-SHA256) from its next record on
    /// (an admin, once per store; a new store is signed from its first record without it).
    Key {
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PromptCommand {
    /// Checks every prompt file: schema, undeclared or unused variables, alias model names,
    /// templates, routes. Exits non-zero when it finds an error.
    Lint {
        /// The prompts directory; by default the config's `[prompts] dir`, else ./prompts.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The config file, for its prompts directory and routes.
        #[arg(long, short, env = "SEAM_CONFIG")]
        config: Option<PathBuf>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// What changed: the prompt file against its latest release, or release A against B.
    Diff {
        /// The prompt's name.
        name: String,
        /// Two release ids; without them, the file against the latest release.
        releases: Vec<String>,
        /// The prompts directory; by default the config's `[prompts] dir`, else ./prompts.
        #[arg(long)]
        dir: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TracesCommand {
    /// A trace's calls and their attempts as a tree, with tokens, cost and outcome.
    Show {
        id: String,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReportCommand {
    /// What streams felt like to clients, per route, provider and served model: smoothness
    /// SLO attainment next to tokens per second, gaps, chunk sizes, stalls, disconnects.
    Streams {
        /// How far back: 30s, 15m, 1h, 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// Calls, attempts, tokens and cost per tenant, route or trace.
    Usage {
        /// tenant, route or trace
        #[arg(long, default_value = "tenant")]
        by: String,
        /// How far back: 30s, 15m, 1h, 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// Both sides of the retry knob per route and provider: first-attempt (pre-retry) and
    /// final (post-retry) error rates, retry amplification, retry tax, budget refusals.
    Reliability {
        /// How far back: 30s, 15m, 1h, 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CallsCommand {
    /// One call with all its attempts.
    Show {
        id: String,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
}

/// Where the records are: a config file's [store], or a store URL directly.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The config file, for its [store].
    #[arg(
        long,
        short,
        default_value = "seam.toml",
        global = true,
        env = "SEAM_CONFIG"
    )]
    pub config: PathBuf,
    /// A store URL (sqlite://PATH); overrides the config file.
    #[arg(long, global = true, env = "SEAM_STORE")]
    pub store: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate the config (every problem with its key), its providers and its prompts
    /// directory. Exits non-zero on an error.
    Check {
        /// The config file.
        #[arg(long, short, default_value = "seam.toml", env = "SEAM_CONFIG")]
        config: PathBuf,
        /// Don't require the secrets named by `*_env` keys to be set (for CI without them).
        #[arg(long)]
        skip_secrets: bool,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Calls, attempts, streams and events as JSON lines (`{"type": "call", ...}`), oldest
    /// first, to standard output.
    Export {
        /// How far back: 30s, 15m, 1h, 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Which: calls, attempts, streams, events (comma-separated; default all).
        #[arg(long)]
        only: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Move one session to another release on purpose (audited).
    Migrate {
        /// The session id (what clients send as x-seam-session).
        id: String,
        /// An approved release of the same prompt.
        #[arg(long)]
        to: String,
        /// When the id is in use by several tenants.
        #[arg(long)]
        tenant: Option<String>,
        /// When the id is in use on several channels.
        #[arg(long)]
        channel: Option<String>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
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
            },
            Command::Release { command, store } => match command {
                ReleaseCommand::Create { name, dir, json } => {
                    crate::releases::create(&store, &name, dir, json).await
                }
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
                json,
                store,
            } => crate::releases::deploy(&store, &target, &release, &mode, json).await,
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
                crate::sessions::reload(&config, url, json).await
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
                Some(TracesCommand::Show { id, json }) => {
                    crate::traces::show(&store, &id, json).await
                }
                None => crate::traces::list(&store, &since, tenant, limit, json).await,
            },
            Command::Changes { since, json, store } => {
                crate::report::changes(&store, &since, json).await
            }
            Command::Demo { exit, port } => crate::demo::run(exit, port).await,
        }
    }
}

/// A SQLite store's directory must exist: SQLite would say only "unable to open database
/// file".
pub(crate) fn sqlite_dir_exists(url: &str) -> anyhow::Result<()> {
    let Some(file) = seam_store::sqlite_file(url) else {
        return Ok(());
    };
    match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) if !dir.is_dir() => anyhow::bail!(
            "no directory {} for the store {}",
            dir.display(),
            file.display()
        ),
        _ => Ok(()),
    }
}

impl StoreArgs {
    /// The store's URL and pool size, from `--store` or the config file. A `--store` without
    /// a scheme is a SQLite file (relative to the current directory, as any path argument).
    pub fn url(&self) -> anyhow::Result<(String, u32)> {
        Ok(match &self.store {
            Some(u) if u.trim().is_empty() => anyhow::bail!("--store is empty"),
            Some(u) if u.contains("://") || u.starts_with("sqlite:") => (u.clone(), 8),
            Some(path) => (format!("sqlite://{path}"), 8),
            None => {
                let s = seam_config::load_store(&self.config).map_err(|e| {
                    anyhow::anyhow!("{e}\n(or name the store directly with --store sqlite://PATH)")
                })?;
                (s.url, s.max_connections)
            }
        })
    }

    /// The store to read, with `SEAM_AUDIT_KEY` if set (its audit records are signed and
    /// verified). A SQLite file that does not exist is refused, not created empty: a read
    /// from the wrong directory must not answer "nothing yet".
    pub async fn open(&self) -> anyhow::Result<seam_store::SqlStore> {
        self.open_with(false).await
    }

    /// The store to change: a SQLite file is created if missing (its directory must exist).
    pub async fn open_to_write(&self) -> anyhow::Result<seam_store::SqlStore> {
        self.open_with(true).await
    }

    async fn open_with(&self, create: bool) -> anyhow::Result<seam_store::SqlStore> {
        let key = crate::audit::key_from_env()?;
        let (url, max) = self.url()?;
        sqlite_dir_exists(&url)?;
        if let Some(file) = seam_store::sqlite_file(&url)
            && !create
            && !file.exists()
        {
            anyhow::bail!(
                "no store at {}; `seam serve` or `seam migrate` creates it",
                file.display()
            );
        }
        let store = seam_store::open_for_use(&url, max).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot open the store {}: {e}",
                seam_config::redact_url(&url)
            )
        })?;
        Ok(store.with_audit_key(key))
    }
}
