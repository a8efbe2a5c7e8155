//! Re-chunking (optional, per route): content deltas are coalesced up to a word or line
//! boundary, and held at most `max_hold`, so clients see steady chunks whatever the provider
//! sends. Only plain content chunks are held; anything else (role, tool-call deltas,
//! `finish_reason`, usage, several choices) first releases what is held and then passes
//! unchanged, so the text, its order relative to every other event, and those events
//! themselves are preserved exactly. Streamed `logprobs` go with the text they describe: while
//! any held chunk carries them, text is cut only where an upstream chunk ended, and a released
//! chunk carries the entries of every chunk whose text it holds, in order.

use seam_config::Boundary;
use seam_wire::At;
use serde_json::Value;
use std::collections::VecDeque;

pub struct Rechunker {
    boundary: Boundary,
    /// A chunk is released once it has this many characters up to a boundary.
    min_chars: usize,
    held: String,
    /// The held upstream chunks: where each one's text ends in `held`, and its logprob
    /// entries (`logprobs.content`), if it had any.
    pieces: VecDeque<(usize, Option<Vec<Value>>)>,
    /// The last held chunk: what a released chunk looks like apart from its text.
    template: Option<Value>,
}

/// The text of a chunk that is nothing but content for choice 0 (with, maybe, its logprobs).
pub fn plain_content(v: &Value) -> Option<&str> {
    if v.get("usage").is_some_and(|u| !u.is_null()) {
        return None;
    }
    let [choice] = v.get("choices")?.as_array()?.as_slice() else {
        return None;
    };
    if choice.get("index").and_then(Value::as_u64).unwrap_or(0) != 0
        || choice.get("finish_reason").is_some_and(|f| !f.is_null())
    {
        return None;
    }
    logprob_entries(choice).ok()?;
    let delta = choice.get("delta")?.as_object()?;
    if delta.len() != 1 {
        return None;
    }
    delta.get("content")?.as_str()
}

/// A choice's content logprobs: none, or its `logprobs.content` entries; `Err` for anything
/// else (a refusal's logprobs, an unknown shape), which is not held.
fn logprob_entries(choice: &Value) -> Result<Option<&Vec<Value>>, ()> {
    let Some(lp) = choice.get("logprobs").filter(|l| !l.is_null()) else {
        return Ok(None);
    };
    let lp = lp.as_object().ok_or(())?;
    if lp
        .iter()
        .any(|(k, v)| k != "content" && !(k == "refusal" && empty(v)))
    {
        return Err(());
    }
    match lp.get("content") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(_) => Err(()),
    }
}

fn empty(v: &Value) -> bool {
    v.is_null() || v.as_array().is_some_and(Vec::is_empty)
}

impl Rechunker {
    pub fn new(boundary: Boundary, min_chars: usize) -> Rechunker {
        Rechunker {
            boundary,
            min_chars: min_chars.max(1),
            held: String::new(),
            pieces: VecDeque::new(),
            template: None,
        }
    }

    /// Whether text is held (and so a hold deadline runs).
    pub fn holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// Where the held text may be cut: just after its last boundary (with logprobs held, the
    /// last end of a chunk at or before it), if what comes before is long enough.
    fn cut(&self) -> Option<usize> {
        let (i, c) = match self.boundary {
            Boundary::Word => self
                .held
                .char_indices()
                .rev()
                .find(|(_, c)| c.is_whitespace())?,
            Boundary::Line => self.held.char_indices().rev().find(|(_, c)| *c == '\n')?,
        };
        let mut end = i + c.len_utf8();
        if self.pieces.iter().any(|(_, lp)| lp.is_some()) {
            end = self
                .pieces
                .iter()
                .map(|(e, _)| *e)
                .take_while(|e| *e <= end)
                .last()?;
        }
        (end > 0 && self.held[..end].chars().count() >= self.min_chars).then_some(end)
    }

    /// A chunk of `text`, with the logprob entries of the pieces it holds (those ending at or
    /// before `end`, which are taken).
    fn chunk_of(&mut self, text: String, end: usize) -> Option<Value> {
        let mut entries: Option<Vec<Value>> = None;
        while let Some((e, _)) = self.pieces.front()
            && *e <= end
        {
            if let Some((_, Some(lp))) = self.pieces.pop_front() {
                entries.get_or_insert_with(Vec::new).extend(lp);
            }
        }
        for (e, _) in self.pieces.iter_mut() {
            *e -= end;
        }
        let mut v = self.template.clone()?;
        if let Some(entries) = entries {
            let choice = v.pointer_mut("/choices/0")?.as_object_mut()?;
            let mut lp = match choice.remove("logprobs") {
                Some(Value::Object(o)) => o,
                _ => serde_json::Map::new(),
            };
            lp.insert("content".into(), Value::Array(entries));
            choice.insert("logprobs".into(), Value::Object(lp));
        }
        let delta = v.pointer_mut("/choices/0/delta")?.as_object_mut()?;
        delta.insert("content".into(), Value::String(text));
        Some(v)
    }

