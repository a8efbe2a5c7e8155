//! The dashboard (`seam-ui`) as `seam serve` mounts it: on by default under `/ui/`, showing a
//! call the gateway just recorded to a reader of its tenant; absent with `[ui] enabled = false`.

use crate::control_api::user_with;
use crate::harness::{Harness, Options, call_id, hello};
use serde_json::json;

/// `NAME=VALUE` of the answer's Set-Cookie for `name`.
fn cookie(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .expect("the cookie")
        .to_string()
}

fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + html[at..].find('"').expect("end")].to_string()
}

#[tokio::test]
async fn the_gateway_serves_the_dashboard_to_a_signed_in_reader() {
    let h = Harness::start(Options::default()).await;
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    let id = call_id(&r);
    h.record(&id).await;
    let token = user_with(&h, "vera", false, &[("viewer", "acme")]).await;
    let url = |p: &str| format!("{}{p}", h.gw);
    let r = h.client.get(url("/ui/calls")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/ui/signin");
    let form = h.client.get(url("/ui/signin")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let pre = cookie(&form, "seam_ui_signin");
    let field = csrf(&form.text().await.unwrap());
    let r = h
        .client
        .post(url("/ui/signin"))
        .header("cookie", pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}&csrf={field}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = cookie(&r, "seam_ui");
    let page = |p: String| {
        let (client, session) = (h.client.clone(), session.clone());
        async move {
            let r = client
                .get(p)
                .header("cookie", session)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, body) = page(url("/ui/calls")).await;
    assert_eq!(s, 200);
    assert!(body.contains(&id), "{body}");
    let (s, body) = page(url(&format!("/ui/calls/{id}"))).await;
    assert_eq!(s, 200);
    assert!(body.contains("<h2>Attempts</h2>") && body.contains("sim-large-2026-01"));
    // The data plane is as it was.
    let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn ui_enabled_false_serves_no_dashboard() {
    let h = Harness::start(Options {
        extra: "[ui]\nenabled = false\n",
        ..Options::default()
    })
    .await;
    for path in ["/ui/", "/ui/signin", "/ui/calls"] {
        let r = h
            .client
            .get(format!("{}{path}", h.gw))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
}
