//! `gdt serve`: the HTTP API (deployments, webhooks) and the health and metrics listeners,
//! from the same configuration as the worker.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use gdt_config::Config;
use gdt_metrics::labels::Process;
use gdt_server::{
    ApiTokens, AppState, BoardPageSettings, ExternalWatch, OurApp, Services, Settings,
    TemporalGate, WebhookSecrets,
};
use gdt_tracker::board::service::BoardSettings;
use gdt_tracker::board::BoardService;
use gdt_tracker::deployments::DeploymentService;
use gdt_tracker::external::{ExternalDeploymentService, ServiceSource};
use gdt_tracker::pr_checks::PrCheckService;
use gdt_tracker::pr_cleanup::PrCleanupService;
use secrecy::SecretString;
use temporalio_common::telemetry::metrics::TemporalMeter;
use tokio::net::TcpListener;

use crate::observability::{Ports, Telemetry};

/// `gdt serve`.
pub(crate) async fn run(config: Config) -> anyhow::Result<()> {
    let tokens = config.server.api_tokens()?;
    if tokens.is_empty() {
        anyhow::bail!(
            "no API token configured, so every request would be refused: set \
             INTERNAL_API_SHARED_SECRET (one or more tokens separated by commas) or \
             server.api_tokens_file (one token per line)"
        );
    }
    // What can be checked without the network is checked before the ports are taken, by the
    // functions `gdt config check` calls too.
    config.webhook.secrets()?;
    external_watch(&config)?;
    board_page(&config)?;
    config.board.viewer_tokens()?;
    let github = crate::github::configured_client(&config)?;
    let listeners = Listeners::bind(&config).await?;
    let telemetry = Telemetry::start(&config, Process::Serve)?;
    serve(
        &config,
        &telemetry,
        listeners,
        &tokens,
        github,
        super::shutdown_signal(),
    )
    .await
}

/// The API listener, and the health and metrics listeners on the same host.
pub(crate) struct Listeners {
    pub(crate) api: TcpListener,
    pub(crate) ports: Ports,
}

