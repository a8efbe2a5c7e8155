//! Whether a tool result reports an error, and the canonical form of tool-call arguments.
//!
//! The rule (docs/design/failures.md), on the trimmed result text:
//! 1. JSON object: an `"error"` key whose value is not null, false or "" (`{"error": null}` is
//!    the success shape of many APIs); `"isError"`/`"is_error": true` (MCP); or a numeric
//!    `"status"`/`"status_code"`/`"statusCode"` in 400..=599.
//! 2. Text starting (case-insensitive) with `error:`, `error -`, `[error]`, `err:`, `fatal:`,
//!    `panic:`, `exception`, `traceback (most recent call last)`, or a first word ending in
//!    `error:`/`exception:` (`ValueError:`, `java.io.IOException:`).
//! 3. An HTTP status line: `HTTP/<version> 4xx|5xx`, or `4xx|5xx <Reason>` with the reason
//!    capitalized (`404 Not Found`; `404 results found` is not an error).

use serde_json::Value;

/// The name of the rule that matched, for the flag's evidence; `None` for a normal result.
pub fn tool_error(result: &str) -> Option<&'static str> {
    let t = result.trim();
    if t.starts_with('{')
        && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(t)
    {
        return json_error(&map);
    }
    let head: String = t.chars().take(40).flat_map(char::to_lowercase).collect();
    const PREFIXES: [&str; 8] = [
        "error:",
        "error -",
        "[error]",
        "err:",
        "fatal:",
        "panic:",
        "exception",
        "traceback (most recent call last)",
    ];
    if PREFIXES.iter().any(|p| head.starts_with(p)) {
        return Some("error text");
    }
    let first = head.split_whitespace().next().unwrap_or("");
    if first.len() > "error:".len() && (first.ends_with("error:") || first.ends_with("exception:"))
    {
        return Some("error text");
    }
    if http_status_line(t) {
        return Some("HTTP error status");
    }
    None
}

fn json_error(map: &serde_json::Map<String, Value>) -> Option<&'static str> {
    match map.get("error") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(_) => return Some("JSON error key"),
    }
    if ["isError", "is_error"]
        .iter()
        .any(|k| map.get(*k) == Some(&Value::Bool(true)))
    {
        return Some("JSON isError");
    }
    let status = ["status", "status_code", "statusCode"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_u64));
    status
        .filter(|s| (400..=599).contains(s))
        .map(|_| "JSON error status")
}

fn http_status_line(t: &str) -> bool {
    let mut words = t.split_whitespace();
    let (Some(first), second) = (words.next(), words.next()) else {
        return false;
    };
    let is_error_code = |w: &str| {
        w.len() == 3
            && w.bytes().all(|b| b.is_ascii_digit())
            && matches!(w.as_bytes()[0], b'4' | b'5')
    };
    if first.starts_with("HTTP/") {
        return second.is_some_and(is_error_code);
    }
    is_error_code(first) && second.is_some_and(|w| w.chars().next().is_some_and(char::is_uppercase))
}

/// Arguments in a canonical form: parsed JSON as canonical JSON (keys sorted, no spacing), so
/// the same arguments in another order or spacing compare equal; text that is not JSON is kept
/// as it is, trimmed.
pub fn canonical_args(args: &str) -> String {
    match serde_json::from_str::<Value>(args) {
        Ok(v) => seam_wire::canonical_json(&v),
        Err(_) => args.trim().to_string(),
    }
}
