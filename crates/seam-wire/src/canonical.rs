//! Canonical JSON: object keys sorted by byte order at every depth, no whitespace outside
//! strings, strings escaped as serde_json writes them (`"` `\` and control characters only;
//! other characters as UTF-8), numbers as serde_json writes the number read (integers as
//! written, other numbers in their shortest form that reads back the same, so `1.50` and `1.5`
//! are one number, `1.0` and `1` are not). The same value in another key order or spacing gives
//! the same text: eval datasets' versions and diffs, tool-call arguments compared for loops.

use serde_json::Value;

/// `value` as canonical JSON.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(k, out);
                out.push(':');
                write(&map[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        Value::String(s) => string(s, out),
        // Null, booleans and numbers: serde_json's own text (it cannot fail for these).
        other => out.push_str(&other.to_string()),
    }
}

fn string(s: &str, out: &mut String) {
    out.push_str(&Value::String(s.to_string()).to_string());
}
