//! `seam keys create|list|revoke`: an operator of the key's tenant creates and revokes it
//! (rules in `seam_control::keys`).

use crate::cli::{KeysCommand, StoreArgs};
use crate::format::{table, timestamp};
use seam_gateway::authenticate::mint_key;
use serde_json::json;

pub async fn run(cmd: KeysCommand, store: &StoreArgs) -> anyhow::Result<()> {
    // Creating and revoking are recorded in the audit chain: refused before acting when the
    // store would not take the record; listing is a read.
    let (store, who) = match cmd {
        KeysCommand::List { .. } => crate::actor::open_as(store).await?,
        _ => crate::actor::open_to_act(store).await?,
    };
    match cmd {
        KeysCommand::Create {
            tenant,
            name,
            limits,
            json,
        } => {
            if tenant.trim().is_empty() {
                anyhow::bail!("--tenant must name a tenant");
            }
            let limits = parse_limits(&limits)?;
            let mut key = mint_key(tenant.trim(), name, seam_store::now_ms());
            if !limits.is_empty() {
                key.record.limits = Some(serde_json::to_string(&limits)?);
            }
            seam_control::keys::create(&store, &who, &key.record).await?;
            if json {
                println!(
                    "{}",
                    json!({"id": key.record.id, "tenant": key.record.tenant, "name": key.record.name, "prefix": key.record.prefix, "limits": limits, "key": key.plain})
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
            let keys = seam_control::keys::list(&store, &who).await?;
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
                            limits_text(k.limits.as_deref()),
                        ]
                    })
                    .collect();
                println!(
                    "{}",
                    table(
                        &[
                            "ID",
                            "TENANT",
                            "NAME",
                            "PREFIX",
                            "CREATED (UTC)",
                            "STATE",
                            "KEY LIMITS"
                        ],
                        &rows
                    )
                );
            }
        }
        KeysCommand::Revoke { id_or_prefix, json } => {
            let revoked = seam_control::keys::revoke(&store, &who, &id_or_prefix).await?;
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

/// `METRIC_per_WINDOW=MAX` pairs, each checked as the config checks its limits.
fn parse_limits(args: &[String]) -> anyhow::Result<std::collections::BTreeMap<String, f64>> {
    let mut out = std::collections::BTreeMap::new();
    for a in args {
        let (name, max) = a.split_once('=').ok_or_else(|| {
            anyhow::anyhow!(
                "--key-limit `{a}`: write METRIC_per_WINDOW=MAX, e.g. requests_per_minute=60"
            )
        })?;
        let max: f64 = max
            .trim()
            .replace('_', "")
            .parse()
            .map_err(|_| anyhow::anyhow!("--key-limit `{a}`: `{max}` is not a number"))?;
        seam_config::parse_limit(name.trim(), max)
            .map_err(|e| anyhow::anyhow!("--key-limit `{a}`: {e}"))?;
        out.insert(name.trim().to_string(), max);
    }
    Ok(out)
}

fn limits_text(limits: Option<&str>) -> String {
    let map: std::collections::BTreeMap<String, f64> = limits
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    if map.is_empty() {
        return "-".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
