//! CORS (`[server.cors]`, off by default): preflights answered here, before any endpoint, and
//! the allow-origin header added to every answer to an allowed origin, the data plane's
//! direct endpoints and streams included. Read from the current config on each request, so a
//! reload applies it.

use axum::body::Body;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, CONTENT_TYPE, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use seam_config::Cors;

/// What CORS makes of one request.
pub(super) enum Verdict {
    /// Not a cross-origin request, CORS is off, or the origin is not allowed: served as is.
    Pass,
    /// A preflight, answered here.
    Preflight(Response<Body>),
    /// Served, and its answer carries this `Access-Control-Allow-Origin`.
    Allow(HeaderValue),
}

const METHODS: HeaderValue = HeaderValue::from_static("GET, POST, DELETE, OPTIONS");

pub(super) fn check(cors: Option<&Cors>, method: &Method, headers: &HeaderMap) -> Verdict {
    let (Some(cors), Some(origin)) = (cors, headers.get(ORIGIN)) else {
        return Verdict::Pass;
    };
    let allowed = origin.to_str().is_ok_and(|o| cors.allows(o));
    let allow_origin = match &cors.origins {
        None => HeaderValue::from_static("*"),
        Some(_) => origin.clone(),
    };
    let preflight =
        method == Method::OPTIONS && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    if !preflight {
        return match allowed {
            true => Verdict::Allow(allow_origin),
            false => Verdict::Pass,
        };
    }
    if !allowed {
        return Verdict::Preflight(refused(origin));
    }
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    h.insert(ACCESS_CONTROL_ALLOW_METHODS, METHODS);
    let allow_headers = match &cors.allowed_headers {
        Some(list) => HeaderValue::from_str(&list.join(", ")).ok(),
        None => headers.get(ACCESS_CONTROL_REQUEST_HEADERS).cloned(),
    };
    if let Some(v) = allow_headers.filter(|v| !v.is_empty()) {
        h.insert(ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    h.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(cors.max_age.as_secs()),
    );
    h.insert(VARY, HeaderValue::from_static("Origin"));
    Verdict::Preflight(resp)
}

/// Adds what an allowed origin's answer carries: the origin, `Vary: Origin`, and every header
/// readable by the page (the SDKs read `x-request-id`, `retry-after` and Seam's own).
pub(super) fn decorate(headers: &mut HeaderMap, allow_origin: HeaderValue) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("*"));
    headers.append(VARY, HeaderValue::from_static("Origin"));
}

/// A preflight from an origin the config does not list: 403, saying which key to change.
fn refused(origin: &HeaderValue) -> Response<Body> {
    let origin = String::from_utf8_lossy(origin.as_bytes());
    let e = seam_wire::ApiError::new(
        403,
        "invalid_request_error",
        format!(
            "Origin `{}` may not call this gateway: it is not in server.cors.allowed_origins.",
            crate::untrusted::cap(&origin, 256)
        ),
    )
    .code("cors_origin_not_allowed");
    let mut resp = Response::new(Body::from(e.to_json()));
    *resp.status_mut() = StatusCode::FORBIDDEN;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut()
        .insert(VARY, HeaderValue::from_static("Origin"));
    resp
}
