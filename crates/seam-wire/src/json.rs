//! A fast path for reading JSON into borrowed views on the hot path, with `serde_json` as the
//! authority.
//!
//! [`from_str`] first reads the text with [`Reader`], a serde `Deserializer` that drives a
//! type's visitors with the calls `serde_json` would make for the same document, and hands
//! anything it does not read itself to `serde_json`: a string with escapes (decoded by
//! `serde_json`), a number other than a short non-negative integer (parsed by `serde_json`).
//! Whenever the reader meets anything it is not sure of (bad syntax, deep nesting, a
//! `deserialize_*` it does not mirror, a visitor's own error), it gives up and the whole text
//! is parsed again by `serde_json::from_str`, whose answer (value or error) is the answer. So
//! the fast path can only ever be faster, never different: a document it accepts is one
//! `serde_json` accepts, read into the same value.
//!
//! Why: a stream's chunks are ~200 bytes each and read once each; `serde_json`'s general
//! machinery (its escape scan per string, number parsing into values that are then dropped,
//! error positions kept) cost ~4.4k instructions a chunk, a fifth of a short stream's request
//! path.

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// Reads `raw` as `T` (see the module's doc): `serde_json::from_str`, faster on the documents
/// the hot path sees.
pub fn from_str<'a, T: Deserialize<'a>>(raw: &'a str) -> Result<T, serde_json::Error> {
    match read(raw) {
        Some(v) => Ok(v),
        None => serde_json::from_str(raw),
    }
}

/// [`from_str`] for bytes: `serde_json::from_slice`, faster on UTF-8 text.
pub fn from_slice<'a, T: Deserialize<'a>>(raw: &'a [u8]) -> Result<T, serde_json::Error> {
    match std::str::from_utf8(raw).ok().and_then(read) {
        Some(v) => Ok(v),
        None => serde_json::from_slice(raw),
    }
}

fn read<'a, T: Deserialize<'a>>(raw: &'a str) -> Option<T> {
    let mut r = Reader {
        raw,
        pos: 0,
        depth: 0,
    };
    let v = T::deserialize(&mut r).ok()?;
    r.skip_ws();
    (r.pos == raw.len()).then_some(v)
}

/// `serde_json`'s nesting limit is 128; the fast path leaves anything near it to
/// `serde_json`.
const MAX_DEPTH: u32 = 100;

/// The reader's own signal to give up; never shown to anyone (the text is parsed again).
#[derive(Debug)]
struct GiveUp;

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("left to serde_json")
    }
}

impl std::error::Error for GiveUp {}

impl de::Error for GiveUp {
    fn custom<T: std::fmt::Display>(_: T) -> GiveUp {
        GiveUp
    }
}

type R<T> = Result<T, GiveUp>;

/// Where the run of plain string bytes from `i` ends: the first quote, backslash or control
/// character, or the end. Eight bytes at a time (each test below flags a byte's top bit; the
/// lowest flag is exact, which is the one read).
fn plain_run(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    while let Some(word) = bytes.get(i..i + 8) {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let w = u64::from_le_bytes(word);
        let quote = w ^ (ONES * u64::from(b'"'));
        let slash = w ^ (ONES * u64::from(b'\\'));
        let flags = (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let flags = flags & TOPS;
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

struct Reader<'a> {
    raw: &'a str,
    pos: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.raw.as_bytes()
    }

    /// JSON's whitespace, as `serde_json` reads it.
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> R<u8> {
        self.skip_ws();
        self.bytes().get(self.pos).copied().ok_or(GiveUp)
    }

    fn literal(&mut self, word: &str) -> R<()> {
        if self.bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    fn visit_string<V: Visitor<'a>>(&mut self, visitor: V) -> R<V::Value> {
        // At the opening quote.
        let start = self.pos + 1;
        let bytes = self.bytes();
        let mut i = start;
        let mut escaped = false;
        loop {
            i = plain_run(bytes, i);
            match bytes.get(i) {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    i += 2;
                }
                // A control character, or the end of the text.
                _ => return Err(GiveUp),
            }
        }
        self.pos = i + 1;
        if escaped {
            let decoded: String =
                serde_json::from_str(&self.raw[start - 1..=i]).map_err(|_| GiveUp)?;
            visitor.visit_str(&decoded)
        } else {
            visitor.visit_borrowed_str(&self.raw[start..i])
        }
    }

    fn visit_number<V: Visitor<'a>>(&mut self, visitor: V) -> R<V::Value> {
        let bytes = self.bytes();
        let start = self.pos;
        let mut end = start;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = bytes.get(end) {
            end += 1;
        }
        self.pos = end;
        let token = &bytes[start..end];
        // The common case: a non-negative integer that fits, without a leading zero.
        if !token.is_empty()
            && token.len() <= 19
            && token.iter().all(u8::is_ascii_digit)
            && (token[0] != b'0' || token.len() == 1)
        {
            let n = token.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            return visitor.visit_u64(n);
        }
        let n: serde_json::Number =
            serde_json::from_str(&self.raw[start..end]).map_err(|_| GiveUp)?;
        if let Some(u) = n.as_u64() {
            visitor.visit_u64(u)
        } else if let Some(i) = n.as_i64() {
            visitor.visit_i64(i)
        } else {
            visitor.visit_f64(n.as_f64().ok_or(GiveUp)?)
        }
    }

    /// An array's or an object's items, visited by `visit`, then its `end` byte; at its
    /// opening bracket.
    fn nested<T>(&mut self, end: u8, visit: impl FnOnce(Items<'_, 'a>) -> R<T>) -> R<T> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        self.pos += 1;
        let v = visit(Items {
            r: self,
            first: true,
        })?;
        if self.peek()? != end {
            return Err(GiveUp);
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(v)
    }
}

