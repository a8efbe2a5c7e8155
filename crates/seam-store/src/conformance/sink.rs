//! Behaviour every record sink must show against its store: what it writes reads back through
//! the store unchanged, at either priority, and a batch written twice is stored once.

use super::{sample_attempt, sample_call, sample_stream, sole_attempt};
use crate::{CallRecord, ContentRecord, Priority, RecordBatch, RecordSink, Store};
use std::sync::Arc;

/// Run after [`super::run_all`], once per sink with a distinct `base_ms` (at least 50,000,000,
/// 1,000 apart): its calls are written from there on.
pub async fn sink_round_trip(store: &dyn Store, sink: Arc<dyn RecordSink>, base_ms: i64) {
    for (n, priority) in [(0, Priority::Background), (1, Priority::Normal)] {
        // More rows than one multi-row INSERT takes, and a remainder.
        let calls: Vec<CallRecord> = (0..37)
            .map(|i| {
                sample_call(
                    &format!("call_sink_{base_ms}_{n}_{i}"),
                    base_ms + n * 100 + i,
                    "sink",
                )
            })
            .collect();
        // Every eighth call made one attempt, as most calls do (a sink may keep such an attempt
        // in its call's row); one of them failed.
        let mut calls = calls;
        let mut attempts = Vec::new();
        // Some were served from a prompt release; some had tokens without a price, a sole
        // attempt (kept in its call's row) among them.
        for (i, c) in calls.iter_mut().enumerate() {
            if i % 3 == 0 {
                c.release_id = Some(format!("rel_{i:016}"));
            }
            // Eval traffic among them, a sole attempt among those: its purpose reads back.
            if i % 5 == 1 {
                c.purpose = seam_vocab::Purpose::Eval;
            }
            // Text with the characters a bulk format gives a meaning to reads back as it was.
            if i == 7 {
                c.error_message = Some("tab\there\nnew\rline \\N \\. \\x00 «ü» ' \"".into());
            }
            if i % 8 == 3 {
                let mut a = sole_attempt(c, i == 11);
                if i == 19 {
                    a.unpriced = true;
                    c.unpriced = true;
                }
                attempts.push(a);
            } else {
                attempts.push(sample_attempt(c, 1, false));
                let mut second = sample_attempt(c, 2, true);
                if i == 4 {
                    second.unpriced = true;
                    c.unpriced = true;
                }
                attempts.push(second);
            }
        }
        let streams = vec![sample_stream(&calls[0])];
        // Content of 18 calls (more than one multi-row INSERT): binary bodies, a NUL byte and
        // every byte value among them, one of a megabyte.
        let contents: Vec<ContentRecord> = calls
            .iter()
            .step_by(2)
            .enumerate()
            .map(|(i, c)| sample_content(c, i))
            .collect();
        let batch = RecordBatch {
            calls: calls.clone(),
            attempts: attempts.clone(),
            streams: streams.clone(),
            contents: contents.clone(),
        };
        sink.write(Arc::new(batch), priority)
            .await
            .expect("the sink writes");
        for c in &calls {
            let (call, back) = store.get_call(&c.id).await.expect("get").expect("found");
            assert_eq!(&call, c, "{priority:?}");
            let mine: Vec<_> = attempts
                .iter()
                .filter(|a| a.call_id == c.id)
                .cloned()
                .collect();
            assert_eq!(back, mine, "{priority:?}");
        }
        let listed = store
            .list_streams(50_000_000 + n * 10)
            .await
            .expect("streams");
        assert!(listed.contains(&streams[0]), "{priority:?}: {listed:?}");
        for content in &contents {
            let back = store
                .get_content(&content.call_id)
                .await
                .expect("get content")
                .expect("content written");
            assert_eq!(&back, content, "{priority:?}");
        }
        let none = store.get_content(&calls[1].id).await.expect("get content");
        assert_eq!(none, None, "a call captured without content has none");
        // Reports count every attempt, wherever the sink kept it.
        let (_, groups) = store
            .reliability(base_ms + n * 100)
            .await
            .expect("reliability");
        let counted: i64 = groups
            .iter()
            .filter(|g| g.route == "chat")
            .map(|g| g.attempts)
            .sum();
        assert!(
            counted >= attempts.len() as i64,
            "{priority:?}: {counted} attempts counted of {} written",
            attempts.len()
        );
    }

    // A batch written again (a retry after a lost answer, a replay of the spool) stores each
    // record once: records already stored are kept as they are, the rest are written, whether
    // the repeated call sits among new rows or comes alone after them.
    let stored = sample_call(&format!("call_sink_{base_ms}_0_0"), base_ms, "sink");
    let mut changed = stored.clone();
    changed.status = 599;
    for at in [3, 12] {
        let mut calls: Vec<CallRecord> = (0..12)
            .map(|i| {
                sample_call(
                    &format!("call_sink_{base_ms}_fresh_{at}_{i}"),
                    base_ms + 300,
                    "sink",
                )
            })
            .collect();
        let mut attempts: Vec<_> = calls.iter().map(|c| sample_attempt(c, 1, true)).collect();
        attempts.push(sole_attempt(&mut changed, true));
        calls.insert(at, changed.clone());
        let mut content = sample_content(&changed, 3);
        content.truncated = !content.truncated;
        let batch = Arc::new(RecordBatch {
            calls: calls.clone(),
            attempts: attempts.clone(),
            streams: Vec::new(),
            contents: vec![content],
        });
        for _ in 0..2 {
            sink.write(batch.clone(), Priority::Background)
                .await
                .expect("a batch with stored records is written");
        }
        for c in calls.iter().filter(|c| c.id != stored.id) {
            let (call, back) = store.get_call(&c.id).await.expect("get").expect("written");
            assert_eq!(&call, c);
            assert_eq!(back.len(), 1, "{} has its one attempt once", c.id);
        }
        let (call, back) = store
            .get_call(&stored.id)
            .await
            .expect("get")
            .expect("kept");
        assert_eq!(
            call.status, stored.status,
            "a stored call is not overwritten"
        );
        assert_eq!(back.len(), 2, "its two attempts, not a third");
        let kept = store
            .get_content(&stored.id)
            .await
            .expect("get content")
            .expect("kept");
        assert_eq!(
            kept,
            sample_content(&stored, 0),
            "stored content is not overwritten"
        );
    }

    // The hourly rollups hold what the calls hold, each call once, however often written.
    let only = crate::Tenants::Only(vec!["sink".into()]);
    let since = crate::hour_floor(base_ms);
    let hours = store.hours_in(since, &only).await.expect("hours");
    let (raw_calls, raw_attempts) = store.reliability_in(since, &only).await.expect("raw");
    let (calls, attempts) = hours.groups(|_| true);
    let totals = |c: &[crate::CallGroup]| -> (i64, i64, i64, i64) {
        c.iter().fold((0, 0, 0, 0), |t, g| {
            (
                t.0 + g.calls,
                t.1 + g.dispatched,
                t.2 + g.attempts,
                t.3 + g.budget_exhausted,
            )
        })
    };
    assert_eq!(totals(&calls), totals(&raw_calls), "calls in the rollups");
    let attempts_of = |a: &[crate::AttemptGroup]| -> (i64, i64) {
        a.iter()
            .fold((0, 0), |t, g| (t.0 + g.attempts, t.1 + g.first_attempts))
    };
    assert_eq!(
        attempts_of(&attempts),
        attempts_of(&raw_attempts),
        "attempts in the rollups"
    );
    let usage = hours.usage(crate::UsageBy::Tenant).expect("by tenant");
    let raw = store
        .usage_in(crate::UsageBy::Tenant, since, &only)
        .await
        .expect("usage");
    let counts = |u: &[crate::UsageRow]| -> Vec<(String, i64, i64, i64)> {
        u.iter()
            .map(|r| (r.key.clone(), r.calls, r.input_tokens, r.output_tokens))
            .collect()
    };
    assert_eq!(counts(&usage), counts(&raw));
}

/// Content for `call`, its body depending on `i`: every byte value, a NUL among them; the
/// fourth a megabyte.
fn sample_content(call: &CallRecord, i: usize) -> ContentRecord {
    let len = if i == 3 { 1 << 20 } else { 256 + i };
    let body: Vec<u8> = (0..len).map(|b| (b * 7 + i) as u8).collect();
    ContentRecord {
        call_id: call.id.clone(),
        created_ms: call.created_ms,
        format: ContentRecord::FORMAT,
        bytes: len as i64 * 3,
        truncated: i % 2 == 1,
        redactions: i as i64,
        body,
    }
}
