//! The connection clock and the cap, on a paused clock.

use super::*;

fn conn(header_ms: u64, idle_ms: u64) -> Arc<Conn> {
    Arc::new(Conn {
        opened: Instant::now(),
        header_timeout: Duration::from_millis(header_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        calls: AtomicU32::new(0),
        served: AtomicBool::new(false),
        head_from: AtomicU64::new(1),
        idle_from: AtomicU64::new(1),
        evicted: AtomicBool::new(false),
        evict: Notify::new(),
    })
}

#[tokio::test(start_paused = true)]
async fn a_head_is_due_within_the_header_timeout_and_the_next_within_the_idle_timeout() {
    let c = conn(1_000, 5_000);
    let t0 = Instant::now();
    assert_eq!(c.step(t0), Step::CheckAt(t0 + Duration::from_secs(1)));
    assert_eq!(
        c.step(t0 + Duration::from_secs(1)),
        Step::Close(Closed::HeaderTimeout)
    );

    // The head came in time: no deadline while the call is in flight, however long.
    let call = c.begin_call();
    assert!(matches!(
        c.step(t0 + Duration::from_secs(30)),
        Step::CheckAt(_)
    ));
    tokio::time::advance(Duration::from_secs(30)).await;
    drop(call);
    let ended = Instant::now();
    assert_eq!(c.step(ended), Step::CheckAt(ended + Duration::from_secs(5)));
    assert_eq!(
        c.step(ended + Duration::from_secs(5)),
        Step::Close(Closed::IdleTimeout)
    );

    // A byte of the next head, 4 s into the idle time: the header timeout runs from it.
    tokio::time::advance(Duration::from_secs(4)).await;
    c.on_read();
    let first_byte = Instant::now();
    assert_eq!(
        c.step(first_byte),
        Step::CheckAt(first_byte + Duration::from_secs(1))
    );
    assert_eq!(
        c.step(first_byte + Duration::from_secs(1)),
        Step::Close(Closed::HeaderTimeout)
    );
}

#[tokio::test(start_paused = true)]
async fn at_the_cap_the_longest_waiting_connection_that_never_made_a_call_goes_first() {
    let metrics = crate::observe::Metrics::new();
    let conns = Connections::new(3, metrics);
    let mut open = Vec::new();
    for _ in 0..3 {
        let slot = conns.slot().await;
        open.push(conns.register(slot, Duration::from_secs(10), Duration::from_secs(75)));
        tokio::time::advance(Duration::from_millis(10)).await;
    }
    // The first made a call and waits for its next; the second is in a call; the third
    // has not sent its head yet.
    drop(open[0].conn.begin_call());
    let _busy = open[1].conn.begin_call();
    assert!(
        !conns.evict_one(),
        "a connection just opened may not have been read yet"
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(conns.evict_one());
    assert!(open[2].conn.evicted.load(Ordering::Relaxed));
    assert!(conns.evict_one());
    assert!(open[0].conn.evicted.load(Ordering::Relaxed));
    assert!(!conns.evict_one(), "the one in a call stays");
    assert!(!open[1].conn.evicted.load(Ordering::Relaxed));
    // A slot comes back when an evicted connection's task ends.
    let waiting = tokio::spawn({
        let conns = conns.clone();
        async move { conns.slot().await }
    });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    drop(open.remove(2));
    let slot = waiting.await.expect("a slot");
    drop(slot);
    // Each evicted connection is counted out as it closes: the next full gateway evicts again.
    assert_eq!(conns.evicting.load(Ordering::Relaxed), 1);
    drop(open.remove(0));
    assert_eq!(conns.evicting.load(Ordering::Relaxed), 0);
}

#[test]
fn the_default_cap_leaves_descriptors_for_upstream_sockets() {
    assert_eq!(default_max(Some(1024)), 480);
    assert_eq!(default_max(Some(20_000)), 9_968);
    assert_eq!(default_max(Some(64)), 16);
    assert_eq!(default_max(Some(u64::MAX)), 65_536);
    assert_eq!(default_max(None), 480);
}
