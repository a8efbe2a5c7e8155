//! Phase 4 of [`crate::pipeline`], resolve: which route (and so which provider targets) a request's `model` names.
//! Routes are resolved once at start into a table holding each target's provider, timeout
//! and retry budget, so a call looks up one map entry.

use crate::FastMap;
use crate::budget::RetryBudget;
use crate::errors::GatewayError;
use seam_config::{Config, Route};
use seam_providers::{Provider, Registry};
use std::sync::Arc;
use std::time::Duration;

pub struct RouteState {
    pub route: Route,
    pub targets: Vec<TargetState>,
}

pub struct TargetState {
    pub provider_name: String,
    pub model: String,
    pub provider: Arc<dyn Provider>,
    /// Time to the first byte (and the longest silence mid-stream) of one attempt.
    pub timeout: Duration,
    /// Retries against this provider on this route draw from here.
    pub budget: Arc<RetryBudget>,
}

#[derive(Default)]
pub struct RouteTable {
    routes: FastMap<String, Arc<RouteState>>,
}

impl RouteTable {
    /// Builds the table; with `previous` (a reload), a target whose retry settings did not
    /// change keeps its budget window.
    pub fn build(
        config: &Config,
        registry: &Registry,
        previous: Option<&RouteTable>,
    ) -> Result<RouteTable, String> {
        let mut routes = FastMap::default();
        for r in &config.routes {
            let mut targets = Vec::new();
            for t in &r.targets {
                let provider = registry.get(&t.provider).cloned().ok_or_else(|| {
                    format!(
                        "route `{}`: provider `{}` is not registered",
                        r.name, t.provider
                    )
                })?;
                let provider_timeout = config
                    .providers
                    .iter()
                    .find(|p| p.name == t.provider)
                    .map(|p| p.timeout)
                    .unwrap_or(Duration::from_secs(120));
                targets.push(TargetState {
                    provider_name: t.provider.clone(),
                    model: t.model.clone(),
                    provider,
                    timeout: r.retry.attempt_timeout.unwrap_or(provider_timeout),
                    budget: previous
                        .and_then(|p| p.routes.get(&r.name))
                        .and_then(|old| old.targets.iter().find(|o| o.provider_name == t.provider))
                        .map(|o| o.budget.clone())
                        .filter(|b| b.is(r.retry.budget_ratio, r.retry.min_retries_per_second))
                        .unwrap_or_else(|| {
                            Arc::new(RetryBudget::new(
                                r.retry.budget_ratio,
                                r.retry.min_retries_per_second,
                            ))
                        }),
                });
            }
            routes.insert(
                r.name.clone(),
                Arc::new(RouteState {
                    route: r.clone(),
                    targets,
                }),
            );
        }
        Ok(RouteTable { routes })
    }
}

pub fn resolve(table: &RouteTable, model: &str) -> Result<Arc<RouteState>, GatewayError> {
    table
        .routes
        .get(model)
        .cloned()
        .ok_or_else(|| GatewayError::UnknownRoute(model.to_string()))
}
