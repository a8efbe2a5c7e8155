//! No page, fragment or form of the dashboard answers without a session: every GET is a 303
//! to the sign-in form, every POST is refused, and nothing changes in the store.

mod common;

use common::*;
use http::{StatusCode, header};

const PAGES: &[&str] = &[
    "/ui/",
    "/ui/timeline",
    "/ui/calls",
    "/ui/calls/call_acme1",
    "/ui/traces/4bf92f3577b34da6a3ce929d0e0e4736",
    "/ui/usage",
    "/ui/keys",
    "/ui/users",
    "/ui/audit?verify=1",
    "/ui/evals",
    "/ui/evals/evr_base",
    "/ui/canaries",
    "/ui/canaries?verdict=fail",
    "/ui/canaries/refund-demo?limit=5",
    "/ui/value",
    "/ui/value?quarter=2026Q4",
    "/ui/value.csv?since=90d",
    "/ui/value.json",
    "/ui/reliability",
    "/ui/streams",
    "/ui/prompts",
    "/ui/prompts/support-bot",
    "/ui/prompts/support-bot/diff?a=rel_a&b=rel_b",
];

const FORMS: &[&str] = &[
    "/ui/keys",
    "/ui/keys/revoke",
    "/ui/users",
    "/ui/users/grant",
    "/ui/prompts/support-bot/approve",
    "/ui/prompts/support-bot/deploy",
    "/ui/prompts/support-bot/rollback",
    "/ui/signout",
];

#[tokio::test]
async fn every_page_and_form_needs_a_session() {
    let mut w = World::new().await;
    for cookie in [None, Some("seam_ui=not_a_session")] {
        for path in PAGES {
            let a = w.get(path, cookie).await;
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{path} with {cookie:?}");
            assert_eq!(a.headers[header::LOCATION], "/ui/signin", "{path}");
            assert!(a.body.is_empty(), "{path}: {}", a.body);
        }
        for path in FORMS {
            let form =
                "tenant=acme&name=mallory&role=admin&release=rel_a&channel=production&csrf=x";
            let a = w.post(path, cookie.unwrap_or(""), form).await;
            assert!(
                a.status == StatusCode::SEE_OTHER || a.status == StatusCode::FORBIDDEN,
                "{path} with {cookie:?}: {}",
                a.status
            );
            if a.status == StatusCode::SEE_OTHER {
                assert_eq!(a.headers[header::LOCATION], "/ui/signin", "{path}");
            }
        }
    }
    assert!(
        w.store.list_keys().await.expect("keys").is_empty(),
        "no key was made"
    );
    let users = w.store.list_users().await.expect("users");
    assert!(
        users.iter().all(|u| u.name != "mallory"),
        "no user was made"
    );
    assert!(
        w.store.list_audit().await.expect("audit").is_empty(),
        "nothing was audited"
    );
}
