//! What a call is for: live traffic, or an eval run's (the `x-seam-purpose` header).

use crate::vocabulary;

vocabulary! {
    /// A call's purpose. Live traffic is stored as NULL (no header, and every call recorded
    /// before purposes existed); only `eval` is stored as its word.
    #[derive(Default)]
    pub enum Purpose as "call purpose" {
        /// A call of the application's users: the default.
        #[default]
        Live => "live",
        /// A call of an eval run (`x-seam-purpose: eval`).
        Eval => "eval",
    }
}

impl Purpose {
    /// The header a client names its call's purpose in.
    pub const HEADER: &'static str = "x-seam-purpose";

    /// The purpose a header value names: only `eval` (no header is live traffic).
    pub fn from_header(value: &str) -> Option<Purpose> {
        (value.trim() == Purpose::Eval.as_str()).then_some(Purpose::Eval)
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
        let pinned = [(Purpose::Live, "live"), (Purpose::Eval, "eval")];
        assert_eq!(Purpose::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<Purpose>("evals", "call purpose");
        assert_eq!(Purpose::default(), Purpose::Live);
    }

    #[test]
    fn only_eval_is_named_by_the_header_and_stored() {
        assert_eq!(Purpose::from_header("eval"), Some(Purpose::Eval));
        assert_eq!(Purpose::from_header(" eval "), Some(Purpose::Eval));
        for bad in ["", "live", "EVAL", "test"] {
            assert_eq!(Purpose::from_header(bad), None, "{bad}");
        }
        assert_eq!(Purpose::Live.stored(), None);
        assert_eq!(Purpose::Eval.stored(), Some("eval"));
        assert_eq!(Purpose::from_stored(None), Ok(Purpose::Live));
        assert_eq!(Purpose::from_stored(Some("eval")), Ok(Purpose::Eval));
        assert!(Purpose::from_stored(Some("bogus")).is_err());
    }
}
