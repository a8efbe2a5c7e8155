//! Who a command acts as: `SEAM_TOKEN`'s user, with their roles (bootstrap, an admin, before
//! any user exists), and opening the store as them.

use crate::cli::StoreArgs;
use seam_control::Actor;
use seam_store::{Audit, SqlStore, Users};

/// Who is acting (see [`user`]), once the store is known to take their action's audit record
/// (`SEAM_AUDIT_KEY`): refused before acting, not after, so that no action goes unrecorded.
pub async fn actor(store: &(impl Users + Audit + ?Sized)) -> anyhow::Result<Actor> {
    store.check_audit_key().await?;
    user(store).await
}

/// The user `SEAM_TOKEN` belongs to, with their roles. Before any user exists the store is in
/// bootstrap mode: commands act as `bootstrap`, an admin. Once users exist, every command that
/// reads or changes the store needs SEAM_TOKEN.
pub async fn user(store: &(impl Users + ?Sized)) -> anyhow::Result<Actor> {
    match std::env::var("SEAM_TOKEN").ok().filter(|t| !t.is_empty()) {
        Some(token) => seam_control::actor_by_token(store, &token)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!("SEAM_TOKEN is not the token of any user (see `seam users list`)")
            }),
        None if store.list_users().await?.is_empty() => Ok(Actor::admin("bootstrap")),
        None => anyhow::bail!(
            "this store has users: set SEAM_TOKEN to yours; commands act as its user, and show and change what its roles allow"
        ),
    }
}

/// Opens the store to read it, as `SEAM_TOKEN`'s user: reads need no audit key (a reader who
/// held it could sign a rewritten chain).
pub async fn open_as(args: &StoreArgs) -> anyhow::Result<(SqlStore, Actor)> {
    let store = args.open().await?;
    let who = user(&store).await?;
    Ok((store, who))
}

/// Opens the store to change it: as [`open_as`], once the store is known to take the action's
/// audit record (see [`actor`]).
pub async fn open_to_act(args: &StoreArgs) -> anyhow::Result<(SqlStore, Actor)> {
    let store = args.open_to_write().await?;
    let who = actor(&store).await?;
    Ok((store, who))
}
