//! The contamination guard through the binary: `seam release create` refuses a prompt that
//! carries an eval case of the config's `[evals] dir` (exit non-zero, the case named), `seam
//! prompt lint` reports the same, and `--allow-contamination REASON` lets an owner or admin
//! make it, audited with the cases.

use seam_store::Audit;
use std::path::Path;
use std::process::{Command, Output};

const ANSWER: &str = "Upload the exemption certificate under Billing, then Tax settings. Once it is approved, future invoices carry no sales tax, and taxes charged this year are refunded as credit.";

struct World {
    dir: tempfile::TempDir,
    store: String,
}

impl World {
    fn new(few_shot: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("sqlite://{}", dir.path().join("seam.db").display());
        let config = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[store]\nurl = \"{store}\"\n\n[evals]\ndir = \"evals\"\n\n[[providers]]\nname = \"up\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\n[[routes]]\nname = \"chat\"\ntargets = [{{ provider = \"up\", model = \"sim-large-2026-01\" }}]\n"
        );
        std::fs::write(dir.path().join("seam.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("evals")).unwrap();
        std::fs::create_dir_all(dir.path().join("prompts")).unwrap();
        let case = serde_json::json!({"id": "tax-exempt", "input": {"messages": [{"role": "user", "content": "We are a charity: how do we stop paying sales tax?"}]}, "expected": ANSWER});
        std::fs::write(
            dir.path().join("evals/billing.jsonl"),
            format!("{case}\n{{\"id\": \"hi\", \"variables\": {{\"q\": \"hi there\"}}}}\n"),
        )
        .unwrap();
        let w = World { dir, store };
        w.write_prompt(few_shot);
        w
    }

    fn write_prompt(&self, few_shot: &str) {
        let text = format!(
            "name = \"billing-bot\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"sim-large-2026-01\"\n\n[[messages]]\nrole = \"system\"\ncontent = \"You are a helpful assistant.\"\n\n[[messages]]\nrole = \"user\"\ncontent = \"Are charities taxed?\"\n\n[[messages]]\nrole = \"assistant\"\ncontent = \"{few_shot}\"\n"
        );
        std::fs::write(self.dir.path().join("prompts/billing-bot.toml"), text).unwrap();
    }

    fn path(&self, p: &str) -> String {
        self.dir.path().join(p).display().to_string()
    }

    fn run(&self, token: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seam"));
        cmd.args(args)
            .args(["--config", &self.path("seam.toml")])
            .current_dir(self.dir.path())
            .env_remove("SEAM_TOKEN")
            .env_remove("SEAM_STORE")
            .env_remove("SEAM_CONFIG");
        if let Some(t) = token {
            cmd.env("SEAM_TOKEN", t);
        }
        cmd.output().unwrap()
    }

    fn ok(&self, token: Option<&str>, args: &[&str]) -> String {
        let out = self.run(token, args);
        assert!(
            out.status.success(),
            "seam {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn release_create_refuses_an_eval_answer_and_an_owner_may_allow_it() {
    let w = World::new(&ANSWER.replace(". ", ".  ").to_lowercase());
    let root = w.ok(None, &["users", "create", "root"]).trim().to_string();
    let ana = w
        .ok(Some(&root), &["users", "create", "ana"])
        .trim()
        .to_string();
    let create = ["release", "create", "billing-bot", "--dir", "prompts"];

    let out = w.run(Some(&ana), &create);
    assert!(!out.status.success());
    let said = text(&out);
    for part in [
        "case `tax-exempt`",
        "evals/billing.jsonl:1",
        "its expected output",
        "in messages[2] (assistant)",
        "contained whole",
        "longest shared span 28 tokens",
        "\"upload the exemption certificate",
        "--allow-contamination REASON",
    ] {
        assert!(said.contains(part), "{part} not in {said}");
    }

    let lint = w.run(None, &["prompt", "lint", "--dir", "prompts"]);
    assert!(!lint.status.success());
    let said = text(&lint);
    assert!(said.contains("billing-bot.toml: messages[2] (assistant): error: contains an eval case: case `tax-exempt`"), "{said}");

    // ana owns nothing yet (no release on production: admins stand in).
    let mut allowed: Vec<&str> = create.to_vec();
    allowed.extend(["--allow-contamination", "the tax team wrote this answer"]);
    let out = w.run(Some(&ana), &allowed);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("needs an owner of `billing-bot`"),
        "{}",
        text(&out)
    );

    let out = w.run(Some(&root), &allowed);
    assert!(out.status.success(), "{}", text(&out));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(text(&out).contains("made with --allow-contamination (audited)"));
    let store = seam_store::open(&w.store).await.unwrap();
    let audit = store.list_audit().await.unwrap();
    let entry = audit
        .iter()
        .find(|a| a.action == "release.contamination_allowed")
        .expect("audited");
    assert_eq!(
        (entry.actor.as_str(), entry.subject.as_str()),
        ("root", id.as_str())
    );
    assert!(
        entry
            .after
            .as_deref()
            .unwrap()
            .contains("\"case\":\"tax-exempt\"")
    );

    // Rewritten in the prompt's own words, the release is made, and lint is clean.
    w.write_prompt("Yes: a registered charity uploads its certificate and stops paying sales tax.");
    assert!(
        w.run(None, &["prompt", "lint", "--dir", "prompts"])
            .status
            .success()
    );
    let json = w.ok(
        Some(&ana),
        &[
            "release",
            "create",
            "billing-bot",
            "--dir",
            "prompts",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["contamination"], serde_json::json!([]));
    assert!(Path::new(&w.path("evals/billing.jsonl")).exists());
}

#[tokio::test]
async fn eval_contamination_audits_stored_releases_and_fine_tuning_files() {
    let w = World::new(ANSWER);
    let root = w.ok(None, &["users", "create", "root"]).trim().to_string();
    let out = w.run(
        Some(&root),
        &[
            "release",
            "create",
            "billing-bot",
            "--dir",
            "prompts",
            "--allow-contamination",
            "kept on purpose",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let dirty = String::from_utf8_lossy(&out.stdout).trim().to_string();
    w.write_prompt("Charities upload a certificate; we then stop charging sales tax.");
    let clean = w
        .ok(
            Some(&root),
            &["release", "create", "billing-bot", "--dir", "prompts"],
        )
        .trim()
        .to_string();

    let out = w.run(Some(&root), &["eval", "contamination", "--all"]);
    assert!(!out.status.success(), "a finding exits non-zero");
    let said = text(&out);
    assert!(
        said.contains(&format!("release {dirty} of `billing-bot`: 1 finding(s)")),
        "{said}"
    );
    assert!(
        said.contains("made with --allow-contamination by root: kept on purpose"),
        "{said}"
    );
    assert!(said.contains("case `tax-exempt`"), "{said}");
    assert!(
        said.contains(&format!("release {clean} of `billing-bot`: clean")),
        "{said}"
    );
    assert!(
        said.contains("note: ")
            && said
                .contains("case `hi`, its input has 2 word(s), under min_words (3): not checked"),
        "{said}"
    );

    let out = w.ok(
        Some(&root),
        &["eval", "contamination", "--release", &clean, "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["results"][0]["findings"], serde_json::json!([]));
    assert_eq!(v["thresholds"]["ngram"], 13);

    let mut data = format!(
        "{}\n",
        serde_json::json!({"messages": [{"role": "user", "content": "charity tax?"}, {"role": "assistant", "content": ANSWER}]})
    );
    data.push_str("{\"messages\": [{\"role\": \"user\", \"content\": \"hello\"}]}\n");
    let mut bytes = data.into_bytes();
    bytes.extend_from_slice(b"caf\xe9\n");
    std::fs::write(w.path("train.jsonl"), bytes).unwrap();
    let out = w.run(None, &["eval", "contamination", "--against", "train.jsonl"]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("file train.jsonl: 1 finding(s)"), "{said}");
    assert!(said.contains("in train.jsonl:1: contained whole"), "{said}");
    assert!(
        said.contains("train.jsonl:3: not UTF-8 text, skipped"),
        "{said}"
    );

    let out = w.run(None, &["eval", "contamination"]);
    assert!(text(&out).contains("name what to check"), "{}", text(&out));
}

/// A finished run of `release` on dataset `billing`: `passes` of its cases pass.
async fn stored_run(
    store: &seam_store::SqlStore,
    id: &str,
    release: &str,
    results: &[(&str, bool)],
) {
    use seam_store::{EvalResultRecord, EvalRunRecord, Evals};
    use seam_vocab::{EvalStatus, EvalVerdict};
    store
        .insert_eval_run(&EvalRunRecord {
            id: id.into(),
            created_ms: 1,
            finished_ms: Some(2),
            dataset: "billing".into(),
            dataset_version: "v1".into(),
            target_kind: "release".into(),
            target: release.into(),
            served_models: vec!["sim-large-2026-01".into()],
            repeats: 1,
            cases: results.len() as i64,
            status: EvalStatus::Complete,
            actor: "root".into(),
        })
        .await
        .unwrap();
    let rows: Vec<EvalResultRecord> = results
        .iter()
        .map(|(case, pass)| EvalResultRecord {
            run_id: id.into(),
            case_id: case.to_string(),
            repeat_index: 0,
            created_ms: 2,
            verdict: if *pass {
                EvalVerdict::Pass
            } else {
                EvalVerdict::Fail
            },
            score: Some(if *pass { 1.0 } else { 0.0 }),
            reasons: "{\"reason\": \"graded\"}".into(),
            call_id: None,
            latency_ms: None,
            cost_usd: None,
            case_hash: None,
        })
        .collect();
    store.insert_eval_results(&rows).await.unwrap();
}

#[tokio::test]
async fn runs_of_an_allowed_release_are_marked_and_the_gate_refuses_them_as_evidence() {
    let w = World::new(ANSWER);
    let root = w.ok(None, &["users", "create", "root"]).trim().to_string();
    let dirty = w
        .ok(
            Some(&root),
            &[
                "release",
                "create",
                "billing-bot",
                "--dir",
                "prompts",
                "--allow-contamination",
                "demo",
            ],
        )
        .trim()
        .to_string();
    w.write_prompt("Charities upload a certificate; we then stop charging sales tax.");
    let clean = w
        .ok(
            Some(&root),
            &["release", "create", "billing-bot", "--dir", "prompts"],
        )
        .trim()
        .to_string();
    let store = seam_store::open(&w.store).await.unwrap();
    // The candidate passes the case it carries, and 6 of the 9 others: 70% in all, 66.7% clean.
    let mut cand: Vec<(&str, bool)> = vec![("tax-exempt", true)];
    let others = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"];
    cand.extend(others.iter().enumerate().map(|(i, c)| (*c, i < 6)));
    stored_run(&store, "evr_dirty", &dirty, &cand).await;
    let base: Vec<(&str, bool)> = std::iter::once(("tax-exempt", false))
        .chain(others.iter().enumerate().map(|(i, c)| (*c, i < 7)))
        .collect();
    stored_run(&store, "evr_clean", &clean, &base).await;

    let shown = w.ok(Some(&root), &["eval", "show", "evr_dirty"]);
    assert!(shown.contains(&format!("CONTAMINATED: release {dirty} contains 1 case(s) of this dataset (tax-exempt; allowed by root: demo); pass rate 70.0% on all cases, 66.7% on the clean subset (9 results)")), "{shown}");
    let shown = w.ok(Some(&root), &["eval", "show", "evr_clean"]);
    assert!(!shown.contains("CONTAMINATED"), "{shown}");
    let v: serde_json::Value =
        serde_json::from_str(&w.ok(Some(&root), &["eval", "show", "evr_dirty", "--json"])).unwrap();
    assert_eq!(
        v["contaminated"]["cases"],
        serde_json::json!(["tax-exempt"])
    );
    assert!((v["contaminated"]["clean_pass_rate"].as_f64().unwrap() - 6.0 / 9.0).abs() < 1e-9);
    let runs = w.ok(Some(&root), &["eval", "runs"]);
    assert!(
        runs.contains("70.0% CONTAMINATED (clean subset 66.7%)"),
        "{runs}"
    );

    let gate = ["eval", "gate", "evr_dirty", "--baseline", "evr_clean"];
    let out = w.run(Some(&root), &gate);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("a contaminated run is no evidence for a gate"),
        "{said}"
    );
    assert!(said.contains("--accept-contaminated"), "{said}");
    use seam_store::Evals;
    assert!(
        store
            .eval_gates_between(&dirty, &clean)
            .await
            .unwrap()
            .is_empty(),
        "no decision stored"
    );

    let mut accepted = gate.to_vec();
    accepted.push("--accept-contaminated");
    let said = text(&w.run(Some(&root), &accepted));
    assert!(
        said.contains("the candidate: CONTAMINATED: release"),
        "{said}"
    );
    assert!(said.contains("CONTAMINATED, accepted: on the clean subset (9 cases) the candidate passes 66.7%, the baseline 77.8%"), "{said}");
    use seam_store::Events;
    let events = store.list_events(0, 100).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.message.contains("eval gate")
                && e.message.contains("(CONTAMINATED: accepted)"))
    );
}
