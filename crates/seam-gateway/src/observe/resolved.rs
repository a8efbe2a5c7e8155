//! Metric handles resolved once per route and provider. A family looked up by label values
//! allocates the labels' strings and hashes them every time; a call or a stream looks up its
//! handles here instead, by two borrowed names.

use crate::FastMap;
use std::sync::{Arc, RwLock};

pub struct PerRouteProvider<T>(RwLock<FastMap<String, FastMap<String, Arc<T>>>>);

impl<T> Default for PerRouteProvider<T> {
    fn default() -> Self {
        PerRouteProvider(RwLock::default())
    }
}

impl<T> PerRouteProvider<T> {
    /// The handles of `route` and `provider`, made by `resolve` the first time.
    pub fn get(&self, route: &str, provider: &str, resolve: impl FnOnce() -> T) -> Arc<T> {
        if let Some(h) = self
            .0
            .read()
            .ok()
            .and_then(|m| m.get(route).and_then(|p| p.get(provider)).cloned())
        {
            return h;
        }
        let h = Arc::new(resolve());
        if let Ok(mut m) = self.0.write() {
            m.entry(route.to_string())
                .or_default()
                .insert(provider.to_string(), h.clone());
        }
        h
    }
}
