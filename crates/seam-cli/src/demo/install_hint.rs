//! The demo's last lines name `seam` commands, but run as the README's first command
//! (`cargo run --release -p seam -- demo`) there is no `seam` on PATH yet: say so, with the
//! binary that ran and the install step.

use std::ffi::OsStr;
use std::path::Path;

/// What to print when no `seam` is in any directory of `path` (the PATH variable's value).
pub fn hint(exe: Option<&Path>, path: Option<&OsStr>) -> Option<String> {
    let on_path =
        path.is_some_and(|p| std::env::split_paths(p).any(|dir| dir.join("seam").is_file()));
    if on_path {
        return None;
    }
    let ran = exe
        .map(|e| format!(" (this one is {})", e.display()))
        .unwrap_or_default();
    Some(format!(
        "`seam` is not on your PATH{ran}: `cargo install --path crates/seam --locked` puts it there."
    ))
}

#[cfg(test)]
mod tests {
    use super::hint;
    use std::path::Path;

    #[test]
    fn the_install_step_is_named_only_when_seam_is_not_on_path() {
        let bin = tempfile::tempdir().unwrap();
        let empty = tempfile::tempdir().unwrap();
        let exe = Path::new("/src/seam/target/release/seam");
        let path = std::env::join_paths([empty.path()]).unwrap();
        let h = hint(Some(exe), Some(&path)).expect("a hint");
        assert!(
            h.contains("cargo install --path crates/seam --locked")
                && h.contains("/src/seam/target/release/seam"),
            "{h}"
        );
        assert!(hint(None, None).is_some());
        std::fs::write(bin.path().join("seam"), "").unwrap();
        let path = std::env::join_paths([empty.path(), bin.path()]).unwrap();
        assert_eq!(hint(Some(exe), Some(&path)), None);
    }
}
