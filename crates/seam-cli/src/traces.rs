//! `seam traces`: the recent named traces, one line per trace and tenant; and `seam traces
//! show ID`, a trace's calls and their attempts as a tree (the calls of the tenants the
//! reader's roles cover: a trace id is the client's, and may span tenants), with `--content`
//! each call's captured content after it.

use crate::calls::{UNPRICED_NOTE, cost_cell};
use crate::cli::StoreArgs;
use crate::format::{clean, parse_since, table, timestamp};
use seam_control::calls::Content;
use seam_store::{AttemptRecord, CallRecord, Records, TraceQuery, TraceSummary};

pub async fn list(
    store: &StoreArgs,
    since: &str,
    tenant: Option<String>,
    limit: i64,
    json: bool,
) -> anyhow::Result<()> {
    let since = parse_since(since)?;
    let (store, who) = crate::actor::open_as(store).await?;
    let scope = who.scope_for(tenant.as_deref(), "reading traces")?;
    let q = TraceQuery {
        since_ms: seam_store::now_ms() - since.as_millis() as i64,
        tenant,
        limit,
    };
    let traces = store.list_traces_in(&q, &scope).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&traces)?);
        return Ok(());
    }
    if traces.is_empty() {
        println!(
            "no named traces recorded since {} UTC (a call names its trace with `traceparent` or `x-seam-trace`; see `seam calls` for the rest)",
            timestamp(q.since_ms)
        );
        return Ok(());
    }
    print!("{}", traces_table(&traces));
    Ok(())
}

/// `seam traces` as text: one row per trace and tenant, then what the marks mean.
pub fn traces_table(traces: &[TraceSummary]) -> String {
    let rows: Vec<Vec<String>> = traces
        .iter()
        .map(|t| {
            let outcomes: Vec<String> =
                t.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
            vec![
                t.trace_id.clone(),
                t.tenant.clone(),
                t.calls.to_string(),
                t.attempts.to_string(),
                timestamp(t.first_ms),
                timestamp(t.last_ms),
                tokens(t.input_tokens, t.output_tokens, t.tokens_estimated),
                cost_cell(t.cost_usd, t.unpriced_calls > 0),
                outcomes.join(", "),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "TRACE",
            "TENANT",
            "CALLS",
            "ATTEMPTS",
            "FIRST (UTC)",
            "LAST (UTC)",
            "TOKENS IN/OUT",
            "COST $",
            "CALLS BY OUTCOME",
        ],
        &rows,
    );
    out.push_str(
        "\n\ncalls as clients made them; attempts and cost as providers billed them, failed attempts included (* = tokens estimated)\n",
    );
    if traces.iter().any(|t| t.unpriced_calls > 0) {
        out.push_str(UNPRICED_NOTE);
        out.push('\n');
    }
    out.push_str("`seam traces show TRACE` shows one as a tree\n");
    out
}

/// A trace's calls the reader may see, oldest first, and their attempts. Refused with the
/// same answer whether the trace does not exist or is another tenant's (`then` ends it): a
/// trace id is the client's choice, and whose it is is not the reader's to learn.
pub(crate) async fn readable(
    store: &(impl Records + ?Sized),
    who: &seam_control::Actor,
    id: &str,
    then: &str,
) -> anyhow::Result<(Vec<CallRecord>, Vec<AttemptRecord>)> {
    let (all, attempts) = store.trace(id).await?;
    let calls: Vec<CallRecord> = all
        .into_iter()
        .filter(|c| who.can_read(&c.tenant))
        .collect();
    if calls.is_empty() {
        anyhow::bail!(
            "no calls you can read are recorded for trace `{}`{then}",
            clean(id)
        );
    }
    let attempts = attempts
        .into_iter()
        .filter(|a| calls.iter().any(|c| c.id == a.call_id))
        .collect();
    Ok((calls, attempts))
}

pub async fn show(store: &StoreArgs, id: &str, content: bool, json: bool) -> anyhow::Result<()> {
    let (store, who) = crate::actor::open_as(store).await?;
    let (calls, attempts) =
        readable(&store, &who, id, " (see `seam report usage --by trace`)").await?;
    // Only for the calls the reader may see (filtered above), one read each.
    let mut contents: Vec<Option<Content>> = Vec::new();
    if content {
        for c in &calls {
            contents.push(seam_control::calls::content(&store, &c.id).await?);
        }
    }
    if json {
        let tree: Vec<serde_json::Value> = calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let atts: Vec<&AttemptRecord> =
                    attempts.iter().filter(|a| a.call_id == c.id).collect();
                let mut v = serde_json::json!({"call": c, "attempts": atts});
                if content {
                    v["content"] = contents[i]
                        .as_ref()
                        .map(Content::to_json)
                        .unwrap_or_default();
                }
                v
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"trace_id": id, "calls": tree}))?
        );
        return Ok(());
    }
    print!("{}", render(id, &calls, &attempts));
    for (c, captured) in calls.iter().zip(&contents) {
        print!(
            "\n── {}{}",
            clean(&c.id),
            crate::content::section(captured.as_ref())
        );
    }
    Ok(())
}

