//! Prompts as files: one TOML file per prompt in a directory (normally in the application's
//! repository). [`load_dir`] parses them strictly, [`lint`] finds what would break in
//! production (undeclared or unused variables, alias model names, bad templates), and
//! [`render`] turns a prompt and its variables into the messages sent upstream.

mod lint;
mod prompt;
mod render;
mod tags;

pub use lint::{Finding, Severity, is_alias, lint};
pub use prompt::{
    Gate, MAX_NAME_LEN, Message, ModelChange, Prompt, Tool, check_name, file_of, load_dir,
    load_file, parse,
};
pub use render::{RenderError, render};
pub use tags::{MAX_TAG_LEN, check_tags};

/// A file that could not be read or parsed: the file, and why (TOML errors name the line
/// and the key).
#[derive(Debug, Clone, PartialEq)]
pub struct FileError {
    pub file: String,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}
