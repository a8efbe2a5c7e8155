//! The dashboard (`seam-ui`) as `seam serve` mounts it: on by default under `/ui/`, showing a
//! call the gateway just recorded to a reader of its tenant; the coverage page reading the
//! config's `[evals] dir` and `[failures]`; absent with `[ui] enabled = false`.

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

pub(crate) fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + html[at..].find('"').expect("end")].to_string()
}

/// A session cookie for `token`, signed in through the form.
pub(crate) async fn sign_in(h: &Harness, token: &str) -> String {
    let form = h
        .client
        .get(format!("{}/ui/signin", h.gw))
        .send()
        .await
        .unwrap();
    let pre = cookie(&form, "seam_ui_signin");
    let field = csrf(&form.text().await.unwrap());
    let r = h
        .client
        .post(format!("{}/ui/signin", h.gw))
        .header("cookie", pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}&csrf={field}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    cookie(&r, "seam_ui")
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
    let session = sign_in(&h, &token).await;
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
async fn the_coverage_page_reads_the_configs_datasets_and_thresholds() {
    let h = Harness::start(Options {
        extra: "[evals]\ndir = \"cov-evals\"\n\n[failures]\ncover_threshold = 0.9\n",
        ..Options::default()
    })
    .await;
    // Read at each view: a dataset added after start counts.
    let dir = h.config_path.parent().expect("dir").join("cov-evals");
    std::fs::create_dir_all(&dir).unwrap();
    let case = json!({"id": "c1", "input": {"messages": [{"role": "user", "content": "hi"}]}});
    std::fs::write(dir.join("qa.jsonl"), format!("{case}\n")).unwrap();
    let token = user_with(&h, "ada", true, &[]).await;
    let session = sign_in(&h, &token).await;
    let r = h
        .client
        .get(format!("{}/ui/coverage?since=1h&dataset=qa", h.gw))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("Datasets: qa (1 cases)"), "{body}");
    assert!(body.contains("similarity at least 0.90"), "{body}");
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
