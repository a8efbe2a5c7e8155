//! The dashboard's test world: a SQLite store seeded with two users (ada, admin; vic, viewer
//! of acme), calls of two tenants with captured content carrying markup, and an event; and a
//! browser's requests (cookies, forms) against the dashboard's router.
// Each test file uses part of it.
#![allow(dead_code)]
use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use seam_store::conformance::{sample_attempt, sample_call};
use seam_store::{ContentRecord, EventRecord, RecordBatch, RoleRecord, Store, UserRecord, now_ms};
use seam_vocab::EventKind;
use std::sync::Arc;
use tower_service::Service;

pub const ADA: &str = "tok_ada_admin_0123456789";
pub const VIC: &str = "tok_vic_viewer_0123456789";

pub struct World {
    _dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub app: axum::Router,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl World {
    pub async fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("seam.db").display());
        let store: Arc<dyn Store> = Arc::new(seam_store::open(&url).await.expect("open"));
        let now = now_ms();
        for (id, name, token, admin) in [("u_ada", "ada", ADA, true), ("u_vic", "vic", VIC, false)]
        {
            store
                .insert_user(&UserRecord {
                    id: id.into(),
                    name: name.into(),
                    token_hash: seam_control::token_hash(token),
                    admin,
                    created_ms: now,
                })
                .await
                .expect("user");
        }
        store
            .insert_role(&RoleRecord {
                user_id: "u_vic".into(),
                role: "viewer".into(),
                tenant: "acme".into(),
                created_ms: now,
            })
            .await
            .expect("role");
        // acme: a call whose first attempt failed and whose retry answered, with content
        // that carries markup; globex: a call vic may not see.
        let mut acme = sample_call("call_acme1", now - 60_000, "acme");
        acme.route = "chat".into();
        let attempts = vec![
            sample_attempt(&acme, 1, false),
            sample_attempt(&acme, 2, true),
        ];
        let mut other = sample_call("call_globex1", now - 30_000, "globex");
        other.route = "search".into();
        let content = captured(
            &acme.id,
            acme.created_ms,
            "say <script>alert(1)</script> please",
            "<script>steal()</script>",
        );
        store
            .insert_batch(&RecordBatch {
                calls: vec![acme.clone(), other],
                attempts,
                streams: Vec::new(),
                contents: vec![content],
            })
            .await
            .expect("records");
        let mut event = EventRecord::new(
            EventKind::ServedModelChanged,
            "local now serves <b>sim-large-2026-02</b>".into(),
            serde_json::json!({}),
        );
        event.route = Some("chat".into());
        event.provider = Some("local".into());
        store.insert_event(&event).await.expect("event");
        let ui = Arc::new(seam_ui::Ui::new(store.clone(), 12, false));
        World {
            _dir: dir,
            store,
            app: seam_ui::router::<()>(ui),
        }
    }

    pub async fn send(&mut self, req: Request<Body>) -> Answer {
        let resp = self.app.call(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str, cookie: Option<&str>) -> Answer {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }

    pub async fn post(&mut self, path: &str, cookie: &str, form: &str) -> Answer {
        let req = Request::post(path)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_string()))
            .expect("request");
        self.send(req).await
    }

    /// Signs in with `token` through the form; the session cookie (`seam_ui=...`) and the
    /// home page's form token.
    pub async fn sign_in(&mut self, token: &str) -> (String, String) {
        let form = self.get("/ui/signin", None).await;
        let pre = set_cookie(&form, "seam_ui_signin").expect("a sign-in form cookie");
        let csrf = hidden_csrf(&form.body);
        let done = self
            .post("/ui/signin", &pre, &format!("token={token}&csrf={csrf}"))
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.headers[header::LOCATION], "/ui/");
        let session = set_cookie(&done, "seam_ui").expect("a session cookie");
        let home = self.get("/ui/", Some(&session)).await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        let csrf = hidden_csrf(&home.body);
        (session, csrf)
    }
}

/// A call's captured content: the user's `question` and the model's `answer`, unredacted.
pub fn captured(call_id: &str, at: i64, question: &str, answer: &str) -> ContentRecord {
    let body = serde_json::json!({"messages": [{"role": "user", "content": question}]});
    let mut content = seam_capture::Content::from_request(&body);
    content.answer = Some(seam_capture::Answer::from_response(&serde_json::json!({
        "choices": [{"message": {"role": "assistant", "content": answer}}]
    })));
    content.seal(
        &seam_capture::Redactor::new(&[]).expect("redactor"),
        1 << 16,
    );
    let bytes = content.to_bytes().expect("content");
    ContentRecord {
        call_id: call_id.into(),
        created_ms: at,
        format: ContentRecord::FORMAT,
        bytes: i64::try_from(bytes.len()).unwrap_or(0),
        truncated: false,
        redactions: 0,
        body: bytes,
    }
}

/// `NAME=VALUE` of the answer's Set-Cookie for `name`, unless it clears it.
pub fn set_cookie(a: &Answer, name: &str) -> Option<String> {
    a.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .filter(|v| v.len() > name.len() + 1)
}

