//! `[capture]`, a route's `capture` and `[capture.tenants.*]`: what they accept, refuse and
//! how the levels combine.

use crate::{CaptureMode, CapturePolicy, Redact, RedactPack, parse};
use std::path::Path;

const BASE: &str = r#"
[[providers]]
name = "local"
kind = "sim"

[[routes]]
name = "chat"
targets = [{ provider = "local", model = "m" }]
capture = { mode = "full", sample = 0.25, redact = ["email", "regex:TICKET-[0-9]{6}"], max_bytes = 4096 }

[[routes]]
name = "plain"
targets = [{ provider = "local", model = "m" }]
"#;

fn config(extra: &str) -> Result<crate::Config, String> {
    parse(&format!("{BASE}{extra}"), Path::new("t.toml"), &|_| None).map_err(|e| e.to_string())
}

#[test]
fn without_capture_keys_everything_is_off_as_before() {
    let c = parse(
        "[[providers]]\nname = \"l\"\nkind = \"sim\"\n[[routes]]\nname = \"r\"\ntargets = [{ provider = \"l\", model = \"m\" }]\n",
        Path::new("t.toml"),
        &|_| None,
    )
    .unwrap();
    assert_eq!(c.capture_policy("anyone", "r"), CapturePolicy::default());
    assert_eq!(c.capture_policy("anyone", "r").mode, CaptureMode::Off);
    assert_eq!(c.capture.retention_days, None);
    assert_eq!(c.records.retention_days, None);
    assert!(!c.capture_enabled());
}

#[test]
fn the_tenant_wins_over_the_route_which_wins_over_the_defaults() {
    let c = config(
        r#"
[records]
retention_days = 90

[capture]
retention_days = 30
mode = "metadata"
keep_failures = true
redact = ["card"]

[capture.tenants.acme]
mode = "off"

[capture.tenants.beta]
sample = 1.0
redact = ["ip", "phone"]
"#,
    )
    .unwrap();
    assert_eq!(c.records.retention_days, Some(90));
    assert_eq!(c.capture.retention_days, Some(30));
    let p = c.capture_policy("other", "chat");
    assert_eq!(p.mode, CaptureMode::Full);
    assert_eq!(p.sample, 0.25);
    assert_eq!(p.max_bytes, 4096);
    assert!(p.keep_failures, "from [capture]");
    assert_eq!(
        p.redact,
        vec![
            Redact::Pack(RedactPack::Email),
            Redact::Custom("TICKET-[0-9]{6}".into())
        ]
    );
    assert_eq!(c.capture_policy("acme", "chat").mode, CaptureMode::Off);
    let b = c.capture_policy("beta", "chat");
    assert_eq!(
        (b.mode, b.sample, b.max_bytes),
        (CaptureMode::Full, 1.0, 4096)
    );
    assert_eq!(
        b.redact,
        vec![
            Redact::Pack(RedactPack::Ip),
            Redact::Pack(RedactPack::Phone)
        ]
    );
    let plain = c.capture_policy("other", "plain");
    assert_eq!(plain.mode, CaptureMode::Metadata);
    assert_eq!(plain.redact, vec![Redact::Pack(RedactPack::Card)]);
    assert_eq!(
        c.capture_policy("other", "prompt:x").mode,
        CaptureMode::Metadata
    );
}

#[test]
fn every_bad_value_is_reported_with_its_key() {
    let e = config(
        r#"
[records]
retention_days = 0

[capture]
retention_days = 0
mode = "all"
sample = 1.5

[capture.tenants.acme]
redact = ["emails", "regex:(unclosed", "regex:a*"]
max_bytes = 10
"#,
    )
    .unwrap_err();
    for want in [
        "records.retention_days: at least 1",
        "capture.retention_days: at least 1",
        "capture.mode: `all` is not one of",
        "capture.sample: must be between 0.0 and 1.0, not 1.5",
        "capture.tenants.acme.redact[0]: `emails` is not a pack",
        "capture.tenants.acme.redact[1]: the pattern does not compile",
        "capture.tenants.acme.redact[2]: the pattern matches empty text",
        "capture.tenants.acme.max_bytes: at least 1024",
    ] {
        assert!(e.contains(want), "{want} in {e}");
    }
    let e = parse(
        &BASE.replace("sample = 0.25", "sample = -0.1"),
        Path::new("t.toml"),
        &|_| None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("routes[0] (chat).capture.sample"), "{e}");
    let e = config("[capture]\nretain = 3\n").unwrap_err();
    assert!(e.contains("unknown field `retain`"), "{e}");
    let e = parse(
        &BASE.replace("max_bytes = 4096", "max_bytes = 4096, mod = \"full\""),
        Path::new("t.toml"),
        &|_| None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown field `mod`"), "{e}");
}

#[test]
fn retentions_are_bounded_and_content_does_not_outlive_its_call() {
    let e = config("[records]\nretention_days = 36501\n").unwrap_err();
    assert!(
        e.contains("records.retention_days: at most 36500 (100 years; leave it out to keep forever), not 36501"),
        "{e}"
    );
    let e = config("[records]\nretention_days = 30\n[capture]\nretention_days = 31\n").unwrap_err();
    assert!(
        e.contains("capture.retention_days: 31 is longer than records.retention_days (30)"),
        "{e}"
    );
    let c = config("[records]\nretention_days = 36500\n[capture]\nretention_days = 36500\n")
        .expect("equal retentions, at the bound");
    assert_eq!(c.records.retention_days, Some(36_500));
    // Content kept without a bound on the records is fine: both are then kept.
    let c = config("[capture]\nretention_days = 7\n").expect("content only");
    assert_eq!(
        (c.records.retention_days, c.capture.retention_days),
        (None, Some(7))
    );
}
