//! One chat chunk of a stream, and a typed view of the few fields Seam reads from it.
//!
//! An OpenAI-native chunk keeps its bytes as received; its `serde_json::Value` (an IndexMap
//! per object, SipHash per key) is built only when something must change or translate it.
//! The relay's plain path reads a chunk through [`ChunkView`], which borrows its strings from
//! the bytes and builds nothing else. A chunk keeps the view it was first read with (the
//! producer's, which checks it is JSON): the relay, dispatch and the served model read one
//! chunk up to four times, and each reading was a parse (~4.5k instructions).
//!
//! The view reads every JSON shape without failing, exactly as the `Value` lookups it replaces
//! did: a field of another type than expected reads as absent (for containers) or
//! [`Text::Other`] (for strings), never as an error.

use crate::Served;
use bytes::Bytes;
use seam_wire::UsageReport;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;

/// A `chat.completion.chunk` (or, from a Responses API target, one event).
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Its JSON as received, when OpenAI-native.
    raw: Option<Bytes>,
    /// Built on first use from `raw`, or given by a producer that builds chunks itself.
    value: OnceLock<Value>,
    /// What Seam reads of it, read once; cleared when the document changes. Boxed: a chunk
    /// moves through channels and streams, and the view is most of its size.
    view: OnceLock<Box<ChunkView<'static>>>,
}

impl Chunk {
    /// A chunk a producer built itself (no bytes from upstream).
    pub fn from_value(value: Value) -> Chunk {
        Chunk::new(None, value)
    }

    /// A chunk whose bytes and document are both at hand already.
    pub fn new(raw: Option<Bytes>, value: Value) -> Chunk {
        Chunk {
            raw,
            value: OnceLock::from(value),
            view: OnceLock::new(),
        }
    }

    /// A chunk as received. `raw` must be one JSON document (check it with
    /// [`ChunkView::parse`] first); bytes that are not read as `null`.
    pub fn from_raw(raw: Bytes) -> Chunk {
        Chunk {
            raw: Some(raw),
            value: OnceLock::new(),
            view: OnceLock::new(),
        }
    }

    /// A chunk as received, with the view it was checked with.
    pub fn from_raw_read(raw: Bytes, view: ChunkView<'static>) -> Chunk {
        Chunk {
            raw: Some(raw),
            value: OnceLock::new(),
            view: OnceLock::from(Box::new(view)),
        }
    }

    /// The JSON as received, when OpenAI-native and unchanged.
    pub fn raw(&self) -> Option<&Bytes> {
        self.raw.as_ref()
    }

    /// The chunk as a document, parsed on first use.
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| parse(self.raw.as_deref()))
    }

    /// The document, to change: the bytes as received no longer describe it, so they are
    /// dropped.
    pub fn value_mut(&mut self) -> &mut Value {
        if self.value.get().is_none() {
            let _ = self.value.set(parse(self.raw.as_deref()));
        }
        self.raw = None;
        self.view = OnceLock::new();
        self.value.get_mut().expect("the value was set just above")
    }

    pub fn into_value(self) -> Value {
        self.into_parts().1
    }

    /// The bytes as received (if any) and the document.
    pub fn into_parts(self) -> (Option<Bytes>, Value) {
        let value = match self.value.into_inner() {
            Some(v) => v,
            None => parse(self.raw.as_deref()),
        };
        (self.raw, value)
    }

    /// What Seam reads of the chunk, from its bytes while no document was built; read once.
    pub fn view(&self) -> &ChunkView<'static> {
        self.view.get_or_init(|| {
            let read = match (self.value.get(), &self.raw) {
                (Some(v), _) => ChunkView::deserialize(v),
                // One UTF-8 check of the whole chunk: parsing bytes would check every string.
                (None, Some(raw)) => match std::str::from_utf8(raw) {
                    Ok(text) => ChunkView::parse(text),
                    Err(_) => Ok(ChunkView::default()),
                },
                (None, None) => Ok(ChunkView::default()),
            };
            Box::new(read.unwrap_or_default().into_owned())
        })
    }

    /// The model and fingerprint the chunk says served it; for a Responses event, those of
    /// the Response it carries (see [`Served::from_event`]).
    pub fn served(&self) -> Served {
        let view = self.view();
        if view.response && view.model == Text::Absent {
            return Served::from_event(self.value());
        }
        Served {
            model: view.model.as_str().map(str::to_string),
            fingerprint: view.system_fingerprint.as_str().map(str::to_string),
        }
    }
}

