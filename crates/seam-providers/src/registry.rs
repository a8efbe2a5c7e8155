//! Builds providers from config. Each kind registers one constructor here; nothing else in
//! Seam branches on a provider's kind.

use crate::Provider;
use seam_config::ProviderKind;
use std::collections::HashMap;
use std::sync::Arc;

type Factory = fn(&seam_config::Provider) -> Result<Arc<dyn Provider>, String>;

/// The constructor for each provider kind.
const FACTORIES: &[(ProviderKind, Factory)] = &[
    (ProviderKind::Openai, |c| {
        Ok(Arc::new(crate::openai::OpenAi::new(c)?))
    }),
    (ProviderKind::Anthropic, |c| {
        Ok(Arc::new(crate::anthropic::Anthropic::new(c)?))
    }),
    (ProviderKind::Sim, |c| match c.base_url {
        // A sim over HTTP speaks the OpenAI wire format.
        Some(_) => Ok(Arc::new(crate::openai::OpenAi::new(c)?.labelled("sim"))),
        None => Ok(Arc::new(crate::sim::InProcessSim::new(c)?)),
    }),
];

#[derive(Clone, Default)]
pub struct Registry {
    providers: HashMap<String, Arc<dyn Provider>>,
}

impl Registry {
    pub fn from_config(providers: &[seam_config::Provider]) -> Result<Registry, String> {
        let mut map = HashMap::new();
        for p in providers {
            let factory = FACTORIES
                .iter()
                .find(|(k, _)| *k == p.kind)
                .map(|(_, f)| f)
                .ok_or_else(|| format!("provider `{}`: no constructor for its kind", p.name))?;
            let built = factory(p).map_err(|e| format!("provider `{}`: {e}", p.name))?;
            map.insert(p.name.clone(), built);
        }
        Ok(Registry { providers: map })
    }

    /// The registry for a reloaded config: a provider whose config did not change is kept
    /// (its connections stay warm), the others are built anew.
    pub fn rebuild(
        &self,
        old: &[seam_config::Provider],
        new: &[seam_config::Provider],
    ) -> Result<Registry, String> {
        let changed: Vec<seam_config::Provider> = new
            .iter()
            .filter(|p| !old.contains(p) || !self.providers.contains_key(&p.name))
            .cloned()
            .collect();
        let mut out = Registry::from_config(&changed)?;
        for p in new.iter().filter(|p| !changed.contains(p)) {
            if let Some(kept) = self.providers.get(&p.name) {
                out.providers.insert(p.name.clone(), kept.clone());
            }
        }
        Ok(out)
    }

    /// Adds or replaces a provider (tests and the demo register in-process ones).
    pub fn insert(&mut self, provider: Arc<dyn Provider>) {
        self.providers.insert(provider.name().to_string(), provider);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.providers.get(name)
    }
}
