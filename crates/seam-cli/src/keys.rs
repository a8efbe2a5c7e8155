//! `seam keys create|list|revoke`.

use crate::cli::{KeysCommand, StoreArgs};
use crate::format::{table, timestamp};
use seam_gateway::authenticate::mint_key;
use seam_store::Store;
use serde_json::json;

pub async fn run(cmd: KeysCommand, store: &StoreArgs) -> anyhow::Result<()> {
    let store = store.open().await?;
    match cmd {
        KeysCommand::Create { tenant, name, json } => {
            if tenant.trim().is_empty() {
                anyhow::bail!("--tenant must name a tenant");
            }
            let key = mint_key(tenant.trim(), name, seam_gateway::now_ms());
            store.insert_key(&key.record).await?;
            if json {
                println!(
                    "{}",
                    json!({"id": key.record.id, "tenant": key.record.tenant, "name": key.record.name, "prefix": key.record.prefix, "key": key.plain})
                );
            } else {
                println!("{}", key.plain);
                eprintln!(
                    "created key {} for tenant `{}`; this is the only time it is shown",
                    key.record.id, key.record.tenant
                );
            }
        }
        KeysCommand::List { json } => {
            let keys = store.list_keys().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else if keys.is_empty() {
                println!("no keys yet: create one with `seam keys create --tenant NAME`");
            } else {
                let rows: Vec<Vec<String>> = keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.id.clone(),
                            k.tenant.clone(),
                            k.name.clone().unwrap_or_default(),
                            format!("{}…", k.prefix),
                            timestamp(k.created_ms),
                            match k.revoked_ms {
                                Some(t) => format!("revoked {}", timestamp(t)),
                                None => "active".into(),
                            },
                        ]
                    })
                    .collect();
                println!(
                    "{}",
                    table(
                        &["ID", "TENANT", "NAME", "PREFIX", "CREATED (UTC)", "STATE"],
                        &rows
                    )
                );
            }
        }
        KeysCommand::Revoke { id_or_prefix, json } => {
            let revoked = store
                .revoke_key(&id_or_prefix, seam_gateway::now_ms())
                .await?;
            if revoked.is_empty() {
                anyhow::bail!("no active key matches `{id_or_prefix}` (see `seam keys list`)");
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&revoked)?);
            } else {
                for k in revoked {
                    println!(
                        "revoked {} (tenant `{}`); running gateways refuse it within a second",
                        k.id, k.tenant
                    );
                }
            }
        }
    }
    Ok(())
}
