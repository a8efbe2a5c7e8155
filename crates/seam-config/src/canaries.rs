//! `[canaries]`: where the golden conversations are, how often and when they are replayed,
//! and whether their traffic counts against cost limits (docs/canaries.md "Storage and
//! configuration").

use crate::Secret;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCanaries {
    pub dir: Option<String>,
    pub repeat: Option<i64>,
    pub every: Option<String>,
    pub count_in_budgets: Option<bool>,
    pub embedding_route: Option<String>,
    pub on_deploy: Option<bool>,
    pub on_model_change: Option<bool>,
    pub key_env: Option<String>,
}

/// The default goldens directory, relative to the config file.
pub const DEFAULT_CANARIES_DIR: &str = "canaries";
/// How many times each golden is replayed per run by default: enough to tell a flaky answer
/// (some repeats fail) from a changed one (all fail).
pub const DEFAULT_CANARY_REPEAT: u32 = 3;
const MAX_REPEAT: i64 = 20;
/// The shortest schedule: a replay costs provider calls, `repeat` per golden turn.
const MIN_EVERY: Duration = Duration::from_secs(60);
/// The longest: a year, past which a schedule checks nothing a deploy would not.
const MAX_EVERY: Duration = Duration::from_secs(365 * 86_400);

#[derive(Debug, Clone, PartialEq)]
pub struct Canaries {
    /// The goldens, one file each (`[canaries] dir`, relative to the config file; default
    /// `canaries`).
    pub dir: PathBuf,
    /// How many times each golden is replayed per run (1 to 20, default 3).
    pub repeat: u32,
    /// How often `seam serve` replays every golden (`every = "6h"`, at least 1 minute);
    /// None: no schedule (deploys and served-model changes may still trigger runs).
    pub every: Option<Duration>,
    /// Canary traffic (`x-seam-purpose: canary`) counts against, and is refused by, tenant and
    /// key limits on `cost` too (default false: it is outside them). Request-rate, attempt and
    /// token limits hold it either way. Read per call: a reload changes it.
    pub count_in_budgets: bool,
    /// The route the similarity assertion embeds through; None: no similarity assertion.
    pub embedding_route: Option<String>,
    /// Replay a golden after every deploy to its channel (default true).
    pub on_deploy: bool,
    /// Replay a golden after a `served_model_changed` event on its route (default true).
    pub on_model_change: bool,
    /// The Seam key `seam serve` replays goldens with (`key_env`, the environment variable
    /// holding it); None: serve replays none (`seam canary run` takes --key).
    pub key: Option<Secret>,
}

impl Canaries {
    pub(crate) fn default_at(base_dir: &Path) -> Canaries {
        Canaries {
            dir: base_dir.join(DEFAULT_CANARIES_DIR),
            repeat: DEFAULT_CANARY_REPEAT,
            every: None,
            count_in_budgets: false,
            embedding_route: None,
            on_deploy: true,
            on_model_change: true,
            key: None,
        }
    }
}

/// `30s`, `15m`, `6h`, `7d`: a number and a unit (the units of `--since`).
fn parse_every(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "canaries.every: `{s}` is not a duration; write a number and a unit (s, m, h or d), such as \"6h\""
            ));
        }
    };
    let too_long = || {
        format!(
            "canaries.every: `{s}` is too long (at most {}d)",
            MAX_EVERY.as_secs() / 86_400
        )
    };
    let n: u64 = match n.parse() {
        Ok(n) => n,
        Err(_) if !n.is_empty() => return Err(too_long()),
        Err(_) => {
            return Err(format!(
                "canaries.every: `{s}` is not a duration; write a number and a unit (s, m, h or d), such as \"6h\""
            ));
        }
    };
    let every = n
        .checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(too_long)?;
    if every < MIN_EVERY {
        return Err(format!(
            "canaries.every: `{s}` is too short (at least 1m: each run calls the providers)"
        ));
    }
    if every > MAX_EVERY {
        return Err(too_long());
    }
    Ok(every)
}

