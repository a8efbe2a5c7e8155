//! The `seam` binary: everything lives in `seam-cli`.

mod alloc;

// The gateway allocates small, short-lived buffers per request; mimalloc handles that
// pattern with far less CPU than glibc's allocator (see bench/results).
#[global_allocator]
static ALLOC: alloc::Mimalloc = alloc::Mimalloc;

fn main() -> std::process::ExitCode {
    alloc::small_pages();
    seam_cli::main()
}
