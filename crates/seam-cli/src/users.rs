//! `seam users create|grant|list`: the users who act on the control plane, and their roles.

use crate::actor::{open_as, open_to_act};
use crate::cli::StoreArgs;
use crate::format::{table, timestamp};
use seam_control::Role;
use seam_gateway::authenticate::hash_key;
use serde_json::json;

pub const TOKEN_PREFIX: &str = seam_control::users::TOKEN_PREFIX;

pub async fn create(
    store: &StoreArgs,
    name: &str,
    role: Option<&str>,
    tenants: &[String],
    json_out: bool,
) -> anyhow::Result<()> {
    let (store, who) = open_to_act(store).await?;
    let role = role.map(Role::parse).transpose()?;
    let roles = match role {
        Some(r) => seam_control::users::role_grants(r, tenants)?,
        None if tenants.is_empty() => Vec::new(),
        None => anyhow::bail!("--tenant goes with --role operator or --role viewer"),
    };
    let token = seam_control::users::new_token(rand::random());
    let user = seam_control::users::create(
        &store,
        &who,
        name,
        hash_key(&token),
        role == Some(Role::Admin),
        &roles,
    )
    .await?;
    let words = seam_control::roles::describe(user.admin, &roles);
    if json_out {
        let roles: Vec<_> = roles
            .iter()
            .map(|(r, t)| json!({"role": r.as_str(), "tenant": t}))
            .collect();
        println!(
            "{}",
            json!({"id": user.id, "name": user.name, "admin": user.admin, "roles": roles, "token": token})
        );
    } else {
        println!("{token}");
        eprintln!(
            "created user `{}` ({words}); this is the only time the token is shown. Use it as SEAM_TOKEN.",
            user.name
        );
    }
    Ok(())
}

pub async fn grant(
    store: &StoreArgs,
    name: &str,
    role: &str,
    tenant: Option<&str>,
    json_out: bool,
) -> anyhow::Result<()> {
    let (store, who) = open_to_act(store).await?;
    let role = Role::parse(role)?;
    let new = seam_control::users::grant(&store, &who, name, role, tenant).await?;
    let what = match tenant {
        Some(t) => format!("{} of `{t}`", role.as_str()),
        None => role.as_str().to_string(),
    };
    if json_out {
        println!(
            "{}",
            serde_json::json!({"user": name, "role": role.as_str(), "tenant": tenant, "changed": new})
        );
    } else if new {
        println!("`{name}` is now {what}");
    } else {
        println!("`{name}` was {what} already; nothing changed");
    }
    Ok(())
}

pub(crate) fn hex_token() -> String {
    let bytes: [u8; 24] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn list(store: &StoreArgs, json_out: bool) -> anyhow::Result<()> {
    // Roles name tenants: who may read which is an admin's to see.
    let (store, who) = open_as(store).await?;
    who.require_admin("listing users")?;
    let users = seam_control::users::list(&store).await?;
    if json_out {
        let out: Vec<_> = users
            .iter()
            .map(|(u, a, _)| {
                let roles: Vec<_> = a
                    .roles
                    .iter()
                    .map(|(r, t)| json!({"role": r.as_str(), "tenant": t}))
                    .collect();
                json!({"id": u.id, "name": u.name, "admin": u.admin, "roles": roles, "created_ms": u.created_ms})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|(u, _, words)| vec![u.name.clone(), words.clone(), timestamp(u.created_ms)])
        .collect();
    println!("{}", table(&["USER", "ROLES", "CREATED (UTC)"], &rows));
    Ok(())
}
