//! Usage as a provider reports it. A report is read leniently: whatever shape the `usage`
//! object has, the answer around it is still an answer; the report only says whether its
//! counts can be believed as written (the gateway decides what to bill).

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// Token counts as a provider reports them (or as Seam estimated them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Usage {
    /// Input plus output, saturating (a provider may report anything).
    pub fn total(self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// What an OpenAI-shaped `usage` said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UsageReport {
    /// No usage: absent or `null`.
    #[default]
    Missing,
    /// A `usage` that is not whole, non-negative token counts: a negative, fractional or
    /// textual count, no `prompt_tokens`, or not an object at all.
    Malformed,
    /// Whole counts, as reported (not yet checked for plausibility).
    Reported(Usage),
}

impl UsageReport {
    /// Reads an OpenAI `usage` value (`None`: the field was absent).
    pub fn from_openai(v: Option<&Value>) -> UsageReport {
        match v {
            None => UsageReport::Missing,
            Some(v) => UsageReport::deserialize(v).unwrap_or(UsageReport::Malformed),
        }
    }

    /// Reads a Responses API `usage` value (`input_tokens`, `output_tokens`), with the same
    /// rules as [`UsageReport::from_openai`].
    pub fn from_responses(v: Option<&Value>) -> UsageReport {
        match v {
            None | Some(Value::Null) => UsageReport::Missing,
            Some(Value::Object(o)) => {
                let mut chat = serde_json::Map::new();
                for (from, to) in [
                    ("input_tokens", "prompt_tokens"),
                    ("output_tokens", "completion_tokens"),
                ] {
                    if let Some(n) = o.get(from) {
                        chat.insert(to.into(), n.clone());
                    }
                }
                UsageReport::from_openai(Some(&Value::Object(chat)))
            }
            Some(_) => UsageReport::Malformed,
        }
    }

    pub fn usage(self) -> Option<Usage> {
        match self {
            UsageReport::Reported(u) => Some(u),
            _ => None,
        }
    }
}

/// Reads any JSON value without failing, so that a body with an odd `usage` still parses (the
/// non-streamed path scans response bodies with serde, without building them).
impl<'de> Deserialize<'de> for UsageReport {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<UsageReport, D::Error> {
        d.deserialize_any(ReportVisitor)
    }
}

#[derive(serde::Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    PromptTokens,
    CompletionTokens,
    #[serde(other)]
    Other,
}

/// One token count: whole and non-negative, absent or null, or anything else.
enum Count {
    Whole(u64),
    Null,
    Bad,
}

struct ReportVisitor;

