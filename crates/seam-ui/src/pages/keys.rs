//! Keys (admins only): the tenants' API keys, a form to create one (its secret shown once, on
//! the answer page) and one to revoke one; the same `seam-control` calls as `seam keys`, on
//! the audit chain as the signed-in admin.

use super::*;
use crate::session::{csrf_refusal, form};
use axum::body::Bytes;
use std::collections::BTreeMap;

/// The signed-in person, once they are an admin; the refusal page otherwise.
pub(super) async fn admin(
    ui: &Ui,
    headers: &HeaderMap,
    what: &str,
) -> std::result::Result<Signed, Response> {
    let who = signed(ui, headers).await?;
    match who.actor.require_admin(what) {
        Ok(()) => Ok(who),
        Err(e) => Err(control_error(ui, &who, e)),
    }
}

/// A form's POST, checked: a session, its form token, an admin, and an audit chain that
/// takes the record (an action it would refuse is not made, as `/api/` refuses it).
pub(super) async fn admin_form(
    ui: &Ui,
    headers: &HeaderMap,
    body: &Bytes,
    what: &str,
) -> std::result::Result<(Signed, HashMap<String, String>), Response> {
    let who = signed(ui, headers).await?;
    if let Some(r) = csrf_refusal(ui, &who, body) {
        return Err(r);
    }
    if let Err(e) = who.actor.require_admin(what) {
        return Err(control_error(ui, &who, e));
    }
    if let Err(e) = ui.store.check_audit_key().await {
        return Err(ui.message(StatusCode::CONFLICT, &e.to_string(), Some(&who)));
    }
    Ok((who, form(body)))
}

/// A form field, trimmed; blank is absent.
pub(super) fn field<'a>(f: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    param(f, k)
}

/// `METRIC_per_WINDOW=MAX` pairs separated by commas or spaces, each checked as the config
/// checks its limits (as `seam keys create --key-limit`).
fn parse_limits(text: &str) -> std::result::Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    for a in text
        .split([',', ' ', '\n'])
        .filter(|a| !a.trim().is_empty())
    {
        let (name, max) = a.trim().split_once('=').ok_or_else(|| {
            format!("limit `{a}`: write METRIC_per_WINDOW=MAX, e.g. requests_per_minute=60")
        })?;
        let max: f64 = max
            .trim()
            .replace('_', "")
            .parse()
            .map_err(|_| format!("limit `{a}`: `{max}` is not a number"))?;
        seam_config::parse_limit(name.trim(), max).map_err(|e| format!("limit `{a}`: {e}"))?;
        out.insert(name.trim().to_string(), max);
    }
    Ok(out)
}

/// A key's own limits as `seam keys list` shows them.
pub(super) fn limits_text(limits: Option<&str>) -> String {
    let map: BTreeMap<String, f64> = limits
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

/// GET /ui/keys: every key (never a key itself: its id and first characters).
pub(crate) async fn keys(State(ui): State<Arc<Ui>>, headers: HeaderMap) -> Response {
    let who = match admin(&ui, &headers, "managing keys").await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let keys = match seam_control::keys::list(ui.store.as_ref(), &who.actor).await {
        Ok(k) => k,
        Err(e) => return control_error(&ui, &who, e),
    };
    let rows: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "id": k.id,
                "tenant": k.tenant,
                "name": k.name.as_deref().unwrap_or("-"),
                "prefix": format!("{}…", k.prefix),
                "created": timestamp(k.created_ms),
                "revoked": k.revoked_ms.map(timestamp),
                "limits": limits_text(k.limits.as_deref()),
            })
        })
        .collect();
    ui.page(
        StatusCode::OK,
        "Keys",
        "keys.html",
        json!({"keys": rows, "csrf": who.csrf}),
        Some(&who),
    )
}

/// POST /ui/keys: `tenant`, `name`, `limits`; the answer shows the new key, once.
pub(crate) async fn create(State(ui): State<Arc<Ui>>, headers: HeaderMap, body: Bytes) -> Response {
    let (who, f) = match admin_form(&ui, &headers, &body, "creating keys").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let bad = |text: String| ui.message(StatusCode::BAD_REQUEST, &text, Some(&who));
    let Some(tenant) = field(&f, "tenant") else {
        return bad("Name the key's tenant.".into());
    };
    let limits = match parse_limits(field(&f, "limits").unwrap_or("")) {
        Ok(l) => l,
        Err(e) => return bad(e),
    };
    let (plain, mut record) = seam_control::keys::mint(
        tenant,
        field(&f, "name").map(str::to_string),
        seam_store::now_ms(),
        rand::random(),
    );
    if !limits.is_empty() {
        record.limits = serde_json::to_string(&limits).ok();
    }
    if let Err(e) = seam_control::keys::create(ui.store.as_ref(), &who.actor, &record).await {
        return control_error(&ui, &who, e);
    }
    ui.page(
        StatusCode::OK,
        "Key created",
        "secret.html",
        json!({
            "what": "key",
            "id": record.id,
            "owner": format!("tenant `{}`", record.tenant),
            "secret": plain,
            "use": "Give it to the tenant's client as its bearer token (Authorization: Bearer ...).",
            "back": "/ui/keys",
        }),
        Some(&who),
    )
}

/// POST /ui/keys/revoke: `key`, a key's id.
pub(crate) async fn revoke(State(ui): State<Arc<Ui>>, headers: HeaderMap, body: Bytes) -> Response {
    let (who, f) = match admin_form(&ui, &headers, &body, "revoking keys").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(key) = field(&f, "key") else {
        return ui.message(
            StatusCode::BAD_REQUEST,
            "Name the key to revoke.",
            Some(&who),
        );
    };
    match seam_control::keys::revoke(ui.store.as_ref(), &who.actor, key).await {
        Ok(revoked) if revoked.is_empty() => ui.message(
            StatusCode::NOT_FOUND,
            &format!("No active key matches `{key}`."),
            Some(&who),
        ),
        Ok(_) => crate::redirect("/ui/keys"),
        Err(e) => control_error(&ui, &who, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_read_as_the_cli_reads_them() {
        let l = parse_limits("requests_per_minute=60, cost_per_day=1_000").unwrap();
        assert_eq!(l["requests_per_minute"], 60.0);
        assert_eq!(l["cost_per_day"], 1000.0);
        assert!(parse_limits("").unwrap().is_empty());
        assert!(parse_limits("bogus_per_day=1").is_err());
        assert!(parse_limits("requests_per_minute").is_err());
        assert_eq!(
            limits_text(Some(r#"{"requests_per_minute":60.0}"#)),
            "requests_per_minute=60"
        );
    }
}
