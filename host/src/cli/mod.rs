//! Command-line parsing, dispatch, and mapping errors to exit codes.

mod args;
mod commands;
mod output;
mod template;
mod versions;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;

/// Parses arguments, runs the command, prints errors with a hint, returns the documented code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    output::init_tracing(cli.global.verbose);
    install_signal_handlers();
    match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(error) => {
            let (code, hint) = match error.downcast_ref::<atio::Error>() {
                Some(atio_error) => (atio_error.kind().exit_code(), Some(atio_error.hint())),
                None => (atio::ErrorKind::Io.exit_code(), None),
            };
            eprintln!("atio: error: {}", chain(&error));
            if let Some(hint) = hint {
                eprintln!("atio: hint: {hint}");
            }
            ExitCode::from(code)
        }
    }
}

/// The error and its causes, skipping causes whose text the message already carries.
fn chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

/// On SIGINT/SIGTERM: remove every live staging file, then exit 130. The previous content of
/// every target stays intact (a commit already publishing is allowed to finish first).
fn install_signal_handlers() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    // Set the flag inside the handler itself: a commit checks it before publishing, so nothing
    // is published once the signal has arrived, however late the cleanup thread runs.
    for signal in [SIGINT, SIGTERM] {
        let _ = signal_hook::flag::register(signal, atio::interrupt_flag());
    }
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let removed = atio::interrupt();
            eprintln!(
                "atio: interrupted by signal {signal}; removed {removed} staging file(s); previous content is intact"
            );
            std::process::exit(i32::from(atio::ErrorKind::Interrupted.exit_code()));
        }
    });
}
