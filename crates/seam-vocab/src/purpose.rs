//! What a call is for: live traffic, an eval run's or a canary replay's (the `x-seam-purpose`
//! header).

use crate::vocabulary;

vocabulary! {
    /// A call's purpose. Live traffic is stored as NULL (no header, and every call recorded
    /// before purposes existed); the others are stored as their word.
    #[derive(Default)]
    pub enum Purpose as "call purpose" {
        /// A call of the application's users: the default.
        #[default]
        Live => "live",
        /// A call of an eval run (`x-seam-purpose: eval`).
        Eval => "eval",
        /// A call of a canary replay (`x-seam-purpose: canary`): a golden conversation
        /// replayed against what is deployed now.
        Canary => "canary",
    }
}

impl Purpose {
    /// The header a client names its call's purpose in.
    pub const HEADER: &'static str = "x-seam-purpose";

    /// The purpose a header value names: `eval` or `canary`. `live` is no value of the
    /// header: live traffic is a call that names no purpose.
    pub fn from_header(value: &str) -> Option<Purpose> {
        match value.trim() {
            "eval" => Some(Purpose::Eval),
            "canary" => Some(Purpose::Canary),
            _ => None,
        }
    }

    pub fn is_live(&self) -> bool {
        *self == Purpose::Live
    }

    /// The word stored in a record's `purpose` column: none for live traffic.
    pub fn stored(self) -> Option<&'static str> {
        match self {
            Purpose::Live => None,
            p => Some(p.as_str()),
        }
    }

    /// The purpose a stored column holds: NULL is live traffic.
    pub fn from_stored(value: Option<&str>) -> Result<Purpose, crate::Unknown> {
        value.map_or(Ok(Purpose::Live), str::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{refuses, round_trips};

    #[test]
    fn purposes_keep_their_strings() {
        let pinned = [
            (Purpose::Live, "live"),
            (Purpose::Eval, "eval"),
            (Purpose::Canary, "canary"),
        ];
        assert_eq!(Purpose::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<Purpose>("evals", "call purpose");
        assert_eq!(Purpose::default(), Purpose::Live);
    }

    #[test]
    fn eval_and_canary_are_named_by_the_header_and_stored() {
        assert_eq!(Purpose::from_header("eval"), Some(Purpose::Eval));
        assert_eq!(Purpose::from_header(" eval "), Some(Purpose::Eval));
        assert_eq!(Purpose::from_header("canary"), Some(Purpose::Canary));
        assert_eq!(Purpose::from_header(" canary\t"), Some(Purpose::Canary));
        for bad in ["", "live", "EVAL", "Canary", "canaries", "test"] {
            assert_eq!(Purpose::from_header(bad), None, "{bad}");
        }
        assert_eq!(Purpose::Live.stored(), None);
        assert_eq!(Purpose::Eval.stored(), Some("eval"));
        assert_eq!(Purpose::Canary.stored(), Some("canary"));
        assert_eq!(Purpose::from_stored(None), Ok(Purpose::Live));
        assert_eq!(Purpose::from_stored(Some("eval")), Ok(Purpose::Eval));
        assert_eq!(Purpose::from_stored(Some("canary")), Ok(Purpose::Canary));
        assert!(Purpose::from_stored(Some("bogus")).is_err());
    }
}
