//! `[[notify.webhooks]]`: where timeline events are pushed, signed with a secret from the
//! environment (docs/canaries.md "Webhooks").

use crate::secret::Secret;
use seam_vocab::EventKind;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotify {
    #[serde(default)]
    pub webhooks: Vec<RawWebhook>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhook {
    pub url: String,
    pub secret_env: String,
    pub events: Vec<String>,
    pub timeout_ms: Option<i64>,
    pub max_attempts: Option<i64>,
}

/// How long one delivery attempt may take by default.
pub const DEFAULT_WEBHOOK_TIMEOUT_MS: u64 = 5_000;
/// Attempts per event by default: with the backoff (0.5 s, 1 s, 2 s) a receiver restarting
/// for a few seconds still gets the event.
pub const DEFAULT_WEBHOOK_ATTEMPTS: u32 = 4;
const TIMEOUT_MS: std::ops::RangeInclusive<i64> = 100..=60_000;
const ATTEMPTS: std::ops::RangeInclusive<i64> = 1..=10;

/// `[notify]`: the webhooks timeline events are pushed to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notify {
    pub webhooks: Vec<Webhook>,
}

/// One `[[notify.webhooks]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Where the events are POSTed (http or https).
    pub url: String,
    /// The environment variable the secret was read from, to name it in messages.
    pub secret_env: String,
    /// The HMAC-SHA256 key of `x-seam-signature`. None only when the config was read without
    /// requiring secrets (`load_lenient`, `load_store`) and the variable is unset: such a
    /// webhook cannot sign, so nothing is sent to it.
    pub secret: Option<Secret>,
    /// The event kinds sent to it; others are not.
    pub events: Vec<EventKind>,
    /// How long one attempt may take (100 ms to 60 s, default 5 s).
    pub timeout: Duration,
    /// Attempts per event before giving up (1 to 10, default 4).
    pub max_attempts: u32,
}

/// `scheme://host...` with a host that is not empty and no whitespace; the URL parser of the
/// notifier has the last word, this catches what a typo makes.
fn url_problem(url: &str) -> Option<&'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        None => Some("must start with http:// or https://"),
        Some(r) if r.split(['/', '?', '#']).next().is_none_or(str::is_empty) => Some("has no host"),
        Some(_) if url.chars().any(char::is_whitespace) => Some("must not contain spaces"),
        Some(_) => None,
    }
}

