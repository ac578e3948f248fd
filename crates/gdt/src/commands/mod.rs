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
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    // The handlers are installed now, not when the future is first polled: a SIGTERM that
    // arrives between "started" and that poll would otherwise kill the process outright.
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {},
                        _ = interrupt.recv() => {},
                    }
                }
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM and Ctrl-C");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}
