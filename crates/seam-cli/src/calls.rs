//! `seam calls` and `seam calls show ID`: the calls of the tenants the reader's roles cover.

use crate::cli::StoreArgs;
use crate::format::{clean, parse_since, table, timestamp};
use seam_control::calls::CallView;
use seam_store::{CallQuery, CallRecord, Records, StreamRecord};

/// What `seam calls` narrows the list to, besides time and tenant; the store applies each.
#[derive(Debug, Default, clap::Args)]
pub struct Filters {
    /// Only calls to this route (the model name a client asked for).
    #[arg(long)]
    pub route: Option<String>,
    /// Only calls Seam answered with this HTTP status (429) or class of status (5xx).
    #[arg(long)]
    pub status: Option<String>,
    /// Only calls with this outcome: ok, error, refused, rejected or client_closed.
    #[arg(long)]
    pub outcome: Option<String>,
    /// Only calls served from this prompt release (rel_...).
    #[arg(long)]
    pub release: Option<String>,
}

/// `--status`: `429` or a class such as `5xx`.
fn status_range(s: &str) -> anyhow::Result<(i64, i64)> {
    seam_store::status_range(s).ok_or_else(|| {
        anyhow::anyhow!("--status `{s}`: give a status such as 429, or a class such as 4xx or 5xx")
    })
}

/// The cost of a call or attempt as shown: marked where some tokens had no price, so that a
/// $0 for want of a price does not read as free.
pub fn cost_cell(usd: f64, unpriced: bool) -> String {
    format!("{usd:.6}{}", if unpriced { " +unpriced" } else { "" })
}

/// The note under a table with [`cost_cell`]s that say unpriced.
pub const UNPRICED_NOTE: &str =
    "+unpriced = some tokens had no price in [prices]: the cost counts none of them (incomplete)";

pub async fn list(
    store: &StoreArgs,
    since: &str,
    tenant: Option<String>,
    limit: i64,
    filters: Filters,
    json: bool,
) -> anyhow::Result<()> {
    let since = parse_since(since)?;
    let status = filters.status.as_deref().map(status_range).transpose()?;
    if let Some(o) = &filters.outcome
        && o.parse::<seam_vocab::Outcome>().is_err()
    {
        anyhow::bail!(
            "--outcome `{}`: use one of {}",
            clean(o),
            seam_store::CALL_OUTCOMES
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let (store, who) = crate::actor::open_as(store).await?;
    let scope = who.scope_for(tenant.as_deref(), "reading calls")?;
    let q = CallQuery {
        since_ms: seam_store::now_ms() - since.as_millis() as i64,
        tenant,
        limit,
        route: filters.route,
        status,
        outcome: filters.outcome,
        release_id: filters.release,
        until_ms: None,
    };
    let calls = store.list_calls_in(&q, &scope).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&calls)?);
        return Ok(());
    }
    if calls.is_empty() {
        let filtered = q.route.is_some()
            || q.status.is_some()
            || q.outcome.is_some()
            || q.release_id.is_some();
        println!(
            "no calls recorded in that window{}",
            if filtered {
                " that match the filters"
            } else {
                ""
            }
        );
        return Ok(());
    }
    println!("{}", calls_table(&calls));
    let cost: f64 = calls.iter().map(|c| c.cost_usd).sum();
    let attempts = calls.iter().fold(0i64, |n, c| n.saturating_add(c.attempts));
    let unpriced = calls.iter().filter(|c| c.unpriced).count();
    println!(
        "\n{} calls, {} upstream attempts, ${}{} (cost summed over attempts; * = tokens estimated)",
        calls.len(),
        attempts,
        cost_cell(cost, unpriced > 0),
        match unpriced {
            0 => String::new(),
            n => format!(", {n} of the calls unpriced"),
        }
    );
    if unpriced > 0 {
        println!("{UNPRICED_NOTE}");
    }
    Ok(())
}

