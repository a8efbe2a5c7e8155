//! Sign-in, sessions, sign-out and CSRF (docs/dashboard.md).
//!
//! A person signs in with their user token (`seam users create`), the same as `SEAM_TOKEN` for
//! the CLI; an API key is not a user's token and signs no one in. A sign-in makes a random
//! session id, sent only as the `seam_ui` cookie (HttpOnly, SameSite=Strict, path `/ui`,
//! `Secure` with `[ui] secure_cookie`); the store keeps its SHA-256, the user, a random form
//! token and the expiry. Every page reads the session and the user's roles again, so a role
//! taken away counts at the next page. Every POST carries the form token in a hidden `csrf`
//! field, or is refused 403; the sign-in form, before there is a session, carries one that
//! must match its own `seam_ui_signin` cookie. Sign-in and sign-out are on the audit chain
//! as the user.

use crate::{Ui, redirect};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use seam_control::Actor;
use seam_store::UiSessionRecord;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

const COOKIE: &str = "seam_ui";
const SIGNIN_COOKIE: &str = "seam_ui_signin";

/// A signed-in person: who, with their roles now, and their session's form token.
pub(crate) struct Signed {
    pub actor: Actor,
    pub csrf: String,
    id_hash: String,
}

fn random_hex() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// The value of cookie `name` in the request, if sent.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn set_cookie(ui: &Ui, name: &str, value: &str, max_age_secs: i64) -> Option<HeaderValue> {
    let secure = if ui.secure_cookie { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .ok()
}

/// The form's fields (`application/x-www-form-urlencoded`).
pub(crate) fn form(body: &Bytes) -> HashMap<String, String> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// Whether `sent` is `want`, in time independent of where they differ.
fn same(sent: &str, want: &str) -> bool {
    sent.len() == want.len()
        && sent
            .bytes()
            .zip(want.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The request's session, or the answer to give instead: a redirect to the sign-in page
/// when there is no live session, an error page when the store fails.
pub(crate) async fn signed(ui: &Ui, headers: &HeaderMap) -> Result<Signed, Response> {
    let Some(id) = cookie(headers, COOKIE) else {
        return Err(redirect("/ui/signin"));
    };
    let id_hash = hash(id);
    let now = seam_store::now_ms();
    let session = match ui.store.ui_session(&id_hash, now).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(redirect("/ui/signin")),
        Err(e) => return Err(store_error(ui, &e)),
    };
    let users = ui.store.list_users().await;
    let roles = ui.store.list_roles().await;
    let (users, roles) = match (users, roles) {
        (Ok(u), Ok(r)) => (u, r),
        (Err(e), _) | (_, Err(e)) => return Err(store_error(ui, &e)),
    };
    // A user removed since is signed out.
    let Some(user) = users.iter().find(|u| u.id == session.user_id) else {
        return Err(redirect("/ui/signin"));
    };
    Ok(Signed {
        actor: Actor::from_user(user, &roles),
        csrf: session.csrf,
        id_hash,
    })
}

fn store_error(ui: &Ui, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "the dashboard could not read the store");
    ui.message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The store could not be read; the gateway's log says why.",
        None,
    )
}

/// GET /ui/signin: the form, with a fresh form token in a cookie of its own.
pub(crate) async fn signin_form(State(ui): State<Arc<Ui>>) -> Response {
    signin_page(&ui, StatusCode::OK, None)
}

