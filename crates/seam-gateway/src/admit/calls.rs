//! What the request path asks of the limiter, once per call and once per attempt: the call's
//! admission, and a reservation of what each attempt will likely be billed.

use super::{Estimate, Limiter, Reservation};
use crate::authenticate::Caller;
use crate::errors::{GatewayError, Refusal};
use seam_config::{Config, TraceLimits};
use seam_wire::{RequestBody, Usage};
use std::sync::Arc;

/// Whom a call's limits count against.
pub struct Subject<'a> {
    pub config: &'a Config,
    pub caller: &'a Caller,
    /// The call's trace: the one it named, else itself.
    pub trace: &'a str,
    pub trace_limits: &'a TraceLimits,
}

impl Limiter {
    /// Admits a call against its tenant's and key's request windows and its trace's caps.
    /// Where a token or cost limit applies, each completion it asks for is billed, so more
    /// than `limits.max_n` is refused first.
    pub async fn admit(
        self: &Arc<Self>,
        who: &Subject<'_>,
        body: &RequestBody,
    ) -> Result<(), GatewayError> {
        let limits = &who.config.limits;
        if !self.applies(limits, who.caller, who.trace_limits) {
            return Ok(());
        }
        if self.needs_estimate(limits, who.caller, who.trace_limits) {
            completions(body, limits.max_n)?;
        }
        self.admit_call(
            limits,
            who.caller,
            who.trace,
            who.trace_limits,
            seam_store::now_ms(),
        )
        .await
        .map_err(GatewayError::Refused)
    }

    /// Reserves what the next attempt (asking for `model`) will likely be billed, when any
    /// limit applies. `tokens` keeps the call's token estimate between attempts.
    pub async fn reserve_attempt(
        self: &Arc<Self>,
        who: &Subject<'_>,
        body: &RequestBody,
        model: &str,
        tokens: &mut Option<(u64, u64)>,
    ) -> Result<Option<Reservation>, Refusal> {
        let limits = &who.config.limits;
        if !self.applies(limits, who.caller, who.trace_limits) {
            return Ok(None);
        }
        let est = self.estimate(who, body, model, tokens);
        self.reserve(
            limits,
            who.caller,
            who.trace,
            who.trace_limits,
            est,
            seam_store::now_ms(),
        )
        .await
        .map(Some)
    }

    /// What an attempt will likely be billed: input from the offline tokenizer, output from
    /// the request's `max_tokens` (or the configured default) for each completion it asks
    /// for; tokens are counted once per call.
    fn estimate(
        &self,
        who: &Subject<'_>,
        body: &RequestBody,
        model: &str,
        tokens: &mut Option<(u64, u64)>,
    ) -> Estimate {
        let config = who.config;
        if !self.needs_estimate(&config.limits, who.caller, who.trace_limits) {
            return Estimate::default();
        }
        let (input, output) = *tokens.get_or_insert_with(|| {
            let each = ["max_completion_tokens", "max_tokens", "max_output_tokens"]
                .iter()
                .find_map(|k| body.get::<u64>(k).and_then(Result::ok))
                .unwrap_or_else(|| self.default_output_tokens(&config.limits));
            // Admission refused a count above the cap already.
            let n = completions(body, config.limits.max_n).unwrap_or(1);
            (crate::account::estimate_input(body), each.saturating_mul(n))
        });
        let usage = Usage {
            input_tokens: input,
            output_tokens: output,
        };
        Estimate {
            input_tokens: input,
            output_tokens: output,
            cost: crate::account::cost(config, None, model, usage),
        }
    }
}

/// How many completions a call asks for, each of them billed: `n`, or `best_of` when larger
/// (the provider generates that many and returns `n`). On a call held to a token or cost
/// limit, more than `max_n` (`limits.max_n`) is refused: a 400 naming the field.
pub fn completions(body: &RequestBody, max_n: u64) -> Result<u64, GatewayError> {
    let mut most = 1;
    for field in ["n", "best_of"] {
        if !body.has(field) {
            continue;
        }
        let v = match body.get::<u64>(field) {
            Some(Ok(v)) if v >= 1 => v,
            _ => {
                return Err(GatewayError::InvalidField {
                    field,
                    reason: "must be a whole number, 1 or more.".into(),
                });
            }
        };
        if v > max_n {
            return Err(GatewayError::InvalidField {
                field,
                reason: format!(
                    "{v} completions asked for; every one is billed, and this gateway allows at most {max_n} per call under a token or cost limit (limits.max_n)."
                ),
            });
        }
        most = most.max(v);
    }
    Ok(most)
}