pub fn calls_table(calls: &[CallRecord]) -> String {
    let rows: Vec<Vec<String>> = calls
        .iter()
        .map(|c| {
            vec![
                timestamp(c.created_ms),
                c.id.clone(),
                c.tenant.clone(),
                if c.route.is_empty() {
                    format!("({})", c.requested_model)
                } else {
                    c.route.clone()
                },
                if c.stream { "stream" } else { "-" }.into(),
                c.served_model.clone().unwrap_or_else(|| "-".into()),
                c.status.to_string(),
                match &c.error_class {
                    Some(e) => format!("{} ({e})", c.outcome),
                    None => c.outcome.to_string(),
                },
                c.attempts.to_string(),
                format!("{:.1}", c.latency_ms),
                format!(
                    "{}/{}{}",
                    c.input_tokens,
                    c.output_tokens,
                    if c.tokens_estimated { "*" } else { "" }
                ),
                cost_cell(c.cost_usd, c.unpriced),
            ]
        })
        .collect();
    table(
        &[
            "TIME (UTC)",
            "CALL",
            "TENANT",
            "ROUTE",
            "MODE",
            "SERVED MODEL",
            "STATUS",
            "OUTCOME",
            "ATTEMPTS",
            "MS",
            "TOKENS IN/OUT",
            "COST $",
        ],
        &rows,
    )
}

