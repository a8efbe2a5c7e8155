//! `failure_cost_usd` (the value ledger's price of a failure): parsed strictly, linted, and
//! part of the release content only when declared.

use seam_prompts::{lint, parse};
use std::path::Path;

const HEAD: &str =
    "name = \"support-bot\"\nowners = [\"ana\"]\nroute = \"chat\"\nmodel = \"sim-large-2026-01\"\n";

fn with(extra: &str) -> Result<seam_prompts::Prompt, seam_prompts::FileError> {
    parse(&format!("{HEAD}{extra}\n"), Path::new("support-bot.toml"))
}

#[test]
fn a_declared_cost_is_read_and_kept_in_the_content() {
    let p = with("failure_cost_usd = 2.5").expect("parses");
    assert_eq!(p.failure_cost_usd, Some(2.5));
    let content = serde_json::to_value(&p).expect("json");
    assert_eq!(content["failure_cost_usd"], 2.5);
    // An integer is a number of USD too.
    assert_eq!(
        with("failure_cost_usd = 4")
            .expect("parses")
            .failure_cost_usd,
        Some(4.0)
    );
    // Absent: not in the content, so releases made before it keep their ids.
    let plain = serde_json::to_value(with("").expect("parses")).expect("json");
    assert!(plain.get("failure_cost_usd").is_none());
}

#[test]
fn a_bad_cost_is_refused_naming_the_key() {
    for bad in [
        "failure_cost_usd = -1.0",
        "failure_cost_usd = nan",
        "failure_cost_usd = inf",
        "failure_cost_usd = \"2.5\"",
    ] {
        let e = with(bad).expect_err(bad);
        assert!(
            e.message.contains("failure_cost_usd"),
            "{bad}: {}",
            e.message
        );
    }
}

#[test]
fn a_zero_cost_is_a_lint_warning() {
    let p = with("failure_cost_usd = 0.0").expect("parses");
    let found = lint(&p);
    assert!(
        found.iter().any(|f| f.key == "failure_cost_usd"),
        "{found:?}"
    );
    let p = with("failure_cost_usd = 1.0").expect("parses");
    assert!(!lint(&p).iter().any(|f| f.key == "failure_cost_usd"));
}
