//! The control API under /api/: the CLI's rules over HTTP, every action signed by a token.

use crate::harness::{Harness, Options};
use seam_store::{Audit, RoleRecord, UserRecord, Users};
use serde_json::{Value, json};

pub const PROMPT: &str = "name = \"support-bot\"\nowners = [\"ana\", \"ben\"]\nroute = \"chat\"\nmodel = \"sim-large-2026-01\"\nvariables = { customer = \"string\" }\n\n[[messages]]\nrole = \"system\"\ncontent = \"You help {{ customer }}.\"\n";

/// A user without a role; returns their token.
pub async fn user(h: &Harness, name: &str) -> String {
    user_with(h, name, false, &[]).await
}

/// A user who is an admin or holds `roles` (role, tenant); returns their token.
pub async fn user_with(h: &Harness, name: &str, admin: bool, roles: &[(&str, &str)]) -> String {
    let token = format!("seam-user-test-{name}");
    h.store
        .insert_user(&UserRecord {
            id: format!("usr_{name}"),
            name: name.into(),
            token_hash: seam_control::token_hash(&token),
            admin,
            created_ms: 1,
        })
        .await
        .unwrap();
    for (role, tenant) in roles {
        h.store
            .insert_role(&RoleRecord {
                user_id: format!("usr_{name}"),
                role: role.to_string(),
                tenant: tenant.to_string(),
                created_ms: 1,
            })
            .await
            .unwrap();
    }
    token
}

pub async fn call(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = h.client.request(method, format!("{}{path}", h.gw));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn releases_through_the_api_follow_the_same_rules() {
    let h = Harness::start(Options::default()).await;
    let root = user_with(&h, "root", true, &[]).await;
    let ana = user(&h, "ana").await;
    let ben = user(&h, "ben").await;
    let eve = user(&h, "eve").await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;

    let (s, _) = call(&h, get.clone(), "/api/changes", None, None).await;
    assert_eq!(s, 401);
    let (s, v) = call(
        &h,
        post.clone(),
        "/api/releases",
        Some(&ana),
        Some(json!({"prompt": PROMPT})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (s, v) = call(
        &h,
        post.clone(),
        "/api/releases",
        Some(&ana),
        Some(json!({"prompt": "name = 1"})),
    )
    .await;
    assert_eq!(s, 400, "{v}");

    let deploy = json!({"target": "support-bot@production", "release": id});
    let (s, v) = call(
        &h,
        post.clone(),
        "/api/deploys",
        Some(&ana),
        Some(deploy.clone()),
    )
    .await;
    assert_eq!(s, 403, "unapproved: {v}");
    let approve = format!("/api/releases/{id}/approve");
    let (s, _) = call(&h, post.clone(), &approve, Some(&ana), None).await;
    assert_eq!(s, 403, "the author cannot approve");
    let (s, _) = call(&h, post.clone(), &approve, Some(&eve), None).await;
    assert_eq!(s, 403, "a non-owner cannot approve");
    let (s, v) = call(&h, post.clone(), &approve, Some(&ben), None).await;
    assert_eq!(
        s, 403,
        "nothing is on production: owners listed in the release count for nothing yet"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("role admin"),
        "{v}"
    );
    let (s, v) = call(&h, post.clone(), &approve, Some(&root), None).await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["changes"].is_null(),
        "the first release changes nothing: {v}"
    );
    let (s, v) = call(
        &h,
        post.clone(),
        "/api/deploys",
        Some(&ana),
        Some(deploy.clone()),
    )
    .await;
    assert_eq!(s, 403, "production is protected; ana owns nothing yet: {v}");
    let (s, v) = call(&h, post.clone(), "/api/deploys", Some(&root), Some(deploy)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["approved_by"], json!(["root"]));

    let (s, v) = call(
        &h,
        get.clone(),
        "/api/releases/support-bot",
        Some(&eve),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["releases"][0]["channels"], json!(["production"]));
    assert_eq!(v["releases"][0]["owners"], json!(["ana", "ben"]));
    let (_, v) = call(&h, get.clone(), "/api/changes?since_ms=0", Some(&eve), None).await;
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"release_approve") && kinds.contains(&"release_deploy"),
        "{kinds:?}"
    );
    let (s, v) = call(&h, get.clone(), "/api/audit/verify", Some(&eve), None).await;
    assert_eq!((s, v["intact"].as_bool()), (200, Some(true)));
    // The log names every tenant's keys and users: an admin's to read.
    let (s, v) = call(&h, get.clone(), "/api/audit", Some(&eve), None).await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("reading the audit log needs role admin"),
        "{v}"
    );
    let (_, v) = call(&h, get, "/api/audit", Some(&root), None).await;
    let actors: Vec<&str> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["actor"].as_str())
        .collect();
    assert_eq!(actors, ["ana", "root", "root"]);
}

