//! The control API under `/api/`: the same operations as the CLI (through `seam-control`),
//! as JSON over HTTP, checked against the caller's roles the same way. Every request carries
//! a person's token (`Authorization: Bearer`); the configured admin token
//! (`server.admin_token_env`) acts as `admin`, an admin. Documented in docs/api.md.

use crate::App;
use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use seam_control::{Actor as Person, ControlError};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub fn routes() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/api/changes", get(changes))
        .route("/api/releases", post(create_release))
        .route("/api/releases/{name}", get(releases))
        .route("/api/releases/{id}/approve", post(approve))
        .route("/api/deploys", post(deploy))
        .route("/api/rollbacks", post(rollback))
        .route("/api/calls/{id}", get(call))
        .route("/api/audit", get(audit))
        .route("/api/audit/verify", get(verify))
        .route("/api/sessions", get(sessions))
        .route("/api/sessions/migrate", post(migrate_session))
        .route("/api/reload", post(reload))
        .layer(axum::middleware::map_response(json_errors))
}

/// axum answers in plain text when its extractors refuse a request (malformed JSON, another
/// content type, a body over its limit, a bad path or query) and with an empty body when a
/// route has no such method; the control API answers every error in its documented shape,
/// `{"error": {"message": ...}}`, with the same status (and headers, such as `Allow`).
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let json = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut out = error(status, message);
    for (name, value) in &parts.headers {
        if name != http::header::CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
            out.headers_mut().append(name, value.clone());
        }
    }
    out
}

/// `mode` of a deploy or rollback body: drain unless it says immediate.
fn mode(body: &Value) -> Result<seam_control::DeployMode, ControlError> {
    match body.get("mode").and_then(Value::as_str) {
        None => Ok(seam_control::DeployMode::Drain),
        Some(m) => seam_control::parse_deploy_mode(m),
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": {"message": message.into()}}))).into_response()
}

fn control_error(e: ControlError) -> Response {
    let status = match &e {
        ControlError::NotFound(_) => StatusCode::NOT_FOUND,
        ControlError::Forbidden(_) => StatusCode::FORBIDDEN,
        ControlError::Invalid(_) => StatusCode::BAD_REQUEST,
        ControlError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.to_string())
}

/// The person a request acts as, with their roles, from its bearer token; a request without
/// a known token is answered 401 before its handler runs.
struct Actor(Person);

impl FromRequestParts<Arc<App>> for Actor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let token = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                error(
                    StatusCode::UNAUTHORIZED,
                    "send your token as Authorization: Bearer TOKEN",
                )
            })?;
        let person = if app
            .live()
            .config
            .server
            .admin_token
            .as_ref()
            .is_some_and(|a| crate::authenticate::same_secret(a.expose(), token))
        {
            Person::admin("admin")
        } else {
            match seam_control::actor_by_token(app.store.as_ref(), token).await {
                Ok(Some(person)) => person,
                Ok(None) => return Err(error(StatusCode::UNAUTHORIZED, "unknown token")),
                Err(e) => return Err(control_error(e)),
            }
        };
        // An action whose audit record the store would refuse (SEAM_AUDIT_KEY missing or
        // another key than the chain's) is refused before it is done, not after; asked only
        // once the caller is known.
        if parts.method != http::Method::GET
            && let Err(e) = app.store.check_audit_key().await
        {
            return Err(error(StatusCode::CONFLICT, e.to_string()));
        }
        Ok(Actor(person))
    }
}

async fn changes(
    State(app): State<Arc<App>>,
    who: Actor,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let since_ms = q
        .get("since_ms")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| seam_store::now_ms() - 86_400_000);
    match seam_control::sessions::changes(app.store.as_ref(), &who.0, since_ms, 10_000).await {
        Ok(events) => Json(json!({"since_ms": since_ms, "events": events})).into_response(),
        Err(e) => control_error(e),
    }
}