fn parse(raw: Option<&[u8]>) -> Value {
    raw.and_then(|r| serde_json::from_slice(r).ok())
        .unwrap_or(Value::Null)
}

/// A field that should hold a string.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Text<'a> {
    #[default]
    Absent,
    Null,
    Str(Cow<'a, str>),
    /// A number, boolean, array or object.
    Other,
}

impl Text<'_> {
    pub fn into_owned(self) -> Text<'static> {
        match self {
            Text::Absent => Text::Absent,
            Text::Null => Text::Null,
            Text::Str(s) => Text::Str(Cow::Owned(s.into_owned())),
            Text::Other => Text::Other,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Text::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Present and not `null`.
    pub fn is_set(&self) -> bool {
        matches!(self, Text::Str(_) | Text::Other)
    }
}

/// What Seam reads of a chat chunk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkView<'a> {
    pub model: Text<'a>,
    pub system_fingerprint: Text<'a>,
    /// Whether the chunk has a `usage` field at all, `null` included.
    pub usage_field: bool,
    /// `Missing` when absent or `null`.
    pub usage: UsageReport,
    /// `choices`, when it is an array.
    pub choices: Vec<ChoiceView<'a>>,
    /// `error`, when the field is there, whatever its value.
    pub error: Option<ErrorView<'a>>,
    /// Whether a `response` field is there (a Responses API event).
    pub response: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChoiceView<'a> {
    /// A legacy completion's text.
    pub text: Text<'a>,
    pub finish_reason: Text<'a>,
    pub delta: DeltaView<'a>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeltaView<'a> {
    pub content: Text<'a>,
    /// `tool_calls` when the field is there (empty when it is not an array).
    pub tool_calls: Option<Vec<ToolCallView<'a>>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolCallView<'a> {
    /// `function.arguments`.
    pub arguments: Text<'a>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorView<'a> {
    pub message: Text<'a>,
}

impl<'a> ChunkView<'a> {
    /// Reads a chunk's bytes. Fails only when they are not one JSON document (as parsing them
    /// into a `Value` would). Read by `seam_wire::json`'s fast path, `serde_json` deciding
    /// anything that path does not read itself.
    pub fn parse(raw: &'a str) -> Result<ChunkView<'a>, serde_json::Error> {
        seam_wire::json::from_str::<Obj<ChunkView<'a>>>(raw).map(|o| o.0)
    }

    /// The view with its strings copied, to keep beside the bytes it was read from.
    pub fn into_owned(self) -> ChunkView<'static> {
        ChunkView {
            model: self.model.into_owned(),
            system_fingerprint: self.system_fingerprint.into_owned(),
            usage_field: self.usage_field,
            usage: self.usage,
            choices: self
                .choices
                .into_iter()
                .map(|c| ChoiceView {
                    text: c.text.into_owned(),
                    finish_reason: c.finish_reason.into_owned(),
                    delta: DeltaView {
                        content: c.delta.content.into_owned(),
                        tool_calls: c.delta.tool_calls.map(|calls| {
                            calls
                                .into_iter()
                                .map(|t| ToolCallView {
                                    arguments: t.arguments.into_owned(),
                                })
                                .collect()
                        }),
                    },
                })
                .collect(),
            error: self.error.map(|e| ErrorView {
                message: e.message.into_owned(),
            }),
            response: self.response,
        }
    }

    /// Reads a document already built (never fails).
    pub fn of(v: &'a Value) -> ChunkView<'a> {
        ChunkView::deserialize(v).unwrap_or_default()
    }

    /// A `usage` that is not `null`.
    pub fn has_usage(&self) -> bool {
        self.usage != UsageReport::Missing
    }

    /// Calls `f` with each piece of content: text (a chat delta's or a legacy completion's)
    /// and tool-call arguments, all choices, in order.
    pub fn for_each_content(&self, mut f: impl FnMut(&str)) {
        for c in &self.choices {
            if let Some(t) = c.delta.content.as_str() {
                f(t);
            }
            if let Some(t) = c.text.as_str() {
                f(t);
            }
            for call in c.delta.tool_calls.iter().flatten() {
                if let Some(a) = call.arguments.as_str() {
                    f(a);
                }
            }
        }
    }

    /// Characters of content (see [`ChunkView::for_each_content`]).
    pub fn content_chars(&self) -> usize {
        let mut n = 0;
        self.for_each_content(|t| n += t.chars().count());
        n
    }
}

impl<'de> Deserialize<'de> for ChunkView<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Obj::<ChunkView<'de>>::deserialize(d).map(|o| o.0)
    }
}

/// A struct read from a JSON object, field by field; any other value reads as its default.
trait Fields<'de>: Default {
    const KEYS: &'static [&'static str];
    /// Reads the value of `KEYS[key]`.
    fn field<A: MapAccess<'de>>(&mut self, key: usize, map: &mut A) -> Result<(), A::Error>;
}

