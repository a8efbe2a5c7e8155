//! The judge rule, for habits phrases cannot catch: a sample of the examples (chosen by their
//! content's hash, so a rerun picks the same ones) is graded by a model through a Seam route
//! against a rubric, as the eval judge grades (docs/evals.md): the judge answers
//! `{"score": 0..1, "reason": "..."}` and an example under 0.5 is a hit. Verdicts are cached by
//! the SHA-256 of route, rubric and conversation in a JSON-lines file, so a rerun costs
//! nothing. The calls go through [`seam_evals::Backend`]: this crate makes none itself.

use crate::example::{Example, Role};
use seam_evals::{Backend, JudgeMessage, JudgeRequest};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const JUDGE: &str = "judge";
/// A score under this fails the rubric (the eval judge's default threshold).
pub const PASS: f64 = 0.5;

/// What to judge with.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The Seam route the judge is called through.
    pub route: String,
    pub rubric: String,
    /// The share of examples judged, from 0 to 1.
    pub sample: f64,
}

/// An example picked for the judge.
#[derive(Debug, Clone)]
pub struct Pending {
    pub line: usize,
    pub key: String,
    pub conversation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub key: String,
    pub score: f64,
    pub reason: String,
}

/// The conversation as the judge reads it: a line per message, `role: text`.
pub fn conversation(ex: &Example) -> String {
    let mut out = String::new();
    for m in &ex.messages {
        if matches!(m.role, Role::System | Role::Developer) {
            continue;
        }
        out.push_str(m.role.as_str());
        out.push_str(": ");
        out.push_str(&m.text);
        for c in &m.calls {
            out.push_str(&format!(" [calls {}({})]", c.name, c.arguments));
        }
        out.push('\n');
    }
    out
}

impl Spec {
    /// `ex` if its content's hash falls in the sample.
    pub fn pick(&self, ex: &Example) -> Option<Pending> {
        let conversation = conversation(ex);
        let digest = Sha256::digest(format!("{}\n{}\n{conversation}", self.route, self.rubric));
        let mut head = [0u8; 8];
        head.copy_from_slice(&digest[..8]);
        let at = u64::from_be_bytes(head) as f64 / u64::MAX as f64;
        (at < self.sample).then(|| Pending {
            line: ex.line,
            key: hex::encode(digest),
            conversation,
        })
    }

    fn request(&self, p: &Pending) -> JudgeRequest {
        let prompt = format!(
            "You are reviewing one support conversation that will be used to fine-tune a model. Grade the assistant's turns against the rubric.\n\nRubric:\n{}\n\nThe conversation:\n{}\nReply with a JSON object only, no other text:\n{{\"score\": <a number from 0 to 1: 1 when the assistant's turns fully meet the rubric, 0 when they do not at all>, \"reason\": \"<one or two sentences>\"}}",
            self.rubric, p.conversation
        );
        JudgeRequest {
            route: self.route.clone(),
            messages: vec![JudgeMessage::new("user", prompt)],
            params: serde_json::Map::new(),
        }
    }
}

/// The judge's answer as a score and reason; an answer that is not one is an error.
pub fn parse(answer: &str) -> Result<(f64, String), String> {
    let t = answer.trim();
    let t = t
        .strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|t| t.trim_end().strip_suffix("```"))
        .unwrap_or(t)
        .trim();
    let v: serde_json::Value = serde_json::from_str(t)
        .map_err(|_| "the judge's answer is not a JSON object".to_string())?;
    let score = v["score"]
        .as_f64()
        .filter(|s| (0.0..=1.0).contains(s))
        .ok_or("the judge's answer has no `score` from 0 to 1")?;
    let reason = v["reason"].as_str().unwrap_or("").to_string();
    Ok((score, reason))
}

/// Verdicts kept in a JSON-lines file, one a line, appended as they come.
pub struct Cache {
    path: PathBuf,
    verdicts: HashMap<String, Verdict>,
}

impl Cache {
    /// Reads `path` (missing is empty); a line that is not a verdict is an error naming it.
    pub fn open(path: &Path) -> Result<Cache, String> {
        let mut verdicts = HashMap::new();
        if path.exists() {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let v: Verdict = serde_json::from_str(line).map_err(|e| {
                    format!("{} line {}: not a verdict: {e}", path.display(), i + 1)
                })?;
                verdicts.insert(v.key.clone(), v);
            }
        }
        Ok(Cache {
            path: path.to_path_buf(),
            verdicts,
        })
    }

    fn append(&mut self, v: Verdict) -> Result<(), String> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| format!("{}: cannot write: {e}", self.path.display()))?;
        let mut line = serde_json::to_string(&v).map_err(|e| e.to_string())?;
        line.push('\n');
        f.write_all(line.as_bytes())
            .map_err(|e| format!("{}: cannot write: {e}", self.path.display()))?;
        self.verdicts.insert(v.key.clone(), v);
        Ok(())
    }
}

/// What the judge did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Judged {
    pub judged: u64,
    /// Verdicts read from the cache: no call made.
    pub cached: u64,
    pub calls: u64,
    /// Calls that failed or answered no verdict: how many, and the first ten (a sentence each).
    pub errored: u64,
    pub errors: Vec<String>,
    /// Lines under the threshold, with the judge's reason.
    pub failed: Vec<(usize, String)>,
    /// Tokens sent and received (counted here with `o200k_base`: an estimate of the spend).
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Dollars at the route's model's `[prices]`, when the caller knows it.
    pub spend: Option<f64>,
}

