//! The Prompts pages from a seeded store (releases, approvals, a deploy, a pinned session),
//! the side-by-side diff, and the approve, deploy and rollback forms: done by the right user
//! (with the audit records and the gateway told), refused with the API's status and reason
//! for the wrong one (and nothing changed), refused without the form token.

mod common;

use common::*;
use http::{StatusCode, header};
use seam_control::{Actor, DeployMode};
use seam_store::{SessionKey, SessionTtl, Store, UserRecord, now_ms};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const ANA: &str = "tok_ana_owner_0123456789";
const BEN: &str = "tok_ben_owner_0123456789";
const EVE: &str = "tok_eve_nobody_0123456789";
const PAGE: &str = "/ui/prompts/support-bot";

fn prompt(system: &str, extra: &str) -> seam_prompts::Prompt {
    let text = format!(
        "name = \"support-bot\"\nowners = [\"ana\", \"ben\"]\nroute = \"chat\"\nmodel = \"sim-large-2026-01\"\n{extra}\n[[messages]]\nrole = \"system\"\ncontent = \"{system}\"\n"
    );
    seam_prompts::parse(&text, std::path::Path::new("support-bot.toml")).expect("prompt")
}

/// The running gateway as the forms see it: production protected, an empty evals directory,
/// and a count of the deploys it was told of.
struct Fake {
    told: AtomicUsize,
    evals: tempfile::TempDir,
}

impl seam_ui::Gateway for Fake {
    fn protected_channels(&self) -> Vec<String> {
        vec!["production".into()]
    }
    fn evals_dir(&self) -> Option<PathBuf> {
        Some(self.evals.path().to_path_buf())
    }
    fn deployed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.told.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {})
    }
}

/// The test world, plus ana and ben (owners of support-bot), eve (no role): release r1 by
/// ana, approved by ada (an admin: nothing was on production) and on production with a
/// session of acme pinned to it; r2 by ben, not approved, its text carrying markup.
async fn seeded() -> (World, Arc<Fake>, String, String) {
    let mut w = World::new().await;
    let store = w.store.clone();
    for (name, token) in [("ana", ANA), ("ben", BEN), ("eve", EVE)] {
        store
            .insert_user(&UserRecord {
                id: format!("u_{name}"),
                name: name.into(),
                token_hash: seam_control::token_hash(token),
                admin: false,
                created_ms: now_ms(),
            })
            .await
            .expect("user");
    }
    let s = store.as_ref();
    let (r1, _) = seam_control::create_release(s, "ana", &prompt("You help with billing.", ""))
        .await
        .expect("r1");
    let ada = Actor::admin("ada");
    seam_control::approve(s, &ada, &r1.id)
        .await
        .expect("approve r1");
    let protected = ["production".to_string()];
    seam_control::deploy(
        s,
        &ada,
        "support-bot@production",
        &r1.id,
        DeployMode::Drain,
        &protected,
    )
    .await
    .expect("deploy r1");
    let key = SessionKey {
        tenant: "acme".into(),
        session_id: "sess-acme-1".into(),
        prompt: "support-bot".into(),
        channel: "production".into(),
    };
    let ttl = SessionTtl {
        idle_ms: 3_600_000,
        max_age_ms: 86_400_000,
    };
    store
        .pin_session(&key, &r1.id, now_ms(), ttl)
        .await
        .expect("pin");
    let (r2, _) = seam_control::create_release(
        s,
        "ben",
        &prompt("You help with billing. <script>alert('r2')</script>", ""),
    )
    .await
    .expect("r2");
    let fake = Arc::new(Fake {
        told: AtomicUsize::new(0),
        evals: tempfile::tempdir().expect("tempdir"),
    });
    let ui = seam_ui::Ui::new(store.clone(), 12, false).with_gateway(fake.clone());
    w.app = seam_ui::router::<()>(Arc::new(ui));
    (w, fake, r1.id, r2.id)
}

async fn current(store: &Arc<dyn Store>, channel: &str) -> Option<String> {
    store
        .current_deploys()
        .await
        .expect("deploys")
        .into_iter()
        .find(|d| d.prompt == "support-bot" && d.channel == channel)
        .map(|d| d.release_id)
}

