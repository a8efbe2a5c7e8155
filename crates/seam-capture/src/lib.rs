//! Content capture, the parts that need no gateway and no store: the [`Redactor`] that takes
//! secrets and personal data out of captured text, the per-trace sampling decision
//! ([`sampled`]) and [`Content`], what a captured call keeps, built from the wire bodies and
//! stored compressed. Wired into the gateway and the store in a later change.

mod content;
mod packs;
mod redact;
mod sample;
mod scan;
mod wire;

pub use content::{
    Answer, Blob, Content, ContentError, MAX_STORED_JSON, Message, Part, Tool, ToolCall,
};
pub use redact::{Kind, Redactions, Redactor};
pub use sample::sampled;
pub use wire::StreamAnswer;
