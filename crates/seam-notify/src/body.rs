//! What a delivery sends: the event as JSON, and its signature.

use hmac::{Hmac, KeyInit, Mac};
use seam_store::EventRecord;
use sha2::Sha256;

/// The JSON body of an event, its keys always in this order. `details` is parsed; text that
/// is not JSON (a row written by hand) is sent as a string rather than lost.
pub(crate) fn event_body(e: &EventRecord) -> Result<Vec<u8>, serde_json::Error> {
    let details = serde_json::from_str(&e.details)
        .unwrap_or_else(|_| serde_json::Value::String(e.details.clone()));
    serde_json::to_vec(&serde_json::json!({
        "id": e.id,
        "kind": e.kind.as_str(),
        "time": rfc3339(e.created_ms),
        "created_ms": e.created_ms,
        "route": e.route,
        "provider": e.provider,
        "message": e.message,
        "details": details,
    }))
}

/// `x-seam-signature`'s value: `sha256=` and the hex HMAC-SHA256 of the exact body bytes.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length: the error is for fixed-length MACs.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Milliseconds since the epoch as RFC 3339 in UTC, with milliseconds:
/// `2026-03-04T09:30:00.250Z`.
pub(crate) fn rfc3339(ms: i64) -> String {
    let date_time = seam_store::timestamp(ms).replacen(' ', "T", 1);
    format!("{date_time}.{:03}Z", ms.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_vocab::EventKind;

    #[test]
    fn the_body_has_every_field_in_order_with_details_parsed() {
        let mut e = EventRecord::new(
            EventKind::CanaryFailed,
            "canary refund-flow failed".into(),
            serde_json::json!({"golden": "refund-flow", "verdict": "fail"}),
        )
        .route("support");
        e.id = "evt_1".into();
        e.created_ms = 1_772_616_600_250;
        let body = String::from_utf8(event_body(&e).expect("serializes")).expect("utf-8");
        assert_eq!(
            body,
            r#"{"id":"evt_1","kind":"canary_failed","time":"2026-03-04T09:30:00.250Z","created_ms":1772616600250,"route":"support","provider":null,"message":"canary refund-flow failed","details":{"golden":"refund-flow","verdict":"fail"}}"#
        );
        e.details = "not json".into();
        let v: serde_json::Value =
            serde_json::from_slice(&event_body(&e).expect("serializes")).expect("json");
        assert_eq!(v["details"], "not json");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_007), "2000-02-29T00:00:00.007Z");
    }

    #[test]
    fn the_signature_is_the_rfc_4231_hmac() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
