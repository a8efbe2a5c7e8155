//! `[sessions]`: how long a session keeps its pinned release, by default and per prompt.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSessions {
    pub idle_secs: Option<u64>,
    pub max_age_secs: Option<u64>,
    #[serde(default)]
    pub prompts: BTreeMap<String, RawSessionTtl>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSessionTtl {
    pub idle_secs: Option<u64>,
    pub max_age_secs: Option<u64>,
}

/// A session ends after `idle` without a call, or `max_age` after its first call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTtl {
    pub idle: Duration,
    pub max_age: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sessions {
    pub default: SessionTtl,
    pub prompts: BTreeMap<String, SessionTtl>,
}

pub const DEFAULT_IDLE: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            default: SessionTtl {
                idle: DEFAULT_IDLE,
                max_age: DEFAULT_MAX_AGE,
            },
            prompts: BTreeMap::new(),
        }
    }
}

impl Sessions {
    pub fn for_prompt(&self, prompt: &str) -> SessionTtl {
        self.prompts.get(prompt).copied().unwrap_or(self.default)
    }
}

fn secs(key: &str, v: Option<u64>, default: Duration, problems: &mut Vec<String>) -> Duration {
    match v {
        Some(0) => {
            problems.push(format!("{key}: must be at least 1 second"));
            default
        }
        Some(n) => Duration::from_secs(n),
        None => default,
    }
}

pub(crate) fn sessions(raw: Option<RawSessions>, problems: &mut Vec<String>) -> Sessions {
    let raw = raw.unwrap_or_default();
    let default = SessionTtl {
        idle: secs("sessions.idle_secs", raw.idle_secs, DEFAULT_IDLE, problems),
        max_age: secs(
            "sessions.max_age_secs",
            raw.max_age_secs,
            DEFAULT_MAX_AGE,
            problems,
        ),
    };
    let prompts = raw
        .prompts
        .into_iter()
        .map(|(name, t)| {
            let key = format!("sessions.prompts.{name}");
            let ttl = SessionTtl {
                idle: secs(
                    &format!("{key}.idle_secs"),
                    t.idle_secs,
                    default.idle,
                    problems,
                ),
                max_age: secs(
                    &format!("{key}.max_age_secs"),
                    t.max_age_secs,
                    default.max_age,
                    problems,
                ),
            };
            (name, ttl)
        })
        .collect();
    Sessions { default, prompts }
}
