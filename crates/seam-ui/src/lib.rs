//! Seam's dashboard (docs/dashboard.md): server-rendered HTML under `/ui/`, from MiniJinja
//! templates embedded in the binary (autoescaped: nothing from a record is rendered as
//! markup), one embedded stylesheet and htmx (vendored) for the few things that refresh in place; every page
//! reads without JavaScript. A person signs in with their user token
//! (`session.rs`: a server-side session, a CSRF token on every form); each page reads the
//! store through `seam-control`'s rules, so a viewer or operator sees only their tenants'
//! records, as the CLI and `/api/` do (`pages.rs`).

mod format;
mod live;
mod pages;
mod session;
mod svg;

pub use live::Gateway;
pub use svg::band::{BandChart, band_chart};
pub use svg::forecast::{charts as forecast_charts, forecast_svg};

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use minijinja::Environment;
use seam_store::Store;
use std::sync::Arc;

/// What the dashboard's handlers share: the store and the `[ui]` settings read at start.
pub struct Ui {
    store: Arc<dyn Store>,
    session_ms: i64,
    secure_cookie: bool,
    templates: Environment<'static>,
    /// The limits in force (Usage and limits); `None`: none are known here.
    limits: Option<LimitsNow>,
    /// The calendar in force (Forecasts); `None`: no calendar periods.
    calendar: Option<CalendarNow>,
    gateway: Option<Arc<dyn Gateway>>,
    /// Home's audit verdict and when it was reached: verifying reads and hashes the whole
    /// chain, too much for a page fetched every 5 s; the Audit page always verifies afresh.
    audit_verdict: std::sync::Mutex<Option<(i64, serde_json::Value)>>,
}

/// The limits in force now: the gateway's loaded config, so a reload counts at the next page.
pub type LimitsNow = Arc<dyn Fn() -> seam_config::Limits + Send + Sync>;

/// The `[calendar]` in force now, read like [`LimitsNow`].
pub type CalendarNow = Arc<dyn Fn() -> seam_config::Calendar + Send + Sync>;

impl Ui {
    /// `session_hours`: how long a sign-in lasts; `secure_cookie`: mark the session cookie
    /// `Secure` (browsers reach Seam over HTTPS through a proxy).
    pub fn new(store: Arc<dyn Store>, session_hours: u64, secure_cookie: bool) -> Ui {
        Ui {
            store,
            session_ms: i64::try_from(session_hours)
                .unwrap_or(720)
                .saturating_mul(3_600_000),
            secure_cookie,
            templates: templates(),
            limits: None,
            calendar: None,
            gateway: None,
            audit_verdict: std::sync::Mutex::new(None),
        }
    }

    /// The limits the Usage page shows tenants and keys against (`seam serve` gives its
    /// loaded config's).
    pub fn with_limits(mut self, limits: LimitsNow) -> Ui {
        self.limits = Some(limits);
        self
    }

    /// The calendar periods the Forecasts page masks and shades (`seam serve` gives its
    /// loaded config's).
    pub fn with_calendar(mut self, calendar: CalendarNow) -> Ui {
        self.calendar = Some(calendar);
        self
    }

    /// Renders a page inside the layout; `who` is the signed-in person's line and form
    /// token, `None` on the sign-in page.
    fn page(
        &self,
        status: StatusCode,
        title: &str,
        template: &str,
        ctx: impl serde::Serialize,
        who: Option<&session::Signed>,
    ) -> Response {
        let ctx = minijinja::Value::from(minijinja::value::Serde(&ctx));
        let body = self
            .templates
            .get_template(template)
            .and_then(|t| t.render(&ctx));
        let layout = body.and_then(|body| {
            self.templates
                .get_template("layout.html")?
                .render(minijinja::context! {
                    title => title,
                    body => minijinja::Value::from_safe_string(body),
                    user => who.map(|w| w.actor.name.clone()),
                    roles => who.map(|w| w.actor.describe()),
                    admin => who.is_some_and(|w| w.actor.admin),
                    csrf => who.map(|w| w.csrf.clone()),
                    // A page that asks for it is fetched again every 5 s while open (htmx).
                    refresh => ctx.get_attr("refresh").ok().filter(|r| r.is_true()),
                })
        });
        match layout {
            Ok(html) => html_response(status, html),
            Err(e) => {
                tracing::error!(template, error = %e, "a dashboard template failed to render");
                html_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><title>Seam</title><p>The page failed to render; the gateway's log says why.</p>".into(),
                )
            }
        }
    }

    /// A page that only says what went wrong (a refusal, an unknown call, a bad filter).
    fn message(&self, status: StatusCode, text: &str, who: Option<&session::Signed>) -> Response {
        self.page(
            status,
            status.canonical_reason().unwrap_or("Error"),
            "message.html",
            serde_json::json!({"status": status.as_u16(), "text": text}),
            who,
        )
    }
}

fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("../templates/layout.html")),
        ("message.html", include_str!("../templates/message.html")),
        ("signin.html", include_str!("../templates/signin.html")),
        ("home.html", include_str!("../templates/home.html")),
        ("timeline.html", include_str!("../templates/timeline.html")),
        ("calls.html", include_str!("../templates/calls.html")),
        ("call.html", include_str!("../templates/call.html")),
        ("trace.html", include_str!("../templates/trace.html")),
        ("usage.html", include_str!("../templates/usage.html")),
        ("keys.html", include_str!("../templates/keys.html")),
        ("users.html", include_str!("../templates/users.html")),
        ("secret.html", include_str!("../templates/secret.html")),
        ("audit.html", include_str!("../templates/audit.html")),
        ("evals.html", include_str!("../templates/evals.html")),
        ("eval.html", include_str!("../templates/eval.html")),
        ("canaries.html", include_str!("../templates/canaries.html")),
        ("canary.html", include_str!("../templates/canary.html")),
        (
            "reliability.html",
            include_str!("../templates/reliability.html"),
        ),
        ("streams.html", include_str!("../templates/streams.html")),
        ("value.html", include_str!("../templates/value.html")),
        ("coverage.html", include_str!("../templates/coverage.html")),
        (
            "forecasts.html",
            include_str!("../templates/forecasts.html"),
        ),
        ("prompts.html", include_str!("../templates/prompts.html")),
        ("prompt.html", include_str!("../templates/prompt.html")),
        (
            "prompt_diff.html",
            include_str!("../templates/prompt_diff.html"),
        ),
        (
            "prompt_refused.html",
            include_str!("../templates/prompt_refused.html"),
        ),
    ] {
        // The templates are part of the binary: one that does not parse fails every test.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(name, error = %e, "a dashboard template does not parse");
        }
    }
    env
}

/// Every dashboard answer: HTML, never cached, never framed, no script allowed to run.
fn html_response(status: StatusCode, html: String) -> Response {
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(h);
    resp
}

fn secure_headers(h: &mut http::HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

const CSS: &str = include_str!("../templates/seam.css");
/// htmx 2.0.10 (Zero-Clause BSD, assets/htmx-LICENSE), vendored so nothing is fetched from a CDN;
/// the pages read without it.
const HTMX: &str = include_str!("../assets/htmx-2.0.10.min.js");

/// A static asset built into the binary; the browser may keep it for a day.
fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    resp
}

/// The dashboard's routes, all under `/ui/`, for the gateway to merge into its router.
pub fn router<S: Clone + Send + Sync + 'static>(ui: Arc<Ui>) -> Router<S> {
    Router::new()
        .route("/ui", get(|| async { redirect("/ui/") }))
        .route(
            "/ui/seam.css",
            get(|| async { asset(CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/ui/htmx.js",
            get(|| async { asset(HTMX, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/ui/signin",
            get(session::signin_form).post(session::signin),
        )
        .route("/ui/signout", axum::routing::post(session::signout))
        .merge(pages::routes())
        .route("/ui/{*rest}", get(not_found))
        .with_state(ui)
}

/// Any other page under `/ui/`.
async fn not_found(axum::extract::State(ui): axum::extract::State<Arc<Ui>>) -> Response {
    ui.message(StatusCode::NOT_FOUND, "There is no such page.", None)
}

/// A 303 to `to` (after a form, and to the sign-in page).
fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    secure_headers(resp.headers_mut());
    resp
}