#[tokio::test]
async fn sessions_migrations_and_reloads_over_the_api() {
    let h = Harness::start(Options::default()).await;
    let root = user_with(&h, "root", true, &[]).await;
    let ana = user(&h, "ana").await;
    let ben = user_with(&h, "ben", false, &[("operator", "acme")]).await;
    let vic = user_with(&h, "vic", false, &[("viewer", "acme")]).await;
    let olga = user_with(&h, "olga", false, &[("operator", "globex")]).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    let mut ids = Vec::new();
    for text in [PROMPT.to_string(), PROMPT.replace("You help", "You assist")] {
        let (s, v) = call(
            &h,
            post.clone(),
            "/api/releases",
            Some(&ana),
            Some(json!({"prompt": text})),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        let (s, _) = call(
            &h,
            post.clone(),
            &format!("/api/releases/{id}/approve"),
            Some(&root),
            None,
        )
        .await;
        assert_eq!(s, 200);
        ids.push(id);
    }
    let (s, v) = call(
        &h,
        post.clone(),
        "/api/deploys",
        Some(&root),
        Some(json!({"target": "support-bot@production", "release": ids[0], "mode": "sideways"})),
    )
    .await;
    assert_eq!(s, 400, "an unknown mode is refused: {v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("drain"),
        "{v}"
    );
    let (s, v) = call(
        &h,
        post.clone(),
        "/api/deploys",
        Some(&root),
        Some(json!({"target": "support-bot@production", "release": ids[0]})),
    )
    .await;
    assert_eq!((s, v["mode"].as_str()), (200, Some("drain")));

    // A session pinned to the first release.
    let body = json!({"model": "prompt:support-bot", "messages": [{"role": "user", "content": "hi"}], "seam_variables": {"customer": "Acme"}});
    let mut pinned = false;
    for _ in 0..40 {
        let r = h
            .client
            .post(format!("{}/v1/chat/completions", h.gw))
            .bearer_auth(&h.key)
            .header("x-seam-session", "api-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            pinned = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(pinned, "the deploy was served");
    let (s, v) = call(
        &h,
        get.clone(),
        "/api/sessions?prompt=support-bot",
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(s, 200, "a viewer of acme reads acme's sessions");
    assert_eq!(v["sessions"][0]["session_id"], "api-1");
    assert_eq!(v["sessions"][0]["release_id"], ids[0].as_str());
    let (s, v) = call(&h, get.clone(), "/api/sessions", Some(&olga), None).await;
    assert_eq!(
        (s, v["sessions"].as_array().map(Vec::len)),
        (200, Some(0)),
        "not globex's: {v}"
    );
    let (s, v) = call(&h, get.clone(), "/api/sessions", Some(&ana), None).await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs role viewer or operator of a tenant, or admin"),
        "{v}"
    );

    let migrate = json!({"session": "api-1", "release": ids[1]});
    for (who, name) in [(&olga, "olga"), (&vic, "vic")] {
        let (s, v) = call(
            &h,
            post.clone(),
            "/api/sessions/migrate",
            Some(who),
            Some(migrate.clone()),
        )
        .await;
        assert_eq!(s, 403, "{name}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("needs role operator of `acme`, or admin"),
            "{name}: {v}"
        );
    }
    let (s, v) = call(
        &h,
        post.clone(),
        "/api/sessions/migrate",
        Some(&ben),
        Some(migrate),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["from"].as_str(), v["release"].as_str()),
        (Some(ids[0].as_str()), Some(ids[1].as_str()))
    );
    let (s, _) = call(
        &h,
        post.clone(),
        "/api/sessions/migrate",
        Some(&ben),
        Some(json!({"session": "nobody", "release": ids[1]})),
    )
    .await;
    assert_eq!(s, 404);
    let chain = h.store.list_audit().await.unwrap();
    assert!(
        chain
            .iter()
            .any(|a| a.action == "session.migrate" && a.actor == "ben")
    );

    // Only an admin reloads; this gateway was started without a config file: nothing to
    // reload, and it says so.
    let (s, v) = call(&h, post.clone(), "/api/reload", Some(&ben), None).await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs role admin"),
        "{v}"
    );
    let (s, v) = call(&h, post.clone(), "/api/reload", Some(&root), None).await;
    assert_eq!(s, 409, "{v}");
    let (s, _) = call(&h, post.clone(), "/api/reload", None, None).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn a_refused_reload_over_the_api_names_the_problem() {
    let h = Harness::start(Options {
        reloadable: true,
        ..Options::default()
    })
    .await;
    let ana = user_with(&h, "ana", true, &[]).await;
    let post = reqwest::Method::POST;
    let (s, v) = call(&h, post.clone(), "/api/reload", Some(&ana), None).await;
    assert_eq!((s, v["applied"].as_bool()), (200, Some(true)), "{v}");
    let (s, v) = call(&h, post.clone(), "/api/reload", Some(&ana), None).await;
    assert_eq!(
        (s, v["config_changed"].as_bool()),
        (200, Some(false)),
        "{v}"
    );
    let chain = h.store.list_audit().await.unwrap();
    let actions: Vec<(&str, &str)> = chain
        .iter()
        .map(|a| (a.actor.as_str(), a.action.as_str()))
        .collect();
    assert!(actions.contains(&("ana", "config.change")), "{actions:?}");
    assert!(
        actions.contains(&("ana", "config.reload")),
        "every applied reload is audited: {actions:?}"
    );
    let good = std::fs::read_to_string(&h.config_path).unwrap();
    std::fs::write(&h.config_path, good.replace("[[routes]]", "[[routez]]")).unwrap();
    let (s, v) = call(&h, post.clone(), "/api/reload", Some(&ana), None).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["refused"], true);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("routez"),
        "{v}"
    );
    std::fs::write(&h.config_path, good).unwrap();
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let h = Harness::start(Options {
        server: "metrics_token_env = \"SEAM_TEST_METRICS_TOKEN\"",
        ..Options::default()
    })
    .await;
    let url = format!("{}/metrics", h.gw);
    let r = h.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("metrics_token_env"));
    let r = h
        .client
        .get(&url)
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = h
        .client
        .get(&url)
        .bearer_auth(crate::harness::METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("seam_"));
    let open = Harness::start(Options::default()).await;
    let r = open
        .client
        .get(format!("{}/metrics", open.gw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "without the key, /metrics stays open");
}

#[tokio::test]
async fn requests_the_extractors_refuse_get_the_documented_json_error() {
    let h = Harness::start(Options::default()).await;
    let ana = user(&h, "ana").await;
    let post = |path: &str| h.client.post(format!("{}{path}", h.gw)).bearer_auth(&ana);
    let cases = [
        (
            "malformed JSON",
            post("/api/releases")
                .header("content-type", "application/json")
                .body("{\"prompt\": "),
            400,
        ),
        (
            "not JSON at all",
            post("/api/deploys")
                .header("content-type", "text/plain")
                .body("target=x"),
            415,
        ),
        ("no body", post("/api/rollbacks"), 415),
        (
            "a method the route does not have",
            h.client
                .get(format!("{}/api/deploys", h.gw))
                .bearer_auth(&ana),
            405,
        ),
    ];
    for (what, req, status) in cases {
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{what}");
        let content_type = r.headers()[http::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            content_type.starts_with("application/json"),
            "{what}: {content_type}"
        );
        if status == 405 {
            assert!(r.headers().contains_key(http::header::ALLOW), "{what}");
        }
        let body: Value = r.json().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{what}: {body}");
    }
}
