//! Seam's HTTP client for the requests it makes besides calls: spans to an OTLP collector,
//! and the CLI's requests to a gateway or an audit anchor. (Calls go upstream through
//! `seam_providers::transport`.)

/// A pooled client: TLS via rustls/ring, TCP_NODELAY on, no proxy discovery, no redirects.
pub fn http_client(connect_timeout: std::time::Duration) -> Result<reqwest::Client, String> {
    // The crypto provider is process-wide; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}