impl Listeners {
    /// Binds `server.listen`, the health port and (when enabled) the metrics port.
    pub(crate) async fn bind(config: &Config) -> anyhow::Result<Self> {
        let api_address = config.server.listen.clone();
        let api = TcpListener::bind(&api_address).await.with_context(|| {
            format!(
                "cannot listen on {api_address} (server.listen / GDT_SERVER_LISTEN): is another \
                 process using the port?"
            )
        })?;
        let ports = Ports::bind(config).await?;
        Ok(Self { api, ports })
    }
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub(crate) async fn serve(
    config: &Config,
    telemetry: &Telemetry,
    listeners: Listeners,
    tokens: &[SecretString],
    github: Option<gdt_github::Client>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let settings = Settings {
        max_body_bytes: config.server.max_body_bytes,
        request_timeout: config.server.request_timeout,
        deployment_id_wait: config.server.deployment_id_wait,
        ready_cache: config.server.ready_cache,
        connect_timeout: config.server.temporal_timeout,
        default_inactivity_timeout: config.deployment.inactivity_timeout,
        webhook_max_body_bytes: config.webhook.max_body_bytes,
        pr_checks_enabled: config.pr_checks.enabled,
        external: external_watch(config)?,
        pr_cleanup_enabled: config.pr_cleanup.enabled,
    };
    if let (Some(github), Some(_)) = (&github, settings.external.app.app_id) {
        if settings.external.enabled {
            tokio::spawn(learn_bot_login(
                github.clone(),
                settings.external.app.clone(),
            ));
        }
    }
    let webhook_secrets = WebhookSecrets::new(config.webhook.secrets()?);
    if webhook_secrets.is_empty() {
        tracing::warn!(
            "no webhook secret configured: POST /webhook refuses every delivery; set \
             GITHUB_WEBHOOK_SECRET or webhook.secrets_file"
        );
    }
    let temporal = TemporalGate::new(
        connector(config, telemetry.client_meter()?, board_settings(config)?),
        config.server.temporal_timeout,
    );
    let state = AppState::new(
        temporal,
        ApiTokens::new(tokens),
        webhook_secrets,
        settings,
        github.map(crate::github::readiness_check),
    )
    .with_board(
        board_page(config)?,
        ApiTokens::new(&config.board.viewer_tokens()?),
    );
    let api_address = listeners.api.local_addr()?;
    let health_address = listeners.ports.health.local_addr()?;
    let metrics_address = listeners.ports.metrics_address();
    tracing::info!(
        environment = %config.app.environment,
        api = %api_address,
        health = %health_address,
        metrics = %metrics_address.map_or_else(|| "(off)".to_owned(), |m| m.to_string()),
        tokens = tokens.len(),
        "API server started"
    );
    let probes = listeners.ports.probes(telemetry);
    gdt_server::serve(listeners.api, state, probes, shutdown)
        .await
        .context("the API server stopped with an error")?;
    tracing::info!("API server stopped");
    Ok(())
}

/// `board.*` as the page applies it.
pub(crate) fn board_page(config: &Config) -> anyhow::Result<BoardPageSettings> {
    Ok(BoardPageSettings {
        enabled: config.board.enabled,
        session_ttl: config.board.session_ttl,
        cookie_secure: config.board.cookie_secure.parse()?,
    })
}

/// `external.*` as the webhook applies it: the environment globs compiled, and this App
/// (`github.app_id`), whose own deployments and statuses are not watched.
pub(crate) fn external_watch(config: &Config) -> anyhow::Result<ExternalWatch> {
    let app = OurApp {
        app_id: (config.github.app_id != 0).then_some(config.github.app_id),
        bot_login: Arc::default(),
    };
    let environments = config.external.environments.as_deref();
    let lifecycle = if config.external.lifecycle {
        let source = config
            .external
            .service_source
            .parse::<ServiceSource>()
            .map_err(|e| anyhow::anyhow!("external.service_source: {e}"))?;
        Some(source)
    } else {
        None
    };
    Ok(
        ExternalWatch::new(config.external.enabled, environments, app)
            .context("external.environments has a pattern that is not a glob")?
            .with_lifecycle(lifecycle),
    )
}

/// Learns the login this App's writes are sent by (`{slug}[bot]`, from `GET /app`), so the
/// statuses gdt posts on deployments created by others are recognised by their sender too.
/// Until it is known (GitHub unreachable at start), `performed_via_github_app` alone
/// recognises them; a status that still slips through starts a watcher that sees `inactive`
/// and ends at once.
async fn learn_bot_login(github: gdt_github::Client, app: OurApp) {
    let mut delay = std::time::Duration::from_secs(1);
    for _ in 0..10 {
        match github.get_app().await {
            Ok(found) => {
                if let Some(slug) = found.slug {
                    let _ = app.bot_login.set(format!("{slug}[bot]"));
                }
                return;
            }
            Err(e)
                if e.status()
                    .is_some_and(|s| (400..500).contains(&s) && s != 429) =>
            {
                tracing::warn!(error = %e, "GET /app was refused; this App's bot is not known");
                return;
            }
            Err(e) => tracing::debug!(error = %e, "GET /app failed; trying again"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(60));
    }
}

/// How the board reads and keeps its window (`board.*`), and where its links point: the
/// configured web root, else the Enterprise host's, else github.com.
pub(crate) fn board_settings(config: &Config) -> anyhow::Result<BoardSettings> {
    let b = &config.board;
    let web = match &b.github_web_url {
        Some(url) => url.clone(),
        None if config.github.enterprise => format!("https://{}", config.github.enterprise_host),
        None => "https://github.com".to_owned(),
    };
    let github_web = url::Url::parse(&web)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .with_context(|| {
            format!("board.github_web_url {web:?} is not an http(s) URL such as https://github.com")
        })?;
    Ok(BoardSettings {
        task_queue: config.temporal.task_queue.clone(),
        history_days: u32::try_from(b.history_days).unwrap_or(u32::MAX),
        refresh_interval: b.refresh_interval,
        rebuild_interval: b.rebuild_interval,
        visibility_lag: b.visibility_lag,
        poll_interval: b.poll_interval,
        github_web,
        call_timeout: config.server.temporal_timeout,
    })
}

/// Connects to Temporal on first use (and again after a failure), so the server starts,
/// and answers 503, while Temporal is still down; the connection's services are made once.
fn connector(
    config: &Config,
    meter: Option<TemporalMeter>,
    board: BoardSettings,
) -> gdt_server::Connect {
    let temporal = config.temporal.clone();
    let task_queue = config.temporal.task_queue.clone();
    let pr_checks_task_queue = config.pr_checks.task_queue.clone();
    let execution_timeout = config.deployment.execution_timeout;
    let external_timeout = config.external.inactivity_timeout;
    let call_timeout = config.server.temporal_timeout;
    Arc::new(move || {
        let temporal = temporal.clone();
        let task_queue = task_queue.clone();
        let external_task_queue = task_queue.clone();
        let pr_checks_task_queue = pr_checks_task_queue.clone();
        let meter = meter.clone();
        let board = board.clone();
        Box::pin(async move {
            let client = crate::temporal::connect_metered(&temporal, meter)
                .await
                .map_err(|e| format!("{e:#}"))?;
            Ok(Services {
                deployments: DeploymentService::new(
                    client.clone(),
                    task_queue.clone(),
                    execution_timeout,
                    call_timeout,
                ),
                pr_checks: PrCheckService::new(
                    client.clone(),
                    pr_checks_task_queue,
                    call_timeout.min(gdt_server::webhook::START_BUDGET),
                ),
                external: ExternalDeploymentService::new(
                    client.clone(),
                    external_task_queue,
                    external_timeout,
                    call_timeout.min(gdt_server::webhook::START_BUDGET),
                ),
                // On the deployments' task queue: the worker always polls it.
                pr_cleanup: PrCleanupService::new(
                    client.clone(),
                    task_queue.clone(),
                    call_timeout.min(gdt_server::webhook::START_BUDGET),
                ),
                board: BoardService::new(client, board),
            })
        })
    })
}
