//! The seed's eval story: a candidate release that a pass-rate threshold would ship, because
//! its pass rate is still high, while it breaks cases the release in production passes. The
//! paired gate compares the two runs case by case, blocks it and names the cases that
//! flipped; a release with no real change passes, with the smallest drop the run could have
//! seen. The prompt asks for the gate, so the deploys follow the decisions.

use super::{DEMO_PROMPT, Script};
use crate::cli::StoreArgs;
use crate::eval::RunArgs;
use seam_evals::Decision;
use seam_store::{Audit, Evals, Events, Releases, Sessions, Users};
use serde_json::json;
use std::path::Path;

/// Cases in the demo's dataset: enough for the gate to see a 2-point drop (its margin)
/// when nothing flips, which takes about 400 paired cases at 80% power.
const CASES: usize = 400;
/// A threshold gate of the kind most tools offer: ship when the pass rate is at least this.
const THRESHOLD: f64 = 0.80;
/// The candidate's change: fewer output tokens, to cut the bill.
const CUT_MAX_TOKENS: &str = "max_tokens = 16";
/// The prompt's gate, as its owners write it in the prompt file.
const GATE: &str =
    "gate = { dataset = \"billing.jsonl\", channel = \"production\", alpha = 0.05, margin = 0.02 }";

/// One line of the dataset. The sim answers by echoing the user's message, so a case passes
/// when its message carries what its assertion looks for and the answer is not cut short:
/// every tenth case asks for a hand-off no release makes yet (it fails everywhere), and nine
/// cases carry their answer at the end of a long message (a shorter `max_tokens` cuts it).
fn case(i: usize) -> String {
    let id = format!("billing-{i:03}");
    let (message, want) = if i % 10 == 3 {
        (
            format!("Invoice {i} was charged twice, please hand me to a person"),
            "escalated to billing ops",
        )
    } else if i % 44 == 6 {
        (
            format!(
                "I moved to Lisbon last spring and my company changed its name, so invoice {i} shows the old address and the old VAT number, please total it in euros"
            ),
            "euros",
        )
    } else {
        (
            format!("Why is invoice {i} higher than last month in dollars"),
            "dollars",
        )
    };
    json!({
        "id": id,
        "input": {"messages": [{"role": "user", "content": message}]},
        "variables": {"customer": "Acme"},
        "assert": [{"type": "icontains", "value": want}],
        "tags": ["billing"],
    })
    .to_string()
}

/// Writes the dataset, runs the release on production and two candidates through the
/// gateway, and gates each candidate against it.
pub(super) async fn gate(
    script: &Script<'_>,
    store: &(impl Users + Audit + Releases + Sessions + Events + Evals + ?Sized),
    dir: &Path,
    config: &Path,
) -> anyhow::Result<()> {
    println!(
        "\nEvals: ana wants to cut support-bot's bill with max_tokens 16 instead of 400. {CASES} billing cases (evals/billing.jsonl) decide, through the gateway."
    );
    let evals = dir.join("evals");
    std::fs::create_dir_all(&evals)?;
    let lines: Vec<String> = (0..CASES).map(case).collect();
    std::fs::write(evals.join("billing.jsonl"), lines.join("\n") + "\n")?;
    let store_args = StoreArgs {
        config: config.to_path_buf(),
        store: None,
    };

    let served = production(store).await?;
    println!("  baseline: the release production serves now, {served}");
    let baseline = run(script, store, &store_args, "billing", Target::Channel).await?;

    let current = DEMO_PROMPT.replace("lookup_invoice", "find_invoice");
    // The gate, and what a wrong answer costs (a ticket a person then handles), which the
    // value ledger prices the failures a blocked regression avoids with.
    let gated = current.replacen("# gate = {", "gate = {", 1).replacen(
        "on_model_change = \"alert\"",
        "on_model_change = \"alert\"\nfailure_cost_usd = 6.0",
        1,
    );
    anyhow::ensure!(
        gated.contains(GATE),
        "the demo prompt no longer carries its gate line"
    );
    let cut = seam_control::create_release(
        store,
        "ana",
        &edit(dir, &gated.replace("max_tokens = 400", CUT_MAX_TOKENS))?,
    )
    .await?
    .0;
    println!(
        "\n  candidate {}: max_tokens 16 (the prompt now requires a passing gate to deploy, and prices a wrong answer at $6)",
        cut.id
    );
    let candidate = run(
        script,
        store,
        &store_args,
        "billing",
        Target::Release(&cut.id),
    )
    .await?;
    let rate = pass_rate(store, &candidate).await?;
    println!(
        "  a threshold gate (pass rate >= {:.0}%) would ship it: {:.1}%",
        THRESHOLD * 100.0,
        rate * 100.0
    );
    println!("  seam eval gate {candidate} --baseline {baseline}");
    let decision = crate::eval::decide(
        &store_args,
        &candidate,
        &baseline,
        &crate::eval::GateOptions::default(),
    )
    .await?;
    anyhow::ensure!(
        decision == Decision::Fail,
        "the gate should have blocked the candidate, and said {}",
        decision.as_str()
    );
    deploy(store, &evals, &cut.id).await;

    let same = seam_control::create_release(
        store,
        "ana",
        &edit(
            dir,
            &gated.replace("temperature = 0.2", "temperature = 0.3"),
        )?,
    )
    .await?
    .0;
    println!(
        "\n  candidate {}: temperature 0.3 instead of 0.2, no real change for these cases",
        same.id
    );
    let candidate = run(
        script,
        store,
        &store_args,
        "billing",
        Target::Release(&same.id),
    )
    .await?;
    println!("  seam eval gate {candidate} --baseline {baseline}");
    let decision = crate::eval::decide(
        &store_args,
        &candidate,
        &baseline,
        &crate::eval::GateOptions::default(),
    )
    .await?;
    anyhow::ensure!(
        decision == Decision::Pass,
        "the gate should have passed the unchanged release, and said {}",
        decision.as_str()
    );
    deploy(store, &evals, &same.id).await;
    Ok(())
}

