//! Users (admins only): the users and their roles, a form to create one (the token shown
//! once, on the answer page) and one to grant a role; the same `seam-control` calls as
//! `seam users`, on the audit chain as the signed-in admin.

use super::keys::{admin, admin_form, field};
use super::*;
use axum::body::Bytes;
use seam_control::Role;

/// GET /ui/users.
pub(crate) async fn users(State(ui): State<Arc<Ui>>, headers: HeaderMap) -> Response {
    // Roles name tenants: who may read which is an admin's to see (`seam users list`).
    let who = match admin(&ui, &headers, "listing users").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let users = match seam_control::users::list(ui.store.as_ref()).await {
        Ok(u) => u,
        Err(e) => return control_error(&ui, &who, e),
    };
    let rows: Vec<Value> = users
        .iter()
        .map(|(u, _, words)| json!({"name": u.name, "roles": words, "created": timestamp(u.created_ms)}))
        .collect();
    ui.page(
        StatusCode::OK,
        "Users",
        "users.html",
        json!({"users": rows, "csrf": who.csrf}),
        Some(&who),
    )
}

/// A role from a form: blank is none.
fn role(f: &HashMap<String, String>) -> Result<Option<Role>, ControlError> {
    field(f, "role").map(Role::parse).transpose()
}

/// POST /ui/users: `name`, `role` (blank, admin, operator, viewer) and `tenants` (comma
/// separated, for operator and viewer); the answer shows the user's token, once.
pub(crate) async fn create(State(ui): State<Arc<Ui>>, headers: HeaderMap, body: Bytes) -> Response {
    let (who, f) = match admin_form(&ui, &headers, &body, "creating users").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let tenants: Vec<String> = field(&f, "tenants")
        .unwrap_or("")
        .split([',', ' '])
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().to_string())
        .collect();
    let grants = match role(&f) {
        Ok(Some(r)) => seam_control::users::role_grants(r, &tenants).map(|g| (Some(r), g)),
        Ok(None) if tenants.is_empty() => Ok((None, Vec::new())),
        Ok(None) => Err(ControlError::Invalid(
            "tenants go with role operator or viewer".into(),
        )),
        Err(e) => Err(e),
    };
    let (role, grants) = match grants {
        Ok(g) => g,
        Err(e) => return control_error(&ui, &who, e),
    };
    let token = seam_control::users::new_token(rand::random());
    let made = seam_control::users::create(
        ui.store.as_ref(),
        &who.actor,
        field(&f, "name").unwrap_or(""),
        seam_control::token_hash(&token),
        role == Some(Role::Admin),
        &grants,
    )
    .await;
    let user = match made {
        Ok(u) => u,
        Err(e) => return control_error(&ui, &who, e),
    };
    ui.page(
        StatusCode::OK,
        "User created",
        "secret.html",
        json!({
            "what": "user token",
            "id": user.name,
            "owner": seam_control::roles::describe(user.admin, &grants),
            "secret": token,
            "use": "Its holder signs in here with it, and uses it as SEAM_TOKEN for the CLI.",
            "back": "/ui/users",
        }),
        Some(&who),
    )
}

/// POST /ui/users/grant: `user`, `role` and, for operator and viewer, `tenant`.
pub(crate) async fn grant(State(ui): State<Arc<Ui>>, headers: HeaderMap, body: Bytes) -> Response {
    let (who, f) = match admin_form(&ui, &headers, &body, "granting roles").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let role = match role(&f) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return ui.message(StatusCode::BAD_REQUEST, "Choose a role.", Some(&who));
        }
        Err(e) => return control_error(&ui, &who, e),
    };
    let granted = seam_control::users::grant(
        ui.store.as_ref(),
        &who.actor,
        field(&f, "user").unwrap_or(""),
        role,
        field(&f, "tenant"),
    )
    .await;
    match granted {
        Ok(_) => crate::redirect("/ui/users"),
        Err(e) => control_error(&ui, &who, e),
    }
}
