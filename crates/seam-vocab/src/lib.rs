//! The fixed words Seam stores, matches and prints: call outcomes, error classes, refusal
//! codes, deploy modes, stream SLO verdicts, event kinds, call purposes, canary verdicts and
//! triggers. Each is an enum whose string is the one stored in the database, written to the
//! spool, counted in metrics and shown in JSON, so a typo is a compile error and a rename is
//! caught by the tests that pin each string. Parsing a word that is not in a vocabulary is an
//! [`Unknown`] naming it.

mod call;
mod canary;
mod deploy;
mod eval;
mod event;
mod purpose;
mod slo;

pub use call::{CallErrorClass, ErrorClass, GatewayClass, Outcome, RefusalCode};
pub use canary::{CanaryTrigger, CanaryVerdict};
pub use deploy::{DeployKind, DeployMode};
pub use eval::{EvalStatus, EvalVerdict};
pub use event::EventKind;
pub use purpose::Purpose;
pub use slo::{Breach, SloOutcome, SloVerdict};

use std::fmt;

/// A string that is not a word of the vocabulary it was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// What was expected, e.g. `call outcome`.
    pub vocabulary: &'static str,
    pub value: String,
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug-quoted: the value may be anything a database row or a file held.
        write!(f, "unknown {} {:?}", self.vocabulary, self.value)
    }
}

impl std::error::Error for Unknown {}

impl Unknown {
    fn new(vocabulary: &'static str, value: &str) -> Unknown {
        Unknown {
            vocabulary,
            value: value.to_string(),
        }
    }
}

/// `Display`, `FromStr`, `TryFrom<String>`/`TryFrom<&str>` and serde, all through the type's
/// `as_str` and `lookup`, so that every way in and out uses the same strings.
macro_rules! strings {
    ($name:ident, $what:literal) => {
        impl $name {
            /// What a parse error calls this vocabulary.
            pub const VOCABULARY: &'static str = $what;
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::Unknown;
            fn from_str(s: &str) -> Result<$name, $crate::Unknown> {
                $name::lookup(s).ok_or_else(|| $crate::Unknown::new($what, s))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::Unknown;
            fn try_from(s: &str) -> Result<$name, $crate::Unknown> {
                s.parse()
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::Unknown;
            fn try_from(s: String) -> Result<$name, $crate::Unknown> {
                s.parse()
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str {
                v.as_str()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "a {}", $what)
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$name, E> {
                        s.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(Visitor)
            }
        }
    };
}
pub(crate) use strings;

/// A fieldless enum of words: each variant with its string, `ALL`, `as_str`, `lookup`, and
/// the traits of [`strings!`].
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $s:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every word, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word as stored and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $s, )+
                }
            }

            /// The word `s` names, if it is one.
            pub fn lookup(s: &str) -> Option<$name> {
                match s {
                    $( $s => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        $crate::strings!($name, $what);
    };
}
pub(crate) use vocabulary;

#[cfg(test)]
pub(crate) mod testing {
    use std::fmt::Display;
    use std::str::FromStr;

    /// `v` is shown, parsed and serialized as exactly `s`, and comes back as itself.
    pub fn round_trips<T>(v: T, s: &str)
    where
        T: Display
            + FromStr<Err = crate::Unknown>
            + TryFrom<String, Error = crate::Unknown>
            + serde::Serialize
            + serde::de::DeserializeOwned
            + PartialEq
            + std::fmt::Debug
            + Clone,
    {
        assert_eq!(v.to_string(), s);
        // Widths and alignment apply as to the string (text tables pad with them).
        assert_eq!(format!("[{v:>24}|{v:<24}]"), format!("[{s:>24}|{s:<24}]"));
        assert_eq!(s.parse::<T>(), Ok(v.clone()));
        assert_eq!(T::try_from(s.to_string()), Ok(v.clone()));
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, serde_json::to_string(s).unwrap());
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), v);
    }

    /// A string outside the vocabulary is an error naming it, through every way in.
    pub fn refuses<T>(bad: &str, vocabulary: &str)
    where
        T: FromStr<Err = crate::Unknown>
            + TryFrom<String, Error = crate::Unknown>
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let e = bad.parse::<T>().unwrap_err();
        assert_eq!(e.vocabulary, vocabulary);
        assert_eq!(e.value, bad);
        assert_eq!(e.to_string(), format!("unknown {vocabulary} {bad:?}"));
        assert!(T::try_from(bad.to_string()).is_err());
        let json = serde_json::to_string(bad).unwrap();
        let e = serde_json::from_str::<T>(&json).unwrap_err().to_string();
        assert!(e.contains(bad), "{e}");
    }
}
