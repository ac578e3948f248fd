//! `gdt`: the GitHub deployment tracker's one binary (worker, dev mode, sandbox, CLI).
//!
//! # Layout
//! - `cli`: the command line, as clap types whose doc comments are the help text.
//! - `commands/`: one module per command group.
//! - `temporal`: connecting to Temporal from configuration (TLS, mTLS, API keys).
//! - `github`: building the GitHub client from configuration.
//! - `api_client`: calling a `gdt serve` API (`gdt track --api`).
//! - `observability`: `/metrics` (ours and the Temporal SDK's) and the probe listeners.
//! - `telemetry`: structured logs.

mod api_client;
mod cli;
mod commands;
mod github;
mod observability;
mod output;
mod telemetry;
mod temporal;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause whose text the message already
/// carries (many errors repeat their source in their own message).
fn describe(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}
