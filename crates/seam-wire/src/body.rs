//! A client's JSON request body, split into its top-level fields without building the values.
//!
//! The gateway reads a few fields (`model`, `stream`, ...) and forwards the rest untouched;
//! keeping each field as its original text avoids building, and later serializing again, a
//! tree of every message.

use bytes::Bytes;
use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::fmt;
use std::ops::Range;

#[derive(Debug, Clone)]
pub struct RequestBody {
    raw: Bytes,
    /// Each top-level key with the byte range of its value in `raw`; a repeated key keeps
    /// its last value, as JSON parsers do.
    fields: Vec<(String, Range<usize>)>,
}

#[derive(Debug)]
pub enum BodyError {
    /// Not JSON; the error carries the line and column.
    Malformed(serde_json::Error),
    /// JSON, but not an object.
    NotAnObject,
}

struct Fields<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, &'de RawValue)> = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    let v: &'de RawValue = m.next_value()?;
                    match out.iter_mut().find(|(key, _)| *key == k) {
                        Some(slot) => slot.1 = v,
                        None => out.push((k, v)),
                    }
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl RequestBody {
    pub fn parse(raw: Bytes) -> Result<RequestBody, BodyError> {
        let starts_as_object = raw
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{');
        if !starts_as_object {
            return Err(match serde_json::from_slice::<IgnoredAny>(&raw) {
                Ok(_) => BodyError::NotAnObject,
                Err(e) => BodyError::Malformed(e),
            });
        }
        let base = raw.as_ptr() as usize;
        let fields = serde_json::from_slice::<Fields<'_>>(&raw)
            .map_err(BodyError::Malformed)?
            .0
            .into_iter()
            .map(|(k, v)| {
                let start = v.get().as_ptr() as usize - base;
                (k, start..start + v.get().len())
            })
            .collect();
        Ok(RequestBody { raw, fields })
    }

    /// The text of a field's value, as the client sent it.
    pub fn raw_field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, r)| std::str::from_utf8(&self.raw[r.clone()]).ok())
    }

    /// A field parsed as `T`; `None` when absent.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<Result<T, serde_json::Error>> {
        self.raw_field(key).map(serde_json::from_str)
    }

    /// Whether the field is present and not `null`.
    pub fn has(&self, key: &str) -> bool {
        self.raw_field(key).is_some_and(|v| v != "null")
    }

    /// Every field, in the client's order, with its value's text.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, r)| {
            (
                k.as_str(),
                std::str::from_utf8(&self.raw[r.clone()]).unwrap_or("null"),
            )
        })
    }

    /// The whole body as a JSON object, for the paths that need to look inside it.
    pub fn to_map(&self) -> Map<String, Value> {
        serde_json::from_slice(&self.raw).unwrap_or_default()
    }

    pub fn raw(&self) -> &Bytes {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<RequestBody, BodyError> {
        RequestBody::parse(Bytes::from(s.to_string()))
    }

    #[test]
    fn fields_keep_their_text_and_order() {
        let b = parse(r#" {"model": "chat", "messages": [{"role":"user","content":"h\u00e9"}], "n": 2, "model": "last"} "#).unwrap();
        let keys: Vec<&str> = b.fields().map(|(k, _)| k).collect();
        assert_eq!(keys, ["model", "messages", "n"]);
        assert_eq!(
            b.raw_field("messages"),
            Some(r#"[{"role":"user","content":"h\u00e9"}]"#)
        );
        assert_eq!(b.get::<String>("model").unwrap().unwrap(), "last");
        assert!(b.has("n") && !b.has("stream"));
        assert_eq!(b.to_map()["n"], 2);
    }

    #[test]
    fn errors_say_malformed_or_not_an_object() {
        match parse(r#"{"model": }"#) {
            Err(BodyError::Malformed(e)) => assert_eq!((e.line(), e.column()), (1, 11)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse("[1, 2]"), Err(BodyError::NotAnObject)));
        assert!(matches!(parse("nope"), Err(BodyError::Malformed(_))));
    }
}
