//! A golden trace as a file: `[canaries] dir/NAME.jsonl`, one line per turn, each an eval
//! case in the dataset format (docs/datasets.md) whose `metadata.canary` says what the replay
//! calls and what was recorded. A golden written by hand needs only `metadata.canary.model`
//! on its first line; without a recording its turns are judged by their assertions alone.

use crate::format::clean;
use seam_evals::{Case, Dataset, Output};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What a turn's call gave when it was recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    pub call_id: String,
    pub recorded_ms: i64,
    /// The answer as graders read it, with the call's latency and cost.
    pub output: Output,
    #[serde(default)]
    pub served_model: Option<String>,
    #[serde(default)]
    pub release_id: Option<String>,
}

/// `metadata.canary` of a turn.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnMeta {
    /// What the turn calls: a route, or `prompt:NAME[@CHANNEL]`. The first turn must say;
    /// a later turn without it calls the same.
    #[serde(default)]
    pub model: Option<String>,
    /// The route the call was served on when recorded (the change timeline is read for it).
    #[serde(default)]
    pub route: Option<String>,
    #[serde(default)]
    pub recorded: Option<Recorded>,
}

pub struct Turn {
    pub case: Case,
    pub model: String,
    pub route: Option<String>,
    pub recorded: Option<Recorded>,
}

pub struct Golden {
    pub name: String,
    /// The SHA-256 of the file's canonical content (its dataset version).
    pub version: String,
    pub turns: Vec<Turn>,
}

impl Golden {
    /// When it was recorded: its first recorded turn's time.
    pub fn recorded_ms(&self) -> Option<i64> {
        self.turns
            .iter()
            .find_map(|t| t.recorded.as_ref().map(|r| r.recorded_ms))
    }

    /// The release and served model of the recording (its last recorded turn).
    pub fn recorded_against(&self) -> (Option<&str>, Option<&str>) {
        self.turns
            .iter()
            .rev()
            .find_map(|t| t.recorded.as_ref())
            .map_or((None, None), |r| {
                (r.release_id.as_deref(), r.served_model.as_deref())
            })
    }

    /// The prompt a `prompt:NAME[@CHANNEL]` golden calls.
    pub fn prompt(&self) -> Option<&str> {
        let model = self.turns.first()?.model.strip_prefix("prompt:")?;
        Some(model.split('@').next().unwrap_or(model))
    }

    /// The routes its turns were served on.
    pub fn routes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .turns
            .iter()
            .filter_map(|t| t.route.as_deref())
            .collect();
        if out.is_empty() {
            out.extend(
                self.turns
                    .iter()
                    .filter(|t| !t.model.starts_with("prompt:"))
                    .map(|t| t.model.as_str()),
            );
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A golden's name: what `--name` and file names may be.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    anyhow::ensure!(
        ok,
        "golden name `{}`: use 1 to 64 letters, digits, `-` or `_`",
        clean(name)
    );
    Ok(())
}

pub fn path_of(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.jsonl"))
}

/// Reads the golden at `path`; every problem named by file, line and key.
pub fn load(path: &Path) -> anyhow::Result<Golden> {
    let ds = Dataset::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let file = path.display().to_string();
    anyhow::ensure!(
        !ds.cases.is_empty(),
        "{file}: a golden needs at least one turn"
    );
    let mut turns = Vec::with_capacity(ds.cases.len());
    let mut model: Option<String> = None;
    for case in ds.cases {
        let meta = match case.metadata.as_ref().and_then(|m| m.get("canary")) {
            None => TurnMeta {
                model: None,
                route: None,
                recorded: None,
            },
            Some(v) => serde_json::from_value::<TurnMeta>(v.clone())
                .map_err(|e| anyhow::anyhow!("{file}:{}: metadata.canary: {e}", case.line))?,
        };
        if let Some(m) = &meta.model {
            anyhow::ensure!(
                !m.trim().is_empty(),
                "{file}:{}: metadata.canary.model is empty",
                case.line
            );
            model = Some(m.clone());
        }
        let Some(m) = model.clone() else {
            anyhow::bail!(
                "{file}:{}: metadata.canary.model is missing: name what the golden calls (a route, or prompt:NAME@CHANNEL)",
                case.line
            );
        };
        anyhow::ensure!(
            case.input.as_ref().is_some_and(|i| !i.messages.is_empty()),
            "{file}:{}: case `{}` has no input.messages: a golden's turn replays messages",
            case.line,
            clean(&case.id)
        );
        turns.push(Turn {
            case,
            model: m,
            route: meta.route,
            recorded: meta.recorded,
        });
    }
    Ok(Golden {
        name: ds.name,
        version: ds.version,
        turns,
    })
}

/// Every golden of `dir` (a missing directory has none), by name; files that do not load are
/// returned as their errors, so one bad file does not hide the others.
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<Result<Golden, String>>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let files = seam_evals::dataset::list(dir).map_err(anyhow::Error::msg)?;
    Ok(files
        .iter()
        .map(|p| load(p).map_err(|e| e.to_string()))
        .collect())
}

/// The case line of one recorded turn (written by `seam canary record`).
pub fn with_canary_meta(mut case: Value, meta: &TurnMeta) -> Value {
    if let Some(o) = case.as_object_mut() {
        let m = o
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(m) = m.as_object_mut() {
            m.insert(
                "canary".into(),
                serde_json::to_value(meta).unwrap_or(Value::Null),
            );
        }
    }
    case
}
