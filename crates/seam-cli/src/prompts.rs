//! `seam prompt lint`.

use seam_prompts::{Finding, Severity, lint as lint_prompt, load_dir};
use std::path::PathBuf;

pub async fn lint(dir: Option<PathBuf>, config: Option<PathBuf>, json: bool) -> anyhow::Result<()> {
    let cfg = match &config {
        Some(path) => Some(seam_config::load_lenient(path)?),
        None => None,
    };
    let dir = dir
        .or_else(|| cfg.as_ref().map(|c| c.prompts_dir.clone()))
        .unwrap_or_else(|| PathBuf::from("prompts"));
    let (prompts, file_errors) = load_dir(&dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut findings: Vec<Finding> = prompts.iter().flat_map(lint_prompt).collect();
    if let Some(cfg) = &cfg {
        for p in prompts.iter().filter(|p| cfg.route(&p.route).is_none()) {
            findings.push(Finding {
                file: p.file.display().to_string(),
                key: "route".into(),
                severity: Severity::Error,
                message: format!("route `{}` is not in the config", p.route),
            });
        }
    }
    let errors = file_errors.len()
        + findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
    if json {
        let files: Vec<serde_json::Value> = file_errors
            .iter()
            .map(|e| serde_json::json!({"file": e.file, "key": null, "severity": "error", "message": e.message}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "dir": dir.display().to_string(),
                "prompts": prompts.len(),
                "errors": errors,
                "findings": files.into_iter().chain(findings.iter().map(|f| serde_json::to_value(f).unwrap_or_default())).collect::<Vec<_>>(),
            }))?
        );
    } else {
        for e in &file_errors {
            println!("{}: error: {}", e.file, e.message.replace('\n', "\n    "));
        }
        for f in &findings {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            println!("{}: {}: {sev}: {}", f.file, f.key, f.message);
        }
        println!(
            "{} prompt files in {}: {errors} errors, {} warnings",
            prompts.len() + file_errors.len(),
            dir.display(),
            findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count()
        );
    }
    if errors > 0 {
        anyhow::bail!("prompt lint found {errors} errors");
    }
    Ok(())
}
