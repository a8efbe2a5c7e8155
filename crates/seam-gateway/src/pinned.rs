//! Phase 6 of [`crate::pipeline`], after dispatch: a release pins its model, and when the provider serves another,
//! the release's `on_model_change` decides. `record`: the drift event is enough; `alert`: an
//! event per release and served model; `refuse`: the attempt is recorded and billed, and the
//! client gets a 502 instead of an answer from a model its release was not tested against.

use crate::account;
use crate::call::{AttemptEnd, CallCtx, Upstream};
use crate::dispatch::Answer;
use crate::errors::GatewayError;
use crate::events::Events;
use crate::observe::Metrics;
use crate::untrusted::Escaped;
use seam_providers::StreamEvent;
use seam_store::EventRecord;
use seam_vocab::EventKind;
use seam_wire::{RequestBody, UsageReport};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Mutex;

pub const MISMATCH_EVENT: EventKind = EventKind::ReleaseModelMismatch;

/// `on_model_change = "alert"`: one event per release and served model.
pub struct ModelAlerts {
    seen: Mutex<HashSet<(String, String)>>,
    events: Events,
}

impl ModelAlerts {
    pub fn new(events: Events) -> ModelAlerts {
        ModelAlerts {
            seen: Mutex::new(HashSet::new()),
            events,
        }
    }

    fn alert(&self, release: &str, pinned: &str, served: &str, call_id: &str) {
        let first = self
            .seen
            .lock()
            .map(|mut s| s.insert((release.to_string(), served.to_string())))
            .unwrap_or(false);
        if !first {
            return;
        }
        let message = format!(
            "release {release} pins `{pinned}` but the provider served `{served}` (first call: {call_id})"
        );
        tracing::warn!(
            kind = MISMATCH_EVENT.as_str(),
            release,
            "{}",
            Escaped(&message)
        );
        let details = json!({"actor": "provider", "release": release, "pinned": pinned, "served": served, "first_call_id": call_id});
        self.events
            .emit(EventRecord::new(MISMATCH_EVENT, message, details));
    }

    /// Holds an answer to its release's pinned model (see the module's doc).
    pub fn check(
        &self,
        metrics: &Metrics,
        ctx: &mut CallCtx,
        up: &Upstream,
        answer: &Answer,
        body: &RequestBody,
    ) -> Result<(), GatewayError> {
        let (Some(pinned), Some(policy), Some(release)) = (
            ctx.pinned_model.clone(),
            ctx.model_policy,
            ctx.release_id.clone(),
        ) else {
            return Ok(());
        };
        let (served, usage) = match answer {
            Answer::Complete(c) => (c.served.clone(), c.usage),
            Answer::Stream { head, .. } => (
                head.iter()
                    .find_map(|e| match e {
                        StreamEvent::Chunk(c) => Some(c.served()),
                        _ => None,
                    })
                    .unwrap_or_default(),
                UsageReport::Missing,
            ),
        };
        let Some(served_model) = served.model.clone().filter(|m| *m != pinned) else {
            return Ok(());
        };
        match policy {
            seam_prompts::ModelChange::Record => Ok(()),
            seam_prompts::ModelChange::Alert => {
                self.alert(&release, &pinned, &served_model, &ctx.id);
                Ok(())
            }
            seam_prompts::ModelChange::Refuse => {
                // The answer is dropped, but it was produced: billed like one, or (a stream
                // given up after its first events) for its input.
                let text = || match answer {
                    Answer::Complete(c) => account::output_tokens(c),
                    Answer::Stream { .. } => 0,
                };
                let fallback = match answer {
                    Answer::Complete(_) => account::Fallback::Answer {
                        finished: true,
                        output_tokens: &text,
                    },
                    Answer::Stream { .. } => account::Fallback::Input,
                };
                ctx.charge(
                    metrics,
                    up,
                    body,
                    AttemptEnd {
                        served: &served,
                        report: usage,
                        fallback,
                        error: None,
                    },
                );
                Err(GatewayError::ServedModelMismatch {
                    release,
                    pinned,
                    served: served_model,
                })
            }
        }
    }
}