pub(crate) fn notify(
    raw: Option<RawNotify>,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Notify {
    let Some(raw) = raw else {
        return Notify::default();
    };
    let webhooks = raw
        .webhooks
        .into_iter()
        .enumerate()
        .map(|(i, w)| webhook(w, &format!("notify.webhooks[{i}]"), env, problems))
        .collect();
    Notify { webhooks }
}

fn webhook(
    w: RawWebhook,
    key: &str,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Webhook {
    if let Some(p) = url_problem(&w.url) {
        problems.push(format!("{key}.url: `{}` {p}", w.url));
    }
    let name = w.secret_env.trim();
    let secret = if name.is_empty() {
        problems.push(format!(
            "{key}.secret_env: name the environment variable that holds the signing secret"
        ));
        None
    } else {
        // `process_env` reads an empty variable as unset; the lenient loaders answer every
        // name with "" on purpose, which leaves the webhook without a secret.
        match env(name) {
            None => {
                problems.push(format!(
                    "{key}.secret_env: the environment variable `{name}` is not set (or is empty)"
                ));
                None
            }
            Some(v) if v.is_empty() => None,
            Some(v) => Some(Secret::new(v)),
        }
    };
    if w.events.is_empty() {
        problems.push(format!(
            "{key}.events: list at least one event kind, such as [\"canary_failed\", \"canary_recovered\"]"
        ));
    }
    let mut events = Vec::new();
    for e in &w.events {
        match e.parse::<EventKind>() {
            Ok(k) if !events.contains(&k) => events.push(k),
            Ok(_) => {}
            Err(_) => problems.push(format!(
                "{key}.events: `{e}` is not an event kind (such as canary_failed, canary_recovered, release_deploy, served_model_changed)"
            )),
        }
    }
    let timeout_ms = match w.timeout_ms {
        None => DEFAULT_WEBHOOK_TIMEOUT_MS,
        Some(n) if TIMEOUT_MS.contains(&n) => n as u64,
        Some(n) => {
            problems.push(format!(
                "{key}.timeout_ms: {n} is out of range ({} to {}; default {DEFAULT_WEBHOOK_TIMEOUT_MS})",
                TIMEOUT_MS.start(),
                TIMEOUT_MS.end()
            ));
            DEFAULT_WEBHOOK_TIMEOUT_MS
        }
    };
    let max_attempts = match w.max_attempts {
        None => DEFAULT_WEBHOOK_ATTEMPTS,
        Some(n) if ATTEMPTS.contains(&n) => n as u32,
        Some(n) => {
            problems.push(format!(
                "{key}.max_attempts: {n} is out of range ({} to {}; default {DEFAULT_WEBHOOK_ATTEMPTS})",
                ATTEMPTS.start(),
                ATTEMPTS.end()
            ));
            DEFAULT_WEBHOOK_ATTEMPTS
        }
    };
    Webhook {
        url: w.url,
        secret_env: name.to_string(),
        secret,
        events,
        timeout: Duration::from_millis(timeout_ms),
        max_attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec-do-not-print-7f3a";

    fn env(name: &str) -> Option<String> {
        match name {
            "HOOK_SECRET" => Some(SECRET.to_string()),
            "LENIENT" => Some(String::new()),
            _ => None,
        }
    }

    fn read(text: &str) -> (Notify, Vec<String>) {
        let raw: RawNotify = toml::from_str(text).expect("parses");
        let mut problems = Vec::new();
        let n = notify(Some(raw), &env, &mut problems);
        (n, problems)
    }

    const GOOD: &str = "[[webhooks]]\nurl = \"https://hooks.example.com/seam\"\n\
                        secret_env = \"HOOK_SECRET\"\nevents = [\"canary_failed\"]\n";

    #[test]
    fn a_webhook_with_its_defaults_and_with_every_key() {
        assert_eq!(read("").0, Notify::default());
        let (n, p) = read(GOOD);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            n.webhooks,
            [Webhook {
                url: "https://hooks.example.com/seam".into(),
                secret_env: "HOOK_SECRET".into(),
                secret: Some(Secret::new(SECRET.into())),
                events: vec![EventKind::CanaryFailed],
                timeout: Duration::from_millis(5_000),
                max_attempts: 4,
            }]
        );
        let (n, p) = read(&format!(
            "{GOOD}timeout_ms = 100\nmax_attempts = 10\n\n[[webhooks]]\n\
             url = \"http://127.0.0.1:9000\"\nsecret_env = \"HOOK_SECRET\"\n\
             events = [\"canary_recovered\", \"release_deploy\", \"canary_recovered\"]\n\
             timeout_ms = 60000\nmax_attempts = 1\n"
        ));
        assert!(p.is_empty(), "{p:?}");
        let (a, b) = (&n.webhooks[0], &n.webhooks[1]);
        assert_eq!((a.timeout.as_millis(), a.max_attempts), (100, 10));
        assert_eq!((b.timeout.as_millis(), b.max_attempts), (60_000, 1));
        assert_eq!(
            b.events,
            [EventKind::CanaryRecovered, EventKind::ReleaseDeploy]
        );
    }

    #[test]
    fn each_bad_value_names_its_key() {
        let with = |from: &str, to: &str| {
            let text = GOOD.replace(from, to);
            let (_, p) = read(&text);
            assert_eq!(p.len(), 1, "{text}: {p:?}");
            p.into_iter().next().unwrap_or_default()
        };
        for (from, to, says) in [
            (
                "https://hooks.example.com/seam",
                "ftp://hooks.example.com",
                "notify.webhooks[0].url: `ftp://hooks.example.com` must start with http:// or https://",
            ),
            (
                "https://hooks.example.com/seam",
                "https:///seam",
                "notify.webhooks[0].url: `https:///seam` has no host",
            ),
            (
                "https://hooks.example.com/seam",
                "https://hooks.example.com/a b",
                "notify.webhooks[0].url: `https://hooks.example.com/a b` must not contain spaces",
            ),
            (
                "\"HOOK_SECRET\"",
                "\"UNSET_SECRET\"",
                "notify.webhooks[0].secret_env: the environment variable `UNSET_SECRET` is not set (or is empty)",
            ),
            (
                "\"HOOK_SECRET\"",
                "\" \"",
                "notify.webhooks[0].secret_env: name the environment variable that holds the signing secret",
            ),
            (
                "[\"canary_failed\"]",
                "[]",
                "notify.webhooks[0].events: list at least one event kind",
            ),
            (
                "[\"canary_failed\"]",
                "[\"canary_failed\", \"canary_broke\"]",
                "notify.webhooks[0].events: `canary_broke` is not an event kind",
            ),
            (
                "events",
                "timeout_ms = 99\nevents",
                "notify.webhooks[0].timeout_ms: 99 is out of range (100 to 60000; default 5000)",
            ),
            (
                "events",
                "timeout_ms = 60001\nevents",
                "notify.webhooks[0].timeout_ms: 60001 is out of range",
            ),
            (
                "events",
                "max_attempts = 0\nevents",
                "notify.webhooks[0].max_attempts: 0 is out of range (1 to 10; default 4)",
            ),
            (
                "events",
                "max_attempts = 11\nevents",
                "notify.webhooks[0].max_attempts: 11 is out of range",
            ),
        ] {
            let p = with(from, to);
            assert!(p.starts_with(says), "{to}: {p}");
        }
        // Loaded without requiring secrets: no error, and nothing to sign with.
        let (n, p) = read(&GOOD.replace("HOOK_SECRET", "LENIENT"));
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(n.webhooks[0].secret, None);
    }

    #[test]
    fn the_table_is_strict() {
        for (text, says) in [
            (
                "[[webhooks]]\nurl = \"http://h\"\nsecret_env = \"S\"\nevents = []\nsecret = \"x\"",
                "unknown field `secret`",
            ),
            (
                "[[webhooks]]\nsecret_env = \"S\"\nevents = []",
                "missing field `url`",
            ),
            (
                "[[webhooks]]\nurl = \"http://h\"\nevents = []",
                "missing field `secret_env`",
            ),
            (
                "[[webhooks]]\nurl = \"http://h\"\nsecret_env = \"S\"",
                "missing field `events`",
            ),
            (
                "[[webhooks]]\nurl = \"http://h\"\nsecret_env = \"S\"\nevents = []\ntimeout_ms = \"5s\"",
                "invalid type",
            ),
            ("hooks = []", "unknown field `hooks`"),
        ] {
            let e = toml::from_str::<RawNotify>(text).expect_err(text);
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn the_secret_never_prints() {
        let (n, _) = read(GOOD);
        let debug = format!("{n:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(debug.contains("HOOK_SECRET"), "{debug}");
    }
}
