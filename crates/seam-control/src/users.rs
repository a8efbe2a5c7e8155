//! People on the control plane and their roles: only an admin creates users and grants roles
//! (in a store without users, whoever runs the command is `bootstrap`, an admin); the first
//! user of a store is an admin.

use crate::roles::{Actor, RESERVED_NAMES, Role, describe};
use crate::{ControlError, Result, audit, now_ms};
use seam_store::{Audit, RoleRecord, UserRecord, Users};
use serde_json::json;

/// Every user token starts so (an API key starts `sk-seam-`).
pub const TOKEN_PREFIX: &str = "seam-user-";

/// A user token from 24 random bytes the caller draws (a CSPRNG's); the store keeps only
/// its [`crate::token_hash`].
pub fn new_token(secret: [u8; 24]) -> String {
    format!("{TOKEN_PREFIX}{}", hex::encode(secret))
}

/// A role as asked for: `admin`, or `operator`/`viewer` of each of `tenants`.
pub fn role_grants(role: Role, tenants: &[String]) -> Result<Vec<(Role, String)>> {
    let tenants: Vec<String> = tenants.iter().map(|t| t.trim().to_string()).collect();
    if tenants.iter().any(String::is_empty) {
        return Err(ControlError::Invalid("--tenant must name a tenant".into()));
    }
    match (role, tenants.is_empty()) {
        (Role::Admin, true) => Ok(Vec::new()),
        (Role::Admin, false) => Err(ControlError::Invalid(
            "admin is not scoped to tenants: give --role admin without --tenant".into(),
        )),
        (r, true) => Err(ControlError::Invalid(format!(
            "--role {} is scoped to tenants: name at least one with --tenant",
            r.as_str()
        ))),
        (r, false) => Ok(tenants.into_iter().map(|t| (r, t)).collect()),
    }
}

/// Creates user `name` with `token_hash` (the caller shows the token once), an admin when
/// `admin` or when it is the store's first user, holding `roles`.
pub async fn create(
    store: &(impl Users + Audit + ?Sized),
    actor: &Actor,
    name: &str,
    token_hash: String,
    admin: bool,
    roles: &[(Role, String)],
) -> Result<UserRecord> {
    actor.require_admin("creating users")?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(ControlError::Invalid(
            "a user name is one word, e.g. ana".into(),
        ));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(ControlError::Invalid(format!(
            "`{name}` is reserved (admin is the gateway's admin token, bootstrap acts before any user exists, operator is `seam serve` without a token): choose another name"
        )));
    }
    let users = store.list_users().await?;
    if users.iter().any(|u| u.name == name) {
        return Err(ControlError::Invalid(format!(
            "a user named `{name}` already exists (`seam users list`); choose another name"
        )));
    }
    let first = users.is_empty();
    let now = now_ms();
    let user = UserRecord {
        id: format!("usr_{}", uuid::Uuid::now_v7().simple()),
        name: name.to_string(),
        token_hash,
        admin: admin || first,
        created_ms: now,
    };
    store
        .insert_user(&user)
        .await
        .map_err(|e| ControlError::Invalid(format!("cannot create `{name}`: {e}")))?;
    for (role, tenant) in roles {
        store
            .insert_role(&RoleRecord {
                user_id: user.id.clone(),
                role: role.as_str().into(),
                tenant: tenant.clone(),
                created_ms: now,
            })
            .await?;
    }
    let roles_json: Vec<_> = roles
        .iter()
        .map(|(r, t)| json!({"role": r.as_str(), "tenant": t}))
        .collect();
    audit(
        store,
        &actor.name,
        "user.create",
        &user.name,
        None,
        json!({"admin": user.admin, "roles": roles_json}),
    )
    .await?;
    Ok(user)
}

/// Grants user `name` a role: admin, or operator/viewer of `tenant`. Returns whether it is
/// new (granting a role held already changes nothing and is not audited).
pub async fn grant(
    store: &(impl Users + Audit + ?Sized),
    actor: &Actor,
    name: &str,
    role: Role,
    tenant: Option<&str>,
) -> Result<bool> {
    actor.require_admin("granting roles")?;
    let user = store
        .list_users()
        .await?
        .into_iter()
        .find(|u| u.name == name)
        .ok_or_else(|| {
            ControlError::NotFound(format!("no user `{name}` (see `seam users list`)"))
        })?;
    let tenants: Vec<String> = tenant.map(str::to_string).into_iter().collect();
    let new = match role_grants(role, &tenants)?.first() {
        None if user.admin => false,
        None => {
            store.set_admin(&user.id, true).await?;
            true
        }
        Some((role, tenant)) => {
            store
                .insert_role(&RoleRecord {
                    user_id: user.id.clone(),
                    role: role.as_str().into(),
                    tenant: tenant.clone(),
                    created_ms: now_ms(),
                })
                .await?
        }
    };
    if new {
        audit(
            store,
            &actor.name,
            "user.grant",
            &user.name,
            None,
            json!({"role": role.as_str(), "tenant": tenant}),
        )
        .await?;
    }
    Ok(new)
}

/// Every user with their roles, and those roles in words.
pub async fn list(store: &(impl Users + ?Sized)) -> Result<Vec<(UserRecord, Actor, String)>> {
    let roles = store.list_roles().await?;
    Ok(store
        .list_users()
        .await?
        .into_iter()
        .map(|u| {
            let actor = Actor::from_user(&u, &roles);
            let words = describe(actor.admin, &actor.roles);
            (u, actor, words)
        })
        .collect())
}