/// `Deserializer` methods that give up: shapes left to serde_json.
macro_rules! give_up {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, _: V) -> R<V::Value> {
            Err(GiveUp)
        }
    )*};
}

/// `Deserializer` methods for numbers, which serde_json reads alike whatever the type asked.
macro_rules! numbers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
            self.deserialize_number(visitor)
        }
    )*};
}

/// `serde_json`'s `deserialize_*` calls, each mirrored where the fast path reads that shape,
/// and given up on elsewhere.
impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = GiveUp;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.peek()? {
            b'n' => {
                self.literal("null")?;
                visitor.visit_unit()
            }
            b't' => {
                self.literal("true")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.literal("false")?;
                visitor.visit_bool(false)
            }
            b'-' | b'0'..=b'9' => self.visit_number(visitor),
            b'"' => self.visit_string(visitor),
            b'[' => self.nested(b']', |items| visitor.visit_seq(items)),
            b'{' => self.nested(b'}', |items| visitor.visit_map(items)),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        if self.peek()? == b'n' {
            self.literal("null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.peek()? {
            b'"' => self.visit_string(visitor),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.peek()? {
            b't' | b'f' => self.deserialize_any(visitor),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.peek()? {
            b'n' => self.deserialize_any(visitor),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> R<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.peek()? {
            b'[' => self.nested(b']', |items| visitor.visit_seq(items)),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> R<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> R<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.peek()? {
            b'{' => self.nested(b'}', |items| visitor.visit_map(items)),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        match self.peek()? {
            b'{' => self.nested(b'}', |items| visitor.visit_map(items)),
            b'[' => self.nested(b']', |items| visitor.visit_seq(items)),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        // serde_json's RawValue asks for its own token here: that is serde_json's to read.
        if name.starts_with("$serde_json") {
            return Err(GiveUp);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_any(de::IgnoredAny)?;
        visitor.visit_unit()
    }

    numbers!(deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_i8
        deserialize_i16 deserialize_i32 deserialize_i64 deserialize_f32 deserialize_f64);

    // Shapes the hot path does not read: serde_json's own.
    give_up!(deserialize_char deserialize_bytes deserialize_byte_buf);
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> R<V::Value> {
        Err(GiveUp)
    }
}

impl<'de> Reader<'de> {
    fn deserialize_number<V: Visitor<'de>>(&mut self, visitor: V) -> R<V::Value> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.visit_number(visitor),
            _ => Err(GiveUp),
        }
    }
}

/// An array's elements or an object's entries, with `serde_json`'s rules for commas.
struct Items<'r, 'a> {
    r: &'r mut Reader<'a>,
    first: bool,
}

impl Items<'_, '_> {
    /// Whether another item follows (past its comma), before the `end` byte.
    fn more(&mut self, end: u8) -> R<bool> {
        match self.r.peek()? {
            b if b == end => return Ok(false),
            b',' if !self.first => {
                self.r.pos += 1;
                if self.r.peek()? == end {
                    return Err(GiveUp);
                }
            }
            _ if self.first => self.first = false,
            _ => return Err(GiveUp),
        }
        Ok(true)
    }
}

impl<'de> SeqAccess<'de> for Items<'_, 'de> {
    type Error = GiveUp;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> R<Option<T::Value>> {
        if !self.more(b']')? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.r).map(Some)
    }
}

impl<'de> MapAccess<'de> for Items<'_, 'de> {
    type Error = GiveUp;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> R<Option<K::Value>> {
        if !self.more(b'}')? {
            return Ok(None);
        }
        if self.r.peek()? != b'"' {
            return Err(GiveUp);
        }
        seed.deserialize(Key(&mut *self.r)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> R<V::Value> {
        if self.r.peek()? != b':' {
            return Err(GiveUp);
        }
        self.r.pos += 1;
        seed.deserialize(&mut *self.r)
    }
}

/// An object's key, at its opening quote. `serde_json` reads every kind of key request as the
/// string, except numbers and booleans parsed out of it: those are left to it.
struct Key<'r, 'a>(&'r mut Reader<'a>);

impl<'de> de::Deserializer<'de> for Key<'_, 'de> {
    type Error = GiveUp;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.0.visit_string(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    give_up!(deserialize_bool deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_f32
        deserialize_f64 deserialize_char deserialize_bytes deserialize_byte_buf
        deserialize_i128 deserialize_u128);
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> R<V::Value> {
        Err(GiveUp)
    }

    serde::forward_to_deserialize_any! {
        str string unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
#[path = "json/tests.rs"]
mod tests;
