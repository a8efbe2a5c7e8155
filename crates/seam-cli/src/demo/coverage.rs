//! The seed's story "your eval set only has problems you already solved": a week of support
//! traffic (generated as records, as if recorded over the last seven days) in which one kind
//! of question, invoices in a foreign currency, is answered badly, so users rephrase it and
//! give up. The eval set covers every other kind. `seam coverage` puts that cluster first,
//! 0% covered, and five candidate cases are exported from it for a person to complete.

use seam_control::failures::{self, synth};
use seam_evals::dataset::Dataset;
use seam_store::{Store, Tenants};
use std::path::Path;

const TENANT: &str = "support";
const SESSIONS_PER_DAY: usize = 80;

pub(super) async fn uncovered(store: &dyn Store, dir: &Path, config: &Path) -> anyhow::Result<()> {
    println!("\nCoverage: the failures your eval set has no case for");
    let now = seam_store::now_ms();
    let week = synth::support_week(29, TENANT, "chat", now, SESSIONS_PER_DAY);
    store.insert_batch(&week.batch).await?;
    let sets = dir.join("coverage-evals");
    std::fs::create_dir_all(&sets)?;
    let path = sets.join("support.jsonl");
    std::fs::write(&path, week.dataset.join("\n") + "\n")?;
    let dataset = Dataset::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "  a week of support traffic for tenant {TENANT}: {} sessions, {} calls with captured content; eval dataset `support` has {} cases, on every kind of question but one",
        week.sessions,
        week.batch.calls.len(),
        dataset.cases.len()
    );
    let cfg = seam_config::load_lenient(config)?;
    let opts = failures::coverage_options(&cfg.failures);
    let scope = Tenants::Only(vec![TENANT.into()]);
    let since = now - 7 * 86_400_000;
    let report = failures::coverage(
        store,
        &scope,
        since,
        now + 1,
        std::slice::from_ref(&dataset),
        &opts,
        None,
    )
    .await?;
    let by_signal: Vec<String> = report
        .scanned
        .by_signal
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    println!(
        "  signals found: {} ({} calls flagged, {} clusters of 5 or more)",
        by_signal.join(", "),
        report.flagged_calls,
        report.clusters.len()
    );
    for c in &report.clusters {
        println!(
            "    {} {:<40} {:>4} calls ({:>4.1}% of flagged)  nearest case {} at {:.2}",
            if c.covered { "covered  " } else { "UNCOVERED" },
            c.id,
            c.size,
            100.0 * c.share,
            c.nearest_case
                .as_ref()
                .map_or("none".into(), |k| k.case_id.clone()),
            c.similarity
        );
    }
    println!(
        "  {:.0}% of the flagged calls fall in a covered cluster",
        100.0 * report.covered_share
    );
    let Some(first) = report.clusters.first().filter(|c| !c.covered) else {
        anyhow::bail!("the demo's coverage found no uncovered cluster first");
    };
    let admin = seam_control::Actor::admin("demo");
    let got = failures::export::candidates(store, &admin, first, 5).await?;
    let out = dir.join(format!("coverage-{}.jsonl", first.id));
    let text: String = got
        .cases
        .iter()
        .map(|c| format!("{c}\n"))
        .collect::<String>();
    std::fs::write(&out, text)?;
    println!(
        "  {} candidate cases from {} written to {} (input only, tagged needs-review)",
        got.cases.len(),
        first.id,
        out.display()
    );
    println!(
        "  seam coverage --since 7d --dataset {} --config {}",
        path.display(),
        config.display()
    );
    Ok(())
}