fn signin_page(ui: &Ui, status: StatusCode, error: Option<&str>) -> Response {
    let token = random_hex();
    let mut resp = ui.page(
        status,
        "Sign in",
        "signin.html",
        serde_json::json!({"csrf": token, "error": error}),
        None,
    );
    if let Some(c) = set_cookie(ui, SIGNIN_COOKIE, &token, 3600) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// POST /ui/signin: `token` (a user's token) and `csrf` (the form's token, the same as its
/// cookie's).
pub(crate) async fn signin(State(ui): State<Arc<Ui>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = form(&body);
    let sent = fields.get("csrf").map(String::as_str).unwrap_or("");
    let want = cookie(&headers, SIGNIN_COOKIE).unwrap_or("");
    if want.is_empty() || !same(sent, want) {
        return ui.message(
            StatusCode::FORBIDDEN,
            "This form is out of date or was not sent from the sign-in page: open the sign-in page and try again.",
            None,
        );
    }
    let token = fields.get("token").map(|t| t.trim()).unwrap_or("");
    if token.is_empty() {
        return signin_page(&ui, StatusCode::BAD_REQUEST, Some("Give your user token."));
    }
    let user = match seam_control::user_by_token(ui.store.as_ref(), token).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            let hint = if token.starts_with("sk-seam-") {
                "That is an API key: an API key signs no one in. Give your user token (an admin makes one with `seam users create`)."
            } else {
                "Unknown token. Give your user token (an admin makes one with `seam users create`)."
            };
            return signin_page(&ui, StatusCode::UNAUTHORIZED, Some(hint));
        }
        Err(e) => return store_error(&ui, &e),
    };
    // A sign-in the audit chain would refuse is not made (SEAM_AUDIT_KEY missing or not the
    // chain's), as /api/ refuses such an action.
    if let Err(e) = ui.store.check_audit_key().await {
        return ui.message(StatusCode::CONFLICT, &e.to_string(), None);
    }
    let id = random_hex();
    let now = seam_store::now_ms();
    let record = UiSessionRecord {
        id_hash: hash(&id),
        user_id: user.id.clone(),
        csrf: random_hex(),
        created_ms: now,
        expires_ms: now.saturating_add(ui.session_ms),
    };
    if let Err(e) = ui.store.insert_ui_session(&record, now).await {
        return store_error(&ui, &e);
    }
    let audited = seam_control::audit(
        ui.store.as_ref(),
        &user.name,
        "ui_sign_in",
        &user.name,
        None,
        serde_json::json!({"session": &record.id_hash[..12], "expires_ms": record.expires_ms}),
    )
    .await;
    if let Err(e) = audited {
        let _ = ui.store.delete_ui_session(&record.id_hash).await;
        return store_error(&ui, &e);
    }
    let mut resp = redirect("/ui/");
    let h = resp.headers_mut();
    if let Some(c) = set_cookie(&ui, COOKIE, &id, ui.session_ms / 1000) {
        h.append(header::SET_COOKIE, c);
    }
    if let Some(c) = set_cookie(&ui, SIGNIN_COOKIE, "", 0) {
        h.append(header::SET_COOKIE, c);
    }
    resp
}

/// The refusal of a POST whose `csrf` field is not its session's form token, if it is not.
pub(crate) fn csrf_refusal(ui: &Ui, who: &Signed, body: &Bytes) -> Option<Response> {
    let fields = form(body);
    match fields.get("csrf") {
        Some(sent) if same(sent, &who.csrf) => None,
        _ => Some(ui.message(
            StatusCode::FORBIDDEN,
            "This form is out of date or was not sent from a Seam page: reload the page and try again.",
            Some(who),
        )),
    }
}

/// POST /ui/signout: ends the session (with its form token).
pub(crate) async fn signout(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    if let Some(r) = csrf_refusal(&ui, &who, &body) {
        return r;
    }
    if let Err(e) = ui.store.delete_ui_session(&who.id_hash).await {
        return store_error(&ui, &e);
    }
    // The session is gone whether or not the chain takes the record; a refusal is logged.
    if let Err(e) = seam_control::audit(
        ui.store.as_ref(),
        &who.actor.name,
        "ui_sign_out",
        &who.actor.name,
        None,
        serde_json::json!({"session": &who.id_hash[..12]}),
    )
    .await
    {
        tracing::error!(error = %e, "a dashboard sign-out could not be put on the audit chain");
    }
    let mut resp = redirect("/ui/signin");
    if let Some(c) = set_cookie(&ui, COOKIE, "", 0) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_and_tokens_compared_whole() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; seam_ui=abc; seam_ui_signin=x"),
        );
        assert_eq!(cookie(&h, "seam_ui"), Some("abc"));
        assert_eq!(cookie(&h, "seam_ui_signin"), Some("x"));
        assert_eq!(cookie(&h, "b"), None);
        assert!(same("abc", "abc") && !same("abd", "abc") && !same("ab", "abc"));
    }
}