impl<'de> Fields<'de> for ChunkView<'de> {
    const KEYS: &'static [&'static str] = &[
        "model",
        "system_fingerprint",
        "usage",
        "choices",
        "error",
        "response",
    ];
    fn field<A: MapAccess<'de>>(&mut self, key: usize, map: &mut A) -> Result<(), A::Error> {
        match key {
            0 => self.model = map.next_value()?,
            1 => self.system_fingerprint = map.next_value()?,
            2 => {
                self.usage_field = true;
                self.usage = map.next_value()?;
            }
            3 => self.choices = map.next_value::<Arr<ChoiceView<'de>>>()?.0,
            4 => self.error = Some(map.next_value::<Obj<ErrorView<'de>>>()?.0),
            _ => {
                self.response = true;
                map.next_value::<Skip>()?;
            }
        }
        Ok(())
    }
}

impl<'de> Fields<'de> for ChoiceView<'de> {
    const KEYS: &'static [&'static str] = &["text", "finish_reason", "delta"];
    fn field<A: MapAccess<'de>>(&mut self, key: usize, map: &mut A) -> Result<(), A::Error> {
        match key {
            0 => self.text = map.next_value()?,
            1 => self.finish_reason = map.next_value()?,
            _ => self.delta = map.next_value::<Obj<DeltaView<'de>>>()?.0,
        }
        Ok(())
    }
}

impl<'de> Fields<'de> for DeltaView<'de> {
    const KEYS: &'static [&'static str] = &["content", "tool_calls"];
    fn field<A: MapAccess<'de>>(&mut self, key: usize, map: &mut A) -> Result<(), A::Error> {
        match key {
            0 => self.content = map.next_value()?,
            _ => self.tool_calls = Some(map.next_value::<Arr<ToolCallView<'de>>>()?.0),
        }
        Ok(())
    }
}

impl<'de> Fields<'de> for ToolCallView<'de> {
    const KEYS: &'static [&'static str] = &["function"];
    fn field<A: MapAccess<'de>>(&mut self, _: usize, map: &mut A) -> Result<(), A::Error> {
        self.arguments = map.next_value::<Obj<FunctionView<'de>>>()?.0.arguments;
        Ok(())
    }
}

#[derive(Default)]
struct FunctionView<'a> {
    arguments: Text<'a>,
}

impl<'de> Fields<'de> for FunctionView<'de> {
    const KEYS: &'static [&'static str] = &["arguments"];
    fn field<A: MapAccess<'de>>(&mut self, _: usize, map: &mut A) -> Result<(), A::Error> {
        self.arguments = map.next_value()?;
        Ok(())
    }
}

