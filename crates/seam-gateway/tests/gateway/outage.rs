//! A store outage loses no acknowledged call: PostgreSQL behind a TCP proxy that resets every
//! connection for 10 s while clients send 100 calls a second.

use crate::harness::{Harness, Options, hello, postgres_schema};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Forwards connections to `upstream` while up; while down, resets every open connection and
/// each new one.
struct ResetProxy {
    addr: std::net::SocketAddr,
    down: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl ResetProxy {
    async fn start(upstream: &str) -> ResetProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let (state, cuts, upstream) = (down.clone(), cut.clone(), upstream.to_string());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if state.load(Ordering::SeqCst) {
                    reset(client);
                    continue;
                }
                let mut cut_rx = cuts.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        reset(client);
                        return;
                    };
                    let (mut c, mut s) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut c, &mut s) => {}
                        _ = cut_rx.changed() => {
                            reset(c);
                            reset(s);
                        }
                    }
                });
            }
        });
        ResetProxy { addr, down, cut }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            self.cut.send_modify(|n| *n += 1);
        }
    }
}

/// Closes with a TCP reset rather than a clean FIN, as a crashed or failed-over server does.
fn reset(s: TcpStream) {
    let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
    drop(s);
}

#[tokio::test]
async fn a_ten_second_store_outage_loses_no_acknowledged_call() {
    let direct = postgres_schema("outage").await;
    let proxy = ResetProxy::start("127.0.0.1:5432").await;
    let base = std::env::var("SEAM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let pg_port = base
        .rsplit_once('@')
        .and_then(|(_, hp)| hp.split('/').next())
        .unwrap_or("127.0.0.1:5432")
        .to_string();
    assert_eq!(
        pg_port, "127.0.0.1:5432",
        "this test proxies PostgreSQL at 127.0.0.1:5432"
    );
    let proxied = direct.replacen("127.0.0.1:5432", &proxy.addr.to_string(), 1);
    // A small queue, so that the outage outgrows it and the spool has to take records.
    let h = Harness::start(Options {
        store_url: Some(&proxied),
        store_extra: "queue_capacity = 64\nbatch_size = 16",
        ..Options::default()
    })
    .await;
    let h = Arc::new(h);

    let mut calls = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let start = tokio::time::Instant::now();
    let mut sent = 0;
    while start.elapsed() < Duration::from_secs(13) {
        tick.tick().await;
        let t = start.elapsed();
        if t >= Duration::from_secs(1) && t < Duration::from_secs(11) {
            proxy.set_down(true);
        } else if t >= Duration::from_secs(11) {
            proxy.set_down(false);
        }
        let h = h.clone();
        calls.spawn(async move {
            let r = h.chat(json!({"model": "chat", "messages": hello()})).await;
            (r.status() == 200).then(|| crate::harness::call_id(&r))
        });
        sent += 1;
    }
    proxy.set_down(false);
    let mut acknowledged = Vec::new();
    while let Some(r) = calls.join_next().await {
        if let Some(id) = r.unwrap() {
            acknowledged.push(id);
        }
    }
    assert!(sent >= 1000, "{sent} calls sent");
    assert_eq!(
        acknowledged.len(),
        sent,
        "the data plane kept serving through the store outage"
    );
    let metrics = h.metrics().await;
    let spooled = metric(&metrics, "seam_records_spooled_total");
    assert!(
        spooled > 0.0,
        "the queue outgrew 64 calls: records went to the spool\n{metrics}"
    );

    // Every acknowledged call is in the store, once (read directly, not through the proxy).
    let store = seam_store::SqlStore::connect(&direct).await.unwrap();
    let mut missing = acknowledged.clone();
    for _ in 0..600 {
        let mut still = Vec::new();
        for id in &missing {
            if seam_store::Records::get_call(&store, id)
                .await
                .unwrap()
                .is_none()
            {
                still.push(id.clone());
            }
        }
        missing = still;
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged calls are not in the store, e.g. {:?}",
        missing.len(),
        acknowledged.len(),
        missing.first()
    );
    let metrics = h.metrics().await;
    assert_eq!(
        metric_sum(&metrics, "seam_records_dropped_total"),
        0.0,
        "{metrics}"
    );
    // The outage is on the timeline, with what was spooled.
    let mut outage = None;
    for _ in 0..50 {
        let events = seam_store::Events::list_events(&store, 0, 100)
            .await
            .unwrap();
        outage = events
            .into_iter()
            .find(|e| e.kind.as_str() == "store_outage");
        if outage.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outage = outage.expect("a store_outage event");
    assert!(outage.message.contains("spooled"), "{}", outage.message);
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next())
        .filter_map(|v| v.parse::<f64>().ok())
        .sum()
}
