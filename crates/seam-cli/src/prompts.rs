//! `seam prompt lint` and `seam prompt diff`.

use seam_prompts::{Finding, Severity, lint as lint_prompt, load_dir};
use std::path::PathBuf;

/// What `seam prompt lint` found in a prompts directory.
pub(crate) struct LintReport {
    pub dir: PathBuf,
    pub prompts: usize,
    /// Files that did not parse.
    pub file_errors: Vec<seam_prompts::FileError>,
    pub findings: Vec<Finding>,
}

impl LintReport {
    pub fn errors(&self) -> usize {
        self.file_errors.len()
            + self
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count()
    }

    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count()
    }

    /// Every problem as JSON objects: file, key, severity, message.
    pub fn findings_json(&self) -> Vec<serde_json::Value> {
        let files = self.file_errors.iter().map(|e| {
            serde_json::json!({"file": e.file, "key": null, "severity": "error", "message": e.message})
        });
        let found = self
            .findings
            .iter()
            .map(|f| serde_json::to_value(f).unwrap_or_default());
        files.chain(found).collect()
    }

    /// Every problem as lines of text, one per finding.
    pub fn print(&self) {
        for e in &self.file_errors {
            println!("{}: error: {}", e.file, e.message.replace('\n', "\n    "));
        }
        for f in &self.findings {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            println!("{}: {}: {sev}: {}", f.file, f.key, f.message);
        }
    }
}

/// Lints every prompt file of `dir`, and with a config, checks each names one of its routes.
pub(crate) fn lint_dir(
    dir: PathBuf,
    cfg: Option<&seam_config::Config>,
) -> anyhow::Result<LintReport> {
    let (prompts, file_errors) = load_dir(&dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut findings: Vec<Finding> = prompts.iter().flat_map(lint_prompt).collect();
    if let Some(cfg) = cfg {
        for p in prompts.iter().filter(|p| cfg.route(&p.route).is_none()) {
            findings.push(Finding {
                file: p.file.display().to_string(),
                key: "route".into(),
                severity: Severity::Error,
                message: format!("route `{}` is not in the config", p.route),
            });
        }
        // The same check as `seam release create`, against the config's `[evals] dir`.
        let guard = seam_control::contamination::Guard::of(&cfg.evals, None);
        for (i, p) in prompts.iter().enumerate() {
            let file = p.file.display().to_string();
            let report = seam_control::contamination::check_prompt(p, &guard)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for f in report.findings {
                findings.push(Finding {
                    file: file.clone(),
                    key: f.place.clone(),
                    severity: Severity::Error,
                    message: format!(
                        "contains an eval case: {} (`seam release create` refuses it)",
                        f.describe()
                    ),
                });
            }
            // The same files for every prompt: said once.
            for u in report.unread.into_iter().filter(|_| i == 0) {
                findings.push(Finding {
                    file: file.clone(),
                    key: "contamination".into(),
                    severity: Severity::Warning,
                    message: u,
                });
            }
        }
    }
    Ok(LintReport {
        dir,
        prompts: prompts.len(),
        file_errors,
        findings,
    })
}

pub async fn lint(dir: Option<PathBuf>, config: Option<PathBuf>, json: bool) -> anyhow::Result<()> {
    let cfg = match &config {
        Some(path) => Some(seam_config::load_lenient(path)?),
        None => None,
    };
    let dir = dir
        .or_else(|| cfg.as_ref().map(|c| c.prompts_dir.clone()))
        .unwrap_or_else(|| PathBuf::from("prompts"));
    let report = lint_dir(dir, cfg.as_ref())?;
    let errors = report.errors();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "dir": report.dir.display().to_string(),
                "prompts": report.prompts,
                "errors": errors,
                "findings": report.findings_json(),
            }))?
        );
    } else {
        report.print();
        println!(
            "{} prompt files in {}: {errors} errors, {} warnings",
            report.prompts + report.file_errors.len(),
            report.dir.display(),
            report.warnings()
        );
    }
    if errors > 0 {
        anyhow::bail!("prompt lint found {errors} errors");
    }
    Ok(())
}

/// A prompt's content as readable lines: pretty JSON of what shapes model behaviour.
fn lines(content: &serde_json::Value) -> String {
    serde_json::to_string_pretty(content).unwrap_or_default() + "\n"
}

pub async fn diff(
    store_args: &crate::cli::StoreArgs,
    name: &str,
    releases: &[String],
    dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let (store, _who) = crate::actor::open_as(store_args).await?;
    let load = |id: &str| {
        let store = &store;
        let id = id.to_string();
        async move {
            use seam_store::Releases;
            let r = store
                .get_release(&id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no release `{id}`"))?;
            if r.prompt != name {
                anyhow::bail!("{id} is a release of `{}`, not `{name}`", r.prompt);
            }
            Ok::<_, anyhow::Error>((id, serde_json::from_str::<serde_json::Value>(&r.content)?))
        }
    };
    let ((a_label, a), (b_label, b)) = match releases {
        [a, b] => (load(a).await?, load(b).await?),
        [] => {
            use seam_store::Releases;
            let latest = store.list_releases(name).await?.pop().ok_or_else(|| {
                anyhow::anyhow!("`{name}` has no release yet: nothing to compare the file with")
            })?;
            let dir = dir
                .or_else(|| {
                    seam_config::load_lenient(&store_args.config)
                        .ok()
                        .map(|c| c.prompts_dir)
                })
                .unwrap_or_else(|| PathBuf::from("prompts"));
            let path = seam_prompts::file_of(&dir, name).map_err(|e| anyhow::anyhow!("{e}"))?;
            let file = seam_prompts::load_file(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
            (
                (latest.id.clone(), serde_json::from_str(&latest.content)?),
                (path.display().to_string(), serde_json::to_value(&file)?),
            )
        }
        _ => anyhow::bail!(
            "give two release ids, or none to compare the file with the latest release"
        ),
    };
    let (old, new) = (lines(&a), lines(&b));
    if old == new {
        println!("{a_label} and {b_label} are the same");
        return Ok(());
    }
    let d = similar::TextDiff::from_lines(&old, &new);
    print!(
        "{}",
        d.unified_diff()
            .context_radius(3)
            .header(&a_label, &b_label)
    );
    Ok(())
}
