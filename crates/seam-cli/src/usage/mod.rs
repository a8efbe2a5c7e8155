//! `seam usage import|export`: hourly usage history in and out of the store (issue 28;
//! docs/usage.md). An import is checked whole and stored in one transaction, or not at all; an
//! export writes the live rollups and the imported history with the columns an import reads.

mod csv_in;
pub(crate) mod when;

use crate::cli::StoreArgs;
use seam_store::{Audit, Keys, UsageHistory, UsageHour};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

/// `seam usage import FILE`.
pub async fn import(
    store_args: &StoreArgs,
    file: &Path,
    allow_unknown: bool,
    json_out: bool,
) -> anyhow::Result<()> {
    let input = std::fs::File::open(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let (store, who) = crate::actor::open_to_act(store_args).await?;
    let known = known_tenants(store_args, &store).await?;
    let name = file.display().to_string();
    let checked = csv_in::check(
        std::io::BufReader::new(input),
        &|t| known.contains(t),
        allow_unknown,
        &mut |n| eprintln!("  {name}: {n} rows read"),
    )
    .map_err(|p| anyhow::anyhow!("{name}: {p}"))?;
    for t in checked.tenants() {
        who.require_operator(t, "importing usage history")?;
    }
    let stored = store.import_hours(&checked.hours).await?;
    let (from, until) = checked.span().unwrap_or_default();
    let tenants: Vec<&str> = checked.tenants().into_iter().collect();
    let summary = json!({
        "file": name,
        "rows": checked.rows,
        "stored": stored,
        "hours": checked.distinct_hours(),
        "tenants": tenants,
        "from": when::rfc3339(from),
        "until": when::rfc3339(until),
    });
    store
        .append_audit(
            &who.name,
            "usage.import",
            &name,
            None,
            Some(summary.to_string()),
            seam_store::now_ms(),
        )
        .await?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{}: {} rows imported as {stored} hourly rows over {} hours, {} UTC to {} UTC; {} tenant{}: {}",
            crate::format::clean(&name),
            checked.rows,
            checked.distinct_hours(),
            seam_store::timestamp(from),
            seam_store::timestamp(until),
            tenants.len(),
            if tenants.len() == 1 { "" } else { "s" },
            crate::format::clean(&tenants.join(", "))
        );
    }
    Ok(())
}

/// The tenants Seam knows: those the config names, and those its keys belong to.
async fn known_tenants(
    store_args: &StoreArgs,
    store: &seam_store::SqlStore,
) -> anyhow::Result<BTreeSet<String>> {
    let mut known: BTreeSet<String> = store
        .list_keys()
        .await?
        .into_iter()
        .map(|k| k.tenant)
        .collect();
    // With --store, a config file is read when there is one.
    if store_args.store.is_none() || store_args.config.exists() {
        known.extend(seam_config::load_lenient(&store_args.config)?.tenants());
    }
    Ok(known)
}

/// What `seam usage export` sums rows by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Tenant,
    Route,
    Key,
}

/// `seam usage export`.
pub async fn export(
    store_args: &StoreArgs,
    since: &str,
    until: Option<&str>,
    by: &str,
    format: &str,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let by = match by {
        "tenant" => By::Tenant,
        "route" => By::Route,
        "key" => By::Key,
        other => anyhow::bail!("--by `{other}`: use tenant, route or key"),
    };
    if !matches!(format, "csv" | "json") {
        anyhow::bail!("--format `{format}`: use csv or json");
    }
    let now = seam_store::now_ms();
    let since_ms = match crate::format::parse_since(since) {
        Ok(d) => now - d.as_millis() as i64,
        Err(_) => when::parse_time(since)
            .map_err(|e| anyhow::anyhow!("--since: {e}; or a duration such as 30d, 12h"))?,
    };
    let until_ms = match until {
        None => now,
        Some(u) => when::parse_time(u).map_err(|e| anyhow::anyhow!("--until: {e}"))?,
    };
    if until_ms <= since_ms {
        anyhow::bail!("--until is not after --since: nothing to export");
    }
    let (store, who) = crate::actor::open_as(store_args).await?;
    let scope = who.read_scope("exporting usage")?;
    let rows = grouped(store.usage_hours(since_ms, until_ms, &scope).await?, by);
    let mut sink: Box<dyn Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    if format == "json" {
        let body = json!({
            "since": when::rfc3339(seam_store::hour_floor(since_ms)),
            "until": when::rfc3339(until_ms),
            "by": match by { By::Tenant => "tenant", By::Route => "route", By::Key => "key" },
            "rows": rows.iter().map(|h| json!({
                "timestamp": when::rfc3339(h.hour_ms),
                "tenant": h.tenant,
                "route": h.route,
                "key": h.key_id,
                "input_tokens": h.input_tokens,
                "output_tokens": h.output_tokens,
                "cost": h.cost_usd,
                "calls": h.calls,
                "estimated": h.estimated,
                "source": h.source,
            })).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut sink, &body)?;
        sink.write_all(b"\n")?;
    } else {
        let mut w = csv::Writer::from_writer(&mut sink);
        w.write_record([
            "timestamp",
            "tenant",
            "route",
            "key",
            "input_tokens",
            "output_tokens",
            "cost",
            "calls",
        ])?;
        for h in &rows {
            w.write_record([
                when::rfc3339(h.hour_ms),
                h.tenant.clone(),
                h.route.clone(),
                h.key_id.clone(),
                h.input_tokens.to_string(),
                h.output_tokens.to_string(),
                h.cost_usd.to_string(),
                h.calls.to_string(),
            ])?;
        }
        w.flush()?;
    }
    sink.flush()?;
    if let Some(path) = out {
        eprintln!("wrote {} hourly rows to {}", rows.len(), path.display());
    }
    Ok(())
}

/// Rows summed per hour, source and what `by` keeps: the tenant always; the route unless by
/// tenant (then `*`, every route); the key only by key (else empty).
fn grouped(rows: Vec<UsageHour>, by: By) -> Vec<UsageHour> {
    if by == By::Key {
        return rows;
    }
    let mut out: BTreeMap<(i64, seam_store::UsageSource, String, String), UsageHour> =
        BTreeMap::new();
    for mut h in rows {
        if by == By::Tenant {
            h.route = "*".into();
        }
        h.key_id.clear();
        let key = (h.hour_ms, h.source, h.tenant.clone(), h.route.clone());
        match out.get_mut(&key) {
            Some(g) => {
                g.calls += h.calls;
                g.input_tokens += h.input_tokens;
                g.output_tokens += h.output_tokens;
                g.cost_usd += h.cost_usd;
                g.estimated += h.estimated;
            }
            None => {
                out.insert(key, h);
            }
        }
    }
    out.into_values().collect()
}