pub fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("end of value")].to_string()
}

/// The dashboard on `store`, with `limits` as the limits in force (as `seam serve` gives its
/// loaded config's).
pub fn router_with_limits(store: Arc<dyn Store>, limits: seam_config::Limits) -> axum::Router {
    let ui = seam_ui::Ui::new(store, 12, false).with_limits(Arc::new(move || limits.clone()));
    seam_ui::router::<()>(Arc::new(ui))
}

/// Two eval runs of dataset `qa` (a baseline on release `rel_a`, a candidate on `rel_b` whose
/// case id and reasons carry markup) and a gate decision of the candidate against the
/// baseline, stored and on the audit chain as `seam eval gate` leaves it.
pub async fn seed_evals(store: &Arc<dyn Store>) {
    use seam_store::{EvalGateRecord, EvalResultRecord, EvalRunRecord};
    use seam_vocab::{EvalStatus, EvalVerdict};
    let now = now_ms();
    for (id, target, verdicts) in [
        ("evr_base", "rel_a", [EvalVerdict::Pass, EvalVerdict::Pass]),
        ("evr_cand", "rel_b", [EvalVerdict::Pass, EvalVerdict::Fail]),
    ] {
        store
            .insert_eval_run(&EvalRunRecord {
                id: id.into(),
                created_ms: now - 5_000,
                finished_ms: Some(now - 1_000),
                dataset: "qa".into(),
                dataset_version: "0123456789abcdef0123".into(),
                target_kind: "release".into(),
                target: target.into(),
                served_models: vec!["sim-large-2026-01".into()],
                repeats: 1,
                cases: 2,
                status: EvalStatus::Complete,
                actor: "ada".into(),
            })
            .await
            .expect("run");
        let results: Vec<EvalResultRecord> = verdicts
            .iter()
            .enumerate()
            .map(|(i, v)| EvalResultRecord {
                run_id: id.into(),
                case_id: if i == 0 { "c1".into() } else { "c<script>2</script>".into() },
                repeat_index: 0,
                created_ms: now - 2_000,
                verdict: *v,
                score: Some(if *v == EvalVerdict::Pass { 1.0 } else { 0.0 }),
                reasons: serde_json::json!({
                    "reason": if *v == EvalVerdict::Pass { "ok".to_string() } else { "wanted <script>alert(2)</script>".to_string() },
                    "grades": [{"assertion": "contains", "outcome": "fail", "score": 0.0, "reason": "no <b>match</b>", "weight": 1.0}],
                })
                .to_string(),
                call_id: Some("call_acme1".into()),
                latency_ms: Some(120),
                cost_usd: Some(0.0001),
                case_hash: None,
            })
            .collect();
        store.insert_eval_results(&results).await.expect("results");
    }
    store
        .insert_eval_gate(&EvalGateRecord {
            id: "evg_1".into(),
            created_ms: now,
            candidate_run: "evr_cand".into(),
            baseline_run: "evr_base".into(),
            candidate_release: Some("rel_b".into()),
            baseline_release: Some("rel_a".into()),
            dataset: "qa".into(),
            dataset_version: "0123456789abcdef0123".into(),
            decision: "fail".into(),
            alpha: 0.05,
            margin: 0.02,
            actor: "ada".into(),
        })
        .await
        .expect("gate");
    let rate = |s: u64, n: u64, lo: f64, hi: f64| serde_json::json!({"successes": s, "n": n, "rate": s as f64 / n as f64, "interval": {"low": lo, "high": hi}});
    seam_control::audit(
        store.as_ref(),
        "ada",
        "eval.gate",
        "evr_cand",
        None,
        serde_json::json!({
            "candidate": "evr_cand", "baseline": "evr_base",
            "candidate_release": "rel_b", "baseline_release": "rel_a",
            "dataset": "qa", "dataset_version": "0123456789abcdef0123",
            "decision": "fail", "alpha": 0.05, "margin": 0.02, "seed": 1,
            "baseline_pass_rate": rate(2, 2, 0.342, 1.0),
            "candidate_pass_rate": rate(1, 2, 0.0945, 0.9055),
            "pass_to_fail": 1, "fail_to_pass": 0, "required_failures": 0, "mde": 0.5,
        }),
    )
    .await
    .expect("audit");
}

