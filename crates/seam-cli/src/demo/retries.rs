//! Two of the seed's stories about calls that multiply: a provider failing first attempts
//! behind retries (what clients see against what the bill says), and a runaway agent loop
//! stopped by its trace cap.

use super::Script;
use seam_store::{Events, Records, Reports};
use std::time::Duration;

pub(super) async fn degradation(
    script: &Script<'_>,
    store: &(impl Reports + Events + ?Sized),
) -> anyhow::Result<()> {
    println!("\nDegradation: the sim now fails 40% of first attempts with 503; Seam retries.");
    let since = seam_store::now_ms();
    let (ok, sent) = script.degrade(120).await?;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (calls, attempts) = store.reliability(since).await?;
    let report = seam_store::reliability::report(&calls, &attempts);
    let Some(r) = report.iter().find(|r| r.route == "chat") else {
        anyhow::bail!("no records of the degradation phase");
    };
    println!("  clients saw:  {ok} of {sent} calls succeed");
    println!(
        "  pre-retry:    first-attempt error rate {:.1}% (per call)",
        r.first_attempt_error_rate * 100.0
    );
    println!(
        "  post-retry:   final error rate {:.1}% (per call)",
        r.final_error_rate * 100.0
    );
    println!(
        "  the bill:     {} attempts for {} calls (amplification {:.2}); retry tax {:.1}% of ${:.6}",
        r.attempts,
        r.calls_dispatched,
        r.retry_amplification,
        r.retry_tax * 100.0,
        r.cost_usd
    );
    for e in store.list_events(since, 10).await? {
        println!("  event:        {} — {}", e.kind, e.message);
    }
    Ok(())
}

pub(super) async fn agent_loop(
    script: &Script<'_>,
    store: &(impl Records + ?Sized),
) -> anyhow::Result<()> {
    let trace = format!("demo-agent-{}", seam_store::now_ms());
    println!(
        "\nAgent loop: one user request fans out into model calls (route `agent`, at most 8 calls per trace)."
    );
    let (made, refusal) = script.agent(&trace, 30).await?;
    println!(
        "  the agent made {made} calls; Seam stopped it with {}",
        refusal.as_deref().unwrap_or("nothing (no limit hit)")
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (calls, attempts) = store.trace(&trace).await?;
    for line in crate::traces::render(&trace, &calls, &attempts).lines() {
        println!("  {line}");
    }
    Ok(())
}
