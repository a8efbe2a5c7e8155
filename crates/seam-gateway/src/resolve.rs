//! Phase 2, resolve: which route (and so which provider targets) a request's `model` names.

use crate::errors::GatewayError;
use seam_config::{Config, Route};

pub fn resolve<'c>(config: &'c Config, model: &str) -> Result<&'c Route, GatewayError> {
    config
        .route(model)
        .ok_or_else(|| GatewayError::UnknownRoute(model.to_string()))
}
