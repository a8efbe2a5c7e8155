//! Fuzz targets for what Seam parses from clients, upstreams and files, and a small runner.
//!
//! Each target is a plain `fn(&[u8])` that feeds the bytes to one parser or translator and
//! panics only when a property Seam relies on does not hold (a panic in Seam's own code on any
//! input is a bug too). Two engines drive the same functions:
//!
//! - libFuzzer, coverage-guided, through the `fuzz/` crate (outside the workspace, so that
//!   `cargo test --workspace` never builds libFuzzer): `scripts/fuzz [TARGET] [SECONDS]`.
//! - [`drive`], a mutation runner without coverage that needs nothing but stable Rust: the
//!   committed seed corpus (`fuzz/corpus/TARGET/`) and the inputs of past crashes
//!   (`fuzz/regressions/TARGET/`) are replayed by `cargo test`, and CI mutates them for about
//!   a minute in all (`tests/fuzz.rs`, run by `scripts/test`).
//!
//! docs/testing.md says how to run them and what to do with a crash.

pub mod drive;
mod mutate;
pub mod targets;

pub use mutate::{Rng, Shape};
pub use targets::known_gap;

/// A fuzz target: its name (the folder of its corpus and the libFuzzer binary), what its
/// inputs look like (so that the runner can mutate them as structure, not only as bytes), the
/// libFuzzer dictionary it uses, and the function itself.
pub struct Target {
    pub name: &'static str,
    pub shape: Shape,
    /// A file of `fuzz/dict/`.
    pub dict: &'static str,
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "request_body",
        shape: Shape::Json,
        dict: "json.dict",
        run: targets::request_body,
    },
    Target {
        name: "anthropic_request",
        shape: Shape::FlagThenJson,
        dict: "json.dict",
        run: targets::anthropic_request,
    },
    Target {
        name: "anthropic_response",
        shape: Shape::Json,
        dict: "json.dict",
        run: targets::anthropic_response,
    },
    Target {
        name: "anthropic_stream",
        shape: Shape::Bytes,
        dict: "anthropic_stream.dict",
        run: targets::anthropic_stream,
    },
    Target {
        name: "config",
        shape: Shape::Toml,
        dict: "config.dict",
        run: targets::config,
    },
    Target {
        name: "prompt_file",
        shape: Shape::Toml,
        dict: "prompt.dict",
        run: targets::prompt_file,
    },
    Target {
        name: "render",
        shape: Shape::TemplateThenJson,
        dict: "template.dict",
        run: targets::render,
    },
    Target {
        name: "sse_decoder",
        shape: Shape::Bytes,
        dict: "sse.dict",
        run: targets::sse_decoder,
    },
];

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// The repository's `fuzz/` folder: corpus, regressions, dictionaries, the libFuzzer crate.
pub fn fuzz_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}
