//! The `seam` binary: everything lives in `seam-cli`.

fn main() -> std::process::ExitCode {
    seam_cli::main()
}
