//! Canaries' judgement (issue 27, docs/canaries.md): a golden is a recorded conversation, each
//! turn a dataset case whose `expected` is the recorded answer; it is replayed against what is
//! deployed now, several times. This module holds the pure parts: the assertions a recorded
//! answer implies, what changed between it and a replay, and a verdict over the repeats. The
//! replay, storage and schedule are the gateway's.
//!
//! **Default assertions** ([`default_assertions`]), in the dataset's `assert` syntax, so the
//! existing graders grade them and a golden can be edited by hand:
//!
//! - each recorded tool call: `{"type": "tool-call", "value": {"name": N, "arguments": {...}}}`
//!   where the arguments are the recorded scalar ones (numbers, booleans, strings up to 64
//!   characters): ids and flags must match, free text may change. Arguments that are not a
//!   JSON object, or keep nothing, give the name alone. No tool call recorded:
//!   `{"type": "tool-call", "value": "none"}`;
//! - `refusal` when the recording refused (its `refusal` field, `finish_reason`
//!   `content_filter`, or the `refusal` grader's opening phrases), else `not-refusal`;
//! - `is-json` when the recorded text was a JSON object or array;
//! - `icontains-all` with up to 5 key phrases of the recorded text ([`key_phrases`]: tokens
//!   with digits, then capitalised words that do not open a sentence, then the longest words
//!   of 8 letters or more); none found, no assertion;
//! - with an embedding route, `{"type": "similar", "value": TEXT, "threshold": 0.8, "route":
//!   R}` (not for an empty text, nor one with `{{`, which an assertion value may not hold);
//! - `{"type": "latency-ms", "max": max(recorded × 2, recorded + 100)}` when the latency was
//!   measured, and `{"type": "cost-usd", "max": recorded × 1.5}` when the call was priced
//!   above 0.
//!
//! **Diff** ([`diff`]): the text word by word (`[-old-] {+new+}`, with counts), tool calls
//! added, removed and with changed arguments, a refusal flip, JSON validity, the finish reason,
//! and the latency and cost ratios.
//!
//! **Verdict** ([`verdict`]): every repeat passed, pass; some, flaky; none, fail; nothing
//! decided (all errored, or no repeats), error.

mod assertions;
mod diff;
mod phrases;
mod verdict;
mod words;

#[cfg(test)]
mod tests;

pub use assertions::{DeriveOptions, MAX_ARGUMENT_CHARS, default_assertions};
pub use diff::{ArgumentsChange, Diff, FinishReasonChange, Flip, JsonChange, ToolCallsDiff, diff};
pub use phrases::key_phrases;
pub use verdict::{RepeatOutcome, Verdict, verdict};
pub use words::{CONTEXT_WORDS, ELLIPSIS, TextDiff, word_diff};
