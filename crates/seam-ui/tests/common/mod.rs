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
        let body = serde_json::json!({"messages": [
            {"role": "user", "content": "say <script>alert(1)</script> please"}]});
        let mut content = seam_capture::Content::from_request(&body);
        content.answer = Some(seam_capture::Answer::from_response(&serde_json::json!({
            "choices": [{"message": {"role": "assistant", "content": "<script>steal()</script>"}}]
        })));
        content.seal(
            &seam_capture::Redactor::new(&[]).expect("redactor"),
            1 << 16,
        );
        let bytes = content.to_bytes().expect("content");
        store
            .insert_batch(&RecordBatch {
                calls: vec![acme.clone(), other],
                attempts,
                streams: Vec::new(),
                contents: vec![ContentRecord {
                    call_id: acme.id.clone(),
                    created_ms: acme.created_ms,
                    format: ContentRecord::FORMAT,
                    bytes: i64::try_from(bytes.len()).unwrap_or(0),
                    truncated: false,
                    redactions: 0,
                    body: bytes,
                }],
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