/// Judges `pending`, from the cache where it can.
pub async fn run(
    spec: &Spec,
    pending: &[Pending],
    backend: &dyn Backend,
    cache: &mut Cache,
) -> Result<Judged, String> {
    let mut out = Judged::default();
    let counter = crate::tokens::Counter::new(None);
    for p in pending {
        out.judged += 1;
        let verdict = match cache.verdicts.get(&p.key) {
            Some(v) => {
                out.cached += 1;
                v.clone()
            }
            None => {
                let request = spec.request(p);
                out.calls += 1;
                out.input_tokens += request
                    .messages
                    .iter()
                    .map(|m| counter.text(&m.content))
                    .sum::<u64>();
                let answer = match backend.judge(&request).await {
                    Ok(a) => a,
                    Err(e) => {
                        out.errored += 1;
                        if out.errors.len() < 10 {
                            out.errors.push(format!("line {}: {e}", p.line));
                        }
                        continue;
                    }
                };
                out.output_tokens += counter.text(&answer);
                match parse(&answer) {
                    Ok((score, reason)) => {
                        let v = Verdict {
                            key: p.key.clone(),
                            score,
                            reason,
                        };
                        cache.append(v.clone())?;
                        v
                    }
                    Err(e) => {
                        out.errored += 1;
                        if out.errors.len() < 10 {
                            out.errors.push(format!("line {}: {e}", p.line));
                        }
                        continue;
                    }
                }
            }
        };
        if verdict.score < PASS {
            out.failed.push((p.line, verdict.reason));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_evals::BackendError;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Fails any conversation with "sorry" in it, passes the rest; counts its calls.
    struct Fake(AtomicU64);

    #[async_trait::async_trait]
    impl Backend for Fake {
        async fn embed(&self, _: &str, _: &[String]) -> Result<Vec<Vec<f32>>, BackendError> {
            Err(BackendError("no embeddings".into()))
        }

        async fn judge(&self, r: &JudgeRequest) -> Result<String, BackendError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let text = &r.messages[0].content;
            if text.contains("wobbly") {
                return Ok("I think it is fine".into());
            }
            let score = if text.contains("sorry") { 0.1 } else { 0.9 };
            Ok(format!(
                "```json\n{{\"score\": {score}, \"reason\": \"apologises\"}}\n```"
            ))
        }
    }

    fn example(line: usize, answer: &str) -> Example {
        let json = serde_json::json!({"messages": [
            {"role": "user", "content": format!("Question {line} about tents?")},
            {"role": "assistant", "content": answer},
        ]})
        .to_string();
        let mut ex = crate::example::parse(line, json.as_bytes(), true)
            .0
            .unwrap();
        ex.line = line;
        ex
    }

    #[tokio::test]
    async fn verdicts_are_cached_so_a_rerun_makes_no_call() {
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec {
            route: "judge".into(),
            rubric: "The assistant never apologises without a reason.".into(),
            sample: 1.0,
        };
        let examples = [
            example(1, "Yes, in all sizes."),
            example(2, "So sorry! Yes."),
            example(3, "A wobbly answer."),
        ];
        let pending: Vec<Pending> = examples.iter().filter_map(|e| spec.pick(e)).collect();
        assert_eq!(pending.len(), 3);
        let fake = Fake(AtomicU64::new(0));
        let path = dir.path().join("cache.jsonl");
        let first = run(&spec, &pending, &fake, &mut Cache::open(&path).unwrap())
            .await
            .unwrap();
        assert_eq!((first.judged, first.calls, first.cached), (3, 3, 0));
        assert_eq!(first.errored, 1);
        assert_eq!(first.failed, vec![(2, "apologises".to_string())]);
        assert_eq!(
            first.errors,
            vec!["line 3: the judge's answer is not a JSON object"]
        );
        assert!(first.input_tokens > 0 && first.output_tokens > 0);

        let again = run(&spec, &pending, &fake, &mut Cache::open(&path).unwrap())
            .await
            .unwrap();
        // The answer that was no verdict is asked again; the two verdicts come from the cache.
        assert_eq!((again.calls, again.cached), (1, 2));
        assert_eq!(again.failed, first.failed);
        assert_eq!(fake.0.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn the_sample_is_picked_by_content_the_same_every_time() {
        let spec = |sample| Spec {
            route: "judge".into(),
            rubric: "r".into(),
            sample,
        };
        let examples: Vec<Example> = (1..=400).map(|i| example(i, "Yes.")).collect();
        let picked = |s: f64| {
            examples
                .iter()
                .filter(|e| spec(s).pick(e).is_some())
                .count()
        };
        assert_eq!(picked(0.0), 0);
        assert_eq!(picked(1.0), 400);
        let tenth = picked(0.1);
        assert!((20..=60).contains(&tenth), "{tenth} of 400 at 10%");
        assert_eq!(picked(0.1), tenth);
    }

    #[test]
    fn a_score_outside_0_to_1_is_no_verdict() {
        assert!(parse("{\"score\": 3, \"reason\": \"x\"}").is_err());
        assert_eq!(parse(" {\"score\": 0.25} ").unwrap(), (0.25, String::new()));
    }
}
