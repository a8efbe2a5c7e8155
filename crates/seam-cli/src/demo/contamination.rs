//! The seed's contamination story, then the value ledger's: an engineer pastes six eval cases
//! into support-bot as few-shot examples; the guard refuses the release and names them; an
//! owner overrides it, and every score of that release on the dataset is marked, with the
//! score on the clean subset beside it. The model here copies its in-context examples (the
//! sim's `recall` mode), so the pasted cases pass and the full score rises while the clean
//! subset does not move. Then `seam report value` for the quarter, over the gate decisions
//! the demo made.

use super::evals::{Target, run};
use super::{BASE_SCENARIO, Script};
use crate::cli::StoreArgs;
use crate::eval::GateOptions;
use seam_control::contamination::{Guard, Refusal, create_release};
use seam_store::{Audit, Evals, Events, Releases, Sessions, Users};
use serde_json::json;
use std::path::Path;

/// The cases the engineer pastes: each asks what the message alone does not answer, so a
/// model passes them only by copying the answer from its prompt.
const PASTED: [(&str, &str, &str); 6] = [
    (
        "Can I return a gift card I bought last month?",
        "Gift cards are final sale; I can offer store credit instead.",
        "store credit",
    ),
    (
        "My parcel arrived crushed, what now?",
        "Send us a photo and we will ship a replacement at no cost.",
        "replacement",
    ),
    (
        "I was charged after cancelling my trial.",
        "Charges after a cancelled trial are reversed within five business days.",
        "reversed",
    ),
    (
        "Do you refund shipping fees?",
        "Shipping fees are refunded only when the item arrived damaged.",
        "arrived damaged",
    ),
    (
        "How long until the money is back on my card?",
        "Refunds reach your card in five to ten business days.",
        "business days",
    ),
    (
        "Can I get my money back for a sale item?",
        "Sale items can be exchanged but not refunded.",
        "exchanged",
    ),
];
/// The dataset's other cases; every third one asks in words that do not carry the answer.
const CLEAN: usize = 17;

/// The dataset: the six cases, then the clean ones. The sim echoes a question it has no
/// example for, so a clean case passes when its message carries what its assertion looks for.
fn dataset() -> String {
    let mut lines = Vec::new();
    for (i, (ask, answer, want)) in PASTED.iter().enumerate() {
        lines.push(case(&format!("refund-{i:02}"), ask, answer, want));
    }
    for i in 0..CLEAN {
        let order = 4100 + i;
        let (ask, want) = if i % 3 == 2 {
            (
                format!("Order {order} went back to you last week, where is my money"),
                "refund issued",
            )
        } else {
            (
                format!("Please confirm the refund for order {order} was approved"),
                "approved",
            )
        };
        let answer = format!("The refund for order {order} is {want}.");
        lines.push(case(&format!("refund-{:02}", i + 6), &ask, &answer, want));
    }
    lines.join("\n") + "\n"
}

fn case(id: &str, ask: &str, answer: &str, want: &str) -> String {
    json!({
        "id": id,
        "input": {"messages": [{"role": "user", "content": ask}]},
        "variables": {"customer": "Acme"},
        "expected": answer,
        "assert": [{"type": "icontains", "value": want}],
        "tags": ["refunds"],
    })
    .to_string()
}

/// `prompt` with the six cases as few-shot turns after its system message.
fn with_few_shots(prompt: &str) -> anyhow::Result<String> {
    let mut shots = String::new();
    for (ask, answer, _) in PASTED {
        shots.push_str(&format!(
            "[[messages]]\nrole = \"user\"\ncontent = {ask:?}\n\n[[messages]]\nrole = \"assistant\"\ncontent = {answer:?}\n\n"
        ));
    }
    let at = prompt
        .find("[[tools]]")
        .ok_or_else(|| anyhow::anyhow!("the demo prompt no longer has a [[tools]] table"))?;
    Ok(format!("{}{shots}{}", &prompt[..at], &prompt[at..]))
}

pub(super) async fn guard(
    script: &Script<'_>,
    store: &(impl Users + Audit + Releases + Sessions + Events + Evals + ?Sized),
    dir: &Path,
    config: &Path,
) -> anyhow::Result<()> {
    println!(
        "\nContamination: ben pastes six cases of evals/refunds.jsonl into support-bot as few-shot examples, to fix the answers they get wrong."
    );
    let evals = dir.join("evals");
    std::fs::write(evals.join("refunds.jsonl"), dataset())?;
    let path = dir.join("prompts").join("support-bot.toml");
    let current = std::fs::read_to_string(&path)?;
    std::fs::write(&path, with_few_shots(&current)?)?;
    let prompt = seam_prompts::load_file(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let guard = Guard {
        evals_dir: Some(evals),
        ..Guard::default()
    };
    let ben = seam_control::Actor::user("ben");
    println!("  seam release create support-bot");
    match create_release(store, &ben, &prompt, &guard).await {
        Err(Refusal::Contaminated { message, .. }) => {
            println!("  refused: {}", message.replace('\n', "\n  "));
        }
        Err(Refusal::Control(e)) => return Err(e.into()),
        Ok((r, ..)) => anyhow::bail!("the guard let release {} through", r.id),
    }
    let reason = "the refund answers were wrong in production; cases to be rewritten next sprint";
    println!("  seam release create support-bot --allow-contamination \"{reason}\"");
    let allowed = Guard {
        allow: Some(reason.into()),
        ..guard
    };
    let (release, ..) = create_release(store, &ben, &prompt, &allowed).await?;
    println!(
        "  {}: made, the override audited with the six cases",
        release.id
    );

    // The same model for both runs: one that copies an answer from its prompt when it can.
    script
        .set_scenario(&format!("{BASE_SCENARIO}\n[content]\nmode = \"recall\"\n"))
        .await?;
    let store_args = StoreArgs {
        config: config.to_path_buf(),
        store: None,
    };
    let baseline = run(script, store, &store_args, "refunds", Target::Channel).await?;
    let candidate = run(
        script,
        store,
        &store_args,
        "refunds",
        Target::Release(&release.id),
    )
    .await?;
    script.set_scenario(BASE_SCENARIO).await?;

    println!("  seam eval gate {candidate} --baseline {baseline}");
    match crate::eval::decide(&store_args, &candidate, &baseline, &GateOptions::default()).await {
        Err(e) => println!("  refused: {}", e.to_string().replace('\n', "\n  ")),
        Ok(d) => anyhow::bail!("the gate took a contaminated run as evidence: {d:?}"),
    }
    println!("  seam eval gate {candidate} --baseline {baseline} --accept-contaminated");
    crate::eval::decide(
        &store_args,
        &candidate,
        &baseline,
        &GateOptions {
            accept_contaminated: true,
            ..GateOptions::default()
        },
    )
    .await?;

    let quarter = seam_control::value::quarter_of(seam_store::now_ms());
    println!(
        "\nValue: what the gates of this demo were worth, as finance reads it.\n  seam report value --quarter {quarter}\n"
    );
    crate::value::report(&store_args, None, Some(&quarter), "md").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_few_shots_go_before_the_tools_and_parse() {
        let text = with_few_shots(super::super::DEMO_PROMPT).unwrap();
        let p = seam_prompts::parse(&text, Path::new("prompts/support-bot.toml")).unwrap();
        assert_eq!(p.messages.len(), 13);
        assert_eq!(p.messages[2].content, PASTED[0].1);
        assert_eq!(p.tools.len(), 1);
    }
}
