//! The charted pages from a seeded store: Home's sparklines, refusals by code, pending
//! approvals, failing gates and audit status; Reliability over time; Streams. Numbers, SVG,
//! escaping, a viewer's scope, and bad filters.

mod common;

use common::*;
use http::{StatusCode, header};

async fn world() -> World {
    let w = World::new().await;
    seed_charts(w.store.as_ref()).await;
    w
}

#[tokio::test]
async fn the_charted_pages_need_a_session() {
    let mut w = world().await;
    for path in ["/ui/reliability", "/ui/streams?since=1h"] {
        let a = w.get(path, None).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(a.headers[header::LOCATION], "/ui/signin", "{path}");
    }
}

#[tokio::test]
async fn home_charts_each_route_and_lists_refusals_approvals_gates_and_the_audit_chain() {
    let mut w = world().await;
    let (session, _) = w.sign_in(ADA).await;
    let home = w.get("/ui/", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK);
    let b = &home.body;
    // The route's name is text, in the table and in its link.
    assert!(b.contains(">&lt;i&gt;x&lt;&#x2f;i&gt;</a>"), "{b}");
    assert!(!b.contains("<i>x</i>"));
    // Two of its calls reached a provider; both first attempts failed, one call in the end.
    assert!(b.contains("<td>100.0%</td><td>50.0%</td>"), "{b}");
    // Sparklines, inline, per route: first-attempt and final error rate.
    assert!(b.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"spark\""));
    assert!(b.contains("aria-label=\"final error rate per hour, last 24 h\""));
    assert!(!b.contains("style="), "the CSP forbids inline styles");
    // Refusals by code, every tenant's for an admin, with their bar chart.
    assert!(b.contains("<td>tenant_cost_limit</td><td>1</td>"), "{b}");
    assert!(b.contains("<td>key_request_limit</td><td>1</td>"), "{b}");
    assert!(b.contains("aria-label=\"refused calls by code, last 24 h\""));
    // The release waiting for an approval, linked to its prompt; an admin may approve it
    // while the prompt has no owners on production.
    assert!(
        b.contains("<a href=\"/ui/prompts/support-bot\">support-bot</a>"),
        "{b}"
    );
    assert!(b.contains("rel_pending") && b.contains("(you may approve it)"));
    // The failed gate decision.
    assert!(
        b.contains("<td>rel_new</td><td>rel_old</td><td>faq</td><td>fail</td>"),
        "{b}"
    );
    // The audit chain: ada's sign-in is on it, and the seeded release, written straight
    // into the store, has no audit record: the chain says so.
    assert!(b.contains("Broken: 1 record checked at "), "{b}");
    assert!(
        b.contains(
            "<li>release rel_pending: no audit record created it: it was inserted outside Seam</li>"
        ),
        "{b}"
    );
}

#[tokio::test]
async fn a_viewer_sees_only_their_tenants_refusals_and_not_the_audit_chain() {
    let mut w = world().await;
    let (session, _) = w.sign_in(VIC).await;
    let b = w.get("/ui/", Some(&session)).await.body;
    assert!(b.contains("<td>tenant_cost_limit</td><td>1</td>"), "{b}");
    assert!(!b.contains("key_request_limit"), "globex's refusal");
    assert!(b.contains("Admins only."));
    assert!(!b.contains("Intact"));
    // vic may not approve: the prompt's releases need an admin.
    assert!(b.contains("rel_pending") && !b.contains("(you may approve it)"));

    let r = w.get("/ui/reliability?since=1d", Some(&session)).await.body;
    assert!(
        r.contains("Route <a href=\"/ui/calls?route=chat\">chat</a>"),
        "{r}"
    );
    assert!(!r.contains("route=search"), "globex's route: {r}");
    let s = w.get("/ui/streams", Some(&session)).await.body;
    assert!(s.contains("<h2>Route chat</h2>"), "{s}");
    assert!(
        !s.contains("<h2>Route search</h2>") && !s.contains("999.0"),
        "{s}"
    );
}

