//! `seam users`: who acts on the control plane.

use crate::cli::StoreArgs;
use crate::format::{table, timestamp};
use seam_gateway::authenticate::hash_key;
use seam_store::{SqlStore, Store, UserRecord};
use serde_json::json;

pub const TOKEN_PREFIX: &str = "seam-user-";

/// Who is acting (see [`user`]), once the store is known to take their action's audit record
/// (`SEAM_AUDIT_KEY`): refused before acting, not after, so that no action goes unrecorded.
pub async fn actor(store: &SqlStore) -> anyhow::Result<UserRecord> {
    store.check_audit_key().await?;
    user(store).await
}

/// The user `SEAM_TOKEN` belongs to. Before any user exists the store is in bootstrap mode
/// and actions are recorded as `bootstrap`.
pub async fn user(store: &SqlStore) -> anyhow::Result<UserRecord> {
    match std::env::var("SEAM_TOKEN").ok().filter(|t| !t.is_empty()) {
        Some(token) => store
            .user_by_token_hash(&hash_key(&token))
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!("SEAM_TOKEN is not the token of any user (see `seam users list`)")
            }),
        None if store.list_users().await?.is_empty() => Ok(UserRecord {
            id: String::new(),
            name: "bootstrap".into(),
            token_hash: String::new(),
            admin: true,
            created_ms: 0,
        }),
        None => anyhow::bail!(
            "this store has users: set SEAM_TOKEN to yours so the action is recorded under your name"
        ),
    }
}

pub async fn create(
    store: &StoreArgs,
    name: &str,
    admin: bool,
    json_out: bool,
) -> anyhow::Result<()> {
    let store = store.open().await?;
    let who = actor(&store).await?;
    if !who.admin {
        anyhow::bail!("only an admin can create users; `{}` is not one", who.name);
    }
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        anyhow::bail!("a user name is one word, e.g. ana");
    }
    let first = store.list_users().await?.is_empty();
    let token = format!("{TOKEN_PREFIX}{}", hex_token());
    let user = UserRecord {
        id: format!("usr_{}", seam_gateway::now_ms()),
        name: name.to_string(),
        token_hash: hash_key(&token),
        // The first user runs the place.
        admin: admin || first,
        created_ms: seam_gateway::now_ms(),
    };
    store
        .insert_user(&user)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create `{name}`: {e}"))?;
    store
        .append_audit(
            &who.name,
            "user.create",
            &user.name,
            None,
            Some(json!({"admin": user.admin}).to_string()),
            seam_gateway::now_ms(),
        )
        .await?;
    if json_out {
        println!(
            "{}",
            json!({"id": user.id, "name": user.name, "admin": user.admin, "token": token})
        );
    } else {
        println!("{token}");
        eprintln!(
            "created {}user `{}`; this is the only time the token is shown. Use it as SEAM_TOKEN.",
            if user.admin { "admin " } else { "" },
            user.name
        );
    }
    Ok(())
}

fn hex_token() -> String {
    let bytes: [u8; 24] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn list(store: &StoreArgs, json_out: bool) -> anyhow::Result<()> {
    let store = store.open().await?;
    let users = store.list_users().await?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&users)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.name.clone(),
                if u.admin { "admin" } else { "-" }.into(),
                timestamp(u.created_ms),
            ]
        })
        .collect();
    println!("{}", table(&["USER", "ROLE", "CREATED (UTC)"], &rows));
    Ok(())
}
