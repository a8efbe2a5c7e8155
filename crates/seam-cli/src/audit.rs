//! `seam audit log|verify|head|key`: the chain of control-plane actions, checked end to end
//! and against heads kept outside the store; signing it with `SEAM_AUDIT_KEY`.

use crate::cli::StoreArgs;
use crate::format::{table, timestamp};
use seam_store::Audit;
use seam_store::audit::{self, Anchor, AuditKey, Head, KEY_ENV};
use serde_json::json;
use std::path::Path;

/// `SEAM_AUDIT_KEY`, if set. A key that is set but unfit is an error, never ignored.
pub fn key_from_env() -> anyhow::Result<Option<AuditKey>> {
    match std::env::var(KEY_ENV) {
        Ok(v) if !v.trim().is_empty() => Ok(Some(AuditKey::new(&v).map_err(anyhow::Error::msg)?)),
        _ => Ok(None),
    }
}

pub async fn log(store: &StoreArgs, json_out: bool) -> anyhow::Result<()> {
    // Its records name every tenant's keys, users and sessions.
    let (store, who) = crate::actor::open_as(store).await?;
    who.require_admin("reading the audit log")?;
    let chain = store.list_audit().await?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&chain)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = chain
        .iter()
        .map(|r| {
            vec![
                r.seq.to_string(),
                timestamp(r.created_ms),
                r.actor.clone(),
                r.action.clone(),
                r.subject.clone(),
                r.hash.get(..12).unwrap_or(&r.hash).to_string(),
                r.key_id.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &[
                "#",
                "TIME (UTC)",
                "ACTOR",
                "ACTION",
                "SUBJECT",
                "HASH",
                "KEY"
            ],
            &rows
        )
    );
    Ok(())
}

/// `COUNT:HASH`: what to keep outside the store, and give to `verify --head` later.
pub async fn head(store: &StoreArgs, json_out: bool) -> anyhow::Result<()> {
    let head = store.open().await?.audit_head().await?;
    if json_out {
        println!("{}", json!({"count": head.count, "head": head.hash}));
    } else {
        println!("{head}");
    }
    Ok(())
}

/// Every line of an anchor file, as a head to check, named by its line.
fn anchored_heads(path: &Path) -> anyhow::Result<Vec<(String, Head)>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the anchor file {}: {e}", path.display()))?;
    let mut heads = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{} line {}", path.display(), i + 1);
        let head = serde_json::from_str::<Anchor>(line)
            .map_err(|e| e.to_string())
            .and_then(|a| format!("{}:{}", a.count, a.head).parse::<Head>());
        match head {
            Ok(h) => heads.push((at, h)),
            Err(e) => anyhow::bail!(
                "{at}: not an anchor line such as {{\"at\": 1767225600000, \"count\": 12, \"head\": \"HEX\"}} ({e})"
            ),
        }
    }
    if heads.is_empty() {
        anyhow::bail!("{} holds no anchor line", path.display());
    }
    Ok(heads)
}

pub async fn verify(
    store: &StoreArgs,
    heads: &[String],
    anchor_file: Option<&Path>,
    json_out: bool,
) -> anyhow::Result<()> {
    let mut checks = Vec::new();
    for h in heads {
        checks.push((
            format!("head {h}"),
            h.parse::<Head>().map_err(anyhow::Error::msg)?,
        ));
    }
    if let Some(path) = anchor_file {
        checks.extend(anchored_heads(path)?);
    }
    let mut v = store.open().await?.verify_audit().await?;
    for (at, head) in &checks {
        v.check_head(at, head);
    }
    if json_out {
        let mut out = json!(v);
        out["heads_checked"] = json!(checks.len());
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if v.intact {
        let keyed = match v.keyed_from {
            Some(1) => "every record signed with SEAM_AUDIT_KEY".to_string(),
            Some(k) => format!("signed with SEAM_AUDIT_KEY from record {k}"),
            None => "unkeyed (SHA-256)".to_string(),
        };
        println!("audit chain intact: {} records, {keyed}", v.records);
        println!("head {}:{}", v.records, v.head);
        println!(
            "releases {}, approvals {}, deploys {}: each matches the record that made it",
            v.releases, v.approvals, v.deploys
        );
        if !checks.is_empty() {
            println!("{} anchored heads: each matches the chain", checks.len());
        }
    }
    if !v.intact {
        let list: Vec<String> = v
            .problems
            .iter()
            .map(|p| format!("  - {}: {}", p.at, p.reason))
            .collect();
        anyhow::bail!(
            "the audit chain does not verify ({} problem{}):\n{}",
            list.len(),
            if list.len() == 1 { "" } else { "s" },
            list.join("\n")
        );
    }
    Ok(())
}

/// Starts signing the chain with `SEAM_AUDIT_KEY`: its unkeyed records must verify; the
/// `audit.keyed` record appended now is the first signed one, and every record after it
/// must be.
pub async fn key(store_args: &StoreArgs, json_out: bool) -> anyhow::Result<()> {
    let Some(key) = key_from_env()? else {
        anyhow::bail!(
            "set {KEY_ENV} to the key to sign the chain with (at least 32 random characters, e.g. `openssl rand -hex 32`), kept outside the database: in the environment of every gateway and of every CLI that changes anything"
        );
    };
    let store = store_args.open().await?;
    let who = crate::actor::user(&store).await?;
    who.require_admin("starting to key the audit chain")?;
    let chain = store.list_audit().await?;
    let keyed = chain.iter().find(|r| r.key_id.is_some());
    let newest = chain.last();
    match (keyed, newest) {
        (Some(first), Some(last)) if last.key_id.is_some() => {
            store.check_audit_key().await?;
            if json_out {
                println!(
                    "{}",
                    json!({"keyed_from": first.seq, "key_id": key.id(), "started": false})
                );
            } else {
                println!(
                    "the audit chain is signed with this key from record {} already",
                    first.seq
                );
            }
            return Ok(());
        }
        (Some(first), _) => anyhow::bail!(
            "the audit chain is keyed from record {} but its newest records are not: they were written, or rewritten, without the key; keying it now would sign over that (see `seam audit verify`)",
            first.seq
        ),
        _ => {}
    }
    if let Some(p) = audit::verify_chain(&chain, None) {
        anyhow::bail!(
            "the audit chain does not verify ({}: {}); keying it now would sign over that (see `seam audit verify`)",
            p.at,
            p.reason
        );
    }
    let after = json!({"key_id": key.id()}).to_string();
    let rec = store
        .append_audit(
            &who.name,
            audit::KEYED_ACTION,
            "audit",
            None,
            Some(after),
            seam_store::now_ms(),
        )
        .await?;
    if json_out {
        println!(
            "{}",
            json!({"keyed_from": rec.seq, "key_id": key.id(), "started": true})
        );
    } else {
        println!(
            "the audit chain is signed with {KEY_ENV} (key {}) from record {} on",
            key.id(),
            rec.seq
        );
        eprintln!(
            "every gateway and CLI that records actions needs {KEY_ENV} from now on; an action without it is refused"
        );
    }
    Ok(())
}