pub(crate) fn canaries(
    raw: Option<RawCanaries>,
    base_dir: &Path,
    routes: &HashSet<String>,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Canaries {
    let d = Canaries::default_at(base_dir);
    let Some(raw) = raw else { return d };
    let dir = match raw.dir {
        Some(dir) if dir.trim().is_empty() => {
            problems.push(format!(
                "canaries.dir: name a directory (default \"{DEFAULT_CANARIES_DIR}\", relative to the config file)"
            ));
            d.dir
        }
        Some(dir) => base_dir.join(dir),
        None => d.dir,
    };
    let repeat = match raw.repeat {
        None => d.repeat,
        Some(n) if (1..=MAX_REPEAT).contains(&n) => n as u32,
        Some(n) => {
            problems.push(format!(
                "canaries.repeat: {n} is out of range (1 to {MAX_REPEAT}; default {DEFAULT_CANARY_REPEAT})"
            ));
            d.repeat
        }
    };
    let every = raw.every.and_then(|s| match parse_every(&s) {
        Ok(e) => Some(e),
        Err(p) => {
            problems.push(p);
            None
        }
    });
    if let Some(r) = &raw.embedding_route
        && !routes.contains(r)
    {
        problems.push(format!(
            "canaries.embedding_route: route `{r}` is not in the config (name one of [[routes]])"
        ));
    }
    Canaries {
        dir,
        repeat,
        every,
        count_in_budgets: raw.count_in_budgets.unwrap_or(d.count_in_budgets),
        embedding_route: raw.embedding_route,
        on_deploy: raw.on_deploy.unwrap_or(d.on_deploy),
        on_model_change: raw.on_model_change.unwrap_or(d.on_model_change),
        key: raw.key_env.as_deref().and_then(|name| {
            match env(name) {
                // (A lenient load reads an unset variable as empty: no key, no problem.)
                Some(v) => (!v.is_empty()).then(|| Secret::new(v)),
                None => {
                    problems.push(format!(
                        "canaries.key_env: the environment variable `{name}` is not set (it holds the Seam key `seam serve` replays goldens with)"
                    ));
                    None
                }
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Canaries, Vec<String>) {
        let raw: RawCanaries = toml::from_str(text).expect("parses");
        let routes = HashSet::from(["embed".to_string()]);
        let mut problems = Vec::new();
        let c = canaries(
            Some(raw),
            Path::new("/c"),
            &routes,
            &|_| None,
            &mut problems,
        );
        (c, problems)
    }

    #[test]
    fn every_takes_a_number_and_a_unit_of_at_least_a_minute() {
        for (text, secs) in [("1m", 60), ("90s", 90), ("6h", 21_600), (" 2d ", 172_800)] {
            assert_eq!(parse_every(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        for (bad, says) in [
            ("6", "not a duration"),
            ("h", "not a duration"),
            ("", "not a duration"),
            ("6 hours", "not a duration"),
            ("-6h", "not a duration"),
            ("1.5h", "not a duration"),
            ("59s", "too short"),
            ("0m", "too short"),
            ("366d", "too long"),
            ("99999999999999999999s", "too long"),
            ("18446744073709551615d", "too long"),
        ] {
            let e = parse_every(bad).expect_err(bad);
            assert!(
                e.starts_with("canaries.every: ") && e.contains(says),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn defaults_and_each_bad_value_names_its_key() {
        assert_eq!(read("").0, Canaries::default_at(Path::new("/c")));
        let (c, p) = read("");
        assert!(p.is_empty());
        assert_eq!(
            (c.dir, c.repeat, c.every, c.count_in_budgets),
            (PathBuf::from("/c/canaries"), 3, None, false)
        );
        assert!(c.on_deploy && c.on_model_change && c.embedding_route.is_none());
        let (c, p) = read(
            "dir = \"goldens\"\nrepeat = 20\nevery = \"6h\"\ncount_in_budgets = true\n\
             embedding_route = \"embed\"\non_deploy = false\non_model_change = false",
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            c,
            Canaries {
                dir: PathBuf::from("/c/goldens"),
                repeat: 20,
                every: Some(Duration::from_secs(6 * 3600)),
                count_in_budgets: true,
                embedding_route: Some("embed".into()),
                on_deploy: false,
                on_model_change: false,
                key: None,
            }
        );
        let (c, p) = read("dir = \" \"\nrepeat = 0\nevery = \"30s\"\nembedding_route = \"chat\"");
        assert_eq!(
            p,
            vec![
                "canaries.dir: name a directory (default \"canaries\", relative to the config file)",
                "canaries.repeat: 0 is out of range (1 to 20; default 3)",
                "canaries.every: `30s` is too short (at least 1m: each run calls the providers)",
                "canaries.embedding_route: route `chat` is not in the config (name one of [[routes]])",
            ]
        );
        assert_eq!((c.repeat, c.every), (3, None));
        let (_, p) = read("repeat = 21");
        assert_eq!(
            p,
            ["canaries.repeat: 21 is out of range (1 to 20; default 3)"]
        );
        for (text, key) in [
            ("repeats = 3", "unknown field `repeats`"),
            ("every = 6", "invalid type: integer `6`, expected a string"),
            ("on_deploy = \"yes\"", "expected a boolean"),
        ] {
            let e = toml::from_str::<RawCanaries>(text).expect_err(text);
            assert!(e.to_string().contains(key), "{text}: {e}");
        }
    }

    #[test]
    fn the_key_is_read_from_its_variable_and_a_missing_one_is_named() {
        let routes = HashSet::new();
        let raw = |t: &str| -> RawCanaries { toml::from_str(t).expect("parses") };
        let mut problems = Vec::new();
        let env = |n: &str| (n == "CANARY_KEY").then(|| "sk-seam-canary".to_string());
        let c = canaries(
            Some(raw("key_env = \"CANARY_KEY\"")),
            Path::new("/c"),
            &routes,
            &env,
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(c.key.as_ref().map(Secret::expose), Some("sk-seam-canary"));
        assert!(!format!("{c:?}").contains("sk-seam-canary"));
        let c = canaries(
            Some(raw("key_env = \"NOPE\"")),
            Path::new("/c"),
            &routes,
            &env,
            &mut problems,
        );
        assert!(c.key.is_none());
        assert_eq!(
            problems,
            vec![
                "canaries.key_env: the environment variable `NOPE` is not set (it holds the Seam key `seam serve` replays goldens with)"
            ]
        );
    }
}
