//! The prompt page's forms: approve, deploy, rollback. Each does what its `/api/` twin does
//! (crates/seam-gateway/src/control_api.rs): the same `seam-control` call as the signed-in
//! person, so the same rules, refusals, audit records and timeline events; the same check of
//! the audit key first (409); a deploy's gate checked against `[evals] dir`; and after a
//! deploy or rollback the gateway serving the dashboard is told, so it serves the change at
//! once. A refusal is a page saying why, with the API's status; success is a 303 back to the
//! prompt's page.

use super::prompts::{prompt_name, prompt_url};
use super::*;
use crate::redirect;
use crate::session::csrf_refusal;
use axum::body::Bytes;

type Fields = HashMap<String, String>;

/// The form's fields, checked: the session's form token, then the audit key (a POST the
/// chain would refuse is refused before it is done, as `/api/` does).
async fn checked(ui: &Ui, who: &Signed, body: &Bytes) -> Result<Fields, Response> {
    if let Some(r) = csrf_refusal(ui, who, body) {
        return Err(r);
    }
    if let Err(e) = ui.store.check_audit_key().await {
        return Err(ui.message(StatusCode::CONFLICT, &e.to_string(), Some(who)));
    }
    Ok(serde_urlencoded::from_bytes(body).unwrap_or_default())
}

/// The page for a refusal: why, with the API's status, and that nothing changed.
fn refused(ui: &Ui, who: &Signed, name: &str, e: ControlError) -> Response {
    let status = match &e {
        ControlError::NotFound(_) => StatusCode::NOT_FOUND,
        ControlError::Forbidden(_) => StatusCode::FORBIDDEN,
        ControlError::Invalid(_) => StatusCode::BAD_REQUEST,
        ControlError::Store(_) => return control_error(ui, who, e),
    };
    ui.page(
        status,
        "Refused",
        "prompt_refused.html",
        json!({"status": status.as_u16(), "text": e.to_string(), "name": name, "seg": segment(name)}),
        Some(who),
    )
}

/// A form POST to a prompt's page: the signed-in person, the prompt's name checked, and the
/// fields once the form token and the audit key are.
async fn opened(
    ui: &Ui,
    headers: &HeaderMap,
    name: &str,
    body: &Bytes,
) -> Result<(Signed, Fields), Response> {
    let who = signed(ui, headers).await?;
    if let Err(r) = prompt_name(ui, &who, name) {
        return Err(*r);
    }
    let f = checked(ui, &who, body).await?;
    Ok((who, f))
}

fn field<'a>(f: &'a Fields, k: &str) -> Option<&'a str> {
    param(f, k)
}

fn missing(ui: &Ui, who: &Signed, what: &str) -> Response {
    ui.message(
        StatusCode::BAD_REQUEST,
        &format!("The form lacks `{what}`: reload the prompt's page and try again."),
        Some(who),
    )
}

fn mode(f: &Fields) -> Result<seam_control::DeployMode, ControlError> {
    match field(f, "mode") {
        None => Ok(seam_control::DeployMode::Drain),
        Some(m) => seam_control::parse_deploy_mode(m),
    }
}

/// POST /ui/prompts/{name}/approve: `release`; as `POST /api/releases/{id}/approve`.
pub(crate) async fn approve(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let (who, f) = match opened(&ui, &headers, &name, &body).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let name = name.as_str();
    let Some(id) = field(&f, "release") else {
        return missing(&ui, &who, "release");
    };
    match seam_control::approve(ui.store.as_ref(), &who.actor, id).await {
        Ok(release) => redirect(&prompt_url(&release.prompt)),
        Err(e) => refused(&ui, &who, name, e),
    }
}

/// POST /ui/prompts/{name}/deploy: `release`, `channel`, `mode` (drain or immediate) and an
/// admin's `override_gate` reason; as `POST /api/deploys`.
pub(crate) async fn deploy(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let (who, f) = match opened(&ui, &headers, &name, &body).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let name = name.as_str();
    let (Some(id), Some(channel)) = (field(&f, "release"), field(&f, "channel")) else {
        return missing(&ui, &who, "release` or `channel");
    };
    let mode = match mode(&f) {
        Ok(m) => m,
        Err(e) => return refused(&ui, &who, name, e),
    };
    let target = format!("{name}@{channel}");
    let gate = seam_control::gates::GateCheck {
        evals_dir: ui.evals_dir(),
        // A blank field is no override; `/api/` has no such field then.
        override_reason: field(&f, "override_gate").map(str::to_string),
    };
    let protected = ui.protected_channels();
    match seam_control::deploy_with(
        ui.store.as_ref(),
        &who.actor,
        &target,
        id,
        mode,
        &protected,
        &gate,
    )
    .await
    {
        Ok(_) => {
            ui.deployed().await;
            redirect(&prompt_url(name))
        }
        Err(e) => refused(&ui, &who, name, e),
    }
}

/// POST /ui/prompts/{name}/rollback: `channel`, `mode`; as `POST /api/rollbacks`.
pub(crate) async fn rollback(
    State(ui): State<Arc<Ui>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let (who, f) = match opened(&ui, &headers, &name, &body).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let name = name.as_str();
    let Some(channel) = field(&f, "channel") else {
        return missing(&ui, &who, "channel");
    };
    let mode = match mode(&f) {
        Ok(m) => m,
        Err(e) => return refused(&ui, &who, name, e),
    };
    let target = format!("{name}@{channel}");
    let protected = ui.protected_channels();
    match seam_control::rollback(ui.store.as_ref(), &who.actor, &target, mode, &protected).await {
        Ok(_) => {
            ui.deployed().await;
            redirect(&prompt_url(name))
        }
        Err(e) => refused(&ui, &who, name, e),
    }
}