    /// One chunk from upstream; returns the chunks to send now, in order.
    pub fn push(&mut self, v: Value) -> Vec<Value> {
        let Some(text) = plain_content(&v) else {
            let mut out: Vec<Value> = self.flush().into_iter().collect();
            out.push(v);
            return out;
        };
        self.held.push_str(text);
        let entries = v
            .at(&["choices", "0"])
            .and_then(|c| logprob_entries(c).ok().flatten())
            .cloned();
        self.pieces.push_back((self.held.len(), entries));
        self.template = Some(v);
        let Some(cut) = self.cut() else {
            return Vec::new();
        };
        let rest = self.held.split_off(cut);
        let ready = std::mem::replace(&mut self.held, rest);
        self.chunk_of(ready, cut).into_iter().collect()
    }

    /// Releases everything held (the hold time ran out, or the stream ends).
    pub fn flush(&mut self) -> Option<Value> {
        // Empty text is sent only to carry logprob entries that came with it.
        let entries = self
            .pieces
            .iter()
            .any(|(_, lp)| lp.as_ref().is_some_and(|l| !l.is_empty()));
        if self.held.is_empty() && !entries {
            self.pieces.clear();
            return None;
        }
        let text = std::mem::take(&mut self.held);
        let end = text.len();
        self.chunk_of(text, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[derive(Debug, Clone)]
    enum Ev {
        Text(String),
        Tool(String),
        Finish,
        Usage,
        Hold,
    }

    fn chunk(ev: &Ev) -> Option<Value> {
        let base = |choices: Value| json!({"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": choices});
        Some(match ev {
            Ev::Text(t) => {
                base(json!([{"index": 0, "delta": {"content": t}, "finish_reason": null}]))
            }
            Ev::Tool(a) => base(
                json!([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": a}}]}, "finish_reason": null}]),
            ),
            Ev::Finish => base(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}])),
            Ev::Usage => {
                json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5}})
            }
            Ev::Hold => return None,
        })
    }

    fn text(v: &Value) -> Option<&str> {
        plain_content(v)
    }

    /// The non-content events, each with the text sent before it.
    fn skeleton(out: &[Value]) -> (String, Vec<(String, Value)>) {
        let mut all = String::new();
        let mut others = Vec::new();
        for v in out {
            match text(v) {
                Some(t) => all.push_str(t),
                None => others.push((all.clone(), v.clone())),
            }
        }
        (all, others)
    }

    fn event() -> impl Strategy<Value = Ev> {
        prop_oneof![
            6 => any::<String>().prop_map(Ev::Text),
            6 => "[a-zé🦀 \n.]{0,12}".prop_map(Ev::Text),
            1 => "[{}a-z0-9\":]{0,8}".prop_map(Ev::Tool),
            1 => Just(Ev::Finish),
            1 => Just(Ev::Usage),
            2 => Just(Ev::Hold),
        ]
    }

    proptest! {
        #[test]
        fn text_order_and_other_events_are_preserved(events in prop::collection::vec(event(), 0..60), line in any::<bool>(), min in 1usize..24) {
            let mut r = Rechunker::new(if line { Boundary::Line } else { Boundary::Word }, min);
            let mut input = Vec::new();
            let mut out = Vec::new();
            for ev in &events {
                match chunk(ev) {
                    Some(v) => {
                        input.push(v.clone());
                        out.extend(r.push(v));
                    }
                    None => out.extend(r.flush()),
                }
            }
            out.extend(r.flush());
            prop_assert_eq!(skeleton(&out), skeleton(&input));
            for v in &out {
                if let Some(t) = text(v) {
                    prop_assert!(!t.is_empty(), "no empty content chunks are made");
                }
            }
        }

        #[test]
        fn word_chunks_end_at_a_boundary_unless_released_early(words in prop::collection::vec("[a-z]{1,6}", 1..30), splits in prop::collection::vec(1usize..5, 1..40), min in 1usize..16) {
            let sentence: String = words.iter().map(|w| format!("{w} ")).collect();
            let chars: Vec<char> = sentence.chars().collect();
            let mut r = Rechunker::new(Boundary::Word, min);
            let (mut at, mut out) = (0, Vec::new());
            for s in splits.iter().cycle() {
                if at >= chars.len() {
                    break;
                }
                let end = (at + s).min(chars.len());
                let piece: String = chars[at..end].iter().collect();
                out.extend(r.push(chunk(&Ev::Text(piece)).expect("chunk")));
                at = end;
            }
            for v in &out {
                let t = text(v).expect("content");
                prop_assert!(t.ends_with(' '), "{:?}", t);
                prop_assert!(t.chars().count() >= min, "{:?} is shorter than {}", t, min);
            }
            let rest = r.flush().map(|v| text(&v).unwrap_or("").to_string()).unwrap_or_default();
            prop_assert!(rest.chars().count() < min + 7, "only a short tail is left: {:?}", rest);
        }
    }

    /// A content chunk with one logprob entry per token, as OpenAI streams `logprobs: true`.
    fn with_logprobs(tokens: &[String]) -> Value {
        let entries: Vec<Value> = tokens
            .iter()
            .map(
                |t| json!({"token": t, "logprob": -0.5, "bytes": t.as_bytes(), "top_logprobs": []}),
            )
            .collect();
        json!({"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [{"index": 0, "delta": {"content": tokens.concat()}, "logprobs": {"content": entries, "refusal": null}, "finish_reason": null}]})
    }

    fn tokens_of(v: &Value) -> Vec<String> {
        v.pointer("/choices/0/logprobs/content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e["token"].as_str().map(str::to_string))
            .collect()
    }

    proptest! {
        #[test]
        fn logprobs_stay_with_their_text(chunks in prop::collection::vec(prop::collection::vec("[a-z \n]{0,4}", 0..3), 0..40), holds in prop::collection::vec(any::<bool>(), 40), line in any::<bool>(), min in 1usize..12) {
            let mut r = Rechunker::new(if line { Boundary::Line } else { Boundary::Word }, min);
            let mut out = Vec::new();
            for (tokens, hold) in chunks.iter().zip(holds.iter().chain(std::iter::repeat(&false))) {
                out.extend(r.push(with_logprobs(tokens)));
                if *hold {
                    out.extend(r.flush());
                }
            }
            out.extend(r.push(chunk(&Ev::Finish).expect("chunk")));
            let mut all_text = String::new();
            let mut all_tokens = Vec::new();
            for v in &out {
                let tokens = tokens_of(v);
                if let Some(t) = text(v) {
                    prop_assert_eq!(tokens.concat(), t, "a chunk's logprobs are its text's");
                    all_text.push_str(t);
                }
                all_tokens.extend(tokens);
            }
            let sent: Vec<String> = chunks.iter().flatten().cloned().collect();
            prop_assert_eq!(all_text, sent.concat());
            prop_assert_eq!(all_tokens, sent);
        }
    }

    #[test]
    fn logprobs_are_coalesced_with_word_chunks() {
        let mut r = Rechunker::new(Boundary::Word, 1);
        let mut out = Vec::new();
        for t in ["Hel", "lo", " wor", "ld", ", ", "friend"] {
            out.extend(r.push(with_logprobs(&[t.to_string()])));
        }
        out.extend(r.flush());
        let texts: Vec<&str> = out.iter().filter_map(text).collect();
        assert_eq!(texts, ["Hello", " world, ", "friend"]);
        let tokens: Vec<Vec<String>> = out.iter().map(tokens_of).collect();
        assert_eq!(
            tokens,
            [vec!["Hel", "lo"], vec![" wor", "ld", ", "], vec!["friend"]]
        );
        assert_eq!(out[0]["choices"][0]["logprobs"]["refusal"], Value::Null);
    }

    #[test]
    fn one_token_chunks_become_word_chunks() {
        let mut r = Rechunker::new(Boundary::Word, 1);
        let mut out = Vec::new();
        for t in ["Hel", "lo", " wor", "ld", ", ", "friend"] {
            out.extend(r.push(chunk(&Ev::Text(t.into())).expect("chunk")));
        }
        out.extend(r.flush());
        let texts: Vec<&str> = out.iter().filter_map(text).collect();
        assert_eq!(texts, ["Hello ", "world, ", "friend"]);
    }

    #[test]
    fn a_minimum_size_coalesces_words() {
        let mut r = Rechunker::new(Boundary::Word, 12);
        let mut out = Vec::new();
        for t in [
            "Once ",
            "upon ",
            "a ",
            "midnight ",
            "dreary ",
            "while ",
            "I",
        ] {
            out.extend(r.push(chunk(&Ev::Text(t.into())).expect("chunk")));
        }
        out.extend(r.flush());
        let texts: Vec<&str> = out.iter().filter_map(text).collect();
        assert_eq!(texts, ["Once upon a ", "midnight dreary ", "while I"]);
    }
}