async fn create_release(
    State(app): State<Arc<App>>,
    Actor(who): Actor,
    Json(body): Json<Value>,
) -> Response {
    let Some(text) = body.get("prompt").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "send {\"prompt\": \"<the prompt file's TOML>\"}",
        );
    };
    let prompt = match seam_prompts::parse(text, std::path::Path::new("request.prompt")) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let allow = match body.get("allow_contamination") {
        None | Some(Value::Null) => None,
        Some(Value::String(reason)) => Some(reason.clone()),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "allow_contamination: a string, the reason the release may contain eval cases",
            );
        }
    };
    let guard = seam_control::contamination::Guard::of(&app.live().config.evals, allow.clone());
    use seam_control::contamination::{Refusal, create_release};
    match create_release(app.store.as_ref(), &who, &prompt, &guard).await {
        Ok((r, new, report)) => (
            if new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            Json(
                json!({"id": r.id, "prompt": r.prompt, "author": r.author, "new": new,
                        "contamination": report.findings,
                        "contamination_allowed": (!report.findings.is_empty()).then_some(allow)}),
            ),
        )
            .into_response(),
        // 409: the request is well formed; the release conflicts with the eval datasets.
        Err(Refusal::Contaminated { message, findings }) => (
            StatusCode::CONFLICT,
            Json(
                json!({"error": {"message": message, "type": "eval_contamination",
                                  "param": "prompt", "code": "eval_contamination",
                                  "findings": findings}}),
            ),
        )
            .into_response(),
        Err(Refusal::Control(e)) => control_error(e),
    }
}

async fn releases(State(app): State<Arc<App>>, _who: Actor, Path(name): Path<String>) -> Response {
    match seam_control::releases(app.store.as_ref(), &name).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => control_error(e),
    }
}

async fn approve(
    State(app): State<Arc<App>>,
    Actor(who): Actor,
    Path(id): Path<String>,
) -> Response {
    let store = app.store.as_ref();
    match seam_control::approve(store, &who, &id).await {
        Ok(release) => {
            let changes = seam_control::owners::changes_of(store, &release)
                .await
                .unwrap_or(Value::Null);
            Json(json!({"release": id, "approved_by": who.name, "changes": changes}))
                .into_response()
        }
        Err(e) => control_error(e),
    }
}

async fn deploy(
    State(app): State<Arc<App>>,
    Actor(who): Actor,
    Json(body): Json<Value>,
) -> Response {
    let (Some(target), Some(id)) = (
        body.get("target").and_then(Value::as_str),
        body.get("release").and_then(Value::as_str),
    ) else {
        return error(
            StatusCode::BAD_REQUEST,
            "send {\"target\": \"NAME@CHANNEL\", \"release\": \"rel_...\"}",
        );
    };
    let mode = match mode(&body) {
        Ok(m) => m,
        Err(e) => return control_error(e),
    };
    let (protected, evals_dir) = {
        let live = app.live();
        (
            live.config.protected_channels.clone(),
            live.config.evals.dir.clone(),
        )
    };
    // `override_gate`: an admin's reason to deploy a gated release without a passing gate.
    let override_reason = match body.get("override_gate") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) => Some(r.clone()),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "`override_gate` is a string: the reason to deploy without a passing gate",
            );
        }
    };
    let gate = seam_control::gates::GateCheck {
        evals_dir: Some(evals_dir),
        override_reason,
    };
    match seam_control::deploy_with(app.store.as_ref(), &who, target, id, mode, &protected, &gate)
        .await
    {
        Ok(approvers) => Json(
            json!({"target": target, "release": id, "approved_by": approvers, "mode": mode.as_str()}),
        )
        .into_response(),
        Err(e) => control_error(e),
    }
}

