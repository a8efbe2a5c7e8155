//! A dataset's version: the SHA-256 of its canonical content (docs/evals.md "Datasets").
//!
//! Canonical content: the cases sorted by `id` (byte order), each written as canonical JSON
//! followed by a line feed. Canonical JSON: object keys sorted by byte order at every depth, no
//! whitespace outside strings, strings escaped as serde_json writes them (`"` `\` and control
//! characters only; other characters as UTF-8), numbers as serde_json writes the number read
//! (integers as written, other numbers in their shortest form that reads back the same, so
//! `1.50` and `1.5` are one number, `1.0` and `1` are not). What a reviewer can change without
//! changing a case (the order of lines, of keys, spacing, blank lines) leaves the version alone;
//! any change to a case's content makes a new one.

pub use seam_wire::canonical_json;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The SHA-256 (hex) of one case's canonical JSON: what an eval result keeps of the case it
/// graded, so that a later version of the dataset can say which cases changed since the run.
pub fn case_hash(content: &Value) -> String {
    hex::encode(Sha256::digest(canonical_json(content).as_bytes()))
}

/// The version of a dataset whose cases are `cases` as `(id, content)`: the SHA-256 (hex) of
/// the canonical content.
pub(crate) fn version<'a>(cases: impl IntoIterator<Item = (&'a str, &'a Value)>) -> String {
    let mut sorted: Vec<(&str, &Value)> = cases.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut hash = Sha256::new();
    for (_, v) in sorted {
        hash.update(canonical_json(v).as_bytes());
        hash.update(b"\n");
    }
    hex::encode(hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_depth_and_nothing_else_moves() {
        let v: Value = serde_json::from_str(
            r#"{ "b": [3, {"z": 1, "a": "\u00e9\n\""}], "a": 1.50, "c": null }"#,
        )
        .unwrap();
        assert_eq!(
            canonical_json(&v),
            "{\"a\":1.5,\"b\":[3,{\"a\":\"é\\n\\\"\",\"z\":1}],\"c\":null}"
        );
    }

    #[test]
    fn the_version_does_not_depend_on_case_order() {
        let (a, b) = (json!({"id": "a"}), json!({"id": "b", "x": 1}));
        let v1 = version([("a", &a), ("b", &b)]);
        assert_eq!(v1, version([("b", &b), ("a", &a)]));
        assert_eq!(v1.len(), 64);
        let b2 = json!({"id": "b", "x": 2});
        assert_ne!(v1, version([("a", &a), ("b", &b2)]));
    }
}
