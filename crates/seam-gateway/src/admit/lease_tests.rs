//! Leased limits against a real Redis (127.0.0.1:6379, or SEAM_TEST_REDIS; these fail, never
//! skip, when it is not running): two `Limiter`s sharing one Redis are two gateways.

use super::{Estimate, Limiter};
use crate::authenticate::Caller;
use seam_config::{
    FailMode, LimitBackend, LimitWindow, Limits, Metric, OnBackendDown, TenantLimit, TraceLimits,
};
use seam_wire::Usage;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn redis_url() -> String {
    std::env::var("SEAM_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn cfg(name: &str, url: String, limits: Vec<TenantLimit>, trace: TraceLimits) -> Limits {
    Limits {
        backend: LimitBackend::Redis(url),
        key_prefix: format!(
            "seamtest:lease:{name}:{}:{}",
            std::process::id(),
            seam_store::now_ms()
        ),
        tenant_default: limits,
        trace_default: trace,
        ..Limits::default()
    }
}

fn gateway(c: &Limits) -> Arc<Limiter> {
    Arc::new(Limiter::new(c, crate::observe::Metrics::new()).expect("limiter"))
}

fn lim(metric: Metric, max: f64) -> TenantLimit {
    TenantLimit {
        metric,
        window: LimitWindow::Hour,
        max,
    }
}

fn who() -> Caller {
    Caller {
        tenant: "acme".into(),
        key_id: None,
        key_limits: Arc::from(Vec::new()),
        purpose: seam_vocab::Purpose::Live,
    }
}

/// Within the hour that is current: far from its end, so no window rolls during a test.
fn now() -> i64 {
    let (_, end) = seam_config::window_of(LimitWindow::Hour, seam_store::now_ms());
    end - 30 * 60_000 + seam_store::now_ms() % 1000
}

const EST: u64 = 90;

/// One call: admitted (counted in `admitted`), then one attempt reserved and billed as
/// estimated. False when either is refused.
async fn call(l: &Arc<Limiter>, c: &Limits, trace: &str, at: i64, admitted: &AtomicU64) -> bool {
    let tl = c.trace_default;
    if l.admit_call(c, &who(), trace, &tl, at).await.is_err() {
        return false;
    }
    admitted.fetch_add(1, Ordering::Relaxed);
    let est = Estimate {
        input_tokens: EST,
        output_tokens: 0,
        cost: 0.0,
    };
    match l.reserve(c, &who(), trace, &tl, est, at).await {
        Ok(r) => {
            r.settle(
                Usage {
                    input_tokens: EST,
                    output_tokens: 0,
                },
                0.0,
            );
            true
        }
        Err(_) => false,
    }
}

/// Both gateways, `tasks` each, call until refused; returns the calls admitted (each counts
/// one request) and those whose attempt was reserved too.
async fn hammer(gws: &[Arc<Limiter>], c: &Limits, tasks: usize) -> (u64, u64) {
    let passed = Arc::new(AtomicU64::new(0));
    let admitted = Arc::new(AtomicU64::new(0));
    let mut js = Vec::new();
    for g in gws {
        for t in 0..tasks {
            let (g, c, passed) = (g.clone(), c.clone(), passed.clone());
            let admitted = admitted.clone();
            js.push(tokio::spawn(async move {
                let mut i = 0;
                while call(&g, &c, &format!("t{t}-{i}"), now(), &admitted).await {
                    passed.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            }));
        }
    }
    for j in js {
        j.await.expect("caller task");
    }
    (
        admitted.load(Ordering::Relaxed),
        passed.load(Ordering::Relaxed),
    )
}

/// Rounds of [`hammer`] until one passes nothing; between rounds both gateways give their
/// leases back (as they do when leases expire), so what one held back the other may spend.
/// Returns the calls admitted in the first round, in all, and those that passed in all.
async fn hammer_until_spent(gws: &[Arc<Limiter>], c: &Limits, tasks: usize) -> (u64, u64, u64) {
    let (mut first, mut all, mut through) = (None, 0, 0);
    for _ in 0..50 {
        let (passed, reserved) = hammer(gws, c, tasks).await;
        through += reserved;
        for g in gws {
            g.give_back_leases().await;
        }
        println!("round: {passed} admitted, {reserved} reserved");
        first.get_or_insert(passed);
        all += passed;
        // A spent token budget still admits calls (nothing refuses them before the attempt).
        if passed == 0 || reserved == 0 {
            break;
        }
    }
    (first.unwrap_or(0), all, through)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_hammering_one_budget_stay_within_it_with_few_round_trips() {
    let (requests, tokens) = (3000.0, 3000.0 * EST as f64);
    let c = cfg(
        "hammer",
        redis_url(),
        vec![lim(Metric::Requests, requests), lim(Metric::Tokens, tokens)],
        TraceLimits::default(),
    );
    let gws = [gateway(&c), gateway(&c)];
    let (first, passed, through) = hammer_until_spent(&gws, &c, 8).await;
    let trips: u64 = gws.iter().map(|g| g.redis_round_trips()).sum();
    // A lease is reserved in Redis before it is spent: requests never pass the limit, and
    // tokens only by what the providers bill over the estimates (here nothing).
    let bound = 0.0;
    let overshoot = (passed as f64 - requests).max(0.0);
    println!(
        "limit {requests} requests, admitted {passed} ({first} before any lease was given back; {through} also reserved their tokens); bound {bound}, overshoot {overshoot}; {trips} Redis round trips for {passed} calls ({:.3} a call; 3 before leases: admit, reserve, settle)",
        trips as f64 / passed as f64
    );
    assert!(overshoot <= bound, "{passed} passed a limit of {requests}");
    assert!(through as f64 * EST as f64 <= tokens);
    assert_eq!(
        passed, 3000,
        "the last units are granted exactly once leases are given back"
    );
    assert!(
        trips * 4 < passed,
        "{trips} round trips for {passed} calls: leases should spare most"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nearly_spent_budget_overshoots_nothing() {
    // 11 calls of 90 tokens fit in 1000; concurrent calls from both gateways.
    let c = cfg(
        "nearly",
        redis_url(),
        vec![lim(Metric::Tokens, 1000.0)],
        TraceLimits::default(),
    );
    let gws = [gateway(&c), gateway(&c)];
    let (first, _, passed) = hammer_until_spent(&gws, &c, 6).await;
    println!(
        "budget 1000 tokens, {passed} calls of {EST} passed ({first} in the first round): {} billed, overshoot {}",
        passed * EST,
        (passed * EST).saturating_sub(1000)
    );
    assert_eq!(passed, 11, "exactly what fits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_trace_caps_stay_exact_across_gateways() {
    let tl = TraceLimits {
        max_calls: Some(5),
        ..TraceLimits::default()
    };
    let c = cfg("trace", redis_url(), vec![lim(Metric::Requests, 1e6)], tl);
    let gws = [gateway(&c), gateway(&c)];
    let mut js = Vec::new();
    for i in 0..20 {
        let (g, c) = (gws[i % 2].clone(), c.clone());
        js.push(tokio::spawn(async move {
            g.admit_call(&c, &who(), "one-trace", &c.trace_default, now())
                .await
                .map_err(|r| r.code.as_str().to_string())
        }));
    }
    let mut ok = 0;
    for j in js {
        match j.await.expect("task") {
            Ok(()) => ok += 1,
            Err(code) => assert_eq!(code, "trace_call_limit"),
        }
    }
    assert_eq!(ok, 5, "a trace cap of 5 calls across two gateways");
}

/// A TCP relay to Redis that the test can cut, as if Redis went down.
struct Relay {
    url: String,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    async fn start() -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let target = redis_url().trim_start_matches("redis://").to_string();
        let tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                held.lock().expect("relay").push(conn.abort_handle());
            }
        });
        tasks.lock().expect("relay").push(accept.abort_handle());
        Relay {
            url: format!("redis://{addr}"),
            tasks,
        }
    }

    fn cut(&self) {
        for t in self.tasks.lock().expect("relay").drain(..) {
            t.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_mid_lease_spends_the_lease_then_follows_on_backend_down() {
    let relay = Relay::start().await;
    let mut c = cfg(
        "down",
        relay.url.clone(),
        vec![lim(Metric::Requests, 1000.0)],
        TraceLimits::default(),
    );
    c.on_backend_down = OnBackendDown {
        requests: FailMode::Closed,
        ..OnBackendDown::default()
    };
    let g = gateway(&c);
    let tl = TraceLimits::default();
    let at = now();
    g.admit_call(&c, &who(), "a", &tl, at)
        .await
        .expect("the first call leases 8 requests");
    assert_eq!(g.redis_round_trips(), 1, "one round trip: the lease");
    relay.cut();
    // Past the lease's second: the flush that would give it back cannot, and keeps it.
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let trips = g.redis_round_trips();
    for i in 0..7 {
        g.admit_call(&c, &who(), "a", &tl, at)
            .await
            .unwrap_or_else(|r| panic!("call {i} of the lease's unspent 7: {}", r.message));
    }
    assert_eq!(
        g.redis_round_trips(),
        trips,
        "calls a lease covers make no round trip"
    );
    let r = g
        .admit_call(&c, &who(), "a", &tl, at)
        .await
        .expect_err("the lease is spent and Redis is down: closed");
    assert_eq!(r.code.as_str(), "limits_unavailable");
    assert_eq!(r.status, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_from_the_limit_calls_rarely_reach_redis() {
    let c = cfg(
        "steady",
        redis_url(),
        vec![lim(Metric::Requests, 1e9), lim(Metric::Tokens, 1e12)],
        TraceLimits::default(),
    );
    let gws = [gateway(&c), gateway(&c)];
    let admitted = AtomicU64::new(0);
    let calls = 4000;
    for i in 0..calls {
        let g = &gws[i % 2];
        assert!(call(g, &c, &format!("s{i}"), now(), &admitted).await);
    }
    let trips: u64 = gws.iter().map(|g| g.redis_round_trips()).sum();
    println!(
        "{calls} calls far from the limit: {trips} Redis round trips ({:.4} a call)",
        trips as f64 / calls as f64
    );
    assert!(
        trips * 20 < calls as u64,
        "{trips} round trips for {calls} calls"
    );
}
