//! Calls whose tokens have no price are flagged `unpriced`, never a silent $0; the price is
//! looked up by the served model, else the model Seam asked for, and the flag follows the same
//! rule.

use crate::harness::{Harness, Options, call_id, hello};
use serde_json::json;

const ROUTES: &str = r#"
[[routes]]
name = "mini"
targets = [{ provider = "up", model = "sim-mini" }]
"#;

/// One call of `route` answered as the sim's `served` model: its call and attempt records.
async fn served_as(
    h: &Harness,
    route: &str,
    served: &str,
) -> (seam_store::CallRecord, Vec<seam_store::AttemptRecord>) {
    h.set_scenario(&format!("[model]\nserved = \"{served}\"\n"))
        .await;
    let r = h
        .chat(json!({"model": route, "messages": hello(), "max_tokens": 20}))
        .await;
    assert_eq!(r.status(), 200);
    let id = call_id(&r);
    let _ = r.bytes().await;
    h.record(&id).await
}

#[tokio::test]
async fn tokens_without_a_price_are_flagged_unpriced_by_the_price_bill_looks_up() {
    let h = Harness::start(Options {
        extra: ROUTES,
        ..Options::default()
    })
    .await;
    // Neither the model asked for nor the one served has a price.
    let (call, attempts) = served_as(&h, "mini", "sim-mini-2026-01").await;
    assert!(call.input_tokens > 0);
    assert_eq!(call.cost_usd, 0.0);
    assert!(call.unpriced, "{call:?}");
    assert!(attempts[0].unpriced, "{attempts:?}");

    // The served model has a price: priced by it, whatever was asked for.
    let (call, attempts) = served_as(&h, "mini", "sim-large-2026-01").await;
    assert!(call.cost_usd > 0.0);
    assert!(!call.unpriced && !attempts[0].unpriced, "{call:?}");

    // The served model has none, the model asked for has one: priced by that.
    let (call, attempts) = served_as(&h, "chat", "sim-large-2026-01-preview").await;
    assert!(call.cost_usd > 0.0);
    assert!(!call.unpriced && !attempts[0].unpriced, "{call:?}");
}

#[tokio::test]
async fn an_attempt_with_no_tokens_to_bill_is_not_unpriced() {
    let h = Harness::start(Options {
        extra: ROUTES,
        ..Options::default()
    })
    .await;
    // A 429 is not billed: $0 is its true cost, price or none.
    h.set_scenario(
        "[model]\nserved = \"sim-mini-2026-01\"\n[[errors]]\nkind = \"status\"\nstatus = 429\nrate = 1.0\n",
    )
    .await;
    let r = h.chat(json!({"model": "mini", "messages": hello()})).await;
    assert_eq!(r.status(), 429);
    let id = call_id(&r);
    let (call, attempts) = h.record(&id).await;
    assert_eq!((call.input_tokens, call.cost_usd), (0, 0.0));
    assert!(!call.unpriced && !attempts[0].unpriced, "{attempts:?}");
}