fn tokens(i: i64, o: i64, estimated: bool) -> String {
    format!("{i}/{o}{}", if estimated { "*" } else { "" })
}

pub fn render(id: &str, calls: &[CallRecord], attempts: &[AttemptRecord]) -> String {
    let total_cost: f64 = calls.iter().map(|c| c.cost_usd).sum();
    let unpriced = calls.iter().any(|c| c.unpriced);
    // Stored numbers are summed without overflowing, whatever a record holds.
    let n_attempts = calls.iter().fold(0i64, |n, c| n.saturating_add(c.attempts));
    let (tin, tout) = calls.iter().fold((0i64, 0i64), |(i, o), c| {
        (
            i.saturating_add(c.input_tokens),
            o.saturating_add(c.output_tokens),
        )
    });
    let first = calls.first().map(|c| c.created_ms).unwrap_or(0);
    let mut out = format!(
        "trace {}: {} calls, {n_attempts} attempts, {tin} in / {tout} out tokens, ${}, from {} UTC\n",
        clean(id),
        calls.len(),
        cost_cell(total_cost, unpriced),
        timestamp(first)
    );
    for (i, c) in calls.iter().enumerate() {
        let last_call = i + 1 == calls.len();
        let (branch, stem) = if last_call {
            ("└─", "   ")
        } else {
            ("├─", "│  ")
        };
        let outcome = match &c.error_class {
            Some(e) => format!("{} ({e})", c.outcome),
            None => c.outcome.to_string(),
        };
        out.push_str(&format!(
            "{branch} {} +{:.0}ms {} {} {} tokens {} ${} {:.1}ms\n",
            clean(&c.id),
            c.created_ms.saturating_sub(first) as f64,
            clean(if c.route.is_empty() {
                &c.requested_model
            } else {
                &c.route
            }),
            clean(&outcome),
            c.status,
            tokens(c.input_tokens, c.output_tokens, c.tokens_estimated),
            cost_cell(c.cost_usd, c.unpriced),
            c.latency_ms
        ));
        let atts: Vec<&AttemptRecord> = attempts.iter().filter(|a| a.call_id == c.id).collect();
        for (j, a) in atts.iter().enumerate() {
            let twig = if j + 1 == atts.len() {
                "└─"
            } else {
                "├─"
            };
            let outcome = match &a.error_class {
                Some(e) => format!("{} ({e})", a.outcome),
                None => a.outcome.to_string(),
            };
            out.push_str(&format!(
                "{stem}{twig} attempt {} {}/{} {} tokens {} ${} {:.1}ms\n",
                a.seq,
                clean(&a.provider),
                clean(&a.model),
                clean(&outcome),
                tokens(a.input_tokens, a.output_tokens, a.tokens_estimated),
                cost_cell(a.cost_usd, a.unpriced),
                a.latency_ms
            ));
        }
    }
    out.push_str("(* = tokens estimated)\n");
    if unpriced {
        out.push_str(UNPRICED_NOTE);
        out.push('\n');
    }
    out
}
