//! The end of a relayed stream: its attempt and call billed and recorded, with the stream's
//! telemetry (and the chunk-shape drift detector fed).

use super::Relay;
use crate::account;
use crate::call::{AttemptEnd, CallCtx, CallEnd};
use seam_providers::{AttemptError, ErrorClass};
use seam_vocab::{CallErrorClass, Outcome};

impl Relay {
    /// Records the attempt and the call. `error` is why the stream ended early, if it did.
    /// The client may see the stream's end once the returned receiver (if any) resolves (see
    /// [`crate::finish::Finisher::finish`]).
    pub(super) fn end(&mut self, error: Option<AttemptError>) -> Option<crate::record::Durable> {
        let mut ctx = self.ctx.take()?;
        let tally = &self.tally;
        let bill = ctx.charge(
            &self.end.metrics,
            &self.up,
            &self.request,
            AttemptEnd {
                served: &self.served,
                report: self.usage,
                fallback: account::Fallback::Answer {
                    // Only a stream that ran to [DONE] owed its usage.
                    finished: error.is_none(),
                    output_tokens: &|| tally.total(),
                },
                error: error.as_ref(),
            },
        );
        self.billed = bill.usage;
        let (outcome, class, message) = match &error {
            None => (Outcome::Ok, None, None),
            Some(e) if e.class == ErrorClass::Cancelled => (
                Outcome::ClientClosed,
                Some(CallErrorClass::ClientClosed),
                Some(e.message.clone()),
            ),
            Some(e) => (
                Outcome::Error,
                Some(e.class.into()),
                Some(format!("{} (after {} chunks)", e.message, self.chunks)),
            ),
        };
        let stream = self.stream_record(&ctx, bill.usage.output_tokens, outcome, error.is_none());
        let answer = self.captured.take().map(|a| {
            let (answer, cut) = a.finish(outcome == Outcome::ClientClosed);
            crate::capture::Answered::Stream { answer, cut }
        });
        self.end.finish(
            ctx,
            CallEnd {
                status: 200,
                outcome,
                error_class: class,
                error_message: message,
                ttfb_ms: self.up.ttfb_ms,
                stream,
                answer,
            },
        )
    }

    /// The stream's telemetry record; a stream that ran to its end also feeds the
    /// chunk-shape drift detector.
    fn stream_record(
        &mut self,
        ctx: &CallCtx,
        output_tokens: u64,
        outcome: Outcome,
        completed: bool,
    ) -> Option<seam_store::StreamRecord> {
        let watch = self.watch.take()?;
        let config = &ctx.live.config;
        let slo = config.route(&ctx.route).and_then(|r| r.stream_slo);
        let summary = watch.finish(
            &ctx.id,
            ctx.created_ms,
            &ctx.route,
            &self.up.provider,
            self.served.model.as_deref(),
            output_tokens,
            outcome == Outcome::ClientClosed,
            self.rechunk.is_some(),
            slo.as_ref(),
            Some(&self.end.metrics.streams),
        );
        let shape = match self.upstream_shape.take() {
            Some(up) => {
                let s = up.finish(
                    &ctx.id,
                    ctx.created_ms,
                    &ctx.route,
                    &self.up.provider,
                    None,
                    output_tokens,
                    false,
                    false,
                    None,
                    None,
                );
                (s.record.chars_p50, s.gap_p50_ms, s.record.content_chunks)
            }
            None => (
                summary.record.chars_p50,
                summary.gap_p50_ms,
                summary.record.content_chunks,
            ),
        };
        // A stream of a few chunks says little about the provider's chunking.
        if completed && shape.2 >= 3 {
            self.end.shape.observe(
                &self.end.events,
                &config.streams,
                &self.up.provider,
                self.served.model.as_deref().unwrap_or(&self.up.model),
                shape.0,
                shape.1,
            );
        }
        Some(summary.record)
    }
}