pub(super) enum Target<'a> {
    /// The prompt's production channel.
    Channel,
    Release(&'a str),
}

/// One eval run of `dataset` through the demo's gateway; returns its id.
pub(super) async fn run(
    script: &Script<'_>,
    store: &(impl Evals + ?Sized),
    store_args: &StoreArgs,
    dataset: &str,
    target: Target<'_>,
) -> anyhow::Result<String> {
    let before: Vec<String> = store
        .list_eval_runs()
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let (prompt, release) = match target {
        Target::Channel => (Some("support-bot@production".to_string()), None),
        Target::Release(id) => (None, Some(id.to_string())),
    };
    println!(
        "  seam eval run {dataset} {} --concurrency 16",
        match (&prompt, &release) {
            (Some(p), _) => format!("--prompt {p}"),
            (_, Some(r)) => format!("--release {r}"),
            _ => String::new(),
        }
    );
    let args = RunArgs {
        dataset: Some(dataset.into()),
        route: None,
        prompt,
        release,
        repeat: 1,
        concurrency: 16,
        gateway: Some(script.base.trim_end_matches("/v1").to_string()),
        key: Some(script.key.to_string()),
        resume: None,
        dir: None,
        json: false,
    };
    crate::eval::run(store_args, args).await?;
    // The gate reads the runs' call records, which the gateway writes every 100 ms.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    store
        .list_eval_runs()
        .await?
        .into_iter()
        .map(|r| r.id)
        .find(|id| !before.contains(id))
        .ok_or_else(|| anyhow::anyhow!("the eval run was not stored"))
}

async fn production(store: &(impl Releases + ?Sized)) -> anyhow::Result<String> {
    store
        .current_deploys()
        .await?
        .into_iter()
        .find(|d| d.prompt == "support-bot" && d.channel == "production")
        .map(|d| d.release_id)
        .ok_or_else(|| anyhow::anyhow!("support-bot is not deployed on production"))
}

async fn pass_rate(store: &(impl Evals + ?Sized), run: &str) -> anyhow::Result<f64> {
    let (_, results) = store
        .get_eval_run(run)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no eval run {run}"))?;
    let pass = results
        .iter()
        .filter(|r| r.verdict == seam_vocab::EvalVerdict::Pass)
        .count();
    Ok(pass as f64 / results.len().max(1) as f64)
}

/// ana edits the prompt file to `text`, as `seam release create` then reads it.
fn edit(dir: &Path, text: &str) -> anyhow::Result<seam_prompts::Prompt> {
    let path = dir.join("prompts").join("support-bot.toml");
    std::fs::write(&path, text)?;
    seam_prompts::load_file(&path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// ben approves (an owner who is not the author), then ana deploys with `seam deploy
/// support-bot@production ID`: the gate decides.
async fn deploy(
    store: &(impl Users + Audit + Releases + Sessions + Events + Evals + ?Sized),
    evals: &Path,
    release: &str,
) {
    let ana = seam_control::Actor::user("ana");
    let ben = seam_control::Actor::user("ben");
    let result = async {
        seam_control::approve(store, &ben, release).await?;
        seam_control::deploy_with(
            store,
            &ana,
            "support-bot@production",
            release,
            seam_control::DeployMode::Drain,
            &[seam_control::owners::PRODUCTION.to_string()],
            &seam_control::gates::GateCheck {
                evals_dir: Some(evals.to_path_buf()),
                override_reason: None,
            },
        )
        .await
    }
    .await;
    match result {
        Ok(_) => println!("  seam deploy support-bot@production {release}: deployed"),
        Err(e) => println!("  seam deploy support-bot@production {release}: refused: {e}"),
    }
}
