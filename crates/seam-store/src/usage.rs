//! Usage history by the hour (issue 28): the live rollups (`call_hours`) and the history
//! imported from before Seam (`imported_hours`, migration 25, which retention leaves), read as
//! one series. What `seam usage import|export` and the forecasts read and write.

use crate::{Result, Tenants};
use async_trait::async_trait;
use serde::Serialize;

/// One imported hour of one tenant, route and key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedHour {
    /// The start of the UTC hour.
    pub hour_ms: i64,
    pub tenant: String,
    pub route: String,
    /// Empty when the file names no key.
    pub key_id: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    /// 0 when the file does not say.
    pub calls: i64,
}

impl ImportedHour {
    /// Adds another row's counts and cost (a row of the same key).
    pub fn add(&mut self, o: &ImportedHour) {
        self.input_tokens = self.input_tokens.saturating_add(o.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(o.output_tokens);
        self.cost_usd += o.cost_usd;
        self.calls = self.calls.saturating_add(o.calls);
    }
}

/// Where a [`UsageHour`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UsageSource {
    /// The calls Seam recorded (live traffic: evals and canaries are left out).
    Live,
    /// `seam usage import`.
    Imported,
}

impl UsageSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSource::Live => "live",
            UsageSource::Imported => "imported",
        }
    }
}

/// One hour's usage of one tenant, route and key, from one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageHour {
    pub hour_ms: i64,
    pub tenant: String,
    pub route: String,
    /// Empty for calls without a key (and imported rows that name none).
    pub key_id: String,
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    /// Calls whose tokens were estimated (0 for imported rows).
    pub estimated: i64,
    pub source: UsageSource,
}

/// Imported usage history, and the hourly union of it with the live rollups.
#[async_trait]
pub trait UsageHistory: Send + Sync {
    /// Stores imported hours in one transaction (all or none), each replacing a stored row
    /// with its key; rows of one key given together are summed. Returns the rows written.
    async fn import_hours(&self, rows: &[ImportedHour]) -> Result<u64>;
    /// The live calls' rollups (purpose live only, summed per hour, tenant, route and key) and
    /// the imported hours from the hour `since_ms` falls in until `until_ms` (exclusive), of
    /// `tenants` only, by hour (then source, tenant, route, key).
    async fn usage_hours(
        &self,
        since_ms: i64,
        until_ms: i64,
        tenants: &Tenants,
    ) -> Result<Vec<UsageHour>>;
}

/// `rows` with those of one key summed, in key order.
pub(crate) fn merged(rows: &[ImportedHour]) -> Vec<ImportedHour> {
    let mut by_key: std::collections::BTreeMap<(i64, &str, &str, &str), ImportedHour> =
        std::collections::BTreeMap::new();
    for r in rows {
        let key = (
            crate::hour_floor(r.hour_ms),
            r.tenant.as_str(),
            r.route.as_str(),
            r.key_id.as_str(),
        );
        match by_key.get_mut(&key) {
            Some(m) => m.add(r),
            None => {
                by_key.insert(
                    key,
                    ImportedHour {
                        hour_ms: key.0,
                        ..r.clone()
                    },
                );
            }
        }
    }
    by_key.into_values().collect()
}
