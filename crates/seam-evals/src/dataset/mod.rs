//! Datasets as files (docs/evals.md "Datasets"): JSON lines, one case a line, read strictly
//! (every problem names the file, the line and the key), named by their file name in `[evals]
//! dir` or by a path, versioned by the SHA-256 of their canonical content.

mod canonical;
pub(crate) mod case;
mod diff;
mod strict;

pub use canonical::{canonical_json, case_hash};
pub use case::{Case, Input};
pub use diff::{Change, DatasetDiff, diff};

use crate::fields::FieldError;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// A dataset file, parsed.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Its file name without `.jsonl`.
    pub name: String,
    pub path: PathBuf,
    /// The SHA-256 (hex) of its canonical content.
    pub version: String,
    /// Its cases in file order.
    pub cases: Vec<Case>,
}

/// One problem in a dataset file: where (line from 1; 0 for the file as a whole) and which
/// key (empty for the line as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetError {
    pub file: String,
    pub line: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.key.is_empty()) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (line, true) => write!(f, "{}:{line}: {}", self.file, self.message),
            (line, false) => write!(f, "{}:{line}: {}: {}", self.file, self.key, self.message),
        }
    }
}

/// Every problem found in a dataset (none of its cases is used while there is one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DatasetErrors(pub Vec<DatasetError>);

impl fmt::Display for DatasetErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        match self.0.first() {
            Some(e) if n == 1 => write!(f, "{e}"),
            _ => {
                write!(f, "{n} problems:")?;
                for e in &self.0 {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl DatasetErrors {
    fn file(file: &str, message: String) -> DatasetErrors {
        DatasetErrors(vec![DatasetError {
            file: file.to_string(),
            line: 0,
            key: String::new(),
            message,
        }])
    }
}

impl Dataset {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Dataset, DatasetErrors> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| DatasetErrors::file(&shown, format!("cannot read the file: {e}")))?;
        Dataset::parse_bytes(&bytes, path)
    }

    /// Parses a dataset's bytes; `path` names it (in errors, and its name).
    pub fn parse_bytes(bytes: &[u8], path: &Path) -> Result<Dataset, DatasetErrors> {
        let file = path.display().to_string();
        let mut errors = Vec::new();
        let mut cases: Vec<Case> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let at = |line: usize, e: FieldError| DatasetError {
            file: file.clone(),
            line,
            key: e.key,
            message: e.message,
        };
        for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            let line = i + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let Ok(text) = std::str::from_utf8(raw) else {
                errors.push(at(line, FieldError::new("", "not UTF-8 text")));
                continue;
            };
            if text.trim().is_empty() {
                continue;
            }
            let value = match strict::parse(text) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(at(line, FieldError::new("", format!("not JSON: {e}"))));
                    continue;
                }
            };
            match case::parse(value, line) {
                Ok(c) => match seen.get(&c.id) {
                    Some(first) => errors.push(at(
                        line,
                        FieldError::new(
                            "id",
                            format!("`{}` is already the id of line {first}", c.id),
                        ),
                    )),
                    None => {
                        seen.insert(c.id.clone(), line);
                        cases.push(c);
                    }
                },
                Err(es) => errors.extend(es.into_iter().map(|e| at(line, e))),
            }
        }
        if !errors.is_empty() {
            return Err(DatasetErrors(errors));
        }
        let version = canonical::version(cases.iter().map(|c| (c.id.as_str(), &c.content)));
        Ok(Dataset {
            name: name_of(path),
            path: path.to_path_buf(),
            version,
            cases,
        })
    }

    /// The routes its graders call, each assertion's own or else the default given for its
    /// kind (`[evals] judge_route`, `embedding_route`); an assertion that needs a route and has
    /// none is refused, naming its line and key. A runner checks these exist before any call.
    pub fn routes(
        &self,
        judge_route: Option<&str>,
        embedding_route: Option<&str>,
    ) -> Result<BTreeSet<String>, DatasetErrors> {
        let mut routes = BTreeSet::new();
        let mut errors = Vec::new();
        for c in &self.cases {
            for (i, a) in c.assertions.iter().enumerate() {
                match a.route(judge_route, embedding_route) {
                    Ok(Some(r)) => {
                        routes.insert(r.to_string());
                    }
                    Ok(None) => {}
                    Err(message) => errors.push(DatasetError {
                        file: self.path.display().to_string(),
                        line: c.line,
                        key: format!("assert[{i}].route"),
                        message,
                    }),
                }
            }
        }
        if errors.is_empty() {
            Ok(routes)
        } else {
            Err(DatasetErrors(errors))
        }
    }

    /// How many cases carry each tag, by tag.
    pub fn tag_counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for t in self.cases.iter().flat_map(|c| &c.tags) {
            *out.entry(t.clone()).or_insert(0) += 1;
        }
        out
    }

    /// How many assertions of each type (as written), by type.
    pub fn assertion_counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for a in self.cases.iter().flat_map(|c| &c.assertions) {
            *out.entry(a.kind.clone()).or_insert(0) += 1;
        }
        out
    }
}

/// A dataset's name: its file name without `.jsonl`.
pub fn name_of(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.strip_suffix(".jsonl").unwrap_or(&file).to_string()
}

/// The file a command's `name` means: a name with a path separator is a path; otherwise the
/// file of that name in `dir` (`NAME.jsonl`, or `NAME` when it already ends in `.jsonl`),
/// else a file of that name in the current directory. Both existing is ambiguous and refused
/// (write `./NAME` for the one here).
pub fn resolve(name: &str, dir: Option<&Path>) -> Result<PathBuf, String> {
    if name.trim().is_empty() {
        return Err("name a dataset: its file name in [evals] dir, or a path".into());
    }
    let as_path = PathBuf::from(name);
    if name.contains('/') || name.contains(std::path::MAIN_SEPARATOR) {
        return if as_path.is_file() {
            Ok(as_path)
        } else {
            Err(format!("no dataset file {name}"))
        };
    }
    let file = if name.ends_with(".jsonl") {
        name.to_string()
    } else {
        format!("{name}.jsonl")
    };
    let in_dir = dir.map(|d| d.join(&file)).filter(|p| p.is_file());
    let here = as_path.is_file().then_some(as_path);
    match (in_dir, here) {
        (Some(d), Some(h)) if d.canonicalize().ok() != h.canonicalize().ok() => Err(format!(
            "`{name}` is ambiguous: both {} and {} exist; write ./{name} for the one here",
            d.display(),
            h.display()
        )),
        (Some(d), _) => Ok(d),
        (None, Some(h)) => Ok(h),
        (None, None) => Err(match dir {
            Some(d) => format!(
                "no dataset `{name}`: no {} (see `seam dataset list`), and no file {name} here",
                d.join(&file).display()
            ),
            None => format!(
                "no dataset `{name}` here; name a path, or the config whose [evals] dir has it"
            ),
        }),
    }
}

/// The datasets in `dir`: its `*.jsonl` files (not those in subdirectories), by name.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the datasets directory {}: {e}", dir.display()))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    out.sort();
    Ok(out)
}