#[tokio::test]
async fn reliability_charts_each_route_and_provider_over_time() {
    let mut w = world().await;
    let (session, _) = w.sign_in(ADA).await;
    let a = w
        .get("/ui/reliability?since=1d&bucket=1h", Some(&session))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let b = &a.body;
    assert!(
        b.contains(
            "Route <a href=\"/ui/calls?route=%3Ci%3Ex%3C%2Fi%3E\">&lt;i&gt;x&lt;&#x2f;i&gt;</a>"
        ),
        "{b}"
    );
    assert!(!b.contains("<i>x</i>"));
    // The whole window, then each hour: the retried call's hour had no final error, the
    // failed call's hour did (its budget refusal too).
    assert!(
        b.contains(
            "3 calls: first-attempt errors 100.0%, final errors 50.0%, 2.00 attempts per call"
        ),
        "{b}"
    );
    // (70 minutes apart, the two calls are in two hours; the refusal may share the second's.)
    assert!(
        b.contains("<td>100.0%</td><td>100.0%</td><td>2.00</td><td>100.0%</td><td>1</td>"),
        "{b}"
    );
    assert!(
        b.contains("<td>1</td><td>1</td><td>100.0%</td><td>0.0%</td><td>2.00</td>"),
        "{b}"
    );
    // Charts: the rates (three series with their legend) and the counts, per route; a chart
    // per provider.
    assert!(b.contains("class=\"chart\""));
    for legend in [
        "first-attempt error rate",
        "final error rate",
        "retry tax",
        "attempts per call",
        "budget refusals",
        "attempt error rate",
    ] {
        assert!(b.contains(&format!(">{legend}</text>")), "{legend}");
    }
    assert!(b.contains("<figcaption>local</figcaption>"));
    assert!(!b.contains("style="));
    // Filters: a route, a provider no call went to.
    let chat = w
        .get("/ui/reliability?route=chat", Some(&session))
        .await
        .body;
    assert!(chat.contains("Route <a href=\"/ui/calls?route=chat\">chat</a>"));
    assert!(!chat.contains("&lt;i&gt;x"));
    let none = w
        .get("/ui/reliability?provider=elsewhere", Some(&session))
        .await
        .body;
    assert!(none.contains("that match the filters"), "{none}");
}

#[tokio::test]
async fn bad_filters_are_a_400_naming_the_filter() {
    let mut w = world().await;
    let (session, _) = w.sign_in(ADA).await;
    for (path, says) in [
        ("/ui/reliability?since=forever", "since `forever`"),
        ("/ui/reliability?bucket=1s", "bucket `1s`"),
        ("/ui/reliability?since=7d&bucket=1m", "bucket `1m`"),
        ("/ui/reliability?bucket=%3Cb%3E", "bucket `&lt;b&gt;`"),
        ("/ui/streams?since=0h", "since `0h`"),
    ] {
        let a = w.get(path, Some(&session)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(a.body.contains(says), "{path}: {}", a.body);
    }
}

#[tokio::test]
async fn streams_show_slo_attainment_beside_tokens_per_second_and_the_distributions() {
    let mut w = world().await;
    let (session, _) = w.sign_in(ADA).await;
    let a = w.get("/ui/streams?since=24h", Some(&session)).await;
    assert_eq!(a.status, StatusCode::OK);
    let b = &a.body;
    // Three of four acme streams met the SLO; each ran at 40 tokens per second.
    assert!(
        b.contains("4 streams: SLO met 75.0%, median tokens per second 40.0."),
        "{b}"
    );
    assert!(
        b.contains(
            "<td>chat</td><td>up</td><td>-</td><td>4</td><td>75.0% (3&#x2f;4)</td><td>40.0</td>"
        ),
        "{b}"
    );
    assert!(
        b.contains("<h2>Route search</h2>"),
        "an admin sees globex's too"
    );
    for label in ["SLO attainment", "tokens per second (median)"] {
        assert!(b.contains(&format!(">{label}</text>")), "{label}");
    }
    for chart in [
        "streams by median gap, ms",
        "streams by 95th-percentile gap, ms",
        "streams by median characters per chunk",
    ] {
        assert!(b.contains(&format!("aria-label=\"{chart}\"")), "{chart}");
    }
    // The shape change, as text.
    assert!(
        b.contains("local now sends &lt;em&gt;one-token&lt;&#x2f;em&gt; chunks"),
        "{b}"
    );
    assert!(!b.contains("<em>"));
    let only = w.get("/ui/streams?route=search", Some(&session)).await.body;
    assert!(
        only.contains("1 streams since") && !only.contains("<h2>Route chat</h2>"),
        "{only}"
    );
    assert!(
        only.contains("No provider&#x27;s chunking changed shape")
            || only.contains("No provider's chunking"),
        "{only}"
    );
}

#[tokio::test]
async fn an_intact_chain_says_so_to_an_admin() {
    let mut w = World::new().await;
    let (session, _) = w.sign_in(ADA).await;
    let b = w.get("/ui/", Some(&session)).await.body;
    assert!(b.contains("Intact: 1 record;"), "{b}");
    assert!(b.contains("No call was refused by a limit in the last 24 hours."));
    assert!(b.contains("No release of the last 30 days waits for an approval."));
    assert!(b.contains("No gate decision of the last 7 days is failing."));
}
