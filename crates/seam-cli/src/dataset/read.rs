//! `seam dataset list|show|diff`: datasets read from files (docs/evals.md "Datasets"), named by
//! their file name in `[evals] dir` (`--dir` overrides) or by a path. Reading only: nothing
//! here opens the store (`since.rs`, a dataset against its newest eval run, does).

use crate::format::{clean, table};
use seam_evals::dataset::{self, Dataset, DatasetDiff};
use seam_evals::{DatasetError, DatasetErrors};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The datasets directory: `--dir`, else the config's `[evals] dir` when the config file
/// exists, else none (names must then be paths or files here).
pub(super) fn evals_dir(dir: Option<PathBuf>, config: &Path) -> anyhow::Result<Option<PathBuf>> {
    if dir.is_some() {
        return Ok(dir);
    }
    if !config.exists() {
        return Ok(None);
    }
    Ok(Some(seam_config::load_lenient(config)?.evals.dir))
}

pub(super) fn load(name: &str, dir: Option<&Path>) -> anyhow::Result<Dataset> {
    let path = dataset::resolve(name, dir).map_err(|e| anyhow::anyhow!(clean(&e).into_owned()))?;
    Dataset::load(&path).map_err(|e| invalid(&e))
}

fn invalid(e: &DatasetErrors) -> anyhow::Error {
    anyhow::anyhow!("invalid dataset: {}", clean(&e.to_string()))
}

fn error_json(e: &DatasetError) -> Value {
    json!({"file": e.file, "line": e.line, "key": e.key, "message": e.message})
}

pub(super) fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}

pub fn list(dir: Option<PathBuf>, config: &Path, as_json: bool) -> anyhow::Result<()> {
    let Some(dir) = evals_dir(dir, config)? else {
        anyhow::bail!(
            "no config file {} for [evals] dir: pass --dir DIR, or --config FILE",
            config.display()
        );
    };
    let paths = dataset::list(&dir).map_err(|e| anyhow::anyhow!(clean(&e).into_owned()))?;
    let loaded: Vec<(PathBuf, Result<Dataset, DatasetErrors>)> = paths
        .into_iter()
        .map(|p| (p.clone(), Dataset::load(&p)))
        .collect();
    let bad = loaded.iter().filter(|(_, d)| d.is_err()).count();
    if as_json {
        let datasets: Vec<Value> = loaded
            .iter()
            .map(|(p, d)| match d {
                Ok(d) => {
                    json!({"name": d.name, "path": p, "cases": d.cases.len(), "version": d.version})
                }
                Err(e) => json!({"name": dataset::name_of(p), "path": p,
                                 "errors": e.0.iter().map(error_json).collect::<Vec<_>>()}),
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"dir": dir, "datasets": datasets}))?
        );
    } else if loaded.is_empty() {
        println!(
            "no datasets (*.jsonl) in {}",
            clean(&dir.display().to_string())
        );
    } else {
        let rows: Vec<Vec<String>> = loaded
            .iter()
            .map(|(p, d)| match d {
                Ok(d) => vec![
                    d.name.clone(),
                    d.cases.len().to_string(),
                    short(&d.version).to_string(),
                    p.display().to_string(),
                ],
                Err(e) => vec![
                    dataset::name_of(p),
                    "-".into(),
                    format!("invalid ({} problems)", e.0.len()),
                    p.display().to_string(),
                ],
            })
            .collect();
        println!("{}", table(&["DATASET", "CASES", "VERSION", "PATH"], &rows));
        for (_, d) in &loaded {
            if let Err(e) = d {
                for p in &e.0 {
                    eprintln!("{}", clean(&p.to_string()));
                }
            }
        }
    }
    if bad > 0 {
        anyhow::bail!("{bad} of {} datasets are invalid", loaded.len());
    }
    Ok(())
}

