//! A deployed prompt's templates cannot run away with a gateway, a gateway starts only on
//! prompt files a reload would accept, and a prompt's name is never a path.

use crate::harness::{ADMIN_TOKEN, Harness, Options, call_id};
use crate::prompts::deploy_text;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A release whose template loops over `items`, once per item for every item, writing
/// nothing: its cost is the client's to choose.
const LOOPING: &str = r#"
name = "support-bot"
owners = ["ana"]
route = "chat"
model = "sim-large-2026-01"
variables = { items = "array" }

[[messages]]
role = "system"
content = "{% for a in items %}{% for b in items %}{% endfor %}{% endfor %}Be brief."
"#;

fn looping_call(items: usize) -> Value {
    json!({
        "model": "prompt:support-bot",
        "messages": [{"role": "user", "content": "hi"}],
        "seam_variables": {"items": vec![1; items]},
    })
}

/// Calls until the deploy is picked up (the release snapshot refreshes every second).
async fn when_deployed(h: &Harness, body: &Value) -> reqwest::Response {
    let mut r = h.chat(body.clone()).await;
    for _ in 0..30 {
        if r.status() != 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        r = h.chat(body.clone()).await;
    }
    r
}

#[tokio::test]
async fn a_render_over_its_fuel_is_a_400_that_names_the_limit() {
    let h = Harness::start(Options::default()).await;
    deploy_text(&h, LOOPING).await;
    assert_eq!(when_deployed(&h, &looping_call(3)).await.status(), 200);

    let started = Instant::now();
    let r = h.chat(looping_call(3000)).await;
    let id = call_id(&r);
    assert_eq!(r.status(), 400);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let body: Value = r.json().await.unwrap();
    let e = &body["error"];
    assert_eq!(
        (e["code"].as_str(), e["param"].as_str()),
        (Some("prompt_render_limit"), Some("seam_variables")),
        "{e}"
    );
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("limit of 100000 fuel ([prompts] render_fuel)"),
        "{message}"
    );
    let (call, attempts) = h.record(&id).await;
    assert_eq!(
        (call.status, call.error_class.map(|c| c.as_str())),
        (400, Some("render_limit"))
    );
    assert!(attempts.is_empty(), "never sent upstream");
}

#[tokio::test]
async fn a_slow_render_does_not_stall_the_other_calls() {
    // Fuel for seconds of work: the render must still leave the gateway answering.
    let h = Harness::start(Options {
        extra: "[prompts]\nrender_fuel = 100000000000\n",
        ..Options::default()
    })
    .await;
    deploy_text(&h, LOOPING).await;
    assert_eq!(when_deployed(&h, &looping_call(3)).await.status(), 200);

    // The gateway runs on this test's single-threaded runtime; the client gets a thread and
    // a runtime of its own, so that a stalled gateway cannot stall the measurement too.
    let (gw, key) = (h.gw.clone(), h.key.clone());
    let client = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let http = crate::harness::http_client();
            let slow = {
                let req = http
                    .post(format!("{gw}/v1/chat/completions"))
                    .bearer_auth(&key)
                    .json(&looping_call(5000));
                tokio::spawn(async move {
                    let started = Instant::now();
                    let status = req.send().await.unwrap().status().as_u16();
                    (status, started.elapsed())
                })
            };
            tokio::time::sleep(Duration::from_millis(300)).await;
            let started = Instant::now();
            let health = http.get(format!("{gw}/healthz")).send().await.unwrap();
            assert_eq!(health.status(), 200);
            let healthz = started.elapsed();
            let (status, slow) = slow.await.unwrap();
            (status, slow, healthz)
        })
    });
    let (status, slow, healthz) = tokio::task::spawn_blocking(move || client.join().unwrap())
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        slow > Duration::from_secs(1),
        "the render took only {slow:?}: make the template slower for this test to mean anything"
    );
    assert!(
        healthz < Duration::from_millis(500).min(slow / 3),
        "/healthz took {healthz:?} while a prompt rendered ({slow:?})"
    );
}

#[tokio::test]
async fn a_gateway_does_not_start_on_prompt_files_a_reload_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[store]\nurl = \"sqlite://{}\"\n\n\
         [[providers]]\nname = \"up\"\nkind = \"sim\"\n\n\
         [[routes]]\nname = \"chat\"\ntargets = [{{ provider = \"up\", model = \"sim-large-2026-01\" }}]\n",
        dir.path().join("seam.db").display()
    );
    let start = || async {
        let config = seam_config::parse(&text, &dir.path().join("seam.toml"), &|_| None).unwrap();
        let store = std::sync::Arc::new(seam_store::open(&config.store.url).await.unwrap());
        let registry = seam_providers::Registry::from_config(&config.providers).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        seam_gateway::start(config, store, registry, listener).await
    };
    let good = LOOPING.replace(
        "{% for a in items %}{% for b in items %}{% endfor %}{% endfor %}",
        "",
    );
    std::fs::write(prompts.join("support-bot.toml"), &good).unwrap();
    start().await.expect("valid prompt files").shutdown().await;

    // A route the config does not have, and a name that is a path.
    std::fs::write(
        prompts.join("support-bot.toml"),
        good.replace("route = \"chat\"", "route = \"nope\""),
    )
    .unwrap();
    std::fs::write(
        prompts.join("x.toml"),
        good.replace("name = \"support-bot\"", "name = \"../../x\""),
    )
    .unwrap();
    let err = match start().await {
        Ok(_) => panic!("started on prompt files a reload refuses"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("not starting"), "{err}");
    assert!(
        err.contains("support-bot.toml: route: `nope` is not a route of the config"),
        "{err}"
    );
    assert!(
        err.contains("x.toml: name: `../../x` is not a valid name"),
        "{err}"
    );
}

#[tokio::test]
async fn the_control_api_refuses_prompt_and_channel_names_that_are_not_names() {
    let h = Harness::start(Options {
        server: "admin_token_env = \"SEAM_ADMIN_TOKEN\"",
        ..Options::default()
    })
    .await;
    let post = |path: &str, body: Value| {
        let req = h
            .client
            .post(format!("{}{path}", h.gw))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let prompt = LOOPING.replace("name = \"support-bot\"", "name = \"../../x\"");
    let (status, text) = post("/api/releases", json!({"prompt": prompt})).await;
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("name: `../../x` is not a valid name"),
        "{text}"
    );
    for (target, bad) in [
        ("../x@production", "prompt `../x`"),
        ("support-bot@dev/../x", "channel `dev/../x`"),
    ] {
        let (status, text) = post(
            "/api/deploys",
            json!({"target": target, "release": "rel_0000"}),
        )
        .await;
        assert_eq!(status, 400, "{text}");
        assert!(
            text.contains(&format!("{bad} is not a valid name")),
            "{text}"
        );
    }
}
