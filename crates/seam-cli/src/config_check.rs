//! `seam config check`: everything `seam serve` would refuse at start, without binding a
//! port, opening the store or reaching a provider.

use std::path::Path;

/// Checks the config (strictly, as `seam serve` reads it), builds its providers as the
/// gateway would, and lints its prompts directory against its routes.
pub async fn check(path: &Path, skip_secrets: bool, json: bool) -> anyhow::Result<()> {
    let loaded = if skip_secrets {
        seam_config::load_lenient(path)
    } else {
        seam_config::load(path, &seam_config::process_env)
    };
    let config = match loaded {
        Ok(c) => c,
        Err(e) => return fail(path, e.problems, json),
    };
    if let Err(e) = seam_providers::Registry::from_config(&config.providers) {
        return fail(path, vec![e], json);
    }
    let prompts = if config.prompts_dir.is_dir() {
        Some(crate::prompts::lint_dir(
            config.prompts_dir.clone(),
            Some(&config),
        )?)
    } else {
        None
    };
    let errors = prompts.as_ref().map_or(0, |p| p.errors());
    let store = seam_config::redact_url(&config.store.url);
    let holidays: std::collections::BTreeSet<&str> = config
        .calendar
        .holidays
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    if json {
        let prompts_json = prompts.as_ref().map(|p| {
            serde_json::json!({
                "dir": p.dir.display().to_string(),
                "prompts": p.prompts,
                "errors": p.errors(),
                "warnings": p.warnings(),
                "findings": p.findings_json(),
            })
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "config": path.display().to_string(),
                "ok": errors == 0,
                "problems": [],
                "listen": config.server.listen.to_string(),
                "store": store,
                "providers": config.providers.iter().map(|p| &p.name).collect::<Vec<_>>(),
                "routes": config.routes.iter().map(|r| &r.name).collect::<Vec<_>>(),
                "prompts": prompts_json,
                "calendar": {
                    "periods": config.calendar.holidays.len(),
                    "holidays": holidays,
                    "files": config.calendar.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                },
            }))?
        );
    } else {
        if let Some(p) = &prompts {
            p.print();
        }
        println!("{}: config valid", path.display());
        println!("  listen     {}", config.server.listen);
        println!("  store      {store} (not opened)");
        println!(
            "  providers  {}",
            list(config.providers.iter().map(|p| p.name.as_str()))
        );
        println!(
            "  routes     {}",
            list(config.routes.iter().map(|r| r.name.as_str()))
        );
        match config.calendar.holidays.len() {
            0 => println!("  calendar   none"),
            n => println!(
                "  calendar   {n} periods of {}",
                list(holidays.iter().copied())
            ),
        }
        match &prompts {
            Some(p) => println!(
                "  prompts    {} files in {}: {} errors, {} warnings",
                p.prompts + p.file_errors.len(),
                p.dir.display(),
                p.errors(),
                p.warnings()
            ),
            None => println!(
                "  prompts    none ({} is not a directory)",
                config.prompts_dir.display()
            ),
        }
    }
    if errors > 0 {
        anyhow::bail!("{}: the prompts have {errors} errors", path.display());
    }
    Ok(())
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = names.collect();
    if v.is_empty() {
        "none".into()
    } else {
        format!("{} ({})", v.len(), v.join(", "))
    }
}

fn fail(path: &Path, problems: Vec<String>, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "config": path.display().to_string(),
                "ok": false,
                "problems": problems,
            }))?
        );
    } else {
        println!("{}: invalid", path.display());
        for p in &problems {
            println!("  - {}", p.replace('\n', "\n    "));
        }
    }
    anyhow::bail!(
        "{}: {} problem{}",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    )
}
