//! `seam dataset lint` and `seam dataset convert` as a user runs them: the report, exit codes
//! (0 ok, 1 a `--max` exceeded, 2 bad input or usage), `--fix` beside the input, eval
//! contamination against the config's `[evals] dir`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CASE: &str = "We are a registered charity in Leeds: how do we stop paying sales tax on the tents we buy for our youth camps every summer?";

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("seam.toml"),
            "[store]\nurl = \"sqlite://seam.db\"\n\n[evals]\ndir = \"evals\"\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("evals")).unwrap();
        let case = serde_json::json!({"id": "tax", "input": {"messages": [{"role": "user", "content": CASE}]}, "expected": "Send us your exemption certificate."});
        std::fs::write(dir.path().join("evals/billing.jsonl"), format!("{case}\n")).unwrap();
        Project { dir }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_seam"))
            .args(args)
            .arg("--config")
            .arg(self.dir.path().join("seam.toml"))
            .current_dir(self.dir.path())
            .env_remove("SEAM_CONFIG")
            .env_remove("SEAM_STORE")
            .output()
            .unwrap()
    }
}

fn line(user: &str, assistant: &str) -> String {
    serde_json::json!({"messages": [
        {"role": "user", "content": user},
        {"role": "assistant", "content": assistant},
    ]})
    .to_string()
        + "\n"
}

