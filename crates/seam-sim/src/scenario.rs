//! The scenario file: what the sim does, request by request. Documented in docs/sim.md.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub latency: Latency,
    #[serde(default)]
    pub errors: Vec<ErrorRule>,
    #[serde(default)]
    pub model: ModelSpec,
    #[serde(default)]
    pub stream: StreamShape,
    #[serde(default)]
    pub content: Content,
    #[serde(default)]
    pub usage: UsageSpec,
}

impl Scenario {
    pub fn from_toml(text: &str) -> Result<Scenario, String> {
        let s: Scenario = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<(), String> {
        for (i, e) in self.errors.iter().enumerate() {
            let schedules = [
                e.rate.is_some(),
                e.every.is_some(),
                e.first.is_some(),
                e.requests.is_some(),
                e.pattern.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if schedules != 1 {
                return Err(format!(
                    "errors[{i}]: give exactly one of rate, every, first, requests, pattern"
                ));
            }
            if let Some(r) = e.rate
                && !(0.0..=1.0).contains(&r)
            {
                return Err(format!("errors[{i}].rate: must be between 0 and 1"));
            }
            if let Some(p) = &e.pattern
                && (p.is_empty() || !p.bytes().all(|b| b == b'x' || b == b'.'))
            {
                return Err(format!(
                    "errors[{i}].pattern: use only `x` (fail) and `.` (pass), e.g. \"x..\""
                ));
            }
            if e.every == Some(0) {
                return Err(format!("errors[{i}].every: must be at least 1"));
            }
            if e.line_bytes.is_some() && e.kind != ErrorKind::HugeLine {
                return Err(format!(
                    "errors[{i}].line_bytes: applies only to kind = \"huge_line\""
                ));
            }
            if e.kind == ErrorKind::Status && e.status.is_none() {
                return Err(format!(
                    "errors[{i}]: kind = \"status\" needs status = 429 (or 500, 503, ...)"
                ));
            }
        }
        if self.usage.omit && self.usage.raw.is_some() {
            return Err("usage: give at most one of omit, raw".into());
        }
        if let Some(raw) = &self.usage.raw
            && let Err(e) = serde_json::from_str::<serde_json::Value>(raw)
        {
            return Err(format!("usage.raw: not JSON: {e}"));
        }
        if self.stream.tokens_per_chunk == 0 {
            return Err("stream.tokens_per_chunk: must be at least 1".into());
        }
        for (i, c) in self.model.changes.iter().enumerate() {
            if c.after_requests.is_some() == c.after_secs.is_some() {
                return Err(format!(
                    "model.changes[{i}]: give exactly one of after_requests, after_secs"
                ));
            }
        }
        Ok(())
    }
}

/// Delay before the response headers (and before the first chunk of a stream).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    #[serde(default)]
    pub fixed_ms: u64,
    pub jitter: Option<Jitter>,
}

/// Random extra delay added to `fixed_ms`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Jitter {
    Uniform { min_ms: f64, max_ms: f64 },
    Exponential { mean_ms: f64 },
    Normal { mean_ms: f64, stddev_ms: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// An HTTP error status with a provider-shaped error body.
    Status,
    /// Hold the request without answering for `hold_ms`.
    Timeout,
    /// Read the request, then reset the connection without answering.
    Reset,
    /// Reset new connections as soon as they are accepted, before reading anything.
    Refuse,
    /// Answer, then cut the connection: after `after_chunks` chunks of a stream, or half
    /// way through a non-streaming body.
    Cut,
    /// A stream sends `after_chunks` events, then one `data:` line of `line_bytes` bytes
    /// that never ends, then nothing for `hold_ms`. Non-streaming requests are answered as
    /// usual.
    #[serde(rename = "huge_line")]
    HugeLine,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRule {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    pub message: Option<String>,
    /// kind = "status": the error body's `code`, `type` (by default the status's) and
    /// `param`, as a provider writes them.
    pub code: Option<String>,
    #[serde(rename = "type")]
    pub error_type: Option<String>,
    pub param: Option<String>,
    /// kind = "status": more headers on the answer (`x-request-id`, `x-ratelimit-*`, ...).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub retry_after_secs: Option<u64>,
    pub retry_after_ms: Option<u64>,
    pub hold_ms: Option<u64>,
    pub after_chunks: Option<usize>,
    /// kind = "huge_line": the length of the line that never ends.
    pub line_bytes: Option<u64>,
    /// Usage reported in the error body (some providers bill failed calls).
    pub usage_input_tokens: Option<u64>,
    /// The `Location` header (with a 3xx status).
    pub location: Option<String>,
    // Exactly one schedule:
    pub rate: Option<f64>,
    pub every: Option<u64>,
    pub first: Option<u64>,
    pub requests: Option<Vec<u64>>,
    /// Repeats over the requests: `x` fails, `.` passes; "x.." fails every third, starting
    /// with the first.
    pub pattern: Option<String>,
}

impl ErrorRule {
    /// Whether this rule fires for the `n`th request (1-based); `roll` is uniform in [0, 1).
    pub fn fires(&self, n: u64, roll: f64) -> bool {
        if let Some(r) = self.rate {
            return roll < r;
        }
        if let Some(e) = self.every {
            return n.is_multiple_of(e);
        }
        if let Some(f) = self.first {
            return n <= f;
        }
        if let Some(p) = &self.pattern {
            let p = p.as_bytes();
            return !p.is_empty() && p[((n - 1) % p.len() as u64) as usize] == b'x';
        }
        self.requests.as_ref().is_some_and(|l| l.contains(&n))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The served model; by default the model the request asked for.
    pub served: Option<String>,
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub changes: Vec<ModelChange>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelChange {
    pub after_requests: Option<u64>,
    pub after_secs: Option<f64>,
    pub served: Option<String>,
    pub fingerprint: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamShape {
    #[serde(default = "one")]
    pub tokens_per_chunk: usize,
    #[serde(default)]
    pub interval_ms: u64,
    /// Every event in one write (one chunk of the chunked body), as a buffering proxy in
    /// front of a provider sends them.
    #[serde(default)]
    pub together: bool,
}

fn one() -> usize {
    1
}

impl Default for StreamShape {
    fn default() -> Self {
        StreamShape {
            tokens_per_chunk: 1,
            interval_ms: 0,
            together: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentMode {
    /// Repeat the last user message.
    #[default]
    Echo,
    /// Always `text`.
    Fixed,
    /// `json` serialized as the message content.
    Json,
    /// Call `tool` (or the first tool the request offers) instead of answering in text.
    ToolCall,
    /// A model that copies its in-context examples: when the last user message repeats an
    /// earlier user turn of the request, answer with the assistant turn that followed it;
    /// otherwise echo. Plays an eval graded on cases pasted into its prompt as few-shots.
    Recall,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    #[serde(default)]
    pub mode: ContentMode,
    pub text: Option<String>,
    pub json: Option<toml::Value>,
    pub tool: Option<ToolSpec>,
    /// `mode = "tool_call"`: a request that ends with a tool result is answered in text, with
    /// that result (a tool loop's next turn), instead of with the call again.
    #[serde(default)]
    pub answer_tool_results: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    pub name: String,
    #[serde(default)]
    pub arguments: BTreeMap<String, toml::Value>,
}

/// Fixed token counts; by default the sim counts words (see docs/sim.md). `omit` and `raw`
/// play a provider whose usage cannot be taken as it comes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageSpec {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// Report no usage at all.
    #[serde(default)]
    pub omit: bool,
    /// JSON sent as the usage object instead of the counts, e.g. a negative or overflowing
    /// count, in the field names of the wire format asked.
    pub raw: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_scenario() {
        let s = Scenario::from_toml(
            r#"
[latency]
fixed_ms = 5
jitter = { kind = "exponential", mean_ms = 3.0 }

[[errors]]
kind = "status"
status = 429
retry_after_secs = 1
every = 3

[model]
served = "sim-large-2026-01"
fingerprint = "fp_1"
changes = [{ after_requests = 10, served = "sim-large-2026-02", fingerprint = "fp_2" }]

[stream]
tokens_per_chunk = 2
interval_ms = 10

[content]
mode = "fixed"
text = "hello there"
"#,
        )
        .expect("valid");
        assert!(s.errors[0].fires(3, 0.9));
        let p = Scenario::from_toml("[[errors]]\nkind = \"reset\"\npattern = \"x..\"\n").unwrap();
        let fired: Vec<bool> = (1..=6).map(|n| p.errors[0].fires(n, 0.0)).collect();
        assert_eq!(fired, [true, false, false, true, false, false]);
        assert!(!s.errors[0].fires(4, 0.0));
        assert_eq!(s.stream.tokens_per_chunk, 2);
    }

    #[test]
    fn refuses_ambiguous_schedule_and_unknown_keys() {
        let e = Scenario::from_toml("[[errors]]\nkind = \"reset\"\nrate = 0.5\nevery = 2\n")
            .unwrap_err();
        assert!(e.contains("exactly one"), "{e}");
        let e = Scenario::from_toml("[latency]\nfixd_ms = 1\n").unwrap_err();
        assert!(e.contains("fixd_ms"), "{e}");
        let e = Scenario::from_toml("[usage]\nraw = \"{nope\"\n").unwrap_err();
        assert!(e.contains("usage.raw"), "{e}");
        let e = Scenario::from_toml("[usage]\nomit = true\nraw = \"1\"\n").unwrap_err();
        assert!(e.contains("at most one"), "{e}");
        let e = Scenario::from_toml("[[errors]]\nkind = \"cut\"\nline_bytes = 9\nfirst = 1\n")
            .unwrap_err();
        assert!(e.contains("line_bytes: applies only"), "{e}");
    }
}
