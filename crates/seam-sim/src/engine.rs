//! The sim's brain, independent of wire format: counts requests, applies the scenario and
//! decides what the next answer is.

use crate::scenario::{ContentMode, ErrorKind, Jitter, Scenario};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A chat request reduced to what the sim looks at, whatever wire format it came in.
#[derive(Debug, Default)]
pub struct ChatInput {
    pub model: String,
    /// Word count of every message (system, user, assistant, tool) in the request.
    pub input_words: u64,
    pub last_user: String,
    /// The assistant turn that followed an earlier user turn equal to the last one (see
    /// [`recall`]); what `mode = "recall"` answers.
    pub recalled: Option<String>,
    /// The text of the tool result the request ends with (a model's next turn in a tool
    /// loop): `mode = "tool_call"` then answers it in text instead of calling again.
    pub tool_result: Option<String>,
    pub max_tokens: Option<u64>,
    pub tools: Vec<String>,
    /// Stop sequences: the reply ends before the first one it contains.
    pub stop: Vec<String>,
}

impl ChatInput {
    /// Takes a request's user and assistant turns, in order (`(is_user, text)`): the last user
    /// turn is what the sim echoes, and [`recall`] reads them all.
    pub fn take_turns(&mut self, mut turns: Vec<(bool, String)>) {
        self.recalled = recall(&turns);
        if let Some(i) = turns.iter().rposition(|(user, _)| *user) {
            self.last_user = turns.swap_remove(i).1;
        }
    }
}

/// A request's user and assistant turns in order, `(is_user, text)`: the answer to the last user turn when an
/// earlier user turn says the same (trimmed), taken from the assistant turn right after that
/// one, before the next user turn.
pub fn recall(turns: &[(bool, String)]) -> Option<String> {
    let last = turns.iter().rposition(|(user, _)| *user)?;
    let asked = turns[last].1.trim();
    if asked.is_empty() {
        return None;
    }
    let shot = turns[..last]
        .iter()
        .position(|(user, text)| *user && text.trim() == asked)?;
    turns[shot + 1..last]
        .iter()
        .take_while(|(user, _)| !*user)
        .map(|(_, text)| text)
        .find(|text| !text.trim().is_empty())
        .cloned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Stop,
    Length,
    ToolCalls,
}

#[derive(Debug, Clone)]
pub enum Body {
    /// Text, already split into tokens (words with their trailing space).
    Text(Vec<String>),
    Tool {
        id: String,
        name: String,
        arguments: String,
    },
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub seq: u64,
    pub served_model: String,
    pub fingerprint: Option<String>,
    pub body: Body,
    pub finish: Finish,
    /// The stop sequence that ended the reply (`finish` is then `Stop`).
    pub stop_sequence: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// How the counts are reported.
    pub usage: UsageOut,
    pub tokens_per_chunk: usize,
    pub interval: Duration,
    /// Streams: every event in one write.
    pub together: bool,
    /// Cut the connection after this many chunks (streams) or half way (non-streaming).
    pub cut_after_chunks: Option<usize>,
    /// Streams: a line that never ends after some events.
    pub huge_line: Option<crate::output::HugeLine>,
}

/// How a reply reports its usage (scenario `[usage]`).
#[derive(Debug, Clone, PartialEq)]
pub enum UsageOut {
    /// `input_tokens` and `output_tokens`, in the wire format's field names.
    Counts,
    /// No usage at all.
    Omit,
    /// This JSON as the usage object.
    Raw(Value),
}

#[derive(Debug, Clone)]
// The plan lives on the stack for one request and is almost always a `Reply`: boxing it
// would add an allocation to every request of the benchmark's upstream.
#[allow(clippy::large_enum_variant)]
pub enum Plan {
    Fail {
        status: u16,
        message: String,
        code: Option<String>,
        error_type: Option<String>,
        param: Option<String>,
        headers: Vec<(String, String)>,
        retry_after_secs: Option<u64>,
        retry_after_ms: Option<u64>,
        usage_input_tokens: Option<u64>,
        location: Option<String>,
    },
    Hang(Duration),
    Reset,
    Reply(Reply),
}

/// A planned answer and how long to wait before giving it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub delay: Duration,
    pub plan: Plan,
}

/// Counters the control endpoint reports.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub connections: AtomicU64,
    pub refused: AtomicU64,
    /// SSE responses being written now.
    pub streams_open: AtomicU64,
    /// SSE responses the client stopped reading before their end.
    pub streams_cancelled: AtomicU64,
}

/// The simulated upstream's shared state. Cheap to clone.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

struct Inner {
    scenario: RwLock<Arc<Scenario>>,
    started: RwLock<Instant>,
    stats: Stats,
    last_headers: RwLock<Value>,
    last_body: RwLock<Value>,
    /// Responses kept for `GET`/`DELETE /v1/responses/{id}`, oldest first.
    stored: std::sync::Mutex<std::collections::VecDeque<(String, Value)>>,
}

/// How many responses the sim keeps for `GET /v1/responses/{id}`.
const STORED_RESPONSES: usize = 1024;

