//! The dashboard as a browser meets it: sign-in, the session cookie, CSRF, each page rendered
//! from a seeded store, roles, and escaping.

mod common;

use common::*;
use http::{StatusCode, header};
use seam_store::{UserRecord, now_ms};

#[tokio::test]
async fn pages_need_a_session_and_sign_in_takes_only_a_users_token() {
    let mut w = World::new().await;
    for path in ["/ui/", "/ui/timeline", "/ui/calls", "/ui/calls/call_acme1"] {
        let a = w.get(path, None).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(a.headers[header::LOCATION], "/ui/signin", "{path}");
        let a = w.get(path, Some("seam_ui=forged")).await;
        assert_eq!(a.headers[header::LOCATION], "/ui/signin", "{path}");
    }
    // A wrong token, and an API key, are refused with the form again.
    let form = w.get("/ui/signin", None).await;
    let pre = set_cookie(&form, "seam_ui_signin").expect("cookie");
    let csrf = hidden_csrf(&form.body);
    for (token, says) in [
        ("tok_nobody", "Unknown token"),
        ("sk-seam-0123456789abcdef", "an API key signs no one in"),
    ] {
        let a = w
            .post("/ui/signin", &pre, &format!("token={token}&csrf={csrf}"))
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert!(a.body.contains(says), "{}", a.body);
        assert!(set_cookie(&a, "seam_ui").is_none());
    }
    // A sign-in form posted without its own form token is refused.
    let a = w
        .post("/ui/signin", "", &format!("token={ADA}&csrf={csrf}"))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // The right token: a session cookie a script cannot read, only the hash stored.
    let done = {
        let a = w
            .post("/ui/signin", &pre, &format!("token={ADA}&csrf={csrf}"))
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        a
    };
    let raw = done
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("seam_ui="))
        .expect("session cookie")
        .to_string();
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Strict") && raw.contains("Path=/ui")
    );
    assert!(!raw.contains("Secure"), "plain HTTP: {raw}");
    let id = raw["seam_ui=".len()..raw.find(';').expect(";")].to_string();
    assert!(
        w.store
            .ui_session(&id, now_ms())
            .await
            .expect("read")
            .is_none(),
        "the id itself is not stored"
    );
    let audit = w.store.list_audit().await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|r| r.actor == "ada" && r.action == "ui_sign_in"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn a_post_without_the_form_token_is_refused_and_sign_out_ends_the_session() {
    let mut w = World::new().await;
    let (session, csrf) = w.sign_in(ADA).await;
    for form in ["", "csrf=wrong", "csrf="] {
        let a = w.post("/ui/signout", &session, form).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{form}");
    }
    assert_eq!(w.get("/ui/", Some(&session)).await.status, StatusCode::OK);
    let a = w
        .post("/ui/signout", &session, &format!("csrf={csrf}"))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.headers[header::LOCATION], "/ui/signin");
    let after = w.get("/ui/", Some(&session)).await;
    assert_eq!(after.headers[header::LOCATION], "/ui/signin");
    let audit = w.store.list_audit().await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|r| r.actor == "ada" && r.action == "ui_sign_out")
    );
}