async fn rollback(
    State(app): State<Arc<App>>,
    Actor(who): Actor,
    Json(body): Json<Value>,
) -> Response {
    let Some(target) = body.get("target").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "send {\"target\": \"NAME@CHANNEL\"}",
        );
    };
    let mode = match mode(&body) {
        Ok(m) => m,
        Err(e) => return control_error(e),
    };
    let protected = app.live().config.protected_channels.clone();
    match seam_control::rollback(app.store.as_ref(), &who, target, mode, &protected).await {
        Ok((from, to)) => {
            Json(json!({"target": target, "from": from, "release": to, "mode": mode.as_str()}))
                .into_response()
        }
        Err(e) => control_error(e),
    }
}

/// One call in full, as `seam calls show --json` gives it; a call of a tenant the caller has
/// no role in is not found.
async fn call(State(app): State<Arc<App>>, Actor(who): Actor, Path(id): Path<String>) -> Response {
    match seam_control::calls::show(app.store.as_ref(), &who, &id).await {
        Ok(view) => Json(view.to_json()).into_response(),
        Err(e) => control_error(e),
    }
}

async fn audit(State(app): State<Arc<App>>, who: Actor) -> Response {
    // Its records name every tenant's keys, users and sessions.
    if let Err(e) = who.0.require_admin("reading the audit log") {
        return control_error(e);
    }
    match app.store.list_audit().await {
        Ok(chain) => Json(json!({"records": chain})).into_response(),
        Err(e) => control_error(e.into()),
    }
}

/// The chain, and the releases, approvals and deploys tables against it (see
/// `seam_store::audit`), with the gateway's `SEAM_AUDIT_KEY`.
async fn verify(State(app): State<Arc<App>>, _who: Actor) -> Response {
    match app.store.verify_audit().await {
        Ok(v) if v.intact => Json(json!(v)).into_response(),
        Ok(v) => {
            let mut body = json!(v);
            body["first_bad_record"] = json!(v.problems.iter().find_map(|p| p.record));
            body["reason"] = json!(
                v.problems
                    .first()
                    .map(|p| format!("{}: {}", p.at, p.reason))
            );
            (StatusCode::CONFLICT, Json(body)).into_response()
        }
        Err(e) => control_error(e.into()),
    }
}

async fn sessions(
    State(app): State<Arc<App>>,
    Actor(who): Actor,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let query = seam_store::SessionQuery {
        live_at_ms: seam_store::now_ms(),
        prompt: q.get("prompt").cloned(),
        release_id: q.get("release").cloned(),
        session_id: q.get("session").cloned(),
    };
    match seam_control::sessions::list(app.store.as_ref(), &who, &query).await {
        Ok(list) => Json(json!({"sessions": list})).into_response(),
        Err(e) => control_error(e),
    }
}

async fn migrate_session(
    State(app): State<Arc<App>>,
    Actor(who): Actor,
    Json(body): Json<Value>,
) -> Response {
    let field = |k: &str| body.get(k).and_then(Value::as_str);
    let (Some(session), Some(to)) = (field("session"), field("release")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "send {\"session\": \"ID\", \"release\": \"rel_...\"} (optional: \"tenant\", \"channel\")",
        );
    };
    let target = seam_control::sessions::MigrateTarget {
        session_id: session,
        tenant: field("tenant"),
        channel: field("channel"),
    };
    match seam_control::sessions::migrate(app.store.as_ref(), &who, &target, to).await {
        Ok(before) => Json(
            json!({"session": session, "tenant": before.tenant, "channel": before.channel,
            "from": before.release_id, "release": to}),
        )
        .into_response(),
        Err(e) => control_error(e),
    }
}

async fn reload(State(app): State<Arc<App>>, Actor(who): Actor) -> Response {
    if let Err(e) = who.require_admin("reloading the gateway") {
        return control_error(e);
    }
    match crate::reload::reload(&app.reloader, &who.name, "api").await {
        Ok(outcome) => Json(outcome.to_json()).into_response(),
        Err(crate::reload::ReloadError::NoConfigFile) => error(
            StatusCode::CONFLICT,
            "this gateway was not started from a config file; there is nothing to reload",
        ),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": {"message": e.to_string(), "refused": true}})),
        )
            .into_response(),
    }
}