/// For the charts (tests/charts.rs), in the last 3 hours: on acme's route `<i>x</i>` a call
/// retried to success, one failed twice with its retry budget spent, and one refused
/// (`tenant_cost_limit`); a refusal of globex (`key_request_limit`); four acme streams on
/// `chat` (three met the SLO, one breached it) and one globex stream on `search`; a release
/// of `support-bot` by ana waiting for an approval; a failed gate decision of `rel_new`
/// against `rel_old`; and a stream shape change on `chat` whose message carries markup.
pub async fn seed_charts(store: &dyn Store) {
    use seam_vocab::{CallErrorClass, Outcome, RefusalCode, SloVerdict};
    let now = now_ms();
    let route = "<i>x</i>";
    let mut retried = sample_call("call_ch_1", now - 2 * 3_600_000, "acme");
    retried.route = route.into();
    let mut failed = sample_call("call_ch_2", now - 50 * 60_000, "acme");
    failed.route = route.into();
    failed.outcome = Outcome::Error;
    failed.status = 502;
    failed.budget_exhausted = true;
    let refusal = |id: &str, tenant: &str, route: &str, code: RefusalCode| {
        let mut c = sample_call(id, now - 10 * 60_000, tenant);
        c.route = route.into();
        c.outcome = Outcome::Refused;
        c.status = 429;
        c.error_class = Some(CallErrorClass::Refused(code));
        c.attempts = 0;
        c.provider = None;
        c.cost_usd = 0.0;
        c
    };
    let mut calls = vec![
        retried.clone(),
        failed.clone(),
        refusal("call_ch_3", "acme", route, RefusalCode::TenantCostLimit),
        refusal(
            "call_ch_4",
            "globex",
            "search",
            RefusalCode::KeyRequestLimit,
        ),
    ];
    let attempts = vec![
        sample_attempt(&retried, 1, false),
        sample_attempt(&retried, 2, true),
        sample_attempt(&failed, 1, false),
        sample_attempt(&failed, 2, false),
    ];
    let mut streams = Vec::new();
    for i in 0..5 {
        let tenant = if i < 4 { "acme" } else { "globex" };
        let mut c = sample_call(&format!("call_st_{i}"), now - (60 - i) * 60_000, tenant);
        c.route = if i < 4 { "chat" } else { "search" }.into();
        let mut s = seam_store::conformance::sample_stream(&c);
        s.tokens_per_sec = Some(if i < 4 { 40.0 } else { 999.0 });
        s.gap_p50_ms = 20.0 + i as f64;
        s.gap_p95_ms = 80.0 + 10.0 * i as f64;
        s.gap_max_ms = s.gap_p95_ms + 20.0;
        s.chars_p50 = 12.0;
        s.slo = Some(if i == 3 {
            SloVerdict::breached("gap_p95 95ms > 90ms")
        } else {
            SloVerdict::Met
        });
        calls.push(c);
        streams.push(s);
    }
    store
        .insert_records(&calls, &attempts, &streams)
        .await
        .expect("records");
    store
        .insert_release(&seam_store::ReleaseRecord {
            id: "rel_pending".into(),
            prompt: "support-bot".into(),
            content: "{}".into(),
            author: "ana".into(),
            created_ms: now - 60_000,
        })
        .await
        .expect("release");
    let created = EventRecord::new(
        EventKind::ReleaseCreate,
        "ana: release.create rel_pending (support-bot)".into(),
        serde_json::json!({"prompt": "support-bot", "subject": "rel_pending"}),
    );
    store.insert_event(&created).await.expect("event");
    store
        .insert_eval_gate(&seam_store::EvalGateRecord {
            id: "gate_1".into(),
            created_ms: now - 30_000,
            candidate_run: "run_cand".into(),
            baseline_run: "run_base".into(),
            candidate_release: Some("rel_new".into()),
            baseline_release: Some("rel_old".into()),
            dataset: "faq".into(),
            dataset_version: "v1".into(),
            decision: "fail".into(),
            alpha: 0.05,
            margin: 0.0,
            actor: "ada".into(),
        })
        .await
        .expect("gate");
    let gate = EventRecord::new(
        EventKind::EvalGateFailed,
        "ada: eval gate fail for run run_cand against run_base on dataset faq".into(),
        serde_json::json!({"candidate_release": "rel_new", "baseline_release": "rel_old"}),
    );
    store.insert_event(&gate).await.expect("event");
    let mut shape = EventRecord::new(
        EventKind::StreamShapeChanged,
        "local now sends <em>one-token</em> chunks".into(),
        serde_json::json!({}),
    );
    shape.route = Some("chat".into());
    shape.provider = Some("local".into());
    store.insert_event(&shape).await.expect("event");
}

impl World {
    /// [`World::sign_in`] for a user whose Home page may be refused (one with no role, such
    /// as a prompt's owner): the session cookie and the form token read from `page`.
    pub async fn sign_in_at(&mut self, token: &str, page: &str) -> (String, String) {
        let form = self.get("/ui/signin", None).await;
        let pre = set_cookie(&form, "seam_ui_signin").expect("a sign-in form cookie");
        let csrf = hidden_csrf(&form.body);
        let done = self
            .post("/ui/signin", &pre, &format!("token={token}&csrf={csrf}"))
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let session = set_cookie(&done, "seam_ui").expect("a session cookie");
        let at = self.get(page, Some(&session)).await;
        assert_eq!(at.status, StatusCode::OK, "{}", at.body);
        let csrf = hidden_csrf(&at.body);
        (session, csrf)
    }
}
