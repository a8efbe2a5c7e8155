//! Home for someone who holds no role in any tenant (a prompt's owner, often): the page, not
//! a refusal, without any tenant's records.

mod common;

use common::*;
use http::StatusCode;
use seam_store::{UserRecord, now_ms};

const OWEN: &str = "tok_owen_norole_0123456789";

#[tokio::test]
async fn home_opens_for_a_user_with_no_role_and_shows_no_records() {
    let mut w = World::new().await;
    w.store
        .insert_user(&UserRecord {
            id: "u_owen".into(),
            name: "owen".into(),
            token_hash: seam_control::token_hash(OWEN),
            admin: false,
            created_ms: now_ms(),
        })
        .await
        .expect("user");
    let (session, _) = w.sign_in(OWEN).await;
    let home = w.get("/ui/", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(
        home.body.contains("You hold no role in any tenant"),
        "{}",
        home.body
    );
    // The seeded acme and globex calls are not counted for them.
    assert!(!home.body.contains("/ui/calls?route=chat"), "{}", home.body);
    // Pages that read records still refuse them.
    let calls = w.get("/ui/calls", Some(&session)).await;
    assert_eq!(calls.status, StatusCode::FORBIDDEN);
}
