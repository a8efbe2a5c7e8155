//! Usage and limits, Keys and users, Audit, and a trace as a tree, as a browser meets them:
//! each page from the seeded store, the admin-only pages refused to a viewer, each form by an
//! admin (the store changed, the audit entry as that user) and without its form token.

mod common;

use common::*;
use http::{StatusCode, header};
use seam_store::{AuditRecord, Store};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

async fn audit_by(
    store: &std::sync::Arc<dyn Store>,
    actor: &str,
    action: &str,
) -> Vec<AuditRecord> {
    store
        .list_audit()
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.actor == actor && r.action == action)
        .collect()
}

#[tokio::test]
async fn keys_users_and_the_chain_are_an_admins_and_a_viewer_is_told_why() {
    let mut w = World::new().await;
    for path in [
        "/ui/keys",
        "/ui/users",
        "/ui/audit",
        "/ui/usage",
        "/ui/traces/x",
    ] {
        let a = w.get(path, None).await;
        assert_eq!(a.headers[header::LOCATION], "/ui/signin", "{path}");
    }
    let (session, csrf) = w.sign_in(VIC).await;
    for (path, says) in [
        (
            "/ui/keys",
            "managing keys needs role admin; `vic` has viewer of acme",
        ),
        ("/ui/users", "listing users needs role admin"),
        ("/ui/audit", "reading the audit log needs role admin"),
    ] {
        let a = w.get(path, Some(&session)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert!(a.body.contains(says), "{path}: {}", a.body);
    }
    // A viewer's forms, with the right form token, are refused too, and change nothing.
    for (path, form, says) in [
        ("/ui/keys", "tenant=acme", "creating keys needs role admin"),
        (
            "/ui/keys/revoke",
            "key=key_1",
            "revoking keys needs role admin",
        ),
        (
            "/ui/users",
            "name=mallory&role=admin",
            "creating users needs role admin",
        ),
        (
            "/ui/users/grant",
            "user=vic&role=admin",
            "granting roles needs role admin",
        ),
    ] {
        let a = w.post(path, &session, &format!("csrf={csrf}&{form}")).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert!(a.body.contains(says), "{path}: {}", a.body);
    }
    assert!(w.store.list_keys().await.expect("keys").is_empty());
    assert_eq!(w.store.list_users().await.expect("users").len(), 2);
    // The chain's verdict is anyone's (as /api/audit/verify); its records are not.
    let v = w.get("/ui/audit?verify=1", Some(&session)).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert!(v.body.contains("Intact:"), "{}", v.body);
    assert!(v.body.contains("reading the audit log needs role admin"));
    assert!(!v.body.contains("ui_sign_in"), "{}", v.body);
}

#[tokio::test]
async fn an_admin_creates_a_key_sees_it_once_and_revokes_it() {
    let mut w = World::new().await;
    let (session, csrf) = w.sign_in(ADA).await;
    let list = w.get("/ui/keys", Some(&session)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("No keys yet."));
    assert!(list.body.contains("action=\"/ui/keys\""));
    // Without the form token: refused, nothing made.
    for form in ["tenant=acme", "csrf=wrong&tenant=acme"] {
        let a = w.post("/ui/keys", &session, form).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{form}");
    }
    assert!(w.store.list_keys().await.expect("keys").is_empty());
    let bad = w
        .post(
            "/ui/keys",
            &session,
            &format!("csrf={csrf}&tenant=acme&limits=bogus_per_day%3D1"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("unknown limit"), "{}", bad.body);

    let made = w
        .post(
            "/ui/keys",
            &session,
            &format!("csrf={csrf}&tenant=acme&name=%3Cscript%3Ex%3C%2Fscript%3E&limits=requests_per_minute%3D60"),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert_eq!(made.headers[header::CACHE_CONTROL], "no-store");
    let at = made.body.find("sk-seam-").expect("the key, shown");
    let secret: String = made.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    assert_eq!(secret.len(), "sk-seam-".len() + 48, "{secret}");
    assert!(made.body.contains("only time it is shown"));
    let keys = w.store.list_keys().await.expect("keys");
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key.tenant, "acme");
    assert_eq!(key.hash, seam_control::token_hash(&secret));
    assert!(secret.starts_with(&key.prefix));
    assert_eq!(key.name.as_deref(), Some("<script>x</script>"));
    let created = audit_by(&w.store, "ada", "key.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].subject, key.id);
    assert!(!created[0].after.as_deref().unwrap_or("").contains(&secret));

    // The list never shows the key again: its id and prefix, the name escaped.
    let list = w.get("/ui/keys", Some(&session)).await;
    assert!(!list.body.contains(&secret));
    assert!(list.body.contains(&key.id));
    assert!(list.body.contains(&format!("{}…", key.prefix)));
    assert!(list.body.contains("requests_per_minute=60"));
    assert!(
        list.body.contains("&lt;script&gt;x&lt;&#x2f;script&gt;"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("<script>"));

    let a = w
        .post("/ui/keys/revoke", &session, &format!("key={}", key.id))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        w.store.list_keys().await.expect("keys")[0]
            .revoked_ms
            .is_none()
    );
    let a = w
        .post(
            "/ui/keys/revoke",
            &session,
            &format!("csrf={csrf}&key={}", key.id),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.headers[header::LOCATION], "/ui/keys");
    assert!(
        w.store.list_keys().await.expect("keys")[0]
            .revoked_ms
            .is_some()
    );
    assert_eq!(audit_by(&w.store, "ada", "key.revoke").await.len(), 1);
    let list = w.get("/ui/keys", Some(&session)).await;
    assert!(list.body.contains("revoked "), "{}", list.body);
    let again = w
        .post(
            "/ui/keys/revoke",
            &session,
            &format!("csrf={csrf}&key={}", key.id),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_creates_a_user_whose_token_signs_in_and_grants_a_role() {
    let mut w = World::new().await;
    let (session, csrf) = w.sign_in(ADA).await;
    let list = w.get("/ui/users", Some(&session)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("<td>vic</td><td>viewer of acme</td>"),
        "{}",
        list.body
    );
    let a = w
        .post(
            "/ui/users",
            &session,
            "name=olga&role=operator&tenants=acme",
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let bad = w
        .post(
            "/ui/users",
            &session,
            &format!("csrf={csrf}&name=olga&role=operator"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("scoped to tenants"), "{}", bad.body);
    assert_eq!(w.store.list_users().await.expect("users").len(), 2);

    let made = w
        .post(
            "/ui/users",
            &session,
            &format!("csrf={csrf}&name=olga&role=operator&tenants=acme%2C+globex"),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let at = made.body.find("seam-user-").expect("the token, shown");
    let token: String = made.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    assert!(
        made.body.contains("operator of acme, globex"),
        "{}",
        made.body
    );
    let created = audit_by(&w.store, "ada", "user.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].subject, "olga");
    let list = w.get("/ui/users", Some(&session)).await;
    assert!(
        list.body
            .contains("<td>olga</td><td>operator of acme, globex</td>")
    );
    assert!(!list.body.contains(&token));
    // The token shown is olga's: she signs in with it.
    let (olga, _) = w.sign_in(&token).await;
    let home = w.get("/ui/", Some(&olga)).await;
    assert!(home.body.contains("olga"), "{}", home.body);

    let a = w
        .post(
            "/ui/users/grant",
            &session,
            "user=vic&role=operator&tenant=globex",
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = w
        .post(
            "/ui/users/grant",
            &session,
            &format!("csrf={csrf}&user=vic&role=operator&tenant=globex"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.headers[header::LOCATION], "/ui/users");
    let granted = audit_by(&w.store, "ada", "user.grant").await;
    assert_eq!(granted.len(), 1);
    assert_eq!(granted[0].subject, "vic");
    let list = w.get("/ui/users", Some(&session)).await;
    assert!(
        list.body
            .contains("<td>vic</td><td>operator of globex; viewer of acme</td>"),
        "{}",
        list.body
    );
    let nobody = w
        .post(
            "/ui/users/grant",
            &session,
            &format!("csrf={csrf}&user=nobody&role=admin"),
        )
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_audit_chain_pages_newest_first_escapes_and_verifies() {
    let mut w = World::new().await;
    seam_control::audit(
        w.store.as_ref(),
        "ada",
        "note",
        "<script>alert(3)</script>",
        None,
        serde_json::json!({"x": 1}),
    )
    .await
    .expect("audit");
    let (session, _) = w.sign_in(ADA).await;
    let a = w.get("/ui/audit", Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let sign_in = a.body.find("ui_sign_in").expect("the sign-in");
    let note = a
        .body
        .find("&lt;script&gt;alert(3)")
        .expect("the note, escaped");
    assert!(sign_in < note, "newest first");
    assert!(!a.body.contains("<script>"));
    assert!(!a.body.contains("Older records"));
    let one = w.get("/ui/audit?limit=1", Some(&session)).await;
    assert!(one.body.contains("ui_sign_in") && !one.body.contains("alert(3)"));
    assert!(
        one.body.contains("/ui/audit?before=2&amp;limit=1"),
        "{}",
        one.body
    );
    let older = w.get("/ui/audit?before=2&limit=1", Some(&session)).await;
    assert!(older.body.contains("alert(3)") && !older.body.contains("ui_sign_in"));
    assert_eq!(
        w.get("/ui/audit?limit=0", Some(&session)).await.status,
        StatusCode::BAD_REQUEST
    );
    let v = w.get("/ui/audit?verify=1", Some(&session)).await;
    assert!(
        v.body.contains("Intact: 2 records, unkeyed (SHA-256)"),
        "{}",
        v.body
    );
    assert!(v.body.contains("ui_sign_in"));
}

#[tokio::test]
async fn usage_shows_traffic_eval_apart_limits_and_top_traces_within_the_readers_tenants() {
    let mut w = World::new().await;
    let mut eval =
        seam_store::conformance::sample_call("call_eval1", seam_store::now_ms() - 10_000, "acme");
    eval.purpose = seam_vocab::Purpose::Eval;
    eval.trace_id = None;
    w.store
        .insert_records(&[eval], &[], &[])
        .await
        .expect("records");
    // Without the limits in force (no `seam serve`), the page says so.
    let (session, _) = w.sign_in(ADA).await;
    let a = w.get("/ui/usage", Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("not known here"));

    let mut limits = seam_config::Limits {
        tenant_default: vec![seam_config::parse_limit("requests_per_day", 10.0).expect("limit")],
        ..Default::default()
    };
    limits.tenants.insert(
        "acme".into(),
        vec![seam_config::parse_limit("requests_per_day", 2.0).expect("limit")],
    );
    w.app = router_with_limits(w.store.clone(), limits);
    let (plain, mut key) = seam_control::keys::mint("acme", None, seam_store::now_ms(), [7; 24]);
    key.limits = Some(r#"{"requests_per_minute": 60}"#.into());
    w.store.insert_key(&key).await.expect("key");
    let a = w.get("/ui/usage?since=1h&by=tenant", Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let live = a.body.find("Live traffic").expect("live");
    let evals = a.body.find("Eval traffic").expect("eval");
    let acme_live = a.body[live..evals].contains("<td>acme</td><td>1</td>");
    assert!(acme_live, "{}", a.body);
    assert!(
        a.body[evals..].contains("<td>acme</td><td>1</td>"),
        "{}",
        a.body
    );
    // acme: both its calls reached a provider, 2 of 2 a day, at the limit; globex 1 of 10.
    assert!(a.body.contains("<td>tenant acme</td><td>requests per day</td><td>2</td><td>2</td><td>100.0% (at the limit)</td>"), "{}", a.body);
    assert!(
        a.body.contains(
            "<td>tenant globex</td><td>requests per day</td><td>10</td><td>1</td><td>10.0%</td>"
        ),
        "{}",
        a.body
    );
    let key_row = format!(
        "<td>key {} ({}…, tenant acme)</td><td>requests per minute</td><td>60</td><td>0</td><td>0.0%</td>",
        key.id, key.prefix
    );
    assert!(a.body.contains(&key_row), "{}", a.body);
    assert!(!a.body.contains(&plain));
    // The top traces are the trace view's, read from the calls.
    assert!(!a.body.contains("Top traces by cost"));
    let traces = w.get("/ui/usage?since=1h&by=trace", Some(&session)).await;
    assert!(
        traces.body.contains("Top traces by cost"),
        "{}",
        traces.body
    );
    assert!(
        traces
            .body
            .contains(&format!("<a href=\"/ui/traces/{TRACE}\">{TRACE}</a>")),
        "{}",
        traces.body
    );
    assert!(!traces.body.contains("Live traffic"));
    let by_route = w.get("/ui/usage?by=route", Some(&session)).await;
    assert!(
        by_route.body.contains("<td>search</td>"),
        "{}",
        by_route.body
    );
    assert_eq!(
        w.get("/ui/usage?by=model", Some(&session)).await.status,
        StatusCode::BAD_REQUEST
    );

    // vic reads acme's only.
    let (vic, _) = w.sign_in(VIC).await;
    let a = w.get("/ui/usage", Some(&vic)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(
        a.body.contains("tenant acme") && !a.body.contains("globex"),
        "{}",
        a.body
    );
    let a = w.get("/ui/usage?tenant=globex", Some(&vic)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_trace_is_a_tree_of_the_calls_the_reader_may_see_linked_from_the_calls() {
    let mut w = World::new().await;
    let (session, _) = w.sign_in(ADA).await;
    let path = format!("/ui/traces/{TRACE}");
    let a = w.get(&path, Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let acme = a.body.find("call_acme1").expect("acme's call");
    let globex = a.body.find("call_globex1").expect("globex's call");
    assert!(acme < globex, "in the order they started");
    assert!(a.body.contains("attempt 1") && a.body.contains("attempt 2"));
    assert!(a.body.contains("2 calls"), "{}", a.body);
    // Two calls of another trace, the second started while the first ran: fan-out depth 1.
    let now = seam_store::now_ms();
    let mut first = seam_store::conformance::sample_call("call_fan1", now - 5_000, "acme");
    first.trace_id = Some("t_fan".into());
    first.latency_ms = 3_000.0;
    let mut second = seam_store::conformance::sample_call("call_fan2", now - 4_000, "acme");
    second.trace_id = Some("t_fan".into());
    w.store
        .insert_records(&[first, second], &[], &[])
        .await
        .expect("records");
    let fan = w.get("/ui/traces/t_fan", Some(&session)).await;
    assert!(
        fan.body.contains("+0ms") && fan.body.contains("+1000ms"),
        "{}",
        fan.body
    );
    assert!(fan.body.contains("started alone") && fan.body.contains("started with 1 running"));
    assert!(
        fan.body.contains("at most 2 running at once"),
        "{}",
        fan.body
    );
    let call = w.get("/ui/calls/call_acme1", Some(&session)).await;
    assert!(
        call.body.contains(&format!("href=\"{path}\"")),
        "{}",
        call.body
    );
    let calls = w.get("/ui/calls", Some(&session)).await;
    assert!(calls.body.contains(&format!("href=\"{path}\"")));
    // vic sees acme's call of the trace only; an unknown trace and another tenant's look
    // the same.
    let (vic, _) = w.sign_in(VIC).await;
    let a = w.get(&path, Some(&vic)).await;
    assert!(a.body.contains("call_acme1") && !a.body.contains("call_globex1"));
    let none = w.get("/ui/traces/nope", Some(&vic)).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert!(none.body.contains("No calls you can read"));
}
