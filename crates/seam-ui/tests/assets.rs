//! What the browser loads besides the pages: the stylesheet and htmx, built into the binary,
//! served without a session; and the policy that lets only those run or style a page.

mod common;

use common::*;
use http::{StatusCode, header};

#[tokio::test]
async fn the_stylesheet_and_htmx_are_served_from_the_binary_and_only_they_may_run() {
    let mut w = World::new().await;
    let js = w.get("/ui/htmx.js", None).await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(
        js.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(js.body.starts_with("var htmx="), "the vendored htmx");
    let css = w.get("/ui/seam.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");

    let (session, _) = w.sign_in(ADA).await;
    let home = w.get("/ui/", Some(&session)).await;
    let csp = home.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii");
    // Scripts and styles only from Seam itself: no inline script, nothing from elsewhere.
    assert!(csp.starts_with("default-src 'none'; script-src 'self'; style-src 'self'"));
    assert!(
        home.body
            .contains(r#"<script src="/ui/htmx.js" defer></script>"#)
    );
    // htmx keeps no copy of a page in the browser's storage and runs no code from a page.
    assert!(
        home.body.contains(r#""historyCacheSize":0"#) && home.body.contains(r#""allowEval":false"#)
    );
}

#[tokio::test]
async fn home_refreshes_itself_in_place_and_other_pages_do_not() {
    let mut w = World::new().await;
    let (session, _) = w.sign_in(ADA).await;
    let home = w.get("/ui/", Some(&session)).await;
    assert!(
        home.body.contains(
            r#"<main hx-get="&#x2f;ui&#x2f;" hx-trigger="every 5s" hx-select="main" hx-swap="outerHTML">"#
        ),
        "{}",
        home.body
    );
    let calls = w.get("/ui/calls", Some(&session)).await;
    assert!(calls.body.contains("<main>"), "{}", calls.body);
}
