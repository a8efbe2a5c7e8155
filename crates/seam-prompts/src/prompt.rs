//! The prompt file shape (see the README's example), parsed strictly.

use crate::FileError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What happens when the provider serves another model than the one a release pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelChange {
    #[default]
    Record,
    Alert,
    Refuse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub role: String,
    /// A MiniJinja template over the prompt's variables.
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<toml::Value>,
}

/// `gate = { dataset = "billing.jsonl", channel = "production", alpha = 0.05, margin = 0.02 }`:
/// a deploy to `channel` needs a passing gate on `dataset` against the release served there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// A dataset's file name in `[evals] dir` (with or without `.jsonl`).
    pub dataset: String,
    pub channel: String,
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    #[serde(default = "default_margin")]
    pub margin: f64,
}

fn default_alpha() -> f64 {
    0.05
}

fn default_margin() -> f64 {
    0.02
}

impl Gate {
    /// The first key that is out of range, and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let name = self.dataset.trim();
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err((
                "gate.dataset",
                format!(
                    "`{}`: name a dataset file in [evals] dir (not empty, no path)",
                    self.dataset.escape_debug()
                ),
            ));
        }
        check_name(&self.channel).map_err(|e| ("gate.channel", e))?;
        if !(self.alpha > 0.0 && self.alpha < 0.5) {
            return Err((
                "gate.alpha",
                format!(
                    "{} is out of range: use a number above 0 and below 0.5",
                    self.alpha
                ),
            ));
        }
        if !(self.margin >= 0.0 && self.margin < 1.0) {
            return Err((
                "gate.margin",
                format!(
                    "{} is out of range: use a number from 0 up to (not including) 1",
                    self.margin
                ),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    pub name: String,
    pub owners: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The route the prompt's calls go through.
    pub route: String,
    /// The pinned model snapshot, never an alias.
    pub model: String,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// Variable name -> type: string, number, integer, boolean, array, object.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub on_model_change: ModelChange,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub tools: Vec<Tool>,
    #[serde(default)]
    pub response_format: Option<toml::Value>,
    /// Deploys to `gate.channel` need a passing eval gate (docs/evals.md "Gated deploys").
    /// Left out of the content when absent, so releases made before it keep their ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<Gate>,
    /// What one failed call of this prompt costs the business, in USD: the value ledger
    /// prices the failures a blocked regression is estimated to avoid (docs/evals.md
    /// "Value ledger"). Left out of the content when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_cost_usd: Option<f64>,
    /// The file it came from (not part of the prompt's content).
    #[serde(skip)]
    pub file: PathBuf,
}

pub fn load_file(path: &Path) -> Result<Prompt, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError {
        file: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })?;
    parse(&text, path)
}

/// Parses prompt TOML; `origin` names it in errors (a file, or the API request).
pub fn parse(text: &str, origin: &Path) -> Result<Prompt, FileError> {
    let error = |message: String| FileError {
        file: origin.display().to_string(),
        message,
    };
    let mut p: Prompt =
        toml::from_str(text).map_err(|e| error(e.to_string().trim_end().to_string()))?;
    check_name(&p.name).map_err(|e| error(format!("name: {e}")))?;
    if let Some(g) = &p.gate {
        g.check().map_err(|(key, e)| error(format!("{key}: {e}")))?;
    }
    if let Some(cost) = p.failure_cost_usd
        && !(cost.is_finite() && cost >= 0.0)
    {
        return Err(error(format!(
            "failure_cost_usd: {cost} is out of range: use a number of USD from 0 up"
        )));
    }
    p.file = origin.to_path_buf();
    Ok(p)
}

/// The most a prompt or channel name may be.
pub const MAX_NAME_LEN: usize = 64;

/// A prompt name (or a channel's) is a file name in the prompts directory and a part of
/// `prompt:NAME@CHANNEL`: ASCII letters, digits, `-` and `_`, starting with a letter or
/// digit, so it can never name a path outside the directory.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        return Ok(());
    }
    Err(format!(
        "`{}` is not a valid name: use letters, digits, `-` and `_`, starting with a letter \
         or digit, at most {MAX_NAME_LEN} characters",
        name.escape_debug()
    ))
}

/// The file of prompt `name` in `dir`, once the name is checked.
pub fn file_of(dir: &Path, name: &str) -> Result<PathBuf, FileError> {
    check_name(name).map_err(|message| FileError {
        file: dir.display().to_string(),
        message: format!("prompt {message}"),
    })?;
    Ok(dir.join(format!("{name}.toml")))
}

/// Every `*.toml` file of a directory, in name order: the prompts, and the files that failed.
pub fn load_dir(dir: &Path) -> Result<(Vec<Prompt>, Vec<FileError>), FileError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FileError {
        file: dir.display().to_string(),
        message: format!("cannot read the prompts directory: {e}"),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let (mut prompts, mut errors) = (Vec::new(), Vec::new());
    for p in paths {
        match load_file(&p) {
            Ok(prompt) => prompts.push(prompt),
            Err(e) => errors.push(e),
        }
    }
    Ok((prompts, errors))
}
