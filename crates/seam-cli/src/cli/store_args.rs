//! Where a command finds the store: `--config`'s `[store]`, or `--store`.

use clap::Args;
use std::path::PathBuf;

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