async fn actions(store: &Arc<dyn Store>) -> Vec<(String, String)> {
    store
        .list_audit()
        .await
        .expect("audit")
        .into_iter()
        .map(|r| (r.actor, r.action))
        .collect()
}

#[tokio::test]
async fn the_pages_show_releases_approvals_channels_sessions_and_escape_the_text() {
    let (mut w, _, r1, r2) = seeded().await;
    for path in ["/ui/prompts", PAGE, "/ui/prompts/support-bot/diff"] {
        let a = w.get(path, None).await;
        assert_eq!(a.headers[header::LOCATION], "/ui/signin", "{path}");
    }
    // vic reads acme's records: the list, the page with the session, no approve button.
    let (vic, _) = w.sign_in(VIC).await;
    let list = w.get("/ui/prompts", Some(&vic)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("href=\"/ui/prompts/support-bot\""),
        "{}",
        list.body
    );
    assert!(list.body.contains(&format!("production: {r1}")));
    assert!(list.body.contains("1 sessions") && list.body.contains("awaiting approval"));
    let a = w.get("/ui/prompts?name=support-bot", Some(&vic)).await;
    assert_eq!(
        (a.status, &a.headers[header::LOCATION]),
        (StatusCode::SEE_OTHER, &http::HeaderValue::from_static(PAGE))
    );
    let page = w.get(PAGE, Some(&vic)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let b = &page.body;
    assert!(b.contains(&r1) && b.contains(&r2));
    assert!(b.contains("<td>ada</td>"), "r1's approver: {b}");
    assert!(
        b.contains("sess-acme-1") && b.contains("acme"),
        "the pinned session: {b}"
    );
    assert!(b.contains("Owners</dt><dd>ana, ben"), "{b}");
    assert!(!b.contains("name=\"approve\""), "vic owns nothing: {b}");
    assert!(b.contains("it needs approval by an owner of the release on production"));
    assert!(
        !b.contains("Roll back to"),
        "production has had one release only"
    );
    // The markup in r2's text never reaches the page as markup.
    assert!(!b.contains("<script>alert"), "{b}");
    let diff = w
        .get(&format!("{PAGE}/diff?a={r1}&b={r2}"), Some(&vic))
        .await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    assert!(diff.body.contains("&lt;script&gt;alert("), "{}", diff.body);
    assert!(!diff.body.contains("<script>"), "{}", diff.body);
    assert!(
        diff.body.contains("class=\"chg\""),
        "the changed line: {}",
        diff.body
    );
    assert!(
        diff.body.contains("You help with billing.&quot;"),
        "the old line beside it"
    );
    // Without ids: the latest against the one before.
    let d = w.get(&format!("{PAGE}/diff"), Some(&vic)).await;
    assert!(d.body.contains(&format!("{r2} against {r1}")), "{}", d.body);
    let d = w.get(&format!("{PAGE}/diff?a=rel_nope"), Some(&vic)).await;
    assert_eq!(d.status, StatusCode::NOT_FOUND);
    let d = w.get("/ui/prompts/..%2Fetc", Some(&vic)).await;
    assert_eq!(d.status, StatusCode::NOT_FOUND);
    let d = w.get("/ui/prompts/nothing-here", Some(&vic)).await;
    assert_eq!(d.status, StatusCode::NOT_FOUND);

    // ben authored r2: no approve button for it; ana, an owner, has one.
    let (ben, _) = w.sign_in_at(BEN, "/ui/prompts").await;
    let page = w.get(PAGE, Some(&ben)).await;
    assert!(page.body.contains("you authored it"), "{}", page.body);
    assert!(!page.body.contains(&format!("id=\"approve-{r2}\"")));
    let (ana, _) = w.sign_in_at(ANA, "/ui/prompts").await;
    let page = w.get(PAGE, Some(&ana)).await;
    assert!(
        page.body.contains(&format!("id=\"approve-{r2}\"")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("reading sessions needs role viewer or operator"),
        "ana reads no tenant's sessions: {}",
        page.body
    );
}

#[tokio::test]
async fn approve_deploy_and_rollback_by_the_right_users_and_refused_for_the_wrong() {
    let (mut w, fake, r1, r2) = seeded().await;
    let store = w.store.clone();
    let (ana, ana_csrf) = w.sign_in_at(ANA, "/ui/prompts").await;
    let (ben, ben_csrf) = w.sign_in_at(BEN, "/ui/prompts").await;
    let (eve, eve_csrf) = w.sign_in_at(EVE, "/ui/prompts").await;
    let approve = format!("{PAGE}/approve");
    let before = actions(&store).await.len();

    // The author, a stranger, a forged form: refused, nothing recorded.
    let a = w
        .post(&approve, &ben, &format!("csrf={ben_csrf}&release={r2}"))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.body.contains("authored") && a.body.contains("Nothing was changed"),
        "{}",
        a.body
    );
    let a = w
        .post(&approve, &eve, &format!("csrf={eve_csrf}&release={r2}"))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.body.contains("is not an owner of `support-bot`"),
        "{}",
        a.body
    );
    let a = w.post(&approve, &ana, &format!("release={r2}")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "no form token");
    let a = w
        .post(&approve, &ana, &format!("csrf={ben_csrf}&release={r2}"))
        .await;
    assert_eq!(
        a.status,
        StatusCode::FORBIDDEN,
        "another session's form token"
    );
    assert!(
        store
            .list_approvals(&r2)
            .await
            .expect("approvals")
            .is_empty()
    );
    assert_eq!(actions(&store).await.len(), before);

    // ana, an owner who did not write it, approves it.
    let a = w
        .post(&approve, &ana, &format!("csrf={ana_csrf}&release={r2}"))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.headers[header::LOCATION], PAGE);
    let approvers: Vec<String> = store
        .list_approvals(&r2)
        .await
        .expect("approvals")
        .into_iter()
        .map(|a| a.approver)
        .collect();
    assert_eq!(approvers, ["ana"]);
    assert!(
        actions(&store)
            .await
            .contains(&("ana".into(), "release.approve".into()))
    );

    // eve may not deploy to production (protected) nor roll it back.
    let deploy = format!("{PAGE}/deploy");
    let rollback = format!("{PAGE}/rollback");
    let a = w
        .post(
            &deploy,
            &eve,
            &format!("csrf={eve_csrf}&release={r2}&channel=production&mode=drain"),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.body
            .contains("a protected channel) needs an owner of `support-bot`"),
        "{}",
        a.body
    );
    assert_eq!(
        current(&store, "production").await.as_deref(),
        Some(r1.as_str())
    );
    assert_eq!(fake.told.load(Ordering::SeqCst), 0);
    let a = w
        .post(&deploy, &ben, &format!("release={r2}&channel=production"))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "no form token");
    assert_eq!(
        current(&store, "production").await.as_deref(),
        Some(r1.as_str())
    );

    // ben, an owner, deploys it: the store, the audit chain and the gateway know.
    let a = w
        .post(
            &deploy,
            &ben,
            &format!("csrf={ben_csrf}&release={r2}&channel=production&mode=immediate"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.headers[header::LOCATION], PAGE);
    assert_eq!(
        current(&store, "production").await.as_deref(),
        Some(r2.as_str())
    );
    assert_eq!(fake.told.load(Ordering::SeqCst), 1);
    assert!(
        actions(&store)
            .await
            .contains(&("ben".into(), "release.deploy".into()))
    );
    let page = w.get(PAGE, Some(&ana)).await;
    assert!(
        page.body.contains(&format!("Roll back to {r1}")),
        "{}",
        page.body
    );
    assert!(page.body.contains("immediate"));

    let a = w
        .post(
            &rollback,
            &eve,
            &format!("csrf={eve_csrf}&channel=production"),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.body.contains("rolling back support-bot@production"),
        "{}",
        a.body
    );
    assert_eq!(
        current(&store, "production").await.as_deref(),
        Some(r2.as_str())
    );
    let a = w
        .post(
            &rollback,
            &ana,
            &format!("csrf={ana_csrf}&channel=production&mode=drain"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(
        current(&store, "production").await.as_deref(),
        Some(r1.as_str())
    );
    assert_eq!(fake.told.load(Ordering::SeqCst), 2);
    assert!(
        actions(&store)
            .await
            .contains(&("ana".into(), "release.rollback".into()))
    );

    // A channel that is not protected takes an approved release from anyone, as in /api/.
    let a = w
        .post(
            &deploy,
            &eve,
            &format!("csrf={eve_csrf}&release={r2}&channel=staging"),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(
        current(&store, "staging").await.as_deref(),
        Some(r2.as_str())
    );
    let a = w
        .post(&rollback, &eve, &format!("csrf={eve_csrf}&channel=staging"))
        .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "nothing to roll back to: {}",
        a.body
    );
    assert!(a.body.contains("nothing to roll back to"));
    let a = w
        .post(
            &deploy,
            &eve,
            &format!("csrf={eve_csrf}&release={r2}&channel=staging&mode=sometime"),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("deploy mode `sometime`"), "{}", a.body);
}

#[tokio::test]
async fn a_gated_release_is_refused_as_the_api_refuses_it() {
    let (mut w, fake, r1, _) = seeded().await;
    let store = w.store.clone();
    let gated = prompt(
        "You help with billing, carefully.",
        "gate = { dataset = \"golden\", channel = \"production\" }",
    );
    let (r3, _) = seam_control::create_release(store.as_ref(), "ana", &gated)
        .await
        .expect("r3");
    let (ben, ben_csrf) = w.sign_in_at(BEN, "/ui/prompts").await;
    let page = w.get(PAGE, Some(&ben)).await;
    assert!(
        page.body.contains("dataset golden on production"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("no gate decision against {r1}")),
        "{}",
        page.body
    );
    let a = w
        .post(
            &format!("{PAGE}/approve"),
            &ben,
            &format!("csrf={ben_csrf}&release={}", r3.id),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = w
        .post(
            &format!("{PAGE}/deploy"),
            &ben,
            &format!("csrf={ben_csrf}&release={}&channel=production", r3.id),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert!(
        a.body
            .contains("support-bot@production is gated on dataset `golden`"),
        "{}",
        a.body
    );
    assert_eq!(
        current(&store, "production").await.as_deref(),
        Some(r1.as_str())
    );
    assert_eq!(fake.told.load(Ordering::SeqCst), 0);
    // An override is an admin's: ben's reason is refused.
    let a = w
        .post(
            &format!("{PAGE}/deploy"),
            &ben,
            &format!(
                "csrf={ben_csrf}&release={}&channel=production&override_gate=urgent",
                r3.id
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert!(a.body.contains("overriding the gate"), "{}", a.body);
    assert_eq!(
        current(&store, "production").await.as_deref(),
        Some(r1.as_str())
    );
}

#[tokio::test]
async fn a_release_made_with_eval_cases_in_it_says_so_with_the_cases() {
    let (mut w, _, _, r2) = seeded().await;
    // As `seam release create --allow-contamination` leaves it on the timeline.
    let event = seam_store::EventRecord::new(
        seam_vocab::EventKind::ReleaseContaminationAllowed,
        format!("ben allowed eval cases in {r2}"),
        serde_json::json!({
            "release": r2,
            "reason": "the <b>demo</b> needs them",
            "datasets": ["qa"],
            "cases": [{"dataset": "qa", "file": "qa.jsonl", "line": 3, "case": "c<i>7</i>",
                       "part": "expected output", "place": "messages[2] (assistant)",
                       "metric": "13-gram", "longest_span": 21}],
        }),
    );
    w.store.insert_event(&event).await.expect("event");
    let (session, _) = w.sign_in(ADA).await;
    let page = w.get(PAGE, Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<strong>Contains eval cases</strong>, allowed: the &lt;b&gt;demo&lt;&#x2f;b&gt; needs them"), "{}", page.body);
    assert!(
        page.body
            .contains("qa&#x2f;c&lt;i&gt;7&lt;&#x2f;i&gt; (expected output in messages[2] (assistant), 13-gram)"),
        "{}",
        page.body
    );
    assert_eq!(
        page.body.matches("Contains eval cases").count(),
        1,
        "only r2"
    );
}
