//! One call read back in full, as `seam calls show` and `GET /api/calls/{id}` give it: the
//! call, its attempts and, for a stream, what the client saw of it. Both build their JSON
//! here, so that they say the same.

use crate::{Actor, ControlError, Result};
use seam_store::{AttemptRecord, CallRecord, Records, StreamRecord};
use serde_json::{Value, json};

/// Captured content (what was asked and answered, issue 23). Nothing is captured yet, so no
/// call has any: the change that captures gives this its fields, and [`CallView::to_json`]
/// and `seam calls show` their place for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {}

/// A call, its attempts (oldest first) and its stream telemetry.
#[derive(Debug, Clone, PartialEq)]
pub struct CallView {
    pub call: CallRecord,
    pub attempts: Vec<AttemptRecord>,
    /// `None` for a call that did not stream.
    pub stream: Option<StreamRecord>,
    /// Always `None` until content is captured (see [`Content`]).
    pub content: Option<Content>,
}

impl CallView {
    /// `{"call", "attempts", "stream"}`: the records as stored, `stream` null when the call
    /// did not stream.
    pub fn to_json(&self) -> Value {
        let out = json!({"call": self.call, "attempts": self.attempts, "stream": self.stream});
        if let Some(content) = &self.content {
            match *content {}
        }
        out
    }
}

/// The call with this id, whoever's it is; the caller checks who may read it.
pub async fn read(store: &(impl Records + ?Sized), id: &str) -> Result<Option<CallView>> {
    let Some((call, attempts)) = store.get_call(id).await? else {
        return Ok(None);
    };
    let stream = store.get_stream(id).await?;
    Ok(Some(CallView {
        call,
        attempts,
        stream,
        content: None,
    }))
}

/// The call with this id as `actor` may see it: a call of a tenant they have no role in is
/// not found, like one that does not exist, so that its id tells them nothing; someone
/// without any role is refused (as every read of records is).
pub async fn show(store: &(impl Records + ?Sized), actor: &Actor, id: &str) -> Result<CallView> {
    actor.read_scope("reading calls")?;
    match read(store, id).await? {
        Some(view) if actor.can_read(&view.call.tenant) => Ok(view),
        _ => Err(ControlError::NotFound(format!("no call `{id}`"))),
    }
}
