//! The calls search reads only the hours whose rollups hold a matching call, and finds the
//! same calls, newest first, as reading every call of the window would.

mod common;

use common::*;
use http::StatusCode;
use seam_store::conformance::sample_call;
use seam_store::{CallRecord, RecordBatch, now_ms};

const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn a_filtered_search_finds_the_newest_matches_across_hours() {
    let mut w = World::new().await;
    let now = now_ms();
    // Route `rare` has calls 5, 3 and 1 hours ago (two in the oldest hour); `busy` in every
    // hour between.
    let mut calls: Vec<CallRecord> = Vec::new();
    for (i, (hours_ago, route)) in [
        (5, "rare"),
        (5, "rare"),
        (4, "busy"),
        (3, "rare"),
        (2, "busy"),
        (1, "rare"),
        (1, "busy"),
    ]
    .iter()
    .enumerate()
    {
        let mut c = sample_call(
            &format!("call_s{i}"),
            now - hours_ago * HOUR + i64::try_from(i).unwrap_or(0),
            "acme",
        );
        c.route = (*route).into();
        c.trace_id = Some(c.id.clone());
        if i == 3 {
            c.status = 502;
            c.outcome = seam_vocab::Outcome::Error;
        }
        calls.push(c);
    }
    w.store
        .insert_batch(&RecordBatch {
            calls,
            attempts: Vec::new(),
            streams: Vec::new(),
            contents: Vec::new(),
        })
        .await
        .expect("records");
    let (session, _) = w.sign_in(ADA).await;
    let listed = |body: &str| -> Vec<String> {
        let mut ids: Vec<(usize, String)> = (0..7)
            .map(|i| format!("call_s{i}"))
            .filter_map(|id| body.find(&format!(">{id}<")).map(|at| (at, id)))
            .collect();
        ids.sort();
        ids.into_iter().map(|(_, id)| id).collect()
    };
    let rare = w
        .get("/ui/calls?route=rare&since=24h", Some(&session))
        .await;
    assert_eq!(rare.status, StatusCode::OK);
    assert_eq!(
        listed(&rare.body),
        ["call_s5", "call_s3", "call_s1", "call_s0"]
    );
    // The limit counts across the hours read.
    let two = w
        .get("/ui/calls?route=rare&since=24h&limit=3", Some(&session))
        .await;
    assert_eq!(listed(&two.body), ["call_s5", "call_s3", "call_s1"]);
    // The window still holds: the oldest hour is outside 4 h.
    let recent = w.get("/ui/calls?route=rare&since=4h", Some(&session)).await;
    assert_eq!(listed(&recent.body), ["call_s5", "call_s3"]);
    let none = w
        .get("/ui/calls?route=nowhere&since=24h", Some(&session))
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(listed(&none.body).is_empty());
    let busy = w
        .get("/ui/calls?route=busy&tenant=acme", Some(&session))
        .await;
    assert_eq!(listed(&busy.body), ["call_s6", "call_s4", "call_s2"]);
}
