//! How a call and its attempts ended.

use crate::{strings, vocabulary};

vocabulary! {
    /// How a call ended for its client. An attempt is recorded `Ok` or `Error` only.
    pub enum Outcome as "call outcome" {
        /// Answered.
        Ok => "ok",
        /// Failed upstream (or served another model than its release allows).
        Error => "error",
        /// Refused by a limit; never sent upstream.
        Refused => "refused",
        /// Rejected before any attempt: unknown model, invalid request, missing key.
        Rejected => "rejected",
        /// The client went away during a stream.
        ClientClosed => "client_closed",
    }
}

vocabulary! {
    /// How an upstream attempt failed, classified once so that retry, accounting and the
    /// client's answer all read the same facts.
    pub enum ErrorClass as "attempt error class" {
        /// The connection could not be made; nothing was sent.
        Connect => "connect",
        /// No answer in time.
        Timeout => "timeout",
        /// The connection dropped before a response arrived.
        Reset => "reset",
        Status429 => "status_429",
        Status4xx => "status_4xx",
        Status5xx => "status_5xx",
        /// A stream ended before it finished.
        StreamCut => "stream_cut",
        /// The upstream answered with something that is not its documented format (a body
        /// that is not JSON, or a success status whose body is an error).
        BadResponse => "bad_response",
        /// The upstream answered with a redirect (3xx). Seam follows none: a `base_url` that
        /// redirects is configuration to fix, not a failure to retry.
        Redirect => "redirect",
        /// Seam stopped the attempt because the client went away.
        Cancelled => "cancelled",
    }
}

impl ErrorClass {
    pub fn from_status(status: u16) -> ErrorClass {
        match status {
            429 => ErrorClass::Status429,
            300..=399 => ErrorClass::Redirect,
            400..=499 => ErrorClass::Status4xx,
            _ => ErrorClass::Status5xx,
        }
    }
}

vocabulary! {
    /// Why the gateway itself failed a call, before or instead of an upstream answer.
    pub enum GatewayClass as "gateway error class" {
        /// No key, or an unknown or revoked one.
        Auth => "auth",
        BodyTooLarge => "body_too_large",
        BodyTimeout => "body_timeout",
        /// A body or header Seam cannot use as sent.
        InvalidRequest => "invalid_request",
        /// No route for the model, or no release on the prompt's channel.
        UnknownRoute => "unknown_route",
        RenderLimit => "render_limit",
        /// The provider served another model than the release pins.
        ServedModelMismatch => "served_model_mismatch",
        SessionUnavailable => "session_unavailable",
        Internal => "internal",
    }
}

vocabulary! {
    /// The code of a limit's refusal: the error code a client sees, the label of
    /// `seam_limit_refusals_total` and the class a refused call is recorded with.
    pub enum RefusalCode as "refusal code" {
        TenantRequestLimit => "tenant_request_limit",
        TenantAttemptLimit => "tenant_attempt_limit",
        TenantInputTokenLimit => "tenant_input_token_limit",
        TenantOutputTokenLimit => "tenant_output_token_limit",
        TenantTokenLimit => "tenant_token_limit",
        TenantCostLimit => "tenant_cost_limit",
        KeyRequestLimit => "key_request_limit",
        KeyAttemptLimit => "key_attempt_limit",
        KeyInputTokenLimit => "key_input_token_limit",
        KeyOutputTokenLimit => "key_output_token_limit",
        KeyTokenLimit => "key_token_limit",
        KeyCostLimit => "key_cost_limit",
        TraceCallLimit => "trace_call_limit",
        TraceAttemptLimit => "trace_attempt_limit",
        TraceTimeLimit => "trace_time_limit",
        TraceTokenLimit => "trace_token_limit",
        TraceCostLimit => "trace_cost_limit",
        /// The limits could not be checked and the policy is closed.
        LimitsUnavailable => "limits_unavailable",
    }
}

/// The class a failed call is recorded with: its deciding attempt's, the gateway's own, a
/// limit's refusal code, or `client_closed`. The four sets share no string, so each stored
/// string reads back as one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallErrorClass {
    Attempt(ErrorClass),
    Gateway(GatewayClass),
    Refused(RefusalCode),
    /// The client went away during a stream.
    ClientClosed,
}

impl CallErrorClass {
    /// The word as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            CallErrorClass::Attempt(c) => c.as_str(),
            CallErrorClass::Gateway(c) => c.as_str(),
            CallErrorClass::Refused(c) => c.as_str(),
            CallErrorClass::ClientClosed => "client_closed",
        }
    }

    /// The class `s` names, if it is one.
    pub fn lookup(s: &str) -> Option<CallErrorClass> {
        if s == "client_closed" {
            return Some(CallErrorClass::ClientClosed);
        }
        ErrorClass::lookup(s)
            .map(CallErrorClass::Attempt)
            .or_else(|| GatewayClass::lookup(s).map(CallErrorClass::Gateway))
            .or_else(|| RefusalCode::lookup(s).map(CallErrorClass::Refused))
    }

    /// Every class.
    pub fn all() -> impl Iterator<Item = CallErrorClass> {
        let attempt = ErrorClass::ALL.iter().map(|c| CallErrorClass::Attempt(*c));
        let gateway = GatewayClass::ALL
            .iter()
            .map(|c| CallErrorClass::Gateway(*c));
        let refused = RefusalCode::ALL.iter().map(|c| CallErrorClass::Refused(*c));
        attempt
            .chain(gateway)
            .chain(refused)
            .chain([CallErrorClass::ClientClosed])
    }
}

impl From<ErrorClass> for CallErrorClass {
    fn from(c: ErrorClass) -> CallErrorClass {
        CallErrorClass::Attempt(c)
    }
}

