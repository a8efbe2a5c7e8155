//! One pass of the signals over a window of recorded calls: read the calls with their
//! captured content, compute every signal (`seam-signals`), and store the flags, replacing
//! those of an earlier pass over the same calls. Negative feedback posted in the window is
//! a flag too. Run by `seam serve` in the background and by `seam failures`/`seam coverage`
//! before they report; never on the request path.

use super::embed::Embedder;
use super::turns::turn;
use crate::Result;
use crate::calls::Content;
use seam_signals::{Coverage, Turn};
use seam_store::{CallRecord, Failures, FeedbackRecord, FlagRecord, Records, Tenants};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Calls read per store query.
const PAGE: i64 = 2_000;
/// Flags written per store transaction.
const WRITE_BATCH: usize = 1_000;

/// What a pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scanned {
    pub since_ms: i64,
    pub until_ms: i64,
    pub calls: usize,
    /// Flags stored (new or replaced), feedback included.
    pub flags: u64,
    /// Flags per signal, feedback included.
    pub by_signal: BTreeMap<String, usize>,
    /// Turns with and without captured text, and the signals that could not be computed.
    pub coverage: Coverage,
    /// Captured contents that did not decode: their calls were read as metadata only.
    pub undecodable: usize,
    /// The window held more calls than a pass reads (`max_calls`): the pass stopped at the
    /// call created at this time, and later calls of the window were not scanned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at_ms: Option<i64>,
    /// How the rephrase signal compared texts: "lexical", "embeddings via route `…` (…)", or
    /// "lexical (embedding route `…` failed: …)".
    pub similarity: String,
}

/// The calls of one window, as the signals and the clusters read them.
pub struct Window {
    pub turns: Vec<Turn>,
    /// Each turn's call, in the same order.
    pub calls: Vec<CallRecord>,
}

impl Window {
    /// Reads the live calls of `tenants` created in `[since_ms, until_ms)` with their content,
    /// the oldest first and at most `max_calls` of them; returns too how many contents did not
    /// decode and, when it stopped short, the time of the last call read.
    pub async fn read(
        store: &(impl Failures + ?Sized),
        since_ms: i64,
        until_ms: i64,
        tenants: &Tenants,
        max_calls: Option<usize>,
    ) -> Result<(Window, usize, Option<i64>)> {
        let mut w = Window {
            turns: Vec::new(),
            calls: Vec::new(),
        };
        let mut undecodable = 0;
        let mut after = None;
        let max = max_calls.unwrap_or(usize::MAX);
        loop {
            let page = store.signal_calls(since_ms, until_ms, after, PAGE).await?;
            let full = page.len() as i64 == PAGE;
            let cursor = page.last().map(|r| (r.call.created_ms, r.call.id.clone()));
            let room = max.saturating_sub(w.calls.len());
            let allowed: Vec<_> = page
                .into_iter()
                .filter(|r| tenants.allows(&r.call.tenant))
                .collect();
            let more = allowed.len() > room;
            for row in allowed.into_iter().take(room) {
                let content = row.content.as_ref().map(Content::from_record);
                let body = content.as_ref().and_then(|c| c.body.as_ref().ok());
                undecodable += usize::from(content.is_some() && body.is_none());
                w.turns.push(turn(&row.call, body));
                w.calls.push(row.call);
            }
            if more {
                let last = w.calls.last().map(|c| c.created_ms);
                return Ok((w, undecodable, last));
            }
            match (full, cursor) {
                (true, Some(c)) => after = Some(c),
                _ => break,
            }
        }
        Ok((w, undecodable, None))
    }
}

/// Scans `tenants`' calls of `[since_ms, until_ms)` and stores their flags; `until_ms` stands
/// for now (a session idle since its last failed call is abandoned only once
/// `abandon_idle_secs` have passed).
pub async fn scan(
    store: &(impl Failures + Records + ?Sized),
    since_ms: i64,
    until_ms: i64,
    tenants: &Tenants,
    opts: &seam_signals::Options,
    embed: Option<&mut Embedder<'_>>,
) -> Result<Scanned> {
    Ok(scan_window(store, since_ms, until_ms, tenants, opts, embed)
        .await?
        .0)
}

