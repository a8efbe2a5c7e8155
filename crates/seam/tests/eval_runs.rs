//! `seam eval run|runs|show|gate` through the binary against a real gateway in front of the
//! sim, which echoes the last user message: a dataset's cases pass or fail by what they say,
//! and a scenario change (a fixed answer) breaks the cases that expected their own words.

mod evals_world;

use evals_world::{ALPHA, World, ids, words};
use seam_store::{Audit, Events};
use serde_json::Value;
use std::process::Output;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regression_fails_the_gate_naming_the_flipped_cases() {
    let w = World::start().await;
    w.dataset("billing", &words());

    let out = w
        .seam(&[
            "eval",
            "run",
            "billing",
            "--route",
            "chat",
            "--gateway",
            &w.gw,
            "--key",
            &w.key,
            "--concurrency",
            "4",
            "--json",
        ])
        .await;
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(
        progress.contains("eval: 20/20 done, pass 100.0%, 0 error, spend $"),
        "{progress}"
    );
    let base: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(base["status"], "complete");
    assert_eq!(
        (base["results"].as_u64(), base["pass"].as_u64()),
        (Some(20), Some(20))
    );
    assert_eq!(
        base["served_models"],
        serde_json::json!(["sim-large-2026-01"])
    );
    assert!(base["spend_usd"].as_f64().unwrap() > 0.0, "priced: {base}");

    w.scenario(ALPHA).await;
    let cand = w.run("billing", &[]).await;
    assert_eq!(
        (cand["pass"].as_u64(), cand["fail"].as_u64()),
        (Some(11), Some(9))
    );
    let (b, c) = (
        base["id"].as_str().unwrap().to_string(),
        cand["id"].as_str().unwrap().to_string(),
    );

    let out = w.seam(&["eval", "gate", &c, "--baseline", &b]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL"), "{text}");
    for i in 11..20 {
        assert!(
            text.contains(&format!("beta-{i}")),
            "beta-{i} named: {text}"
        );
    }
    assert!(!text.contains("alpha-00"), "{text}");

    let out = w
        .seam(&["eval", "gate", &c, "--baseline", &b, "--json"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let flipped = ids(&report["report"]["flipped"]["pass_to_fail"]);
    let want: Vec<String> = (11..20).map(|i| format!("beta-{i}")).collect();
    assert_eq!(flipped, want);

    // A run against itself passes or is inconclusive, never fails; here 20 cases cannot see a
    // 2-point drop, so it says so.
    let out = w.seam(&["eval", "gate", &b, "--baseline", &b]).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Each decision is on the audit chain and the timeline.
    let store = seam_store::open(&w.url).await.unwrap();
    let audits: Vec<_> = store
        .list_audit()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "eval.gate")
        .collect();
    assert_eq!(audits.len(), 3);
    assert_eq!(audits[0].subject, c);
    let kinds: Vec<&str> = store
        .list_events(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.as_str())
        .filter(|k| k.starts_with("eval_gate"))
        .collect();
    assert_eq!(
        kinds,
        [
            "eval_gate_failed",
            "eval_gate_failed",
            "eval_gate_inconclusive"
        ]
    );

    // Listed newest first.
    let runs = w.ok_json(&["eval", "runs", "--json"]).await;
    let listed: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [c.as_str(), b.as_str()]);

    // JUnit: one testcase per case, the 9 flipped ones failures with their reason.
    let junit = w.dir.path().join("junit.xml");
    let shown = w
        .ok_json(&[
            "eval",
            "show",
            &c,
            "--json",
            "--junit",
            junit.to_str().unwrap(),
        ])
        .await;
    assert_eq!(shown["cases"].as_array().unwrap().len(), 20);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let counts = xml_check(&xml);
    assert_eq!(counts.testcases, 20);
    assert_eq!(counts.failures, 9);
    assert!(
        xml.contains("tests=\"20\" failures=\"9\" errors=\"0\""),
        "{xml}"
    );
    assert!(xml.contains("beta-15"), "{xml}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_runs_are_refused_before_any_call() {
    let w = World::start().await;
    w.dataset("billing", &words());
    w.dataset(
        "judged",
        &[serde_json::json!({
            "id": "j1",
            "input": {"messages": [{"role": "user", "content": "hi"}]},
            "assert": [{"type": "llm-rubric", "value": "polite", "route": "judge"}],
        })
        .to_string()],
    );
    w.dataset(
        "broken",
        &["{\"id\": \"a\", \"assert\": [{\"type\": \"nope\"}]}".to_string()],
    );
    let refused = |out: &Output, want: &str| {
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "want {want:?} in: {err}");
    };
    let gw = w.gw.clone();
    refused(
        // Without --gateway, an in-process gateway, which needs a key as the config's does.
        &w.seam(&["eval", "run", "billing", "--route", "chat"]).await,
        "pass --key KEY or set SEAM_KEY",
    );
    refused(
        &w.seam(&[
            "eval",
            "run",
            "billing",
            "--route",
            "nope",
            "--gateway",
            &gw,
        ])
        .await,
        "no route `nope`",
    );
    refused(
        &w.seam(&["eval", "run", "judged", "--route", "chat", "--gateway", &gw])
            .await,
        "route `judge`, which is not in",
    );
    refused(
        &w.seam(&["eval", "run", "broken", "--route", "chat", "--gateway", &gw])
            .await,
        "broken.jsonl:1",
    );
    refused(
        &w.seam(&[
            "eval",
            "run",
            "billing",
            "--release",
            "rel_1",
            "--gateway",
            &gw,
        ])
        .await,
        "no release `rel_1` in the store",
    );
    let store = seam_store::open(&w.url).await.unwrap();
    assert!(
        seam_store::Evals::list_eval_runs(&store)
            .await
            .unwrap()
            .is_empty()
    );
    let calls = seam_store::Records::list_calls(&store, &Default::default())
        .await
        .unwrap();
    assert!(calls.is_empty(), "no call was made");

    // Two runs of different dataset versions are not compared.
    let a = w.run("billing", &[]).await;
    let mut fewer = words();
    fewer.pop();
    w.dataset("billing", &fewer);
    let b = w.run("billing", &[]).await;
    let out = w
        .seam(&[
            "eval",
            "gate",
            b["id"].as_str().unwrap(),
            "--baseline",
            a["id"].as_str().unwrap(),
        ])
        .await;
    refused(&out, "different datasets");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&a["dataset_version"].as_str().unwrap()[..12]),
        "{err}"
    );
    assert!(
        err.contains(&b["dataset_version"].as_str().unwrap()[..12]),
        "{err}"
    );
}