impl Sim {
    pub fn new(scenario: Scenario) -> Sim {
        Sim {
            inner: Arc::new(Inner {
                scenario: RwLock::new(Arc::new(scenario)),
                started: RwLock::new(Instant::now()),
                stats: Stats::default(),
                last_headers: RwLock::new(Value::Null),
                last_body: RwLock::new(Value::Null),
                stored: Default::default(),
            }),
        }
    }

    pub fn scenario(&self) -> Arc<Scenario> {
        match self.inner.scenario.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Swaps the scenario and restarts the request count and clock it schedules by.
    pub fn set_scenario(&self, s: Scenario) {
        match self.inner.scenario.write() {
            Ok(mut g) => *g = Arc::new(s),
            Err(p) => *p.into_inner() = Arc::new(s),
        }
        if let Ok(mut t) = self.inner.started.write() {
            *t = Instant::now();
        }
        self.inner.stats.requests.store(0, Ordering::Relaxed);
        self.inner.stats.connections.store(0, Ordering::Relaxed);
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    pub fn set_last_headers(&self, v: Value) {
        if let Ok(mut g) = self.inner.last_headers.write() {
            *g = v;
        }
    }

    /// Keeps the last request body, so tests can check what a gateway sent.
    pub fn set_last_body(&self, v: Value) {
        if let Ok(mut g) = self.inner.last_body.write() {
            *g = v;
        }
    }

    pub fn last_body(&self) -> Value {
        self.inner
            .last_body
            .read()
            .map(|g| g.clone())
            .unwrap_or(Value::Null)
    }

    pub fn last_headers(&self) -> Value {
        self.inner
            .last_headers
            .read()
            .map(|g| g.clone())
            .unwrap_or(Value::Null)
    }

    /// Keeps a response (the Responses API's `store`), the oldest going beyond a bound.
    pub fn keep_response(&self, id: &str, response: Value) {
        if let Ok(mut s) = self.inner.stored.lock() {
            if s.len() >= STORED_RESPONSES {
                s.pop_front();
            }
            s.push_back((id.to_string(), response));
        }
    }

    /// A kept response; with `delete`, forgotten as it is returned.
    pub fn stored_response(&self, id: &str, delete: bool) -> Option<Value> {
        let mut s = self.inner.stored.lock().ok()?;
        let at = s.iter().rposition(|(k, _)| k == id)?;
        if delete {
            s.remove(at).map(|(_, v)| v)
        } else {
            s.get(at).map(|(_, v)| v.clone())
        }
    }

    /// Whether a newly accepted connection is to be reset at once (`kind = "refuse"`).
    pub fn refuse_connection(&self) -> bool {
        let n = self.inner.stats.connections.fetch_add(1, Ordering::Relaxed) + 1;
        let s = self.scenario();
        let roll = rand::random::<f64>();
        let refuse = s
            .errors
            .iter()
            .any(|e| e.kind == ErrorKind::Refuse && e.fires(n, roll));
        if refuse {
            self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
        }
        refuse
    }

    /// Decides the answer to the next chat (or embeddings) request.
    pub fn plan(&self, input: &ChatInput) -> Decision {
        let n = self.inner.stats.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let s = self.scenario();
        let delay = latency(&s);
        let roll = rand::random::<f64>();
        let mut cut = None;
        let mut huge_line = None;
        for rule in s.errors.iter().filter(|r| r.fires(n, roll)) {
            let plan = match rule.kind {
                ErrorKind::Status => Plan::Fail {
                    status: rule.status.unwrap_or(500),
                    message: rule
                        .message
                        .clone()
                        .unwrap_or_else(|| format!("simulated error (request {n})")),
                    code: rule.code.clone(),
                    error_type: rule.error_type.clone(),
                    param: rule.param.clone(),
                    headers: rule.headers.clone().into_iter().collect(),
                    retry_after_secs: rule.retry_after_secs,
                    retry_after_ms: rule.retry_after_ms,
                    usage_input_tokens: rule.usage_input_tokens,
                    location: rule.location.clone(),
                },
                ErrorKind::Timeout => {
                    Plan::Hang(Duration::from_millis(rule.hold_ms.unwrap_or(3_600_000)))
                }
                ErrorKind::Reset => Plan::Reset,
                ErrorKind::Cut => {
                    cut = Some(rule.after_chunks.unwrap_or(2));
                    continue;
                }
                ErrorKind::HugeLine => {
                    huge_line = Some(crate::output::HugeLine {
                        after: rule.after_chunks.unwrap_or(1),
                        bytes: rule.line_bytes.unwrap_or(150 * 1024 * 1024),
                        hold: Duration::from_millis(rule.hold_ms.unwrap_or(3_600_000)),
                    });
                    continue;
                }
                ErrorKind::Refuse => continue,
            };
            return Decision { delay, plan };
        }
        let mut reply = self.reply(&s, n, input);
        reply.cut_after_chunks = cut;
        reply.huge_line = huge_line;
        Decision {
            delay,
            plan: Plan::Reply(reply),
        }
    }

    fn reply(&self, s: &Scenario, n: u64, input: &ChatInput) -> Reply {
        let elapsed = self
            .inner
            .started
            .read()
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        let mut served = s.model.served.clone();
        let mut fingerprint = s.model.fingerprint.clone();
        for c in &s.model.changes {
            let due = c.after_requests.is_some_and(|a| n > a)
                || c.after_secs.is_some_and(|a| elapsed >= a);
            if due {
                served = c.served.clone().or(served);
                fingerprint = c.fingerprint.clone().or(fingerprint);
            }
        }
        let served_model = served.unwrap_or_else(|| input.model.clone());

        let tool = match s.content.mode {
            ContentMode::ToolCall
                if !(s.content.answer_tool_results && input.tool_result.is_some()) =>
            {
                s.content
                    .tool
                    .as_ref()
                    .map(|t| {
                        let args: serde_json::Map<String, Value> = t
                            .arguments
                            .iter()
                            .map(|(k, v)| (k.clone(), toml_to_json(v)))
                            .collect();
                        (t.name.clone(), Value::Object(args).to_string())
                    })
                    .or_else(|| input.tools.first().map(|n| (n.clone(), "{}".to_string())))
            }
            _ => None,
        };
        let mut stop_sequence = None;
        let (body, finish, words) = match tool {
            Some((name, arguments)) => {
                let words = arguments.len().div_ceil(4) as u64;
                (
                    Body::Tool {
                        id: format!("call_sim_{n}"),
                        name,
                        arguments,
                    },
                    Finish::ToolCalls,
                    words,
                )
            }
            None => {
                let text = match s.content.mode {
                    ContentMode::Fixed => s.content.text.clone().unwrap_or_default(),
                    ContentMode::Json => s
                        .content
                        .json
                        .as_ref()
                        .map(|j| toml_to_json(j).to_string())
                        .unwrap_or_else(|| "{\"ok\":true}".into()),
                    ContentMode::ToolCall
                        if s.content.answer_tool_results && input.tool_result.is_some() =>
                    {
                        input.tool_result.clone().unwrap_or_default()
                    }
                    ContentMode::Recall if input.recalled.is_some() => {
                        input.recalled.clone().unwrap_or_default()
                    }
                    _ if input.last_user.trim().is_empty() => "Hello from the Seam sim.".into(),
                    _ => input.last_user.clone(),
                };
                let (text, matched) = cut_at_stop(text, &input.stop);
                stop_sequence = matched;
                let mut tokens = tokenize(&text);
                let mut finish = Finish::Stop;
                if let Some(max) = input.max_tokens
                    && tokens.len() as u64 > max
                {
                    tokens.truncate(max as usize);
                    finish = Finish::Length;
                    stop_sequence = None;
                }
                let words = tokens.len() as u64;
                (Body::Text(tokens), finish, words)
            }
        };
        Reply {
            seq: n,
            served_model,
            fingerprint,
            body,
            finish,
            stop_sequence,
            input_tokens: s.usage.input_tokens.unwrap_or(input.input_words),
            output_tokens: s.usage.output_tokens.unwrap_or(words),
            usage: match &s.usage.raw {
                _ if s.usage.omit => UsageOut::Omit,
                // Checked when the scenario was read.
                Some(raw) => serde_json::from_str(raw).map_or(UsageOut::Omit, UsageOut::Raw),
                None => UsageOut::Counts,
            },
            tokens_per_chunk: s.stream.tokens_per_chunk.max(1),
            interval: Duration::from_millis(s.stream.interval_ms),
            together: s.stream.together,
            cut_after_chunks: None,
            huge_line: None,
        }
    }
}

/// The text up to the earliest stop sequence it contains, and that sequence.
fn cut_at_stop(mut text: String, stop: &[String]) -> (String, Option<String>) {
    let first = stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
        .min_by_key(|(at, _)| *at);
    match first {
        Some((at, s)) => {
            text.truncate(at);
            (text, Some(s.clone()))
        }
        None => (text, None),
    }
}

/// Splits text into word tokens, each keeping the whitespace that follows it, so that
/// concatenating the tokens gives the text back.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_space = false;
    for ch in text.chars() {
        if ch.is_whitespace() {
            in_space = true;
        } else if in_space && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            in_space = false;
        }
        cur.push(ch);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub fn count_words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

fn latency(s: &Scenario) -> Duration {
    let mut ms = s.latency.fixed_ms as f64;
    if let Some(j) = &s.latency.jitter {
        let u: f64 = rand::random();
        ms += match *j {
            Jitter::Uniform { min_ms, max_ms } => min_ms + u * (max_ms - min_ms).max(0.0),
            Jitter::Exponential { mean_ms } => -mean_ms * (1.0 - u).ln(),
            Jitter::Normal { mean_ms, stddev_ms } => {
                let u2: f64 = rand::random();
                let z = (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                mean_ms + z * stddev_ms
            }
        };
    }
    Duration::from_micros((ms.max(0.0) * 1000.0) as u64)
}

pub fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests;
