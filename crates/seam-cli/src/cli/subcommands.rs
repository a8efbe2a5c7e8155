//! The subcommands' own arguments (`seam keys ...`, `seam release ...`, ...).

use super::StoreArgs;
use clap::Subcommand;
use std::path::PathBuf;

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
    /// Make a release of prompt NAME from its file; it must lint clean, and contain no eval
    /// case of `[evals] dir` (the contamination guard, docs/evals.md).
    Create {
        /// The prompt's name (its file is NAME.toml in the prompts directory).
        name: String,
        /// The prompts directory; by default the config's `[prompts] dir`, else ./prompts.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Make the release although it contains eval cases of `[evals] dir` (as an owner of
        /// the prompt or an admin): audited with the cases and the reason.
        #[arg(long = "allow-contamination", value_name = "REASON")]
        allow_contamination: Option<String>,
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
        /// Each call's captured content too (what was asked and answered), when captured.
        #[arg(long)]
        content: bool,
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
    /// What evals were worth: regressions the gate blocked, the failures and cost they are
    /// estimated to have avoided (with intervals), the actual eval spend and the ratio, per
    /// prompt and in total, from the value ledger (docs/evals.md "Value ledger").
    Value {
        /// How far back: 90d (the default), 24h.
        #[arg(long, conflicts_with = "quarter")]
        since: Option<String>,
        /// A calendar quarter, UTC: 2026Q4.
        #[arg(long)]
        quarter: Option<String>,
        /// md (a Markdown table and the method), csv (one header row, ISO dates, plain
        /// numbers; the method on standard error) or json.
        #[arg(long, default_value = "md")]
        format: String,
        /// Output as JSON: the same as --format json.
        #[arg(long, conflicts_with = "format")]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CallsCommand {
    /// One call with all its attempts, for a stream what its client saw, and its captured
    /// content (what was asked and answered) when it was captured.
    Show {
        id: String,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
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
    /// Calls, attempts, streams, events and captured contents as JSON lines (`{"type":
    /// "call", ...}`), oldest first, to standard output; a content's body decoded.
    Export {
        /// How far back: 30s, 15m, 1h, 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Which: calls, attempts, streams, events, contents (comma-separated; default all).
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

#[derive(Debug, Subcommand)]
pub(crate) enum DatasetCommand {
    /// Append a case per captured call to a JSON-lines dataset (docs/datasets.md): the call's
    /// messages and tools as input, its answer as `expected` (review pending). With both
    /// --from-call and --trace, the named calls and the trace's are added (each once).
    Add(crate::dataset::AddArgs),
    /// Lint fine-tuning data (docs/lint.md): format, token counts and cost, behaviour rule
    /// packs, personal data, duplicates, eval contamination, custom rules. Exit 1 when a
    /// --max threshold is exceeded, 2 for bad input; --fix writes a cleaned copy.
    Lint(Box<crate::dataset::lint::LintArgs>),
    /// Convert CSV transcripts (conversation_id, role, text, timestamp) to chat-format JSONL.
    Convert(crate::dataset::lint::ConvertArgs),
    /// The datasets in `[evals] dir`: cases and version of each; exits non-zero when one is
    /// invalid (its problems on stderr, with file, line and key).
    List {
        /// The datasets directory; by default the config's `[evals] dir`.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// A dataset's version and cases (assertions, tags, group, required); refused with every
    /// problem when it is invalid.
    Show {
        /// A file name in `[evals] dir` (with or without .jsonl), or a path.
        name: String,
        /// The datasets directory; by default the config's `[evals] dir`.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// Cases added, removed and changed (with the keys that changed) from one dataset file
    /// to another: two versions of a dataset. With one dataset only, its current cases
    /// against those its newest eval run graded (`--run` picks another run): ids added and
    /// removed, and cases changed as far as the run's results keep each case's hash.
    Diff {
        /// The earlier version: a name in `[evals] dir` or a path. Alone: the dataset to
        /// compare with its newest eval run.
        from: String,
        /// The later version: a name in `[evals] dir` or a path.
        to: Option<String>,
        /// Compare the dataset with this eval run rather than its newest (reads the store).
        #[arg(long, value_name = "RUN", conflicts_with = "to")]
        run: Option<String>,
        /// The datasets directory; by default the config's `[evals] dir`.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UsageCommand {
    /// Load hourly usage history from before Seam from a CSV file (docs/usage.md): columns
    /// timestamp, tenant, route, tokens (or input_tokens and output_tokens), cost, and
    /// optionally key and calls. The whole file is checked first; a bad row imports nothing.
    /// Importing a file again replaces the hours it holds.
    Import {
        /// The CSV file, with a header line.
        file: std::path::PathBuf,
        /// Import tenants that neither the config nor any key names.
        #[arg(long)]
        allow_unknown: bool,
        /// Output as JSON (one document; the same facts as the text).
        #[arg(long)]
        json: bool,
    },
    /// Write hourly usage (the live calls' and the imported history) with the columns an
    /// import reads.
    Export {
        /// From: a duration back from now (30s, 15m, 1h, 30d) or a time (2026-01-05, RFC 3339).
        #[arg(long, default_value = "24h")]
        since: String,
        /// Until (exclusive): a time; default now.
        #[arg(long)]
        until: Option<String>,
        /// key: a row per tenant, route and key; route: per tenant and route; tenant: per tenant.
        #[arg(long, default_value = "key")]
        by: String,
        /// csv or json.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Output as JSON (`--format json`).
        #[arg(long, conflicts_with = "format")]
        json: bool,
    },
}
