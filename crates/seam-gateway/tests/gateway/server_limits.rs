//! The server's own limits: slow or idle clients are closed (header, body and idle timeouts)
//! and at most `server.max_connections` are open, so that they cannot keep calls out.

use crate::harness::{Harness, Options, hello};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(h: &Harness) -> String {
    h.gw.trim_start_matches("http://").to_string()
}

/// Reads until the gateway closes the connection (EOF or reset); what it read. `None` when
/// it was still open after `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&got).into_owned())
}

/// A metric's value in the gateway's /metrics text (0 when absent).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A client that opens a connection of its own for every call: what a new client does
/// while the gateway is under attack.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_of_hundreds_of_connections_does_not_keep_calls_out() {
    let h = Harness::start(Options {
        server: "header_timeout_ms = 400\nmax_connections = 40",
        ..Options::default()
    })
    .await;
    let target = addr(&h);
    let stop = Arc::new(AtomicBool::new(false));
    let cut_off = Arc::new(AtomicU64::new(0));
    // 300 clients that never finish a request's head: each sends part of one, then a header
    // line every 150 ms, and opens another connection when the gateway closes it.
    let attackers: Vec<_> = (0..300)
        .map(|_| {
            let (target, stop, cut_off) = (target.clone(), stop.clone(), cut_off.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut s) = TcpStream::connect(&target).await else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    let mut ok = s
                        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: seam\r\n")
                        .await
                        .is_ok();
                    while ok && !stop.load(Ordering::Relaxed) {
                        let mut buf = [0u8; 64];
                        ok = match tokio::time::timeout(
                            Duration::from_millis(150),
                            s.read(&mut buf),
                        )
                        .await
                        {
                            Ok(_) => false, // closed (or answered: closed next)
                            Err(_) => s.write_all(b"X-Slow: 1\r\n").await.is_ok(),
                        };
                    }
                    if !stop.load(Ordering::Relaxed) {
                        cut_off.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            })
        })
        .collect();
    // Let the slow connections fill the gateway.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut slowest = Duration::ZERO;
    let mut max_open: f64 = 0.0;
    for i in 0..8 {
        let started = Instant::now();
        let r = fresh_client()
            .post(format!("{}/v1/chat/completions", h.gw))
            .bearer_auth(&h.key)
            .json(&json!({"model": "chat", "messages": hello()}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("call {i} under the slowloris: {e}"));
        assert_eq!(r.status(), 200, "call {i}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["choices"][0]["message"]["content"].is_string(),
            "{body}"
        );
        slowest = slowest.max(started.elapsed());
        let m = fresh_client()
            .get(format!("{}/metrics", h.gw))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        max_open = max_open.max(metric(&m, "seam_connections_open"));
    }
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        let _ = a.await;
    }
    // Calls got through at once, not after the attack (generous on a loaded 2-core box).
    assert!(
        slowest < Duration::from_secs(10),
        "slowest call {slowest:?}"
    );
    assert!(
        max_open <= 40.0,
        "{max_open} connections open (max_connections = 40)"
    );
    assert!(
        cut_off.load(Ordering::Relaxed) >= 300,
        "the gateway closed {} slow connections",
        cut_off.load(Ordering::Relaxed)
    );
    let m = h.metrics().await;
    let closed = metric(
        &m,
        "seam_connections_closed_total{reason=\"header_timeout\"}",
    ) + metric(&m, "seam_connections_closed_total{reason=\"evicted\"}");
    assert!(closed >= 300.0, "{m}");
    assert_eq!(metric(&m, "seam_connections_max"), 40.0, "{m}");
}