/// As [`scan`], and the window it read with the flags it stored (those the caller reads next,
/// without reading them back).
pub async fn scan_window(
    store: &(impl Failures + Records + ?Sized),
    since_ms: i64,
    until_ms: i64,
    tenants: &Tenants,
    opts: &seam_signals::Options,
    embed: Option<&mut Embedder<'_>>,
) -> Result<(Scanned, Window, Vec<FlagRecord>)> {
    let (window, undecodable, stopped_at_ms) =
        Window::read(store, since_ms, until_ms, tenants, opts.max_calls).await?;
    let opts = seam_signals::Options {
        now_ms: Some(until_ms),
        ..opts.clone()
    };
    let (found, similarity) = match embed {
        None => (
            seam_signals::scan(&window.turns, &opts),
            "lexical".to_string(),
        ),
        Some(e) => {
            let compared = seam_signals::rephrase_texts(&window.turns, &opts);
            let texts = compared
                .iter()
                .filter_map(|&i| window.turns[i].user_text.as_deref());
            let found = if e.embed(texts).await {
                let dense = seam_signals::Dense {
                    vectors: &*e,
                    rephrase_threshold: e.rephrase_threshold,
                };
                seam_signals::scan_dense(&window.turns, &opts, &dense)
            } else {
                seam_signals::scan(&window.turns, &opts)
            };
            (found, e.similarity())
        }
    };
    let by_id: HashMap<&str, &CallRecord> =
        window.calls.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut flags: Vec<FlagRecord> = found
        .flags
        .iter()
        .filter_map(|f| {
            let call = by_id.get(f.call_id.as_str())?;
            Some(flag_of(call, f.signal.as_str(), f.evidence.clone()))
        })
        .collect();
    let feedback = store.list_feedback_in(since_ms, until_ms, tenants).await?;
    for fb in feedback.iter().filter(|f| f.score < 0.0) {
        if let Some(call) = feedback_call(store, fb, &by_id).await? {
            flags.push(flag_of(&call, "feedback", feedback_evidence(fb)));
        }
    }
    let mut out = Scanned {
        since_ms,
        until_ms,
        calls: window.calls.len(),
        coverage: found.coverage,
        undecodable,
        stopped_at_ms,
        similarity,
        ..Scanned::default()
    };
    for f in &flags {
        *out.by_signal.entry(f.signal.clone()).or_default() += 1;
    }
    for chunk in flags.chunks(WRITE_BATCH) {
        out.flags += store.upsert_flags(chunk).await?;
    }
    Ok((out, window, flags))
}

fn flag_of(call: &CallRecord, signal: &str, evidence: String) -> FlagRecord {
    FlagRecord {
        call_id: call.id.clone(),
        signal: signal.to_string(),
        evidence,
        created_ms: call.created_ms,
        tenant: call.tenant.clone(),
        route: call.route.clone(),
        release_id: call.release_id.clone(),
        session_id: call.session_id.clone(),
        trace_id: call.trace_id.clone(),
    }
}

/// The call a piece of feedback is about: its call, or its trace's latest call (the answer
/// the user was looking at when they judged the conversation). The same tenant's only.
async fn feedback_call(
    store: &(impl Records + ?Sized),
    fb: &FeedbackRecord,
    window: &HashMap<&str, &CallRecord>,
) -> Result<Option<CallRecord>> {
    if let Some(id) = &fb.call_id {
        if let Some(c) = window.get(id.as_str()).filter(|c| c.tenant == fb.tenant) {
            return Ok(Some((*c).clone()));
        }
        let found = store.get_call(id).await?.map(|(c, _)| c);
        return Ok(found.filter(|c| c.tenant == fb.tenant));
    }
    let Some(trace) = &fb.trace_id else {
        return Ok(None);
    };
    let (calls, _) = store.trace(trace).await?;
    Ok(calls
        .into_iter()
        .filter(|c| c.tenant == fb.tenant)
        .max_by_key(|c| (c.created_ms, c.id.clone())))
}

fn feedback_evidence(fb: &FeedbackRecord) -> String {
    format!("feedback {} scored {:+.2}", fb.id, fb.score)
}