#[tokio::test]
async fn each_page_renders_the_seeded_records_and_escapes_what_they_say() {
    let mut w = World::new().await;
    let (session, _) = w.sign_in(ADA).await;
    let home = w.get("/ui/", Some(&session)).await;
    assert!(
        home.body
            .contains("<td><a href=\"/ui/calls?route=chat\">chat</a></td>"),
        "{}",
        home.body
    );
    // One of one dispatched call failed its first attempt, none failed in the end.
    assert!(
        home.body.contains("<td>100.0%</td><td>0.0%</td>"),
        "{}",
        home.body
    );
    assert!(home.body.contains("served_model_changed"));
    assert!(
        home.body
            .contains("&lt;b&gt;sim-large-2026-02&lt;&#x2f;b&gt;"),
        "{}",
        home.body
    );
    assert!(!home.body.contains("<b>sim-large"));

    let timeline = w
        .get(
            "/ui/timeline?since=1h&kind=served_model_changed",
            Some(&session),
        )
        .await;
    assert_eq!(timeline.status, StatusCode::OK);
    assert!(timeline.body.contains("served_model_changed"));
    assert!(timeline.body.contains("value=\"served_model_changed\""));
    let none = w
        .get("/ui/timeline?kind=config_reload_refused", Some(&session))
        .await;
    assert!(
        none.body.contains("that match the filters"),
        "{}",
        none.body
    );
    let bad = w.get("/ui/timeline?since=forever", Some(&session)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let calls = w.get("/ui/calls", Some(&session)).await;
    assert!(calls.body.contains("href=\"/ui/calls/call_acme1\""));
    assert!(calls.body.contains("call_globex1"));
    let acme = w
        .get("/ui/calls?tenant=acme&status=2xx", Some(&session))
        .await;
    assert!(acme.body.contains("call_acme1") && !acme.body.contains("call_globex1"));
    let trace = w
        .get(
            "/ui/calls?trace=4bf92f3577b34da6a3ce929d0e0e4736&tenant=globex",
            Some(&session),
        )
        .await;
    assert!(
        trace.body.contains("call_globex1") && !trace.body.contains("call_acme1"),
        "{}",
        trace.body
    );
    let bad = w.get("/ui/calls?status=6xx", Some(&session)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("status `6xx`"));

    let one = w.get("/ui/calls/call_acme1", Some(&session)).await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.body.contains("<h2>Attempts</h2>"));
    assert!(one.body.contains("<td>1</td>") && one.body.contains("<td>2</td>"));
    // The prompt and the answer are shown as text, never as markup.
    assert!(!one.body.contains("<script>"), "{}", one.body);
    assert!(
        one.body
            .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{}",
        one.body
    );
    assert!(one.body.contains("&lt;script&gt;steal()"), "{}", one.body);
    assert_eq!(
        w.get("/ui/calls/call_nope", Some(&session)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_viewer_sees_only_their_tenants_calls() {
    let mut w = World::new().await;
    let (session, _) = w.sign_in(VIC).await;
    let calls = w.get("/ui/calls", Some(&session)).await;
    assert_eq!(calls.status, StatusCode::OK);
    assert!(calls.body.contains("call_acme1") && !calls.body.contains("call_globex1"));
    let other = w.get("/ui/calls?tenant=globex", Some(&session)).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert!(
        other
            .body
            .contains("needs role viewer or operator of `globex`"),
        "{}",
        other.body
    );
    let trace = w
        .get(
            "/ui/calls?trace=4bf92f3577b34da6a3ce929d0e0e4736",
            Some(&session),
        )
        .await;
    assert!(trace.body.contains("call_acme1") && !trace.body.contains("call_globex1"));
    let hidden = w.get("/ui/calls/call_globex1", Some(&session)).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(hidden.body.contains("no call `call_globex1`"));
    let home = w.get("/ui/", Some(&session)).await;
    assert!(home.body.contains("vic") && home.body.contains("viewer of acme"));
}

#[tokio::test]
async fn a_session_is_found_by_its_ids_hash_until_it_expires_and_no_role_reads_nothing() {
    let mut w = World::new().await;
    let now = now_ms();
    let hash = |id: &str| seam_control::token_hash(id);
    w.store
        .insert_user(&UserRecord {
            id: "u_nora".into(),
            name: "nora".into(),
            token_hash: seam_control::token_hash("tok_nora_0123456789"),
            admin: false,
            created_ms: now,
        })
        .await
        .expect("user");
    for (id, user, expires_ms) in [
        ("live_id", "u_ada", now + 60_000),
        ("old_id", "u_ada", now - 1),
        ("nora_id", "u_nora", now + 60_000),
    ] {
        w.store
            .insert_ui_session(
                &seam_store::UiSessionRecord {
                    id_hash: hash(id),
                    user_id: user.into(),
                    csrf: "c".into(),
                    created_ms: now - 120_000,
                    expires_ms,
                },
                now - 120_000,
            )
            .await
            .expect("session");
    }
    assert_eq!(
        w.get("/ui/", Some("seam_ui=live_id")).await.status,
        StatusCode::OK
    );
    let old = w.get("/ui/", Some("seam_ui=old_id")).await;
    assert_eq!(old.status, StatusCode::SEE_OTHER);
    assert_eq!(old.headers[header::LOCATION], "/ui/signin");
    // The hash itself is not a session id.
    let by_hash = w
        .get("/ui/", Some(&format!("seam_ui={}", hash("live_id"))))
        .await;
    assert_eq!(by_hash.status, StatusCode::SEE_OTHER);
    // A sign-in deletes the expired sessions.
    w.sign_in(ADA).await;
    assert!(
        w.store
            .ui_session(&hash("old_id"), now - 60_000)
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        w.store
            .ui_session(&hash("live_id"), now)
            .await
            .expect("read")
            .is_some()
    );
    // A user without a role reads no records: Home opens without them (tests/home.rs).
    let home = w.get("/ui/", Some("seam_ui=nora_id")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(!home.body.contains("/ui/calls?route=chat"), "{}", home.body);
    for path in ["/ui/calls", "/ui/calls/call_acme1"] {
        let a = w.get(path, Some("seam_ui=nora_id")).await;
        assert!(
            a.status == StatusCode::FORBIDDEN || a.status == StatusCode::NOT_FOUND,
            "{path}: {}",
            a.status
        );
        assert!(!a.body.contains("call_acme1</a>"), "{path}");
    }
    let a = w.get("/ui/calls", Some("seam_ui=nora_id")).await;
    assert!(a.body.contains("`nora` has no role"), "{}", a.body);
}
