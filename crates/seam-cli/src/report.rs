//! `seam report reliability|usage`, over the calls of the tenants the reader's roles cover.

use crate::cli::StoreArgs;
use crate::format::{clean, parse_since, table, timestamp};
use seam_store::{Reports, RouteReliability};

pub async fn reliability(store: &StoreArgs, since: &str, json: bool) -> anyhow::Result<()> {
    let window = parse_since(since)?;
    let (store, who) = crate::actor::open_as(store).await?;
    let scope = who.read_scope("reading the reliability report")?;
    let since_ms = seam_store::now_ms() - window.as_millis() as i64;
    let (calls, attempts) = store.reliability_in(since_ms, &scope).await?;
    let report = seam_store::reliability::report(&calls, &attempts);
    let unrouted = seam_store::reliability::unrouted(&calls);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "since_ms": since_ms,
                "routes": report,
                "unrouted_calls": unrouted,
            }))?
        );
        return Ok(());
    }
    println!("Reliability since {} UTC ({since})", timestamp(since_ms));
    if report.is_empty() && unrouted == 0 {
        println!("\nno calls recorded in that window");
    }
    for r in &report {
        print_route(r);
    }
    if unrouted > 0 {
        println!(
            "\n{unrouted} call{} named no route (an unknown model, or a request rejected before routing): they reached no provider; see `seam calls --outcome rejected`",
            if unrouted == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn print_route(r: &RouteReliability) {
    let outcomes: Vec<String> = r
        .calls_by_outcome
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("\nroute `{}`", clean(&r.route));
    let rows = vec![
        vec![
            "calls by final outcome".into(),
            outcomes.join(", "),
            "per call, post-retry".into(),
        ],
        vec![
            "calls that reached a provider".into(),
            r.calls_dispatched.to_string(),
            "per call".into(),
        ],
        vec![
            "first-attempt error rate".into(),
            pct(r.first_attempt_error_rate),
            "per call, pre-retry".into(),
        ],
        vec![
            "final error rate".into(),
            pct(r.final_error_rate),
            "per call, post-retry".into(),
        ],
        vec![
            "attempts".into(),
            r.attempts.to_string(),
            "per attempt".into(),
        ],
        vec![
            "retry amplification".into(),
            format!("{:.2}", r.retry_amplification),
            "attempts per call".into(),
        ],
        vec![
            "cost".into(),
            format!("${:.6}", r.cost_usd),
            "all attempts, failed ones included".into(),
        ],
        vec![
            "retry tax".into(),
            pct(r.retry_tax),
            "cost of failed attempts / cost".into(),
        ],
        vec![
            "cost per successful call".into(),
            format!("${:.6}", r.cost_per_successful_call_usd),
            "per call, its failed attempts included".into(),
        ],
        vec![
            "retry budget refusals".into(),
            r.budget_refusals.to_string(),
            "per call, failed fast".into(),
        ],
    ];
    for line in table(&["FIGURE", "VALUE", "COUNTS"], &rows).lines() {
        println!("  {line}");
    }
    let rows: Vec<Vec<String>> = r
        .providers
        .iter()
        .map(|p| {
            let classes: Vec<String> = p
                .errors_by_class
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            vec![
                p.provider.clone(),
                p.attempts_by_outcome
                    .values()
                    .fold(0i64, |n, v| n.saturating_add(*v))
                    .to_string(),
                pct(p.attempt_error_rate),
                p.first_attempts.to_string(),
                pct(p.first_attempt_error_rate),
                if classes.is_empty() {
                    "-".into()
                } else {
                    classes.join(", ")
                },
                format!("{:.6}", p.cost_usd),
                format!("{:.6}", p.failed_attempts_cost_usd),
            ]
        })
        .collect();
    println!();
    for line in table(
        &[
            "PROVIDER",
            "ATTEMPTS",
            "ERROR RATE (PER ATTEMPT)",
            "FIRST ATTEMPTS",
            "FIRST-ATTEMPT ERROR RATE (PER CALL, PRE-RETRY)",
            "ERRORS BY CLASS",
            "COST $",
            "FAILED $",
        ],
        &rows,
    )
    .lines()
    {
        println!("  {line}");
    }
}

pub async fn usage(store: &StoreArgs, by: &str, since: &str, json: bool) -> anyhow::Result<()> {
    let by = match by {
        "tenant" => seam_store::UsageBy::Tenant,
        "route" => seam_store::UsageBy::Route,
        "trace" => seam_store::UsageBy::Trace,
        other => anyhow::bail!("--by `{other}`: use tenant, route or trace"),
    };
    let window = parse_since(since)?;
    let (store, who) = crate::actor::open_as(store).await?;
    let scope = who.read_scope("reading the usage report")?;
    let since_ms = seam_store::now_ms() - window.as_millis() as i64;
    let rows = store.usage_in(by, since_ms, &scope).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no calls recorded since {} UTC", timestamp(since_ms));
        return Ok(());
    }
    let key = by.column().trim_end_matches("_id").to_uppercase();
    // Eval and canary traffic (`x-seam-purpose: eval`, `canary`) are sections of their own,
    // after live traffic's.
    let of = |p: seam_vocab::Purpose| -> Vec<&seam_store::UsageRow> {
        rows.iter().filter(|r| r.purpose == p).collect()
    };
    let (live, eval, canary) = (
        of(seam_vocab::Purpose::Live),
        of(seam_vocab::Purpose::Eval),
        of(seam_vocab::Purpose::Canary),
    );
    if eval.is_empty() && canary.is_empty() {
        println!("{}", usage_table(&key, &live));
    } else {
        if live.is_empty() {
            println!("live traffic: no calls");
        } else {
            println!("live traffic:\n{}", usage_table(&key, &live));
        }
        for (p, section) in [
            (seam_vocab::Purpose::Eval, &eval),
            (seam_vocab::Purpose::Canary, &canary),
        ] {
            if !section.is_empty() {
                println!(
                    "\n{p} traffic (x-seam-purpose: {p}):\n{}",
                    usage_table(&key, section)
                );
            }
        }
    }
    println!(
        "\ncalls as clients made them; attempts, tokens and cost as providers billed them (* = some estimated)"
    );
    let unpriced: i64 = rows.iter().map(|r| r.unpriced_calls).sum();
    if unpriced > 0 {
        println!(
            "{}; {unpriced} call{} unpriced",
            crate::calls::UNPRICED_NOTE,
            if unpriced == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// One section of `seam report usage`: a row per group.
fn usage_table(key: &str, rows: &[&seam_store::UsageRow]) -> String {
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                if r.key.is_empty() {
                    "-".into()
                } else {
                    r.key.clone()
                },
                r.calls.to_string(),
                r.refused.to_string(),
                r.failed.to_string(),
                r.attempts.to_string(),
                format!(
                    "{:.2}",
                    if r.calls > 0 {
                        r.attempts as f64 / r.calls as f64
                    } else {
                        0.0
                    }
                ),
                format!(
                    "{}{}",
                    r.input_tokens,
                    if r.tokens_estimated { "*" } else { "" }
                ),
                r.output_tokens.to_string(),
                crate::calls::cost_cell(r.cost_usd, r.unpriced_calls > 0),
            ]
        })
        .collect();
    table(
        &[
            key,
            "CALLS",
            "REFUSED",
            "FAILED",
            "ATTEMPTS",
            "ATTEMPTS/CALL",
            "INPUT TOKENS",
            "OUTPUT TOKENS",
            "COST $",
        ],
        &table_rows,
    )
}
