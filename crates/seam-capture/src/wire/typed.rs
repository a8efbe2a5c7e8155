//! The common shapes, read without building a `serde_json::Value`: a request whose messages'
//! contents are strings (no parts, tools, tool calls or variables) and an answer whose first
//! message is text. Each string is allocated once (the `Value` way, twice). Anything
//! else (a part, a field of another type, a key twice, an array where an object was expected) fails here, and the caller reads the
//! body as a `Value` as before: both give the same content (`wire/tests.rs` compares them).
//!
//! One difference, on bodies no client sends: what serde_json only skips here (a field
//! capture does not keep) it does not check as it checks a `Value`: nesting deeper than 128
//! levels, a number beyond `f64`. Such a request's messages are kept here, where the
//! `Value` way kept the whole body as unparsed text (redacted either way).

use crate::content::{Answer, Content, Message, Part};
use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    messages: Option<Vec<Object<RequestMessage>>>,
    /// Tools and variables go the `Value` way (`null` tools are none, as there).
    #[serde(default)]
    tools: Option<IgnoredAny>,
    /// Present at all, even `null` (kept as the text `null` there).
    #[serde(default)]
    seam_variables: Present,
}

#[derive(Deserialize)]
struct RequestMessage {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<IgnoredAny>,
    #[serde(default)]
    tool_call_id: Option<String>,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    choices: Option<Vec<Object<Choice>>>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<Object<AnswerMessage>>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<IgnoredAny>,
}

/// A struct read from a JSON object only: derived, it would also take an array, by position,
/// where the `Value` way sees no fields at all.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Fields<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(Fields(std::marker::PhantomData))
    }
}

/// Whether a field was there, whatever its value (`null` included).
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| Present(true))
    }
}

/// The content of a request of the common shape, or `None` for any other.
pub(super) fn request(bytes: &[u8]) -> Option<Content> {
    let Object(r): Object<Request> = serde_json::from_str(std::str::from_utf8(bytes).ok()?).ok()?;
    if r.tools.is_some() || r.seam_variables.0 {
        return None;
    }
    let mut messages = Vec::new();
    for Object(m) in r.messages.unwrap_or_default() {
        if m.tool_calls.is_some() {
            return None;
        }
        messages.push(Message {
            role: m.role.unwrap_or_default(),
            name: m.name,
            parts: m
                .content
                .map(|text| Part::Text { text })
                .into_iter()
                .collect(),
            tool_calls: Vec::new(),
            tool_call_id: m.tool_call_id,
        });
    }
    Some(Content {
        messages,
        ..Content::default()
    })
}

/// The answer of a chat completion of the common shape, or `None` for any other.
pub(super) fn response(bytes: &[u8]) -> Option<Answer> {
    let Object(r): Object<Response> =
        serde_json::from_str(std::str::from_utf8(bytes).ok()?).ok()?;
    let choice = r.choices.unwrap_or_default().into_iter().next();
    let (message, finish_reason) = match choice {
        Some(Object(c)) => (c.message.map(|m| m.0), c.finish_reason),
        None => (None, None),
    };
    let (text, refusal) = match message {
        Some(m) if m.tool_calls.is_some() => return None,
        Some(m) => (m.content, m.refusal),
        None => (None, None),
    };
    Some(Answer {
        text,
        refusal,
        tool_calls: Vec::new(),
        finish_reason,
        client_closed: false,
    })
}
