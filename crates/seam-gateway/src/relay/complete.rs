//! A complete (not streamed) answer: billed, rewritten as the route and the client's format
//! ask, and handed to the end of the call.

use crate::account;
use crate::call::{AttemptEnd, CallCtx, CallEnd, Upstream};
use crate::edge::Edge;
use crate::finish::{Finisher, JSON, with_call_headers};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header;
use seam_providers::Complete;
use seam_vocab::Outcome;
use seam_wire::RequestBody;
use serde_json::Value;

/// The client's response to a complete answer, and its record's durability (see
/// [`Finisher::finish`]).
pub fn complete(
    end: &Finisher,
    mut ctx: CallCtx,
    up: Upstream,
    c: Complete,
    request: &RequestBody,
    rewrite: Option<String>,
) -> (Response, Option<crate::record::Durable>) {
    let bill = ctx.charge(
        &end.metrics,
        &up,
        request,
        AttemptEnd {
            served: &c.served,
            report: c.usage,
            fallback: account::Fallback::Answer {
                finished: true,
                output_tokens: &|| account::output_tokens(&c),
            },
            error: None,
        },
    );
    // A Responses API call answered by a target that speaks it has its answer as it came.
    let native = up.endpoint == seam_providers::Endpoint::Responses;
    let answer = ctx
        .capture
        .is_some()
        .then(|| crate::capture::Answered::complete(&c.body, native));
    let body = match (rewrite, ctx.edge) {
        (None, Edge::OpenAi) => c.body,
        (None, Edge::Responses) if native => c.body,
        (rewrite, edge) => {
            let mut body = c.to_value();
            if let (Some(name), Some(o)) = (rewrite, body.as_object_mut()) {
                o.insert("model".into(), Value::String(name));
            }
            if edge == Edge::Anthropic {
                body = crate::edge::anthropic::response::to_message(&body, bill.usage, &ctx.id);
            }
            if edge == Edge::Responses && !native {
                let echo = crate::edge::responses::response::Echo::new(request);
                body =
                    crate::edge::responses::response::from_chat(&body, bill.usage, &ctx.id, &echo);
            }
            Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
        }
    };
    // Built directly: axum's tuple response would set a content type twice (octet-stream for
    // the bytes, then JSON over it).
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(header::CONTENT_TYPE, JSON);
    up.passed.apply(resp.headers_mut());
    let resp = with_call_headers(resp, &ctx.id, ctx.attempts.len(), c.served.model.as_deref());
    let durable = end.finish(
        ctx,
        CallEnd {
            status: 200,
            outcome: Outcome::Ok,
            error_class: None,
            error_message: None,
            ttfb_ms: up.ttfb_ms,
            stream: None,
            answer,
        },
    );
    (resp, durable)
}