#[tokio::test]
async fn a_request_head_that_never_completes_is_closed_after_the_header_timeout() {
    let h = Harness::start(Options {
        server: "header_timeout_ms = 300\nidle_timeout_secs = 30",
        ..Options::default()
    })
    .await;
    // Nothing at all, and half a head.
    let mut silent = TcpStream::connect(addr(&h)).await.unwrap();
    let mut partial = TcpStream::connect(addr(&h)).await.unwrap();
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: seam\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    assert!(
        closed_within(&mut silent, Duration::from_secs(5))
            .await
            .is_some(),
        "a silent connection stays open"
    );
    assert!(
        closed_within(&mut partial, Duration::from_secs(5))
            .await
            .is_some(),
        "a connection that never finishes its head stays open"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    let m = h.metrics().await;
    assert_eq!(
        metric(
            &m,
            "seam_connections_closed_total{reason=\"header_timeout\"}"
        ),
        2.0,
        "{m}"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_waits_the_idle_timeout_not_the_header_timeout() {
    let h = Harness::start(Options {
        server: "header_timeout_ms = 200\nidle_timeout_secs = 2",
        ..Options::default()
    })
    .await;
    let mut s = TcpStream::connect(addr(&h)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: seam\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let answered = Instant::now();
    // Well past the header timeout, the idle connection still serves its next request.
    tokio::time::sleep(Duration::from_millis(800)).await;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: seam\r\n\r\n")
        .await
        .unwrap();
    let n = s.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let idle_from = Instant::now();
    assert!(answered.elapsed() >= Duration::from_millis(800));
    // Then, without a request, it is closed after the idle timeout.
    assert!(
        closed_within(&mut s, Duration::from_secs(10))
            .await
            .is_some(),
        "an idle connection stays open"
    );
    assert!(
        idle_from.elapsed() >= Duration::from_millis(1_800),
        "closed after {:?}",
        idle_from.elapsed()
    );
    let m = h.metrics().await;
    assert_eq!(
        metric(&m, "seam_connections_closed_total{reason=\"idle_timeout\"}"),
        1.0,
        "{m}"
    );
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_a_408_and_recorded() {
    let h = Harness::start(Options {
        server: "body_timeout_ms = 300",
        ..Options::default()
    })
    .await;
    let mut s = TcpStream::connect(addr(&h)).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: seam\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"model\": \"chat\"",
        h.key
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let answer = closed_within(&mut s, Duration::from_secs(5))
        .await
        .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("server.body_timeout_ms"),
        "{body}"
    );
    let id = answer
        .lines()
        .find_map(|l| l.strip_prefix("x-seam-call-id: "))
        .expect("a call id")
        .trim()
        .to_string();
    let (call, _) = h.record(&id).await;
    assert_eq!(call.status, 408);
    assert_eq!(call.error_class.map(|c| c.as_str()), Some("body_timeout"));
}

#[tokio::test]
async fn calls_longer_than_the_timeouts_finish_and_a_full_gateway_makes_new_clients_wait() {
    let h = Harness::start(Options {
        scenario: "[latency]\nfixed_ms = 1200\n",
        server: "header_timeout_ms = 300\nidle_timeout_secs = 1\nmax_connections = 2",
        ..Options::default()
    })
    .await;
    let started = Instant::now();
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let (gw, key) = (h.gw.clone(), h.key.clone());
            tokio::spawn(async move {
                let r = fresh_client()
                    .post(format!("{gw}/v1/chat/completions"))
                    .bearer_auth(key)
                    .json(&json!({"model": "chat", "messages": hello(), "stream": true}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let body = r.text().await.unwrap();
                (status, body, Instant::now())
            })
        })
        .collect();
    let mut ended = Vec::new();
    for c in calls {
        let (status, body, at) = c.await.unwrap();
        // Each call outlasts the header and idle timeouts and is not cut.
        assert_eq!(status, 200);
        assert!(body.contains("data: [DONE]"), "{body}");
        ended.push(at.duration_since(started));
    }
    ended.sort();
    // Two at once; the third waited for a slot (in the listen queue) and was then served.
    assert!(
        ended[2] >= Duration::from_millis(2_300),
        "the third call ended after {:?}: it did not wait for a slot",
        ended[2]
    );
}

#[tokio::test]
async fn a_reload_times_new_connections_with_its_timeouts_and_refuses_a_new_cap() {
    let h = Harness::start(Options {
        server: "header_timeout_ms = 60000",
        reloadable: true,
        ..Options::default()
    })
    .await;
    let text = std::fs::read_to_string(&h.config_path).unwrap();
    let with = |keys: &str| text.replace("header_timeout_ms = 60000", keys);
    std::fs::write(&h.config_path, with("max_connections = 5")).unwrap();
    let err = h.reload("ana").await.expect_err("refused");
    assert!(
        err.to_string()
            .contains("server.max_connections: cannot change on a running gateway"),
        "{err}"
    );
    std::fs::write(&h.config_path, with("header_timeout_ms = 300")).unwrap();
    h.reload("ana").await.expect("applied");
    let mut s = TcpStream::connect(addr(&h)).await.unwrap();
    assert!(
        closed_within(&mut s, Duration::from_secs(5))
            .await
            .is_some(),
        "a connection opened after the reload is timed by the old header timeout"
    );
}
