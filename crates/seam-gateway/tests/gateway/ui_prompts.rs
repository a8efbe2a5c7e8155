//! The dashboard's deploy and rollback forms on a running gateway: a deploy made there is
//! what `prompt:` calls are served next, as after `POST /api/deploys`; a refused one changes
//! nothing.

use crate::control_api::{PROMPT, user_with};
use crate::harness::{Harness, Options};
use crate::ui::{csrf, sign_in};
use seam_control::{Actor, DeployMode};
use seam_store::Audit;
use serde_json::json;
use std::time::Duration;

/// Posts a form of the prompt page as `session`, with the page's own form token.
async fn form(h: &Harness, session: &str, action: &str, fields: &str) -> (u16, String) {
    let page = h
        .client
        .get(format!("{}/ui/prompts/support-bot", h.gw))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let token = csrf(&page.text().await.unwrap());
    let r = h
        .client
        .post(format!("{}/ui/prompts/support-bot/{action}", h.gw))
        .header("cookie", session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={token}&{fields}"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status == 303 {
        assert_eq!(r.headers()["location"], "/ui/prompts/support-bot");
    }
    (status, r.text().await.unwrap())
}

/// The release a `prompt:support-bot` call is served from, once it is `want` (bounded: the
/// form refreshes this gateway's snapshot before it answers, and the periodic refresh would
/// within a second, so a wait here is only for a refresh that raced the form's).
async fn served(h: &Harness, want: &str) -> String {
    let body = json!({"model": "prompt:support-bot", "messages": [{"role": "user", "content": "hi"}], "seam_variables": {"customer": "Acme"}});
    let mut last = String::new();
    for _ in 0..30 {
        let r = h.chat(body.clone()).await;
        if r.status() == 200 {
            last = r.headers()["x-seam-release"]
                .to_str()
                .unwrap_or("")
                .to_string();
            if last == want {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

#[tokio::test]
async fn a_deploy_through_the_dashboard_is_served_to_the_next_prompt_call() {
    let h = Harness::start(Options::default()).await;
    user_with(&h, "root", true, &[]).await;
    let ben = user_with(&h, "ben", false, &[]).await;
    let eve = user_with(&h, "eve", false, &[]).await;
    let store = h.store.as_ref();
    let parse = |text: &str| {
        seam_prompts::parse(text, std::path::Path::new("support-bot.toml")).expect("prompt")
    };
    let (r1, _) = seam_control::create_release(store, "ana", &parse(PROMPT))
        .await
        .unwrap();
    let root = Actor::admin("root");
    seam_control::approve(store, &root, &r1.id).await.unwrap();
    let protected = ["production".to_string()];
    seam_control::deploy(
        store,
        &root,
        "support-bot@production",
        &r1.id,
        DeployMode::Drain,
        &protected,
    )
    .await
    .unwrap();
    assert_eq!(served(&h, &r1.id).await, r1.id);
    let (r2, _) = seam_control::create_release(
        store,
        "ben",
        &parse(&PROMPT.replace("You help", "You assist")),
    )
    .await
    .unwrap();
    seam_control::approve(store, &Actor::user("ana"), &r2.id)
        .await
        .unwrap();

    // eve owns nothing: production stays as it is.
    let eve = sign_in(&h, &eve).await;
    let (s, body) = form(
        &h,
        &eve,
        "deploy",
        &format!("release={}&channel=production", r2.id),
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("needs an owner of `support-bot`"), "{body}");
    assert_eq!(served(&h, &r1.id).await, r1.id);

    // ben, an owner, deploys r2 from the dashboard: the next call gets it.
    let ben = sign_in(&h, &ben).await;
    let (s, body) = form(
        &h,
        &ben,
        "deploy",
        &format!("release={}&channel=production&mode=drain", r2.id),
    )
    .await;
    assert_eq!(s, 303, "{body}");
    assert_eq!(served(&h, &r2.id).await, r2.id);
    let sent = h.sim_stats().await["last_body"].clone();
    assert!(
        sent["messages"][0]["content"]
            .as_str()
            .unwrap_or("")
            .starts_with("You assist Acme"),
        "{sent}"
    );
    // And a rollback from there puts r1 back.
    let (s, body) = form(&h, &ben, "rollback", "channel=production").await;
    assert_eq!(s, 303, "{body}");
    assert_eq!(served(&h, &r1.id).await, r1.id);
    let actions: Vec<(String, String)> = h
        .store
        .list_audit()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.actor, r.action))
        .collect();
    assert!(
        actions.contains(&("ben".into(), "release.deploy".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("ben".into(), "release.rollback".into())),
        "{actions:?}"
    );
    assert!(
        !actions
            .iter()
            .any(|(a, x)| a == "eve" && x.starts_with("release."))
    );

    // Another process starts keying the chain (`seam audit key`) with a key this gateway
    // does not have: the form is refused before it is done (409), as /api/ refuses it.
    let key = seam_store::audit::AuditKey::new(&"k".repeat(40)).unwrap();
    let after = json!({"key_id": key.id()}).to_string();
    let keyed = (*h.store).clone().with_audit_key(Some(key));
    let action = seam_store::audit::KEYED_ACTION;
    seam_store::Audit::append_audit(&keyed, "root", action, "audit", None, Some(after), 1)
        .await
        .unwrap();
    let (s, body) = form(
        &h,
        &ben,
        "deploy",
        &format!("release={}&channel=production", r2.id),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("the audit chain is keyed"), "{body}");
    assert_eq!(served(&h, &r1.id).await, r1.id);
}
