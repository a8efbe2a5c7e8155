//! Imported usage history (migration 25): a re-import replaces, an import that fails writes
//! nothing, and the hourly union with the live rollups keeps live traffic only.

use super::sample_call;
use crate::{HOUR_MS, ImportedHour, Store, Tenants, UsageSource};
use seam_vocab::Purpose;

fn hour(hour_ms: i64, tenant: &str, key: &str, tokens: i64, cost: f64) -> ImportedHour {
    ImportedHour {
        hour_ms,
        tenant: tenant.into(),
        route: "chat".into(),
        key_id: key.into(),
        input_tokens: tokens,
        output_tokens: 2 * tokens,
        cost_usd: cost,
        calls: 1,
    }
}

pub async fn imports_replace_and_union_with_live_hours(store: &dyn Store) {
    let h0 = 900 * HOUR_MS;
    let only = Tenants::Only(vec!["usg".into()]);
    // Two rows of one key (summed, one mid-hour), another key, another tenant.
    let rows = [
        hour(h0, "usg", "", 10, 1.0),
        hour(h0 + 60_000, "usg", "", 5, 0.5),
        hour(h0, "usg", "key_a", 7, 0.25),
        hour(h0, "usg_other", "", 1, 9.0),
    ];
    assert_eq!(store.import_hours(&rows).await.expect("import"), 3);
    let got = store
        .usage_hours(h0, h0 + HOUR_MS, &only)
        .await
        .expect("usage");
    let keyless: Vec<_> = got.iter().filter(|h| h.key_id.is_empty()).collect();
    assert_eq!(keyless.len(), 1, "{got:?}");
    assert_eq!(
        (
            keyless[0].input_tokens,
            keyless[0].calls,
            keyless[0].cost_usd
        ),
        (15, 2, 1.5)
    );
    assert!(got.iter().all(|h| h.tenant == "usg" && h.hour_ms == h0));

    // The same file again, and a changed row: replaced, not added.
    store.import_hours(&rows).await.expect("re-import");
    let changed = [hour(h0, "usg", "key_a", 100, 2.0)];
    assert_eq!(store.import_hours(&changed).await.expect("import"), 1);
    let got = store
        .usage_hours(h0, h0 + HOUR_MS, &only)
        .await
        .expect("usage");
    let sums: Vec<(&str, i64, f64)> = got
        .iter()
        .map(|h| (h.key_id.as_str(), h.input_tokens, h.cost_usd))
        .collect();
    assert_eq!(sums, [("", 15, 1.5), ("key_a", 100, 2.0)]);

    // A bad row after more than one statement's worth of good ones: nothing is written.
    let mut many: Vec<ImportedHour> = (0..700)
        .map(|i| hour(h0 + (10 + i) * HOUR_MS, "usg", "", 1, 0.1))
        .collect();
    many.push(hour(h0 + 800 * HOUR_MS, "usg", "", -1, 0.1));
    assert!(store.import_hours(&many).await.is_err());
    let later = store
        .usage_hours(h0 + HOUR_MS, h0 + 1000 * HOUR_MS, &only)
        .await
        .expect("usage");
    assert!(later.is_empty(), "{} rows of a failed import", later.len());

    // Live calls in the same hours: live traffic summed per hour, tenant, route and key;
    // eval traffic left out; imported rows beside them, by hour.
    let mut calls = vec![
        sample_call("call_usg_1", h0 + 10, "usg"),
        sample_call("call_usg_2", h0 + 20, "usg"),
        sample_call("call_usg_3", h0 + HOUR_MS + 5, "usg"),
    ];
    calls[1].tokens_estimated = true;
    let mut eval = sample_call("call_usg_4", h0 + 30, "usg");
    eval.purpose = Purpose::Eval;
    calls.push(eval);
    for c in &mut calls {
        c.trace_id = Some(c.id.clone());
    }
    store.insert_records(&calls, &[], &[]).await.expect("calls");
    let got = store
        .usage_hours(h0 + 5, h0 + 2 * HOUR_MS, &only)
        .await
        .expect("usage");
    let seen: Vec<(i64, UsageSource, &str, i64, i64)> = got
        .iter()
        .map(|h| (h.hour_ms, h.source, h.key_id.as_str(), h.calls, h.estimated))
        .collect();
    assert_eq!(
        seen,
        [
            (h0, UsageSource::Live, "key_1", 2, 1),
            (h0, UsageSource::Imported, "", 2, 0),
            (h0, UsageSource::Imported, "key_a", 1, 0),
            (h0 + HOUR_MS, UsageSource::Live, "key_1", 1, 0),
        ]
    );
    assert_eq!((got[0].input_tokens, got[0].output_tokens), (20, 40));
    assert!((got[0].cost_usd - 0.00018).abs() < 1e-12);
    assert!(
        store
            .usage_hours(h0, h0 + 2 * HOUR_MS, &Tenants::Only(vec!["nobody".into()]))
            .await
            .expect("usage")
            .is_empty()
    );
}