impl<'de> Fields<'de> for ErrorView<'de> {
    const KEYS: &'static [&'static str] = &["message"];
    fn field<A: MapAccess<'de>>(&mut self, _: usize, map: &mut A) -> Result<(), A::Error> {
        self.message = map.next_value()?;
        Ok(())
    }
}

/// An object read as `T`, or `T::default()` for any other value.
struct Obj<T>(T);

/// An array read as its elements (each an [`Obj`]), or empty for any other value.
struct Arr<T>(Vec<T>);

/// Any value, read to its end and dropped. Unlike `IgnoredAny` it goes through
/// `deserialize_any`, so a document is refused exactly when a `Value` would refuse it
/// (numbers out of range, nesting too deep).
struct Skip;

/// What a [`Lenient`] visitor makes of a map, of an array, and of any other value.
trait Shape<'de>: Sized {
    fn map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Self::other())
    }
    fn seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Self::other())
    }
    fn other() -> Self;
}

impl<'de, T: Fields<'de>> Shape<'de> for Obj<T> {
    fn map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut out = T::default();
        while let Some(key) = map.next_key_seed(Key(T::KEYS))? {
            match key {
                Some(k) => out.field(k, &mut map)?,
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Obj(out))
    }
    fn other() -> Self {
        Obj(T::default())
    }
}

impl<'de, T: Fields<'de>> Shape<'de> for Arr<T> {
    fn seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        while let Some(Obj(e)) = seq.next_element::<Obj<T>>()? {
            out.push(e);
        }
        Ok(Arr(out))
    }
    fn other() -> Self {
        Arr(Vec::new())
    }
}

impl Shape<'_> for Skip {
    fn other() -> Self {
        Skip
    }
}

impl<'de, T: Fields<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(PhantomData))
    }
}

impl<'de, T: Fields<'de>> Deserialize<'de> for Arr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(PhantomData))
    }
}

/// Reads any JSON value as `S`: maps and arrays by its [`Shape`], scalars as `S::other()`.
struct Lenient<S>(PhantomData<S>);

impl<'de, S: Shape<'de>> Visitor<'de> for Lenient<S> {
    type Value = S;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<S, A::Error> {
        S::map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<S, A::Error> {
        S::seq(seq)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<S, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E>(self) -> Result<S, E> {
        Ok(S::other())
    }
    fn visit_unit<E>(self) -> Result<S, E> {
        Ok(S::other())
    }
    fn visit_bool<E>(self, _: bool) -> Result<S, E> {
        Ok(S::other())
    }
    fn visit_i64<E>(self, _: i64) -> Result<S, E> {
        Ok(S::other())
    }
    fn visit_u64<E>(self, _: u64) -> Result<S, E> {
        Ok(S::other())
    }
    fn visit_f64<E>(self, _: f64) -> Result<S, E> {
        Ok(S::other())
    }
    fn visit_str<E>(self, _: &str) -> Result<S, E> {
        Ok(S::other())
    }
}

/// A map key: its index in `self.0`, or `None` for a key the struct does not read.
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|k| *k == key))
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
        Ok(Text::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
        Ok(Text::Str(Cow::Owned(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
        Ok(Text::Str(Cow::Owned(s)))
    }
    fn visit_unit<E>(self) -> Result<Text<'de>, E> {
        Ok(Text::Null)
    }
    fn visit_none<E>(self) -> Result<Text<'de>, E> {
        Ok(Text::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text<'de>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text<'de>, A::Error> {
        Skip::map(map).map(|_| Text::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text<'de>, A::Error> {
        Skip::seq(seq).map(|_| Text::Other)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Text<'de>, E> {
        Ok(Text::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Text<'de>, E> {
        Ok(Text::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Text<'de>, E> {
        Ok(Text::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Text<'de>, E> {
        Ok(Text::Other)
    }
}

#[cfg(test)]
#[path = "chunk/tests.rs"]
mod tests;
