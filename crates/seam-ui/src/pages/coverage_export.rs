//! The coverage page's Export button: `POST /ui/coverage/export` (cluster, since, dataset)
//! recomputes the report as the signed-in person reads it, finds the cluster and answers its
//! candidate cases (`seam_control::failures::export::candidates`, at most 20, input only,
//! tagged `needs-review`) as a JSONL download, as `seam coverage export` writes them. A case
//! holds its calls' content, so only an operator of their tenants (or an admin) may; a
//! refusal is a page saying why. Nothing is stored, so nothing goes on the audit chain (no
//! export or read is audited, on the dashboard or the CLI).

use super::coverage::load;
use super::*;
use crate::session::{csrf_refusal, form};
use axum::body::{Body, Bytes};
use http::HeaderValue;
use http::header;
use seam_control::Role;
use seam_control::failures::export;

/// Candidates per download, as the CLI's default `--limit`.
const LIMIT: usize = 20;

/// A cluster id as a file name: its slug characters only.
fn file_name(cluster: &str) -> String {
    let slug: String = cluster
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(80)
        .collect();
    format!("coverage-{slug}.jsonl")
}

/// POST /ui/coverage/export.
pub(crate) async fn export(State(ui): State<Arc<Ui>>, headers: HeaderMap, body: Bytes) -> Response {
    let who = match signed(&ui, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    if let Some(r) = csrf_refusal(&ui, &who, &body) {
        return r;
    }
    let f = form(&body);
    let Some(cluster) = param(&f, "cluster") else {
        return ui.message(
            StatusCode::BAD_REQUEST,
            "The form lacks `cluster`: reload the coverage page and try again.",
            Some(&who),
        );
    };
    // Refused before the scan when no tenant could be exported from.
    let a = &who.actor;
    if !a.admin && !a.roles.iter().any(|(r, _)| *r == Role::Operator) {
        return ui.message(
            StatusCode::FORBIDDEN,
            &format!(
                "Exporting candidate cases needs role operator of the cluster's tenants, or admin (a case holds their calls' content); `{}` has {}.",
                a.name,
                a.describe()
            ),
            Some(&who),
        );
    }
    let since = param(&f, "since").unwrap_or("7d");
    let report = match load(&ui, &who, since, param(&f, "dataset")).await {
        Ok(l) => l.report,
        Err(r) => return r,
    };
    let Some(c) = report.clusters.iter().find(|c| c.id == cluster) else {
        return ui.message(
            StatusCode::NOT_FOUND,
            &format!(
                "There is no cluster `{cluster}` in the last {since} now: clusters change as calls come in. Reload the coverage page."
            ),
            Some(&who),
        );
    };
    let got = match export::candidates(ui.store.as_ref(), &who.actor, c, LIMIT).await {
        Ok(g) => g,
        Err(e) => return control_error(&ui, &who, e),
    };
    if got.cases.is_empty() {
        return ui.message(
            StatusCode::NOT_FOUND,
            &format!(
                "No candidate from cluster `{cluster}`: {} of its calls' content is gone or does not decode.",
                got.without_content
            ),
            Some(&who),
        );
    }
    let mut text = String::new();
    for case in &got.cases {
        text.push_str(&case.to_string());
        text.push('\n');
    }
    jsonl(text, &file_name(cluster))
}

fn jsonl(text: String, name: &str) -> Response {
    let mut resp = Response::new(Body::from(text));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    crate::secure_headers(h);
    resp
}