pub async fn show(store: &StoreArgs, id: &str, json: bool) -> anyhow::Result<()> {
    let (store, who) = crate::actor::open_as(store).await?;
    let Some(view) = seam_control::calls::read(&store, id).await? else {
        anyhow::bail!("no call `{id}` in the store (see `seam calls`)");
    };
    who.require_read(&view.call.tenant, &format!("reading call {id}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&view.to_json())?);
        return Ok(());
    }
    print!("{}", show_text(&view));
    Ok(())
}

/// `seam calls show` as text: one line per field, then the attempts, a stream's telemetry
/// and the captured content; every value that came from a client or an upstream is cleaned for the terminal.
pub fn show_text(view: &CallView) -> String {
    use std::fmt::Write;
    let (call, attempts) = (&view.call, &view.attempts);
    let mut out = String::new();
    let mut field = |k: &str, v: String| {
        let _ = writeln!(out, "{k:<20}{}", clean(&v));
    };
    field("call", call.id.clone());
    field("time (UTC)", timestamp(call.created_ms));
    field("tenant", call.tenant.clone());
    field(
        "key",
        call.key_id.clone().unwrap_or_else(|| "(keyless)".into()),
    );
    field("trace", call.trace_id.clone().unwrap_or_else(|| "-".into()));
    field(
        "session",
        call.session_id.clone().unwrap_or_else(|| "-".into()),
    );
    field("purpose", call.purpose.to_string());
    field(
        "endpoint",
        format!(
            "{}{}",
            call.endpoint,
            if call.stream { " (stream)" } else { "" }
        ),
    );
    field(
        "route",
        format!("{} (asked for `{}`)", call.route, call.requested_model),
    );
    field(
        "provider",
        call.provider.clone().unwrap_or_else(|| "-".into()),
    );
    if let Some(id) = &call.upstream_request_id {
        field("upstream request", id.clone());
    }
    field(
        "served model",
        format!(
            "{} {}",
            call.served_model.clone().unwrap_or_else(|| "-".into()),
            call.system_fingerprint
                .as_deref()
                .map(|f| format!("({f})"))
                .unwrap_or_default()
        ),
    );
    field("status", format!("{} {}", call.status, call.outcome));
    if let Some(e) = &call.error_class {
        field(
            "error",
            format!("{e}: {}", call.error_message.clone().unwrap_or_default()),
        );
    }
    field(
        "latency",
        format!(
            "{:.1} ms (first byte {})",
            call.latency_ms,
            call.ttfb_ms
                .map(|t| format!("{t:.1} ms"))
                .unwrap_or_else(|| "-".into())
        ),
    );
    field(
        "tokens",
        format!(
            "{} in / {} out{}",
            call.input_tokens,
            call.output_tokens,
            if call.tokens_estimated {
                " (estimated)"
            } else {
                ""
            }
        ),
    );
    field(
        "cost",
        format!(
            "${:.6} over {} attempt(s){}",
            call.cost_usd,
            call.attempts,
            if call.unpriced {
                " (unpriced: incomplete; no [prices] entry for the model served or asked for)"
            } else {
                ""
            }
        ),
    );
    if let Some(r) = &call.release_id {
        field("release", r.clone());
    }
    out.push_str("\nattempts:\n");
    let rows: Vec<Vec<String>> = attempts
        .iter()
        .map(|a| {
            vec![
                a.seq.to_string(),
                a.provider.clone(),
                a.model.clone(),
                a.served_model.clone().unwrap_or_else(|| "-".into()),
                a.status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                match &a.error_class {
                    Some(e) => format!("{} ({e})", a.outcome),
                    None => a.outcome.to_string(),
                },
                format!("{:.1}", a.latency_ms),
                format!(
                    "{}/{}{}",
                    a.input_tokens,
                    a.output_tokens,
                    if a.tokens_estimated { "*" } else { "" }
                ),
                cost_cell(a.cost_usd, a.unpriced),
                a.upstream_request_id.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "#",
            "PROVIDER",
            "MODEL",
            "SERVED",
            "STATUS",
            "OUTCOME",
            "MS",
            "TOKENS IN/OUT",
            "COST $",
            "UPSTREAM REQUEST",
        ],
        &rows,
    ));
    out.push('\n');
    for a in attempts.iter().filter(|a| a.error_body.is_some()) {
        let _ = writeln!(
            out,
            "\nattempt {} {}: {}",
            a.seq,
            // Without a status nothing was answered: the text is Seam's (why it failed).
            if a.status.is_some() {
                "upstream body"
            } else {
                "error"
            },
            clean(a.error_body.as_deref().unwrap_or_default())
        );
    }
    if let Some(stream) = &view.stream {
        out.push_str(&stream_text(stream));
    }
    out.push_str(&crate::content::section(view.content.as_ref()));
    out
}

/// What the client saw of a streamed call, one line per figure.
fn stream_text(s: &StreamRecord) -> String {
    use std::fmt::Write;
    let ms = |v: Option<f64>| {
        v.map(|t| format!("{t:.1} ms"))
            .unwrap_or_else(|| "-".into())
    };
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    let mut out = String::from("\nstream:\n");
    let mut field = |k: &str, v: String| {
        let _ = writeln!(out, "{k:<20}{}", clean(&v));
    };
    field("first chunk", ms(s.ttfc_ms));
    field("first text", ms(s.ttft_ms));
    field(
        "chunks",
        format!(
            "{} ({} with content, {} chars)",
            s.chunks, s.content_chunks, s.chars
        ),
    );
    field(
        "chars per chunk",
        format!(
            "{:.1} (p50), {:.2} tokens per chunk",
            s.chars_p50, s.tokens_per_chunk
        ),
    );
    field(
        "gaps",
        format!(
            "p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            s.gap_p50_ms, s.gap_p95_ms, s.gap_max_ms
        ),
    );
    field("stalls", s.stalls.to_string());
    field(
        "tokens/s",
        format!(
            "{} ({} output tokens)",
            s.tokens_per_sec
                .map(|t| format!("{t:.1}"))
                .unwrap_or_else(|| "-".into()),
            s.output_tokens
        ),
    );
    field("client closed", yes(s.client_closed));
    field("rechunked", yes(s.rechunked));
    field(
        "SLO",
        s.slo
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_else(|| "- (none on the route)".into()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_store::AttemptRecord;
    use seam_store::conformance::{sample_attempt, sample_call, sample_stream};

    /// What a tenant and an upstream can put in a record: a line break that would forge a
    /// line, and escape sequences that recolour the terminal or clear it.
    const EVIL: &str = "gpt\r\n2026-01-01 00:00:00  INFO forged\u{1b}[31m\u{1b}[2J";

    fn evil_call() -> (CallRecord, Vec<AttemptRecord>) {
        let mut call = sample_call("call_1", 1, "acme");
        call.route = String::new();
        call.requested_model = EVIL.into();
        call.trace_id = Some(EVIL.into());
        call.served_model = Some(EVIL.into());
        call.error_class = Some(seam_vocab::ErrorClass::Status5xx.into());
        call.error_message = Some(EVIL.into());
        call.upstream_request_id = Some(EVIL.into());
        let mut a = sample_attempt(&call, 1, false);
        a.served_model = Some(EVIL.into());
        a.error_body = Some(EVIL.into());
        a.upstream_request_id = Some(EVIL.into());
        (call, vec![a])
    }

    fn assert_clean(out: &str) {
        assert!(!out.contains(['\r', '\u{1b}']), "{out:?}");
        assert!(
            !out.lines().any(|l| l.starts_with("2026-01-01")),
            "a forged line: {out}"
        );
        assert!(out.contains("gpt\\r\\n2026-01-01"), "{out}");
    }

    #[test]
    fn calls_and_calls_show_escape_what_clients_and_upstreams_wrote() {
        let (call, attempts) = evil_call();
        assert_clean(&calls_table(std::slice::from_ref(&call)));
        let stream = Some(sample_stream(&call));
        assert_clean(&show_text(&view(call, attempts, stream)));
    }

    fn view(
        call: CallRecord,
        attempts: Vec<AttemptRecord>,
        stream: Option<StreamRecord>,
    ) -> CallView {
        CallView {
            call,
            attempts,
            stream,
            content: None,
        }
    }

    #[test]
    fn calls_show_prints_the_attempts_request_ids_and_a_streams_telemetry() {
        let call = sample_call("call_1", 1, "acme");
        let mut a = sample_attempt(&call, 1, true);
        a.upstream_request_id = Some("req_abc123".into());
        let plain = show_text(&view(call.clone(), vec![a.clone()], None));
        assert!(plain.contains("UPSTREAM REQUEST"), "{plain}");
        assert!(plain.lines().any(|l| l.ends_with("req_abc123")), "{plain}");
        assert!(!plain.contains("\nstream:"), "not a stream: {plain}");

        let mut s = sample_stream(&call);
        s.ttfc_ms = Some(12.5);
        s.ttft_ms = None;
        s.chunks = 12;
        s.content_chunks = 10;
        s.chars = 80;
        s.chars_p50 = 8.0;
        s.tokens_per_chunk = 2.0;
        s.gap_p50_ms = 40.0;
        s.gap_p95_ms = 55.5;
        s.gap_max_ms = 1200.0;
        s.stalls = 1;
        s.output_tokens = 20;
        s.tokens_per_sec = Some(50.0);
        s.client_closed = true;
        s.rechunked = false;
        s.slo = Some(seam_vocab::SloVerdict::breached("stall 1200 ms > 1000 ms"));
        let out = show_text(&view(call, vec![a], Some(s)));
        let stream = &out[out.find("\nstream:\n").expect("a stream section")..];
        for line in [
            "first chunk         12.5 ms",
            "first text          -",
            "chunks              12 (10 with content, 80 chars)",
            "chars per chunk     8.0 (p50), 2.00 tokens per chunk",
            "gaps                p50 40.0 ms, p95 55.5 ms, max 1200.0 ms",
            "stalls              1",
            "tokens/s            50.0 (20 output tokens)",
            "client closed       yes",
            "rechunked           no",
            "SLO                 breached: stall 1200 ms > 1000 ms",
        ] {
            assert!(stream.lines().any(|l| l == line), "{line:?} in {stream}");
        }
    }

    #[test]
    fn a_trace_escapes_what_clients_wrote() {
        let (call, attempts) = evil_call();
        assert_clean(&crate::traces::render(EVIL, &[call], &attempts));
    }
}
