//! Whatever a record holds, every `seam` output prints it: strings longer than a format width
//! can be (65,535) and numbers at the edge of i64 in every table a reader can reach.

use seam_store::conformance::{sample_attempt, sample_call, sample_stream};
use seam_store::{
    Audit, EventRecord, Events, KeyRecord, Keys, Records, ReleaseRecord, Releases, SessionKey,
    SessionTtl, Sessions,
};
use seam_vocab::{ErrorClass, EventKind, Outcome};
use std::process::Command;

/// Longer than any format width: `{:<w$}` with this `w` panics.
const HUGE: usize = 70_000;

fn big(c: char) -> String {
    c.to_string().repeat(HUGE)
}

use seam_store::now_ms;

async fn fill(url: &str) {
    let store = seam_store::open(url).await.unwrap();
    let now = now_ms();
    let mut calls = Vec::new();
    let mut attempts = Vec::new();
    // The newest has a route, the next none (the model is shown), the last is as old as an
    // i64 allows (a trace's offsets from it overflow).
    let made = [now - 1_000, now - 2_000, i64::MIN + 1];
    for (i, route) in [big('r'), String::new(), big('r')].into_iter().enumerate() {
        let mut c = sample_call(&format!("call_big_{i}"), made[i], &big('t'));
        c.route = route;
        c.requested_model = big('m');
        c.trace_id = Some(big('x'));
        c.session_id = Some(big('s'));
        c.provider = Some(big('p'));
        c.served_model = Some(big('v'));
        c.system_fingerprint = Some(big('f'));
        // Outcomes, classes and kinds are words of a vocabulary (seam-vocab), never long.
        c.outcome = Outcome::Error;
        c.error_class = Some(ErrorClass::Status5xx.into());
        c.error_message = Some(big('q'));
        // Sums of these overflow i64.
        c.attempts = i64::MAX;
        c.input_tokens = i64::MAX;
        c.output_tokens = i64::MAX;
        let mut a = sample_attempt(&c, 1, false);
        a.provider = big('p');
        a.model = big('m');
        a.served_model = Some(big('v'));
        a.error_class = Some(ErrorClass::Status5xx);
        a.error_body = Some(big('b'));
        a.input_tokens = i64::MAX;
        calls.push(c);
        attempts.push(a);
    }
    let mut stream = sample_stream(&calls[0]);
    stream.provider = big('p');
    stream.served_model = Some(big('v'));
    stream.stalls = i64::MAX;
    let mut stream2 = stream.clone();
    stream2.call_id = calls[1].id.clone();
    store
        .insert_records(&calls, &attempts, &[stream, stream2])
        .await
        .unwrap();
    store
        .insert_event(&EventRecord {
            id: "evt_big".into(),
            created_ms: now,
            kind: EventKind::StoreOutage,
            route: Some(big('r')),
            provider: Some(big('p')),
            message: big('g'),
            details: "{}".into(),
        })
        .await
        .unwrap();
    store
        .insert_key(&KeyRecord {
            id: "key_big".into(),
            tenant: big('t'),
            name: Some(big('n')),
            prefix: big('k'),
            hash: "0".repeat(64),
            created_ms: now,
            revoked_ms: None,
            limits: Some(format!("{{\"{}\": 1}}", big('l'))),
        })
        .await
        .unwrap();
    store
        .insert_release(&ReleaseRecord {
            id: "rel_big".into(),
            prompt: "bot".into(),
            content: serde_json::json!({"model": big('m'), "owners": [big('o')]}).to_string(),
            author: big('a'),
            created_ms: now,
        })
        .await
        .unwrap();
    store
        .pin_session(
            &SessionKey {
                tenant: big('t'),
                session_id: big('s'),
                prompt: "bot".into(),
                channel: big('c'),
            },
            "rel_big",
            now,
            SessionTtl {
                idle_ms: 3_600_000,
                max_age_ms: 86_400_000,
            },
        )
        .await
        .unwrap();
    store
        .append_audit(&big('a'), &big('b'), &big('s'), Some(big('x')), None, now)
        .await
        .unwrap();
}

#[tokio::test]
async fn every_output_prints_huge_stored_strings_and_extreme_numbers_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("seam.db").display());
    let seam = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_seam"))
            .args(args)
            .args(["--store", &url])
            .env_remove("SEAM_TOKEN")
            .env_remove("SEAM_STORE")
            .output()
            .unwrap()
    };
    fill(&url).await;
    // No user yet: the store is in bootstrap mode, and every command reads as an admin.
    let trace = big('x');
    let commands: Vec<Vec<&str>> = vec![
        vec!["calls", "--since", "36500d"],
        vec!["calls", "show", "call_big_0"],
        vec!["calls", "show", "call_big_1"],
        vec!["calls", "show", "call_big_2"],
        vec!["traces", "show", &trace],
        vec!["report", "usage", "--by", "tenant", "--since", "36500d"],
        vec!["report", "usage", "--by", "route", "--since", "36500d"],
        vec!["report", "usage", "--by", "trace", "--since", "36500d"],
        vec!["report", "reliability", "--since", "36500d"],
        vec!["report", "streams", "--since", "36500d"],
        vec!["changes", "--since", "1d"],
        vec!["keys", "list"],
        vec!["releases", "bot"],
        vec!["sessions"],
        vec!["audit", "log"],
        vec!["users", "list"],
    ];
    for args in &commands {
        let out = seam(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stderr: String = stderr.chars().take(2_000).collect();
        let shown: Vec<String> = args.iter().map(|a| a.chars().take(20).collect()).collect();
        // 101 is a panic's exit code.
        assert_ne!(out.status.code(), Some(101), "seam {shown:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "seam {shown:?}: {stderr}");
        // The usage report sums tokens in SQL, which refuses to overflow: an error that says
        // so, not a panic. Everything else prints.
        if args.starts_with(&["report", "usage"]) && !out.status.success() {
            assert!(
                stderr.contains("integer overflow"),
                "seam {shown:?}: {stderr}"
            );
        } else {
            assert!(out.status.success(), "seam {shown:?} failed: {stderr}");
        }
    }
    // What the calls table shows: the whole route, the columns after it still there.
    let out = String::from_utf8(seam(&["calls", "--since", "36500d"]).stdout).unwrap();
    assert!(out.contains(&big('r')), "the route is cut");
    assert!(out.lines().nth(1).is_some_and(|l| l.ends_with("0.000090")));
}