fn text(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_report_thresholds_and_fix() {
    let p = Project::new();
    let clean = line("Where is the Leeds store?", "On Briggate, open 9 to 6.");
    let sorry = line("Do you sell maps?", "I'm so sorry! Yes, in every store.");
    let leaked = line(
        CASE,
        "Send us your exemption certificate and we will stop charging it.",
    );
    let data = p.file("train.jsonl", &format!("{clean}{sorry}{leaked}"));
    let data = data.to_str().unwrap();

    let (code, out, err) = text(&p.run(&["dataset", "lint", data]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("reflexive-apology [warning] 1 hits, 33.33% of assistant turns"),
        "{out}"
    );
    assert!(out.contains("  line 2 message 1: sorry"), "{out}");
    assert!(out.contains("eval-contamination [error] 1 hits"), "{out}");
    assert!(out.contains("case `tax`"), "{out}");

    let (code, out, _) = text(&p.run(&["dataset", "lint", data, "--max", "reflexive-apology=0.2"]));
    assert_eq!(code, 1);
    assert!(
        out.contains("--max reflexive-apology=0.2: 0.3333 EXCEEDED"),
        "{out}"
    );

    let (code, out, _) =
        text(&p.run(&["dataset", "lint", data, "--fix", "drop-example", "--json"]));
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["fix"]["dropped"], 2);
    let cleaned = std::fs::read_to_string(p.dir.path().join("train.clean.jsonl")).unwrap();
    assert_eq!(cleaned, clean);
    assert!(p.dir.path().join("train.clean.review.jsonl").exists());
}

#[test]
fn bad_input_and_usage_exit_2_and_write_nothing() {
    let p = Project::new();
    let empty = p.file("empty.jsonl", "");
    let (code, _, err) = text(&p.run(&[
        "dataset",
        "lint",
        empty.to_str().unwrap(),
        "--fix",
        "drop-turn",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("the file is empty"), "{err}");
    assert!(!p.dir.path().join("empty.clean.jsonl").exists());

    let data = p.file("d.jsonl", &line("Hi", "Hello"));
    let data = data.to_str().unwrap();
    let (code, _, err) = text(&p.run(&["dataset", "lint", data, "--max", "nope=0.1"]));
    assert_eq!(code, 2);
    assert!(err.contains("--max nope: no such rule"), "{err}");
    let rules = p.file(
        "r.toml",
        "[[rule]]\nid = \"x\"\nmessage = \"m\"\nphrase = [\"a\"]\n",
    );
    let (code, _, err) =
        text(&p.run(&["dataset", "lint", data, "--rules", rules.to_str().unwrap()]));
    assert_eq!(code, 2);
    assert!(
        err.contains("r.toml") && err.contains("unknown field `phrase`"),
        "{err}"
    );
    let (code, _, err) = text(&p.run(&["dataset", "lint", "missing.jsonl"]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot read missing.jsonl"), "{err}");
}

#[test]
fn convert_writes_chat_jsonl_from_csv() {
    let p = Project::new();
    let csv = p.file(
        "t.csv",
        "conversation_id,role,text,timestamp\nc1,customer,Hours?,2026-01-01T10:00:00Z\nc1,agent,9 to 5.,2026-01-01T10:00:09Z\n",
    );
    let (code, out, err) = text(&p.run(&["dataset", "convert", csv.to_str().unwrap()]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("2 rows -> 1 examples in"), "{out}");
    let written = std::fs::read_to_string(Path::new(&p.dir.path().join("t.jsonl"))).unwrap();
    assert_eq!(written, line("Hours?", "9 to 5."));
}

/// An OpenAI-compatible endpoint that answers every chat call with the same judge verdict,
/// and counts the calls.
fn fake_judge(verdict: &'static str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = serde_json::json!({"id": "x", "object": "chat.completion", "model": "judge",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": verdict}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
            .to_string();
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (base, calls)
}

#[test]
fn the_judge_grades_a_sample_and_a_rerun_costs_nothing() {
    let p = Project::new();
    let data = p.file(
        "j.jsonl",
        &format!(
            "{}{}",
            line("Where is the Leeds store?", "On Briggate, open 9 to 6."),
            line("Do you sell maps?", "Yes, in every store."),
        ),
    );
    let rubric = p.file("rubric.txt", "The assistant offers to help further.");
    let (base, calls) = fake_judge(r#"{"score": 0.2, "reason": "no offer to help further"}"#);
    let args = [
        "dataset",
        "lint",
        data.to_str().unwrap(),
        "--judge-rubric",
        rubric.to_str().unwrap(),
        "--judge-route",
        "judge",
        "--judge-sample",
        "1",
        "--gateway",
        &base,
        "--key",
        "sk-test",
        "--max",
        "judge=0.5",
    ];
    let (code, out, err) = text(&p.run(&args));
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("judge: 2 examples judged (0 from the cache, 2 calls, 0 errors)"),
        "{out}"
    );
    assert!(out.contains("  line 1: no offer to help further"), "{out}");
    assert!(out.contains("--max judge=0.5: 1.0000 EXCEEDED"), "{out}");
    assert!(p.dir.path().join("j.judge-cache.jsonl").exists());
    let (_, out, _) = text(&p.run(&args));
    assert!(
        out.contains("judge: 2 examples judged (2 from the cache, 0 calls, 0 errors)"),
        "{out}"
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn the_cost_uses_the_models_training_price_from_the_config() {
    let p = Project::new();
    let mut cfg = std::fs::read_to_string(p.dir.path().join("seam.toml")).unwrap();
    cfg.push_str(
        "\n[prices.\"gpt-4o-mini-2024-07-18\"]\ninput = 0.15\noutput = 0.6\ntraining = 3.0\n",
    );
    std::fs::write(p.dir.path().join("seam.toml"), cfg).unwrap();
    let data = p.file(
        "t.jsonl",
        &line("Where is the Leeds store?", "On Briggate, open 9 to 6."),
    );
    let data = data.to_str().unwrap();
    let (code, out, err) =
        text(&p.run(&["dataset", "lint", data, "--model", "gpt-4o-mini-2024-07-18"]));
    assert_eq!(code, 0, "{err}");
    let trained: f64 = out
        .split("~")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("tokens trained on: {out}"));
    let want = format!("cost ${:.2}", trained * 3.0 / 1e6);
    assert!(out.contains(&want), "{want} in {out}");
    // Another model has no training price: unknown, never guessed.
    let (_, out, _) = text(&p.run(&["dataset", "lint", data, "--model", "gpt-4.1-2025-04-14"]));
    assert!(out.contains("cost unknown (no training price"), "{out}");
}
