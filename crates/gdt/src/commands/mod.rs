//! One module per command group; [`run`] dispatches.

mod config_check;
mod dev;
mod direct;
mod sandbox;
mod serve;
mod track;
mod worker;

use anyhow::Context as _;

use crate::cli::{Cli, Command};

/// Loads the configuration, sets up logging and runs the command.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let options = gdt_config::LoadOptions {
        explicit_path: cli.config.clone(),
        ..gdt_config::LoadOptions::default()
    };
    let config = gdt_config::load(&options).context("configuration error")?;
    crate::telemetry::init(
        config.app.log_level.as_str(),
        config.app.log_format.as_str(),
    );
    let out = cli.output;
    match cli.command {
        Command::Dev(args) => dev::run(config, args).await,
        Command::Worker => worker::run(config).await,
        Command::Serve => serve::run(config).await,
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Track(args) => track::run(&config, *args, out).await,
        Command::Deployment(cmd) => direct::deployment(&config, cmd, out).await,
        Command::Auth(cmd) => direct::auth(&config, cmd, out).await,
        Command::Config(cmd) => config_check::run(&config, cmd, out),
    }
}

/// Resolves on Ctrl-C or SIGTERM, whichever comes first.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
