//! Part of observe: served-model drift. For each provider and requested model Seam remembers
//! every served `model` and `system_fingerprint` it has seen (in the store, so a restart
//! forgets nothing). A new one after the first writes an event, once per change: a
//! `served_model_changed` when the model itself differs (the provider moved an alias under a
//! frozen prompt), a `fingerprint_changed` when only the fingerprint does (the same model on
//! a changed backend configuration: worth knowing, seldom worth waking anyone).

use crate::FastMap;
use crate::events::Events;
use crate::untrusted::Escaped;
use seam_store::{EventRecord, ServedRecord};
use seam_vocab::EventKind;
use std::collections::HashSet;
use std::sync::RwLock;

pub const EVENT_KIND: EventKind = EventKind::ServedModelChanged;
/// The same served model under a new `system_fingerprint`: a lower-severity change.
pub const FINGERPRINT_EVENT: EventKind = EventKind::FingerprintChanged;

/// What a provider has served for one requested model.
#[derive(Default)]
struct Seen {
    pairs: HashSet<(String, String)>,
    /// The most recent pair: the common case is answered by comparing with it.
    last: (String, String),
}

/// What one answer says about drift.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    Known,
    /// The first answer ever for this provider and requested model: the baseline.
    FirstSight,
    Changed {
        before: (String, String),
    },
}

#[derive(Default)]
pub struct Drift {
    /// provider -> requested model -> seen
    known: RwLock<FastMap<String, FastMap<String, Seen>>>,
}

impl Drift {
    pub async fn load(store: &dyn seam_store::Events) -> Result<Drift, seam_store::StoreError> {
        let d = Drift::default();
        for r in store.list_served().await? {
            d.note(
                &r.provider,
                &r.requested_model,
                &r.served_model,
                &r.system_fingerprint,
            );
        }
        Ok(d)
    }

    /// Records one answer and says whether it is known, the first, or a change.
    pub fn note(&self, provider: &str, requested: &str, served: &str, fingerprint: &str) -> Note {
        if let Ok(all) = self.known.read()
            && let Some(seen) = all.get(provider).and_then(|p| p.get(requested))
            && seen.last.0 == served
            && seen.last.1 == fingerprint
        {
            return Note::Known;
        }
        let Ok(mut all) = self.known.write() else {
            return Note::Known;
        };
        let seen = all
            .entry(provider.to_string())
            .or_default()
            .entry(requested.to_string())
            .or_default();
        let pair = (served.to_string(), fingerprint.to_string());
        let first = seen.pairs.is_empty();
        let new = seen.pairs.insert(pair.clone());
        let before = std::mem::replace(&mut seen.last, pair);
        match (first, new) {
            (true, _) => Note::FirstSight,
            (false, true) => Note::Changed { before },
            // Back to a pair seen before (e.g. a canary flip-flop): known, not a new change.
            (false, false) => Note::Known,
        }
    }

    /// Checks one successful attempt's served model; on a first sight or a change it is
    /// remembered in the store, and a change writes the event.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &self,
        events: &Events,
        route: &str,
        provider: &str,
        requested: &str,
        served: &str,
        fingerprint: &str,
        call_id: &str,
    ) {
        let note = self.note(provider, requested, served, fingerprint);
        if note == Note::Known {
            return;
        }
        let record = ServedRecord {
            provider: provider.to_string(),
            requested_model: requested.to_string(),
            served_model: served.to_string(),
            system_fingerprint: fingerprint.to_string(),
            first_seen_ms: seam_store::now_ms(),
            first_call_id: call_id.to_string(),
        };
        let event = match &note {
            Note::Changed { before } => {
                let fp = |f: &str| {
                    if f.is_empty() {
                        "none".to_string()
                    } else {
                        f.to_string()
                    }
                };
                let kind = if before.0 == served {
                    FINGERPRINT_EVENT
                } else {
                    EVENT_KIND
                };
                let message = if kind == FINGERPRINT_EVENT {
                    format!(
                        "provider `{provider}` serves `{served}` with fingerprint {} when asked for `{requested}`; it had fingerprint {} before. First call: {call_id}",
                        fp(fingerprint),
                        fp(&before.1)
                    )
                } else {
                    format!(
                        "provider `{provider}` now serves `{served}` (fingerprint {}) when asked for `{requested}`; it served `{}` (fingerprint {}) before. First call: {call_id}",
                        fp(fingerprint),
                        before.0,
                        fp(&before.1)
                    )
                };
                if kind == FINGERPRINT_EVENT {
                    tracing::info!(
                        kind = kind.as_str(),
                        provider,
                        requested,
                        "{}",
                        Escaped(&message)
                    );
                } else {
                    tracing::warn!(
                        kind = kind.as_str(),
                        provider,
                        requested,
                        "{}",
                        Escaped(&message)
                    );
                }
                events.count(kind);
                let details = serde_json::json!({
                    "actor": "provider",
                    "requested_model": requested,
                    "before": {"model": before.0, "system_fingerprint": before.1},
                    "after": {"model": served, "system_fingerprint": fingerprint},
                    "first_call_id": call_id,
                });
                let mut event = EventRecord::new(kind, message, details)
                    .route(route)
                    .provider(provider);
                event.created_ms = record.first_seen_ms;
                Some(event)
            }
            _ => None,
        };
        let store = events.store().clone();
        events.tasks().job("served-model write", async move {
            // Gateways sharing a store each see the change; the one that records it first
            // writes the one event.
            match store.insert_served(&record).await {
                Ok(true) => {
                    if let Some(ev) = event
                        && let Err(e) = store.insert_event(&ev).await
                    {
                        tracing::error!(error = %e, kind = %ev.kind, "could not write the event");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "could not remember a served model"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_noted_once() {
        let d = Drift::default();
        assert_eq!(d.note("p", "m-latest", "m-1", "fp1"), Note::FirstSight);
        assert_eq!(d.note("p", "m-latest", "m-1", "fp1"), Note::Known);
        assert_eq!(
            d.note("p", "m-latest", "m-2", "fp2"),
            Note::Changed {
                before: ("m-1".into(), "fp1".into())
            }
        );
        assert_eq!(d.note("p", "m-latest", "m-2", "fp2"), Note::Known);
        assert_eq!(
            d.note("p", "m-latest", "m-1", "fp1"),
            Note::Known,
            "seen before"
        );
        assert_eq!(
            d.note("p", "m-latest", "m-2", "fp3"),
            Note::Changed {
                before: ("m-1".into(), "fp1".into())
            }
        );
        assert_eq!(
            d.note("q", "m-latest", "m-2", "fp3"),
            Note::FirstSight,
            "per provider"
        );
    }
}