impl From<GatewayClass> for CallErrorClass {
    fn from(c: GatewayClass) -> CallErrorClass {
        CallErrorClass::Gateway(c)
    }
}

impl From<RefusalCode> for CallErrorClass {
    fn from(c: RefusalCode) -> CallErrorClass {
        CallErrorClass::Refused(c)
    }
}

strings!(CallErrorClass, "call error class");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{refuses, round_trips};

    #[test]
    fn outcomes_keep_their_strings() {
        let pinned = [
            (Outcome::Ok, "ok"),
            (Outcome::Error, "error"),
            (Outcome::Refused, "refused"),
            (Outcome::Rejected, "rejected"),
            (Outcome::ClientClosed, "client_closed"),
        ];
        assert_eq!(Outcome::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<Outcome>("OK", "call outcome");
        refuses::<Outcome>("", "call outcome");
    }

    #[test]
    fn attempt_error_classes_keep_their_strings() {
        let pinned = [
            (ErrorClass::Connect, "connect"),
            (ErrorClass::Timeout, "timeout"),
            (ErrorClass::Reset, "reset"),
            (ErrorClass::Status429, "status_429"),
            (ErrorClass::Status4xx, "status_4xx"),
            (ErrorClass::Status5xx, "status_5xx"),
            (ErrorClass::StreamCut, "stream_cut"),
            (ErrorClass::BadResponse, "bad_response"),
            (ErrorClass::Redirect, "redirect"),
            (ErrorClass::Cancelled, "cancelled"),
        ];
        assert_eq!(ErrorClass::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<ErrorClass>("status_3xx", "attempt error class");
        assert_eq!(ErrorClass::from_status(429), ErrorClass::Status429);
        assert_eq!(ErrorClass::from_status(302), ErrorClass::Redirect);
        assert_eq!(ErrorClass::from_status(404), ErrorClass::Status4xx);
        assert_eq!(ErrorClass::from_status(503), ErrorClass::Status5xx);
    }

    #[test]
    fn gateway_classes_keep_their_strings() {
        let pinned = [
            (GatewayClass::Auth, "auth"),
            (GatewayClass::BodyTooLarge, "body_too_large"),
            (GatewayClass::BodyTimeout, "body_timeout"),
            (GatewayClass::InvalidRequest, "invalid_request"),
            (GatewayClass::UnknownRoute, "unknown_route"),
            (GatewayClass::RenderLimit, "render_limit"),
            (GatewayClass::ServedModelMismatch, "served_model_mismatch"),
            (GatewayClass::SessionUnavailable, "session_unavailable"),
            (GatewayClass::Internal, "internal"),
        ];
        assert_eq!(GatewayClass::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<GatewayClass>("timeout", "gateway error class");
    }

    #[test]
    fn refusal_codes_keep_their_strings() {
        let pinned = [
            (RefusalCode::TenantRequestLimit, "tenant_request_limit"),
            (RefusalCode::TenantAttemptLimit, "tenant_attempt_limit"),
            (
                RefusalCode::TenantInputTokenLimit,
                "tenant_input_token_limit",
            ),
            (
                RefusalCode::TenantOutputTokenLimit,
                "tenant_output_token_limit",
            ),
            (RefusalCode::TenantTokenLimit, "tenant_token_limit"),
            (RefusalCode::TenantCostLimit, "tenant_cost_limit"),
            (RefusalCode::KeyRequestLimit, "key_request_limit"),
            (RefusalCode::KeyAttemptLimit, "key_attempt_limit"),
            (RefusalCode::KeyInputTokenLimit, "key_input_token_limit"),
            (RefusalCode::KeyOutputTokenLimit, "key_output_token_limit"),
            (RefusalCode::KeyTokenLimit, "key_token_limit"),
            (RefusalCode::KeyCostLimit, "key_cost_limit"),
            (RefusalCode::TraceCallLimit, "trace_call_limit"),
            (RefusalCode::TraceAttemptLimit, "trace_attempt_limit"),
            (RefusalCode::TraceTimeLimit, "trace_time_limit"),
            (RefusalCode::TraceTokenLimit, "trace_token_limit"),
            (RefusalCode::TraceCostLimit, "trace_cost_limit"),
            (RefusalCode::LimitsUnavailable, "limits_unavailable"),
        ];
        assert_eq!(RefusalCode::ALL.len(), pinned.len());
        for (v, s) in pinned {
            round_trips(v, s);
        }
        refuses::<RefusalCode>("tenant_limit", "refusal code");
    }

    #[test]
    fn call_error_classes_are_each_set_and_client_closed() {
        let mut n = 0;
        for c in CallErrorClass::all() {
            round_trips(c, c.as_str());
            n += 1;
        }
        assert_eq!(
            n,
            ErrorClass::ALL.len() + GatewayClass::ALL.len() + RefusalCode::ALL.len() + 1
        );
        // No string is in two sets: each reads back as the class it was written from.
        let mut seen = std::collections::BTreeSet::new();
        for c in CallErrorClass::all() {
            assert!(seen.insert(c.as_str()), "{c} twice");
        }
        round_trips(CallErrorClass::ClientClosed, "client_closed");
        round_trips(CallErrorClass::Attempt(ErrorClass::Status5xx), "status_5xx");
        round_trips(CallErrorClass::Gateway(GatewayClass::Auth), "auth");
        round_trips(
            CallErrorClass::Refused(RefusalCode::TraceCostLimit),
            "trace_cost_limit",
        );
        assert_eq!(
            CallErrorClass::from(ErrorClass::Timeout).as_str(),
            "timeout"
        );
        refuses::<CallErrorClass>("ok", "call error class");
    }
}