struct XmlCounts {
    testcases: usize,
    failures: usize,
}

/// A small XML well-formedness check (balanced elements, quoted attributes, known entities):
/// the workspace has no XML parser, and JUnit viewers need no more than this.
fn xml_check(xml: &str) -> XmlCounts {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut counts = XmlCounts {
        testcases: 0,
        failures: 0,
    };
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        let close = rest[open..].find('>').expect("tag closed") + open;
        let tag = &rest[open + 1..close];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "balanced");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().expect("name");
            let attrs = &tag[name.len()..];
            assert_eq!(
                attrs.matches('"').count() % 2,
                0,
                "quoted attributes: {tag}"
            );
            assert!(!attrs.contains('<'), "{tag}");
            check_text(attrs);
            match name {
                "testcase" => counts.testcases += 1,
                "failure" => counts.failures += 1,
                _ => {}
            }
            if !self_closing {
                stack.push(name.to_string());
            }
        }
        rest = &rest[close + 1..];
    }
    assert!(
        rest.trim().is_empty() && stack.is_empty(),
        "every element closed"
    );
    counts
}

fn check_text(text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        let end = rest[amp..].find(';').expect("entity ends") + amp;
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&&rest[amp..=end]),
            "entity {}",
            &rest[amp..=end]
        );
        rest = &rest[end + 1..];
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_run_sends_each_case_s_variables_to_the_channel() {
    let w = World::start().await;
    let path = w.dir.path().join("echo.toml");
    std::fs::write(
        &path,
        "name = \"echo\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"sim-large-2026-01\"\nvariables = { word = \"string\" }\n\n[[messages]]\nrole = \"user\"\ncontent = \"it is {{ word }}\"\n",
    )
    .unwrap();
    let prompt = seam_prompts::load_file(&path).unwrap();
    let store = seam_store::open(&w.url).await.unwrap();
    let release = seam_store::ReleaseRecord {
        id: "rel_echo0001".into(),
        prompt: "echo".into(),
        content: serde_json::to_string(&prompt).unwrap(),
        author: "ana".into(),
        created_ms: 1,
    };
    seam_store::Releases::insert_release(&store, &release)
        .await
        .unwrap();
    seam_store::Releases::insert_deploy(
        &store,
        &seam_store::DeployRecord {
            id: "dep_1".into(),
            prompt: "echo".into(),
            channel: "production".into(),
            release_id: release.id.clone(),
            actor: "ana".into(),
            kind: seam_vocab::DeployKind::Deploy,
            mode: seam_vocab::DeployMode::Drain,
            created_ms: 2,
        },
    )
    .await
    .unwrap();
    // The gateway picks the deploy up within a second: wait for it, bounded.
    let probe = serde_json::json!({"model": "prompt:echo@production",
        "messages": [{"role": "user", "content": "x"}], "seam_variables": {"word": "x"}});
    let mut ready = false;
    for _ in 0..100 {
        let r = w
            .client
            .post(format!("{}/v1/chat/completions", w.gw))
            .bearer_auth(&w.key)
            .json(&probe)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "the deploy was picked up");
    let cases: Vec<String> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|word| {
            // After the release's user turn: the sim echoes the last user message, the
            // rendered one.
            serde_json::json!({"id": word, "variables": {"word": word},
                "input": {"messages": [{"role": "assistant", "content": "noted"}]},
                "assert": [{"type": "contains", "value": format!("it is {word}")}]})
            .to_string()
        })
        .collect();
    w.dataset("words", &cases);
    // A prompt call needs a message of its own (the gateway refuses an empty list).
    w.dataset(
        "bare",
        &[serde_json::json!({"id": "v", "variables": {"word": "x"}}).to_string()],
    );
    let out = w
        .seam(&[
            "eval",
            "run",
            "bare",
            "--prompt",
            "echo@production",
            "--gateway",
            &w.gw,
            "--key",
            &w.key,
        ])
        .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bare.jsonl:1: case `v` has no `input.messages`"),
        "{err}"
    );
    // A --route run cannot send a case that has only variables.
    let out = w
        .seam(&[
            "eval",
            "run",
            "bare",
            "--route",
            "chat",
            "--gateway",
            &w.gw,
            "--key",
            &w.key,
        ])
        .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bare.jsonl:1: case `v` has `variables`")
    );

    let run = w
        .ok_json(&[
            "eval",
            "run",
            "words",
            "--prompt",
            "echo@production",
            "--gateway",
            &w.gw,
            "--key",
            &w.key,
            "--json",
        ])
        .await;
    assert_eq!(
        (run["target_kind"].as_str(), run["target"].as_str()),
        (Some("prompt"), Some("echo@production"))
    );
    assert_eq!(
        (run["results"].as_u64(), run["pass"].as_u64()),
        (Some(3), Some(3)),
        "{run}"
    );
    // Each result names the call, which the gateway recorded against the release.
    let shown = w
        .ok_json(&["eval", "show", run["id"].as_str().unwrap(), "--json"])
        .await;
    for case in shown["cases"].as_array().unwrap() {
        let id = case["call_id"].as_str().expect("a call id");
        let mut call = None;
        for _ in 0..200 {
            call = seam_store::Records::get_call(&store, id).await.unwrap();
            if call.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let (call, _) = call.expect("recorded");
        assert_eq!(call.release_id.as_deref(), Some("rel_echo0001"));
    }
}
