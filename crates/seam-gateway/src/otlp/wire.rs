//! The few OTLP messages Seam sends, written straight in protobuf's wire format from the
//! records, without building the generated message types first: through `prost` they cost
//! about half again a proxied call's instructions (an owned String per attribute key and
//! value, and each nested message's length computed at every level above it). Field numbers
//! are those of opentelemetry-proto's `trace.proto`, `common.proto` and `resource.proto`;
//! the tests decode the output with the official definitions.

/// Wire types.
const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;

fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn tag(buf: &mut Vec<u8>, field: u32, wire: u32) {
    varint(buf, u64::from(field << 3 | wire));
}

fn bytes(buf: &mut Vec<u8>, field: u32, b: &[u8]) {
    tag(buf, field, LEN);
    varint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

fn fixed64(buf: &mut Vec<u8>, field: u32, v: u64) {
    tag(buf, field, FIXED64);
    buf.extend_from_slice(&v.to_le_bytes());
}

/// An attribute value (`AnyValue`).
#[derive(Clone, Copy)]
pub enum Value<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Double(f64),
}

impl Value<'_> {
    /// The encoded `AnyValue` message's length.
    fn len(self) -> usize {
        match self {
            Value::Str(s) => 1 + varint_len(s.len() as u64) + s.len(),
            Value::Bool(_) => 2,
            Value::Int(i) => 1 + varint_len(i as u64),
            Value::Double(_) => 9,
        }
    }

    fn write(self, buf: &mut Vec<u8>) {
        match self {
            Value::Str(s) => bytes(buf, 1, s.as_bytes()),
            Value::Bool(b) => {
                tag(buf, 2, VARINT);
                buf.push(u8::from(b));
            }
            Value::Int(i) => {
                tag(buf, 3, VARINT);
                varint(buf, i as u64);
            }
            Value::Double(f) => fixed64(buf, 4, f.to_bits()),
        }
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Str(s)
    }
}
impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value<'_> {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value<'_> {
    fn from(f: f64) -> Self {
        Value::Double(f)
    }
}

/// One `KeyValue` as field `field` of the enclosing message.
pub fn attribute<'a>(buf: &mut Vec<u8>, field: u32, key: &str, value: impl Into<Value<'a>>) {
    let value = value.into();
    let vlen = value.len();
    let len = 1 + varint_len(key.len() as u64) + key.len() + 1 + varint_len(vlen as u64) + vlen;
    tag(buf, field, LEN);
    varint(buf, len as u64);
    bytes(buf, 1, key.as_bytes());
    tag(buf, 2, LEN);
    varint(buf, vlen as u64);
    value.write(buf);
}

pub const SPAN_KIND_SERVER: u64 = 2;
pub const SPAN_KIND_CLIENT: u64 = 3;

/// A span's fixed fields; its attributes are written by the caller between `begin` and `end`.
pub struct Span<'a> {
    pub trace_id: &'a [u8; 16],
    pub span_id: &'a [u8; 8],
    pub parent_span_id: Option<&'a [u8; 8]>,
    pub name: (&'a str, &'a str),
    pub kind: u64,
    pub start_nanos: u64,
    pub end_nanos: u64,
}

impl Span<'_> {
    /// Writes the fields before the attributes into `scratch` (cleared first).
    pub fn begin(&self, scratch: &mut Vec<u8>) {
        scratch.clear();
        bytes(scratch, 1, self.trace_id);
        bytes(scratch, 2, self.span_id);
        if let Some(p) = self.parent_span_id {
            bytes(scratch, 4, p);
        }
        // name = "{operation} {model}", written without formatting a String.
        let (a, b) = self.name;
        tag(scratch, 5, LEN);
        varint(scratch, (a.len() + 1 + b.len()) as u64);
        scratch.extend_from_slice(a.as_bytes());
        scratch.push(b' ');
        scratch.extend_from_slice(b.as_bytes());
        tag(scratch, 6, VARINT);
        varint(scratch, self.kind);
        fixed64(scratch, 7, self.start_nanos);
        fixed64(scratch, 8, self.end_nanos);
    }
}

/// Span attributes are field 9.
pub const SPAN_ATTRIBUTE: u32 = 9;

/// An error status (code 2, STATUS_CODE_ERROR) with its message, as field 15.
pub fn error_status(scratch: &mut Vec<u8>, message: &str) {
    let len = 1 + varint_len(message.len() as u64) + message.len() + 2;
    tag(scratch, 15, LEN);
    varint(scratch, len as u64);
    bytes(scratch, 2, message.as_bytes());
    tag(scratch, 3, VARINT);
    scratch.push(2);
}

/// Appends the span in `scratch` to `out` as a `ScopeSpans.spans` entry (field 2).
pub fn push_span(out: &mut Vec<u8>, scratch: &[u8]) {
    bytes(out, 2, scratch);
}

/// The whole `ExportTraceServiceRequest`: one resource (its attributes), one scope, and the
/// spans `push_span` collected.
pub fn request(resource: &[(&str, &str)], scope: (&str, &str), spans: &[u8]) -> Vec<u8> {
    let mut res = Vec::with_capacity(128);
    for (k, v) in resource {
        attribute(&mut res, 1, k, *v);
    }
    let mut scope_msg = Vec::with_capacity(32);
    bytes(&mut scope_msg, 1, scope.0.as_bytes());
    bytes(&mut scope_msg, 2, scope.1.as_bytes());
    // ScopeSpans { scope = 1, spans = 2 }
    let scope_spans_len = 1 + varint_len(scope_msg.len() as u64) + scope_msg.len() + spans.len();
    // ResourceSpans { resource = 1, scope_spans = 2 }
    let resource_spans_len = 1
        + varint_len(res.len() as u64)
        + res.len()
        + 1
        + varint_len(scope_spans_len as u64)
        + scope_spans_len;
    let mut out = Vec::with_capacity(resource_spans_len + 8);
    tag(&mut out, 1, LEN);
    varint(&mut out, resource_spans_len as u64);
    bytes(&mut out, 1, &res);
    tag(&mut out, 2, LEN);
    varint(&mut out, scope_spans_len as u64);
    bytes(&mut out, 1, &scope_msg);
    out.extend_from_slice(spans);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_as_long_as_protobuf_makes_them() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v), "{v}");
            assert_eq!(prost::encoding::encoded_len_varint(v), b.len(), "{v}");
        }
    }
}
