//! The commands behind the `seam` binary.

mod actor;
mod anchor;
mod audit;
mod budget_watch;
mod calls;
mod canary;
mod changes;
mod cli;
mod config_check;
mod content;
mod dataset;
mod demo;
mod eval;
mod failures;
mod forecast;
mod format;
mod keys;
mod prompts;
mod releases;
mod reload;
mod report;
mod serve;
mod sessions;
mod signal_watch;
mod sim;
mod store;
mod streams;
mod traces;
mod usage;
mod users;
mod value;

pub use cli::{Cli, LogFormat};

use clap::Parser;
use std::process::ExitCode;

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let _ = LOG_FORMAT.set(cli.log_format);
    // One worker asked for (tokio's own variable): the single-threaded scheduler does the
    // same work without the multi-threaded one's cross-thread bookkeeping per task wake-up.
    let one_worker = std::env::var("TOKIO_WORKER_THREADS").is_ok_and(|v| v.trim() == "1");
    let mut builder = if one_worker {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `seam calls | head`: the reader left, which is not the command's failure. `println!`
/// panics on a closed standard output (Rust ignores SIGPIPE, which the gateway's sockets
/// need): end quietly then, as `head`'s other writers do.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to stdout") && text.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `--log-format` / `SEAM_LOG_FORMAT`, set once from the command line.
static LOG_FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

/// Logs to standard error: `SEAM_LOG` filters (default `default`); colour only on a terminal.
pub(crate) fn init_logging(default: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEAM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match LOG_FORMAT.get().copied().unwrap_or(LogFormat::Text) {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

/// Resolves on Ctrl-C or SIGTERM. On Unix the handlers are installed when this is called, not
/// when the future is first polled (elsewhere Ctrl-C is watched from the first poll): `serve` calls it before it starts listening, so a SIGTERM that
/// arrives while the gateway is starting (a supervisor stopping it at once) stops it cleanly,
/// records flushed, instead of killing it with the signal's default action.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {},
                _ = wait(int) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
