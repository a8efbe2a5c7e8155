//! `seam eval run --resume`: a run cut short by Ctrl-C or an outage is finished, sending only
//! what is missing or errored, never what is stored already.

mod evals_world;

use evals_world::{ALPHA, ECHO, World, words};
use serde_json::Value;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_sends_only_the_missing_results() {
    let w = World::start().await;
    w.dataset("billing", &words());
    let first = w.run("billing", &["--repeat", "2"]).await;
    let id = first["id"].as_str().unwrap().to_string();
    assert_eq!(first["results"], 40);

    // A run whose process died after 30 results: 10 gone, still `running`.
    let store = seam_store::open(&w.url).await.unwrap();
    sqlx::query(
        "DELETE FROM eval_results WHERE run_id = $1 AND case_id LIKE 'beta-%' AND repeat_index = 1",
    )
    .bind(&id)
    .execute(store.pool())
    .await
    .unwrap();
    let kept: Vec<(String, Option<String>)> = seam_store::Evals::get_eval_run(&store, &id)
        .await
        .unwrap()
        .unwrap()
        .1
        .into_iter()
        .map(|r| (format!("{}#{}", r.case_id, r.repeat_index), r.call_id))
        .collect();
    assert_eq!(kept.len(), 31);
    // The sim now breaks every answer: only the resumed calls see it.
    w.scenario(ALPHA).await;
    let resumed = w.resume(&id).await;
    assert_eq!(resumed["id"], id.as_str());
    assert_eq!(resumed["status"], "complete");
    assert_eq!(resumed["results"], 40);
    // The 9 beta repeats sent again fail; what was stored stays as it was.
    assert_eq!(
        (resumed["pass"].as_u64(), resumed["fail"].as_u64()),
        (Some(31), Some(9))
    );
    let after = seam_store::Evals::get_eval_run(&store, &id)
        .await
        .unwrap()
        .unwrap()
        .1;
    for (key, call) in &kept {
        assert!(
            after
                .iter()
                .any(|r| &format!("{}#{}", r.case_id, r.repeat_index) == key && &r.call_id == call),
            "{key} kept"
        );
    }
    // Resuming a complete run sends nothing.
    let again = w.resume(&id).await;
    assert_eq!(again["results"], 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_leaves_an_interrupted_run_that_resume_finishes() {
    let w = World::start().await;
    w.dataset("billing", &words()[..8]);
    // Each call takes 300 ms, one at a time: Ctrl-C comes while the 4th is in flight, which
    // finishes and is stored; no call is sent after it.
    w.scenario(&format!("{ECHO}[latency]\nfixed_ms = 300\n"))
        .await;
    // Bounded wait for the state, not for time: three results stored.
    let (child, store, run) = w.interruptible("billing", &["--gateway", &w.gw], 3).await;
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("waiting for those in flight"), "{err}");
    assert!(err.contains("interrupted: 4 of 8 results stored"), "{err}");
    assert!(err.contains(&format!("--resume {}", run.id)), "{err}");
    let (stopped, results) = seam_store::Evals::get_eval_run(&store, &run.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped.status, seam_vocab::EvalStatus::Interrupted);
    assert_eq!(results.len(), 4);
    // Each result's call is recorded (waited for: the gateway's writer flushes on its own
    // clock), and no other call was sent.
    for r in &results {
        let id = r.call_id.as_deref().expect("a call id");
        let mut found = false;
        for _ in 0..500 {
            if seam_store::Records::get_call(&store, id)
                .await
                .unwrap()
                .is_some()
            {
                found = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(found, "call {id} recorded");
    }
    let calls = seam_store::Records::list_calls(
        &store,
        &seam_store::CallQuery {
            since_ms: 0,
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(calls.len(), 4, "no call sent after Ctrl-C");
    assert!(stopped.finished_ms.is_some());

    w.scenario(ECHO).await;
    let resumed = w.resume(&run.id).await;
    assert_eq!(resumed["status"], "complete");
    assert_eq!(
        (resumed["results"].as_u64(), resumed["pass"].as_u64()),
        (Some(8), Some(8))
    );
}

/// A provider that fails mid-run leaves `error` results; resuming sends those again and
/// replaces them, so a run recovers from an outage without starting over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_sends_errored_cases_again() {
    let w = World::start().await;
    w.dataset("billing", &words());
    w.scenario("[model]\nserved = \"sim-large-2026-01\"\n[[errors]]\nkind = \"status\"\nstatus = 503\nfirst = 7\n")
        .await;
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
            "1",
            "--json",
        ])
        .await;
    let first: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let id = first["id"].as_str().unwrap().to_string();
    assert_eq!(first["error"].as_u64(), Some(7), "{first}");
    w.scenario(ECHO).await;
    let resumed = w.resume(&id).await;
    assert_eq!(resumed["results"], 20);
    assert_eq!(
        (resumed["pass"].as_u64(), resumed["error"].as_u64()),
        (Some(20), Some(0)),
        "{resumed}"
    );
}
