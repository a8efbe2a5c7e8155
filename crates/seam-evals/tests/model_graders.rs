//! The graders that call a model (`similar`, `judge`, OpenAI's `text_similarity` with
//! `cosine`, `score_model`, `label_model`) against a fake backend: what they send, and that a
//! failed call or a malformed answer is an `error`, never a pass.

use seam_evals::{
    Backend, BackendError, Case, Dataset, Grade, Grader, JudgeRequest, Outcome, Output,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;

#[derive(Default)]
struct Fake {
    vectors: HashMap<String, Vec<f32>>,
    answers: Mutex<VecDeque<Result<String, BackendError>>>,
    judged: Mutex<Vec<JudgeRequest>>,
    embedded: Mutex<Vec<(String, Vec<String>)>>,
    /// Answer one vector fewer than asked.
    short: bool,
}

impl Fake {
    fn answering(answers: &[Result<&str, &str>]) -> Fake {
        Fake {
            answers: Mutex::new(
                answers
                    .iter()
                    .map(|a| {
                        a.map(str::to_string)
                            .map_err(|e| BackendError(e.to_string()))
                    })
                    .collect(),
            ),
            ..Fake::default()
        }
    }

    fn with_vectors(pairs: &[(&str, &[f32])]) -> Fake {
        Fake {
            vectors: pairs
                .iter()
                .map(|(t, v)| (t.to_string(), v.to_vec()))
                .collect(),
            ..Fake::default()
        }
    }

    fn last_request(&self) -> JudgeRequest {
        self.judged
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a judge call")
    }
}

#[async_trait::async_trait]
impl Backend for Fake {
    async fn embed(&self, route: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, BackendError> {
        self.embedded
            .lock()
            .unwrap()
            .push((route.to_string(), texts.to_vec()));
        let mut out = Vec::new();
        for t in texts {
            out.push(
                self.vectors
                    .get(t)
                    .cloned()
                    .ok_or_else(|| BackendError(format!("no vector for {t:?}")))?,
            );
        }
        if self.short {
            out.pop();
        }
        Ok(out)
    }

    async fn judge(&self, request: &JudgeRequest) -> Result<String, BackendError> {
        self.judged.lock().unwrap().push(request.clone());
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(BackendError("no answer left".into())))
    }
}

fn case(extra: Value) -> Case {
    let mut c = json!({"id": "c1", "input": {"messages": [{"role": "user", "content": "How long do refunds take?"}]},
                       "variables": {"customer": "Ann"}, "expected": "Five business days."});
    if let (Some(o), Value::Object(e)) = (c.as_object_mut(), extra) {
        o.extend(e);
    }
    Dataset::parse_bytes(c.to_string().as_bytes(), Path::new("m.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"))
        .cases
        .remove(0)
}

fn refused(assertion: Value) -> String {
    let line = json!({"id": "c", "variables": {}, "assert": [assertion]}).to_string();
    Dataset::parse_bytes(line.as_bytes(), Path::new("m.jsonl"))
        .expect_err("should be refused")
        .to_string()
}

async fn grade(backend: &Fake, assertion: Value, answer: &str) -> Grade {
    let c = case(json!({"assert": [assertion]}));
    let g = Grader {
        backend,
        judge_route: Some("judge"),
        embedding_route: Some("embed"),
    };
    g.grade(&c.assertions[0], &c, &Output::text(answer)).await
}

#[track_caller]
fn is(g: &Grade, outcome: Outcome, reason: &str) {
    assert_eq!(g.outcome, outcome, "{g:?}");
    assert!(
        g.reason.contains(reason),
        "reason {:?} lacks {reason:?}",
        g.reason
    );
    if outcome == Outcome::Error {
        assert_eq!(g.score, None);
    }
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[tokio::test]
async fn similar_is_the_cosine_of_embeddings_against_a_threshold() {
    let fake = Fake::with_vectors(&[
        ("5 days", &[1.0, 0.0]),
        ("Five business days.", &[0.8, 0.6]),
        ("a week", &[0.0, 1.0]),
        ("zero", &[0.0, 0.0]),
        ("short", &[1.0]),
    ]);
    let g = grade(&fake, json!({"type": "similar"}), "5 days").await;
    is(
        &g,
        Outcome::Pass,
        "cosine similarity 0.8000 >= threshold 0.75",
    );
    assert!((g.score.unwrap() - 0.8).abs() < 1e-6, "{g:?}");
    assert_eq!(
        fake.embedded.lock().unwrap()[0],
        (
            "embed".to_string(),
            vec!["5 days".to_string(), "Five business days.".to_string()]
        )
    );
    let high = json!({"type": "similar", "value": "Five business days.", "threshold": 0.9, "route": "vectors"});
    is(
        &grade(&fake, high, "5 days").await,
        Outcome::Fail,
        "0.8000 < threshold 0.9",
    );
    assert_eq!(fake.embedded.lock().unwrap()[1].0, "vectors");
    // A list: the best match counts.
    let list = json!({"type": "similar", "value": ["a week", "Five business days."]});
    is(&grade(&fake, list, "5 days").await, Outcome::Pass, "0.8000");
    is(
        &grade(
            &fake,
            json!({"type": "not-similar", "value": "a week"}),
            "5 days",
        )
        .await,
        Outcome::Pass,
        "0.0000 < threshold",
    );
    is(
        &grade(&fake, json!({"type": "similar", "value": "zero"}), "5 days").await,
        Outcome::Error,
        "zero or not finite",
    );
    is(
        &grade(
            &fake,
            json!({"type": "similar", "value": "short"}),
            "5 days",
        )
        .await,
        Outcome::Error,
        "different sizes",
    );
    is(
        &grade(&fake, json!({"type": "similar"}), "unknown").await,
        Outcome::Error,
        "embedding through route `embed` failed: no vector",
    );
    let short = Fake {
        short: true,
        ..Fake::with_vectors(&[("a", &[1.0]), ("b", &[1.0])])
    };
    is(
        &grade(&short, json!({"type": "similar", "value": "b"}), "a").await,
        Outcome::Error,
        "returned 1 embeddings for 2 texts",
    );
    // No route of its own and no default: an error, not a pass.
    let c = case(json!({"assert": [{"type": "similar"}]}));
    let g = Grader::new(&fake)
        .grade(&c.assertions[0], &c, &Output::text("5 days"))
        .await;
    is(
        &g,
        Outcome::Error,
        "name its `route`, or set [evals] embedding_route",
    );
    assert!(
        refused(json!({"type": "similar", "value": "x", "provider": "openai:embedding"}))
            .contains("assert[0].provider: name a Seam route with `route` instead")
    );
    assert!(
        refused(json!({"type": "similar", "value": "x", "threshold": 2}))
            .contains("assert[0].threshold: must be between -1 and 1")
    );
}

#[tokio::test]
async fn a_judge_grades_with_a_rendered_rubric_and_its_template_hash() {
    let fake = Fake::answering(&[
        Ok(r#"{"score": 0.9, "reason": "Polite and correct."}"#),
        Ok("```json\n{\"score\": 0.2, \"reason\": \"Rude.\"}\n```"),
    ]);
    let a = json!({"type": "llm-rubric", "value": "Is polite and says five business days."});
    let g = grade(&fake, a.clone(), "Five business days, Ann!").await;
    is(
        &g,
        Outcome::Pass,
        "judge score 0.9 >= threshold 0.5: Polite and correct.",
    );
    assert_eq!(g.score, Some(0.9));
    let default_hash = g.template_sha256.clone().expect("a template hash");
    assert_eq!(default_hash.len(), 64);
    let r = fake.last_request();
    assert_eq!(r.route, "judge");
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.messages[0].role, "user");
    let prompt = &r.messages[0].content;
    for part in [
        "Is polite and says five business days.",
        "user: How long do refunds take?",
        "Five business days.",
        "Five business days, Ann!",
        "\"score\"",
    ] {
        assert!(prompt.contains(part), "the prompt lacks {part:?}: {prompt}");
    }
    let g = grade(&fake, a, "Go away.").await;
    is(&g, Outcome::Fail, "0.2 < threshold 0.5: Rude.");
    assert_eq!(g.template_sha256.as_deref(), Some(default_hash.as_str()));

    // A template of one's own, as messages, with its own hash.
    let template = r#"[{"role": "system", "content": "Grade strictly."}, {"role": "user", "content": "{{ rubric }} / {{ variables.customer }} / {{ output }}"}]"#;
    let fake = Fake::answering(&[Ok(r#"{"score": 0.7, "reason": "ok"}"#)]);
    let a = json!({"type": "judge", "value": "Names the customer.", "template": template, "threshold": 0.8, "route": "strict-judge"});
    let g = grade(&fake, a, "Hi Ann").await;
    is(&g, Outcome::Fail, "0.7 < threshold 0.8");
    assert_eq!(g.template_sha256, Some(sha(template)));
    let r = fake.last_request();
    assert_eq!(r.route, "strict-judge");
    assert_eq!(r.messages[0].content, "Grade strictly.");
    assert_eq!(r.messages[1].content, "Names the customer. / Ann / Hi Ann");
}

#[tokio::test]
async fn a_judge_that_fails_or_answers_badly_is_an_error_never_a_pass() {
    let a = json!({"type": "judge", "value": "Is correct."});
    for (answer, reason) in [
        (
            Err("upstream 503"),
            "the judge call through route `judge` failed: upstream 503",
        ),
        (
            Ok("Score: 1. Great answer."),
            "the judge's answer is not JSON",
        ),
        (
            Ok(r#"{"score": 8, "reason": "great"}"#),
            "the judge's score 8 is outside 0..1",
        ),
        (
            Ok(r#"{"score": "1", "reason": "great"}"#),
            "no number `score`",
        ),
        (Ok(r#"{"score": 1}"#), "no string `reason`"),
        (Ok(r#"[1]"#), "not an object"),
    ] {
        let fake = Fake::answering(&[answer]);
        let g = grade(&fake, a.clone(), "42").await;
        is(&g, Outcome::Error, reason);
        assert!(
            g.template_sha256.is_some(),
            "the hash is stored with an error too"
        );
        // Negation does not turn an error into a pass.
        let fake = Fake::answering(&[answer]);
        is(
            &grade(
                &fake,
                json!({"type": "not-judge", "value": "Is wrong."}),
                "42",
            )
            .await,
            Outcome::Error,
            reason,
        );
    }
    // The default template shows the answer's tool calls.
    let fake = Fake::answering(&[Ok(r#"{"score": 1, "reason": "called it"}"#)]);
    let c = case(json!({"assert": [{"type": "judge", "value": "Looks the weather up."}]}));
    let out = Output {
        tool_calls: vec![seam_evals::ToolCall {
            id: None,
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
        }],
        ..Output::default()
    };
    let g = Grader {
        backend: &fake,
        judge_route: Some("judge"),
        embedding_route: None,
    };
    is(
        &g.grade(&c.assertions[0], &c, &out).await,
        Outcome::Pass,
        "called it",
    );
    let prompt = &fake.last_request().messages[0].content;
    assert!(
        prompt.contains("- get_weather({\"city\":\"Paris\"})"),
        "{prompt}"
    );
    assert!(
        refused(json!({"type": "judge", "value": "x", "route": " "}))
            .contains("assert[0].route: must name a route")
    );

    let template_error = json!({"type": "judge", "value": "x", "template": "{{ variables.nope }}"});
    is(
        &grade(&Fake::default(), template_error, "42").await,
        Outcome::Error,
        "the template does not render",
    );
    assert!(
        refused(json!({"type": "judge", "value": "x", "template": "{% for %}"}))
            .contains("m.jsonl:1: assert[0].template: the template does not compile")
    );
    assert!(refused(json!({"type": "judge"})).contains("assert[0].value: missing"));
    assert!(
        refused(json!({"type": "llm-rubric", "value": "x", "provider": "openai:gpt-4o"}))
            .contains("assert[0].provider")
    );
    assert!(
        refused(json!({"type": "judge", "value": "x", "template": "a", "rubricPrompt": "b"}))
            .contains("assert[0].rubricPrompt: given with `template`")
    );
}

#[tokio::test]
async fn text_similarity_cosine_embeds_through_a_route() {
    let fake = Fake::with_vectors(&[
        ("5 days", &[1.0, 0.0]),
        ("Five business days.", &[0.8, 0.6]),
    ]);
    let a = json!({"type": "text_similarity", "name": "cos", "input": "{{ sample.output_text }}",
                   "reference": "{{ item.expected }}", "evaluation_metric": "cosine", "pass_threshold": 0.7});
    let g = grade(&fake, a, "5 days").await;
    is(&g, Outcome::Pass, "cosine 0.8000 >= pass_threshold 0.7");
    assert_eq!(fake.embedded.lock().unwrap()[0].0, "embed");
}

fn score_model(extra: Value) -> Value {
    let mut a = json!({
        "type": "score_model", "name": "quality", "model": "gpt-4o-mini",
        "input": [
            {"role": "system", "content": "Rate the answer from 1 to 10."},
            {"role": "user", "type": "message", "content": [{"type": "input_text", "text": "Answer: {{ sample.output_text }}"}, {"type": "input_text", "text": "Reference: {{ item.expected }}"}]}
        ],
        "range": [1, 10], "pass_threshold": 7,
        "sampling_params": {"temperature": 0, "seed": 7, "max_completions_tokens": 200}
    });
    if let (Some(o), Value::Object(e)) = (a.as_object_mut(), extra) {
        o.extend(e);
    }
    a
}

#[tokio::test]
async fn score_model_asks_the_named_model_for_a_number_in_its_range() {
    let fake = Fake::answering(&[
        Ok(r#"{"result": 8.5, "reason": "close"}"#),
        Ok(r#"{"result": 4, "steps": ["short"]}"#),
        Ok(r#"{"result": 11}"#),
    ]);
    let g = grade(&fake, score_model(json!({})), "5 days").await;
    is(&g, Outcome::Pass, "result 8.5 >= pass_threshold 7: close");
    assert!((g.score.unwrap() - 7.5 / 9.0).abs() < 1e-12, "{g:?}");
    let hash = g.template_sha256.clone().unwrap();
    let r = fake.last_request();
    assert_eq!(r.route, "gpt-4o-mini", "the model names the route");
    assert_eq!(r.messages.len(), 3);
    assert_eq!(
        r.messages[1].content,
        "Answer: 5 days\nReference: Five business days."
    );
    assert_eq!(r.messages[2].role, "user");
    assert!(
        r.messages[2]
            .content
            .contains("\"result\": <a number from 1 to 10>"),
        "{}",
        r.messages[2].content
    );
    assert_eq!(
        Value::Object(r.params),
        json!({"temperature": 0, "seed": 7, "max_completion_tokens": 200})
    );
    is(
        &grade(&fake, score_model(json!({})), "x").await,
        Outcome::Fail,
        "result 4 < pass_threshold 7: [\"short\"]",
    );
    is(
        &grade(&fake, score_model(json!({})), "x").await,
        Outcome::Error,
        "result 11 is outside its range [1, 10]",
    );
    // The hash follows the messages as written.
    let fake = Fake::answering(&[Err("down")]);
    let other = score_model(
        json!({"input": [{"role": "user", "content": "Rate {{ sample.output_text }}"}], "route": "judge-2"}),
    );
    let g = grade(&fake, other, "x").await;
    is(&g, Outcome::Error, "through route `judge-2` failed: down");
    assert_ne!(g.template_sha256.unwrap(), hash);

    assert!(
        refused(score_model(json!({"range": [10, 1]})))
            .contains("assert[0].range: must be [low, high] with low below high")
    );
    assert!(
        refused(score_model(json!({"pass_threshold": 12})))
            .contains("assert[0].pass_threshold: must be between 1 and 10")
    );
    assert!(
        refused(score_model(
            json!({"sampling_params": {"temperature": 0, "n": 2}})
        ))
        .contains("assert[0].sampling_params.n: unknown key")
    );
    assert!(refused(score_model(json!({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]}))).contains("assert[0].input[0].content: a part of type `input_image` is not supported"));
    assert!(
        refused(score_model(
            json!({"input": [{"role": "critic", "content": "x"}]})
        ))
        .contains("assert[0].input[0].role: `critic`")
    );
    let mut no_model = score_model(json!({}));
    no_model.as_object_mut().unwrap().remove("model");
    assert!(refused(no_model).contains("assert[0].model: missing"));
}

#[tokio::test]
async fn label_model_passes_on_a_passing_label() {
    let a = json!({
        "type": "label_model", "name": "sentiment", "model": "classifier",
        "input": [{"role": "developer", "content": "Classify the sentiment of: {{ sample.output_text }}"}],
        "labels": ["positive", "neutral", "negative"], "passing_labels": ["positive", "neutral"]
    });
    let fake = Fake::answering(&[
        Ok(r#"{"label": "Positive", "reason": "upbeat"}"#),
        Ok(r#"{"label": "negative"}"#),
        Ok(r#"{"label": "angry"}"#),
        Ok("positive"),
    ]);
    is(
        &grade(&fake, a.clone(), "Great news!").await,
        Outcome::Pass,
        "label `positive` is a passing label: upbeat",
    );
    let r = fake.last_request();
    assert_eq!(r.route, "classifier");
    assert_eq!(r.messages[0].role, "developer");
    assert!(
        r.messages[1]
            .content
            .contains(r#"["positive","neutral","negative"]"#),
        "{}",
        r.messages[1].content
    );
    is(
        &grade(&fake, a.clone(), "Awful.").await,
        Outcome::Fail,
        "label `negative` is not a passing label",
    );
    is(
        &grade(&fake, a.clone(), "Grr").await,
        Outcome::Error,
        "label `angry` is not one of `labels`",
    );
    is(
        &grade(&fake, a.clone(), "x").await,
        Outcome::Error,
        "not JSON",
    );
    let mut bad = a.clone();
    bad["passing_labels"] = json!(["happy"]);
    assert!(refused(bad).contains("assert[0].passing_labels: `happy` is not one of `labels`"));
    let mut twice = a;
    twice["labels"] = json!(["a", "a"]);
    assert!(refused(twice).contains("assert[0].labels[1]: `a` is listed twice"));
}