impl<'de> Visitor<'de> for ReportVisitor {
    type Value = UsageReport;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a usage object")
    }

    fn visit_unit<E>(self) -> Result<UsageReport, E> {
        Ok(UsageReport::Missing)
    }

    fn visit_none<E>(self) -> Result<UsageReport, E> {
        Ok(UsageReport::Missing)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<UsageReport, D::Error> {
        d.deserialize_any(ReportVisitor)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UsageReport, A::Error> {
        let (mut input, mut output) = (Count::Null, Count::Null);
        while let Some(key) = map.next_key::<Field>()? {
            match key {
                Field::PromptTokens => input = map.next_value()?,
                Field::CompletionTokens => output = map.next_value()?,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match (input, output) {
            (Count::Whole(i), Count::Whole(o)) => UsageReport::Reported(Usage {
                input_tokens: i,
                output_tokens: o,
            }),
            // Embeddings report no completion tokens.
            (Count::Whole(i), Count::Null) => UsageReport::Reported(Usage {
                input_tokens: i,
                output_tokens: 0,
            }),
            _ => UsageReport::Malformed,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UsageReport, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(UsageReport::Malformed)
    }

    fn visit_bool<E>(self, _: bool) -> Result<UsageReport, E> {
        Ok(UsageReport::Malformed)
    }

    fn visit_i64<E>(self, _: i64) -> Result<UsageReport, E> {
        Ok(UsageReport::Malformed)
    }

    fn visit_u64<E>(self, _: u64) -> Result<UsageReport, E> {
        Ok(UsageReport::Malformed)
    }

    fn visit_f64<E>(self, _: f64) -> Result<UsageReport, E> {
        Ok(UsageReport::Malformed)
    }

    fn visit_str<E>(self, _: &str) -> Result<UsageReport, E> {
        Ok(UsageReport::Malformed)
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        d.deserialize_any(CountVisitor)
    }
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Count;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a token count")
    }

    fn visit_u64<E>(self, v: u64) -> Result<Count, E> {
        Ok(Count::Whole(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Count, E> {
        Ok(u64::try_from(v).map_or(Count::Bad, Count::Whole))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Count, E> {
        Ok(Count::Bad)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Count, E> {
        Ok(Count::Bad)
    }

    fn visit_str<E>(self, _: &str) -> Result<Count, E> {
        Ok(Count::Bad)
    }

    fn visit_unit<E>(self) -> Result<Count, E> {
        Ok(Count::Null)
    }

    fn visit_none<E>(self) -> Result<Count, E> {
        Ok(Count::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Count, D::Error> {
        d.deserialize_any(CountVisitor)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Count::Bad)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Count::Bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(v: Value) -> UsageReport {
        UsageReport::from_openai(Some(&v))
    }

    #[test]
    fn whole_counts_are_reported_as_written() {
        let u = |i, o| {
            UsageReport::Reported(Usage {
                input_tokens: i,
                output_tokens: o,
            })
        };
        assert_eq!(
            report(
                json!({"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8,
                "prompt_tokens_details": {"cached_tokens": 1}})
            ),
            u(3, 5)
        );
        assert_eq!(report(json!({"prompt_tokens": 3})), u(3, 0));
        assert_eq!(
            report(json!({"prompt_tokens": u64::MAX, "completion_tokens": 1})),
            u(u64::MAX, 1)
        );
    }

    #[test]
    fn responses_usage_reads_input_and_output_tokens() {
        let r = |v: Value| UsageReport::from_responses(Some(&v));
        assert_eq!(
            r(
                json!({"input_tokens": 3, "output_tokens": 5, "total_tokens": 8,
                "input_tokens_details": {"cached_tokens": 0}})
            ),
            UsageReport::Reported(Usage {
                input_tokens: 3,
                output_tokens: 5
            })
        );
        assert_eq!(UsageReport::from_responses(None), UsageReport::Missing);
        assert_eq!(r(Value::Null), UsageReport::Missing);
        for bad in [
            json!({"prompt_tokens": 3, "completion_tokens": 5}),
            json!({"input_tokens": -1, "output_tokens": 5}),
            json!("lots"),
        ] {
            assert_eq!(r(bad.clone()), UsageReport::Malformed, "{bad}");
        }
    }

    #[test]
    fn absent_null_and_malformed_usage_are_told_apart() {
        assert_eq!(UsageReport::from_openai(None), UsageReport::Missing);
        assert_eq!(report(Value::Null), UsageReport::Missing);
        for bad in [
            json!({"prompt_tokens": -5, "completion_tokens": 1}),
            json!({"prompt_tokens": 5, "completion_tokens": -1}),
            json!({"prompt_tokens": 1.5}),
            json!({"prompt_tokens": "12"}),
            json!({"prompt_tokens": {"n": 1}}),
            json!({"completion_tokens": 4}),
            json!({}),
            json!("lots"),
            json!([1, 2]),
            json!(7),
        ] {
            assert_eq!(report(bad.clone()), UsageReport::Malformed, "{bad}");
        }
    }

    #[test]
    fn a_body_with_odd_usage_still_parses_from_bytes() {
        #[derive(serde::Deserialize)]
        struct Peek {
            #[serde(default)]
            usage: UsageReport,
            id: String,
        }
        for (text, want) in [
            (
                r#"{"usage": {"prompt_tokens": 99999999999999999999999}, "id": "a"}"#,
                UsageReport::Malformed,
            ),
            (
                r#"{"usage": {"prompt_tokens": -1, "x": [1, {"y": null}]}, "id": "a"}"#,
                UsageReport::Malformed,
            ),
            (r#"{"usage": null, "id": "a"}"#, UsageReport::Missing),
            (r#"{"id": "a"}"#, UsageReport::Missing),
        ] {
            let p: Peek = serde_json::from_str(text).unwrap();
            assert_eq!((p.usage, p.id.as_str()), (want, "a"), "{text}");
        }
    }
}
