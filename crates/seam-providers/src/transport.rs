//! The HTTP client providers send through: hyper's pooled HTTP/1.1 client over TCP
//! (TCP_NODELAY) and rustls, with the platform's certificate verifier.
//!
//! Why not reqwest here: per request it parsed the URL twice (its redirect layer re-parses
//! it even with redirects off) and went through retry and redirect layers Seam never uses;
//! together ~5% of the gateway's CPU per proxied call. Each attempt is one HTTP try the
//! provider sees: no redirects, and nothing sent again once written.

use crate::{AttemptError, ErrorClass};
use bytes::Bytes;
use http::{HeaderMap, Request, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::time::Duration;

pub type Response = http::Response<Incoming>;

#[derive(Clone)]
pub struct Transport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Transport {
    pub fn new(connect_timeout: Duration) -> Result<Transport, String> {
        // The crypto provider is process-wide; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = <rustls::ClientConfig as rustls_platform_verifier::ConfigVerifierExt>::with_platform_verifier()
            .map_err(|e| format!("cannot set up TLS certificate verification: {e}"))?;
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(1024)
            // Only a request never written (its pooled connection had closed) is sent again on
            // a fresh one: the provider saw no try, so the attempt is still one try.
            .retry_canceled_requests(true)
            .build(connector);
        Ok(Transport { client })
    }

    /// POSTs `body`; a failure before a response arrives is classified for the record.
    pub async fn post(
        &self,
        uri: &Uri,
        headers: HeaderMap,
        body: Vec<u8>,
        provider: &str,
    ) -> Result<Response, AttemptError> {
        let mut req = Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = uri.clone();
        *req.headers_mut() = headers;
        self.client
            .request(req)
            .await
            .map_err(|e| classify(&e, provider))
    }
}

fn classify(e: &hyper_util::client::legacy::Error, provider: &str) -> AttemptError {
    let class = if e.is_connect() {
        ErrorClass::Connect
    } else {
        ErrorClass::Reset
    };
    let what = match class {
        ErrorClass::Connect => "could not connect to",
        _ => "lost the connection to",
    };
    // The client's own text can carry the URL, never the key; keep only the kind of failure.
    AttemptError::new(class, format!("Seam {what} provider `{provider}`"))
}

/// Parses a provider URL once, at start.
pub fn uri(base: &str, path: &str) -> Result<Uri, String> {
    let text = format!("{base}{path}");
    let uri: Uri = text
        .parse()
        .map_err(|e| format!("base_url `{base}` is not a usable URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(uri),
        _ => Err(format!(
            "base_url `{base}` is not a usable URL: it needs http:// or https:// and a host"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn provider_urls_need_a_scheme_and_a_host() {
        assert_eq!(
            uri("http://127.0.0.1:4010/v1", "/chat/completions")
                .unwrap()
                .to_string(),
            "http://127.0.0.1:4010/v1/chat/completions"
        );
        assert!(uri("127.0.0.1:4010/v1", "/x").is_err());
        assert!(uri("ftp://h/v1", "/x").is_err());
        assert!(uri("http://bad host/v1", "/x").is_err());
    }
}
