//! `seam eval run` without `--gateway`: a gateway started inside the command on the same
//! config and store, the sim as upstream, every call recorded by the time the command exits
//! (also after Ctrl-C), quiet on standard error; and `seam dataset diff DATASET` against the
//! dataset's newest run.

mod evals_world;

use evals_world::{ECHO, World};
use seam_store::{CallQuery, Evals, Records};
use serde_json::Value;
use std::process::Command;

/// `n` cases that each assert their own word.
fn words(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("w{i:02}"),
                "input": {"messages": [{"role": "user", "content": format!("say w{i}")}]},
                "assert": [{"type": "icontains", "value": format!("w{i}")}],
            })
            .to_string()
        })
        .collect()
}

/// The config without its prices: the in-process gateway warns of unpriced models at start,
/// which must not reach the run's output. (The world's own gateway has read the config
/// already.)
fn unpriced(w: &World) {
    let text = std::fs::read_to_string(&w.config).unwrap();
    let cut = text.find("[prices.").expect("a [prices] table");
    std::fs::write(&w.config, &text[..cut]).unwrap();
}

/// Records written a minute after their call unless the gateway is shut down first, so that a
/// record in the store when the command returns was flushed by its shutdown.
fn slow_flush(w: &World) {
    let text = std::fs::read_to_string(&w.config).unwrap();
    assert!(text.contains("flush_interval_ms = 5\n"));
    let text = text.replace("flush_interval_ms = 5\n", "flush_interval_ms = 60000\n");
    std::fs::write(&w.config, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_gateway_starts_one_in_process_and_every_call_is_recorded() {
    let w = World::start().await;
    w.dataset("words", &words(6));
    unpriced(&w);
    slow_flush(&w);
    let out = w
        .seam(&[
            "eval", "run", "words", "--route", "chat", "--key", &w.key, "--json",
        ])
        .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("through an in-process gateway (http://127.0.0.1:"),
        "{err}"
    );
    // Only the run's own lines: no gateway log (the unpriced warning, start-up info).
    for line in err.lines() {
        assert!(
            line.starts_with("eval run ") || line.starts_with("eval: "),
            "a line that is not the run's: {line:?}\n{err}"
        );
    }
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["status"], "complete");
    assert_eq!(
        (run["pass"].as_u64(), run["results"].as_u64()),
        (Some(6), Some(6))
    );

    // Recorded before the command exited: looked up at once, not waited for.
    let store = seam_store::open(&w.url).await.unwrap();
    let (_, results) = store
        .get_eval_run(run["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(results.len(), 6);
    for r in &results {
        let id = r.call_id.as_deref().expect("a call id");
        let (call, _) = store
            .get_call(id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("call {id} of case {} is not in the store", r.case_id));
        assert_eq!(
            (call.tenant.as_str(), call.route.as_str()),
            ("acme", "chat")
        );
        assert!(r.case_hash.as_deref().is_some_and(|h| h.len() == 64));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_process_run_needs_a_key_of_the_store_and_says_so_before_any_call() {
    let w = World::start().await;
    w.dataset("words", &words(2));
    let out = w.seam(&["eval", "run", "words", "--route", "chat"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("takes calls only with a key")
            && err.contains("pass --key KEY or set SEAM_KEY"),
        "{err}"
    );
    let out = w
        .seam(&[
            "eval",
            "run",
            "words",
            "--route",
            "chat",
            "--key",
            "sk-seam-nope",
        ])
        .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("not a key of this store"), "{err}");
    // Refused before anything was stored or sent.
    let runs = w.ok_json(&["eval", "runs", "--json"]).await;
    assert_eq!(runs["runs"], serde_json::json!([]));
    let store = seam_store::open(&w.url).await.unwrap();
    let calls = store
        .list_calls(&CallQuery {
            limit: 10,
            ..CallQuery::default()
        })
        .await
        .unwrap();
    assert!(calls.is_empty(), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_shuts_the_in_process_gateway_down_with_its_records_written() {
    let w = World::start().await;
    w.dataset("words", &words(6));
    // The 4th call hangs: the run is stopped while it is in flight.
    w.scenario(&format!(
        "{ECHO}[[errors]]\nkind = \"timeout\"\nhold_ms = 600000\nrequests = [4, 5, 6]\n"
    ))
    .await;
    slow_flush(&w);
    // Bounded wait for the state, not for time: three results stored.
    let (child, store, run) = w.interruptible("words", &[], 3).await;
    // The call in flight hangs: the first Ctrl-C waits for it, the second stops now.
    for _ in 0..2 {
        let killed = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("waiting for those in flight"), "{err}");
    assert!(err.contains("interrupted: 3 of 6 results stored"), "{err}");
    // No --gateway to repeat: the resume runs in process too.
    assert!(
        err.contains(&format!("`seam eval run --resume {}`", run.id)),
        "{err}"
    );
    // The finished calls' records, written by the shutdown (the call cut in flight, a
    // non-streamed call its client left, is not recorded by any gateway).
    let (_, results) = store.get_eval_run(&run.id).await.unwrap().unwrap();
    assert_eq!(results.len(), 3);
    for r in &results {
        let id = r.call_id.as_deref().expect("a call id");
        assert!(store.get_call(id).await.unwrap().is_some(), "call {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataset_diff_names_what_changed_since_the_newest_run() {
    let w = World::start().await;
    let mut cases = words(4);
    w.dataset("words", &cases);
    let none = w.seam(&["dataset", "diff", "words"]).await;
    assert!(!none.status.success());
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("no eval run on dataset `words` yet"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
    let run = w
        .ok_json(&[
            "eval", "run", "words", "--route", "chat", "--key", &w.key, "--json",
        ])
        .await;
    let run_id = run["id"].as_str().unwrap();

    let other = w
        .seam(&["dataset", "diff", "words", "--run", "evr_nope"])
        .await;
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("no eval run `evr_nope`"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    let same = w
        .ok_json(&["dataset", "diff", "words", "--run", run_id, "--json"])
        .await;
    assert_eq!(same["run"]["id"], run_id);
    assert_eq!(same["unchanged"], 4);

    // w01 changes, w02 goes, w09 comes; the lines' order changes nothing.
    cases[1] = cases[1].replace("say w1", "say w1 again");
    cases.remove(2);
    cases.push(words(10)[9].clone());
    cases.reverse();
    w.dataset("words", &cases);
    let d = w.ok_json(&["dataset", "diff", "words", "--json"]).await;
    assert_eq!(d["run"]["id"], run_id, "{d}");
    assert_eq!(d["added"], serde_json::json!(["w09"]), "{d}");
    assert_eq!(d["removed"], serde_json::json!(["w02"]), "{d}");
    assert_eq!(d["changed"], serde_json::json!(["w01"]), "{d}");
    assert_eq!(d["unchanged"], 2, "{d}");
    assert_eq!(d["unknown"], serde_json::json!([]), "{d}");
    assert_eq!(d["from_version"], run["dataset_version"], "{d}");

    let out = w.seam(&["dataset", "diff", "words"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&format!("since eval run {run_id}")), "{text}");
    assert!(text.contains("changed    1: w01"), "{text}");
    assert!(text.contains("added      1: w09"), "{text}");
}