pub fn show(name: &str, dir: Option<PathBuf>, config: &Path, as_json: bool) -> anyhow::Result<()> {
    let dir = evals_dir(dir, config)?;
    let d = load(name, dir.as_deref())?;
    let required = d.cases.iter().filter(|c| c.required).count();
    let groups: std::collections::BTreeSet<&str> =
        d.cases.iter().filter_map(|c| c.group.as_deref()).collect();
    let bare = d.cases.iter().filter(|c| c.assertions.is_empty()).count();
    if as_json {
        let cases: Vec<Value> = d
            .cases
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "line": c.line,
                    "messages": c.input.as_ref().map(|i| i.messages.len()),
                    "tools": c.input.as_ref().map(|i| i.tools.len()),
                    "release": c.input.as_ref().and_then(|i| i.release.clone()),
                    "variables": c.variables.as_ref().map(|v| match v {
                        Value::Object(m) => json!(m.keys().collect::<Vec<_>>()),
                        _ => Value::String("(text)".into()),
                    }),
                    "expected": c.expected.is_some(),
                    "assert": c.assertions.iter().map(|a| a.kind.clone()).collect::<Vec<_>>(),
                    "tags": c.tags,
                    "group": c.group,
                    "required": c.required,
                    "threshold": c.threshold,
                    "description": c.description,
                })
            })
            .collect();
        let out = json!({
            "name": d.name,
            "path": d.path,
            "version": d.version,
            "cases": cases,
            "required": required,
            "groups": groups.len(),
            "without_assertions": bare,
            "tags": d.tag_counts(),
            "assertions": d.assertion_counts(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let counts = |m: std::collections::BTreeMap<String, usize>| {
        if m.is_empty() {
            "-".to_string()
        } else {
            m.iter()
                .map(|(k, n)| format!("{} {n}", clean(k)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    println!(
        "dataset {} ({})",
        clean(&d.name),
        clean(&d.path.display().to_string())
    );
    println!("version     {}", d.version);
    println!(
        "cases       {} ({required} required, {} groups, {bare} without assertions)",
        d.cases.len(),
        groups.len()
    );
    println!("tags        {}", counts(d.tag_counts()));
    println!("assertions  {}", counts(d.assertion_counts()));
    if d.cases.is_empty() {
        return Ok(());
    }
    let dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
    let rows: Vec<Vec<String>> = d
        .cases
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                dash(
                    c.assertions
                        .iter()
                        .map(|a| a.kind.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                dash(c.tags.join(", ")),
                c.group.clone().unwrap_or_else(|| "-".into()),
                if c.required { "yes" } else { "-" }.into(),
            ]
        })
        .collect();
    println!();
    println!(
        "{}",
        table(&["ID", "ASSERTIONS", "TAGS", "GROUP", "REQUIRED"], &rows)
    );
    Ok(())
}

pub fn diff(
    from: &str,
    to: &str,
    dir: Option<PathBuf>,
    config: &Path,
    as_json: bool,
) -> anyhow::Result<()> {
    let dir = evals_dir(dir, config)?;
    let a = load(from, dir.as_deref())?;
    let b = load(to, dir.as_deref())?;
    let d: DatasetDiff = dataset::diff(&a, &b);
    if as_json {
        let mut out = serde_json::to_value(&d)?;
        if let Some(o) = out.as_object_mut() {
            o.insert("from".into(), json!(a.path));
            o.insert("to".into(), json!(b.path));
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} ({}) -> {} ({})",
        clean(&a.path.display().to_string()),
        short(&a.version),
        clean(&b.path.display().to_string()),
        short(&b.version)
    );
    if d.from_version == d.to_version {
        println!("same version: no case changed ({} cases)", d.unchanged);
        return Ok(());
    }
    let ids = |v: &[String]| {
        v.iter()
            .map(|i| clean(i).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("added      {}{}", d.added.len(), list_tail(&ids(&d.added)));
    println!(
        "removed    {}{}",
        d.removed.len(),
        list_tail(&ids(&d.removed))
    );
    println!("changed    {}", d.changed.len());
    for c in &d.changed {
        println!("  {}  ({})", clean(&c.id), clean(&c.keys.join(", ")));
    }
    println!("unchanged  {}", d.unchanged);
    Ok(())
}

fn list_tail(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(": {s}")
    }
}
