//! `gdt serve`: the HTTP server CI/CD pipelines call to report deployments, so they need no
//! Temporal client.
//!
//! # Layout
//! - [`deployments`]: `/api/v1/deployments…`, on [`DeploymentService`];
//! - [`board`]: the deployments board's reader API (`/api/v1/environments…`, `/api/v1/dora`),
//!   on [`BoardService`];
//! - [`health`]: `/health` and `/ready`, on their own listener (`app.health_port`, 8080 by
//!   default), for the API server and the worker alike;
//! - [`metrics`]: `/metrics`, on its own listener (`app.metrics_port`, 9090 by default);
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers and types;
//! - [`webhook`]: `POST /webhook`, GitHub's deliveries (HMAC-verified), starting the PR checks
//!   on [`PrCheckService`], a closed PR's clean-up on [`PrCleanupService`] and the watchers
//!   of deployments created by others on [`ExternalDeploymentService`];
//! - [`board`]: the deployments board's page (`/board`), its sign-in and session cookie,
//!   and the security headers of every board and API answer;
//! - [`auth`]: bearer tokens (API and viewer) and the board's session cookie as credentials;
//!   [`problem`]: every error as `application/problem+json`;
//! - [`TemporalGate`]: the Temporal connection and the [`Services`] on it, made once on first
//!   use (and retried after a failure), so the server starts (and answers `503`) while
//!   Temporal is still down.
//!
//! The server takes its listeners and a shutdown future as parameters, so tests run it on
//! port 0; on shutdown it stops accepting and finishes the requests in flight.

pub mod auth;
pub mod board;
pub mod deployments;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod problem;
mod request_metrics;
pub mod webhook;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;
use futures::future::BoxFuture;
use gdt_tracker::board::BoardService;
use gdt_tracker::deployments::DeploymentService;
use gdt_tracker::external::ExternalDeploymentService;
use gdt_tracker::pr_checks::PrCheckService;
use gdt_tracker::pr_cleanup::PrCleanupService;
use gdt_tracker::ServiceError;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;

pub use auth::ApiTokens;
pub use board::page::{BoardPage, BoardPageSettings, CookieSecure};
pub use problem::{ApiError, Problem, ProblemCode};
pub use webhook::deployment::{ExternalWatch, OurApp};
pub use webhook::signature::WebhookSecrets;

/// Limits and defaults of the API.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest request body accepted (`413` beyond).
    pub max_body_bytes: usize,
    /// A request taking longer is answered `503`.
    pub request_timeout: Duration,
    /// How long `POST /api/v1/deployments` waits for the GitHub deployment id.
    pub deployment_id_wait: Duration,
    /// How long a `/ready` answer is reused.
    pub ready_cache: Duration,
    /// How long connecting to Temporal may take before a request is answered `503`.
    pub connect_timeout: Duration,
    /// The inactivity timeout of deployments that do not set one.
    pub default_inactivity_timeout: Duration,
    /// Largest webhook delivery accepted (`413` beyond).
    pub webhook_max_body_bytes: usize,
    /// Whether `pull_request` deliveries start the PR checks.
    pub pr_checks_enabled: bool,
    /// What `deployment` and `deployment_status` deliveries about deployments created by
    /// others start (`external.*`).
    pub external: ExternalWatch,
    /// Whether `pull_request` `closed` deliveries start the clean-up of the PR's previews.
    pub pr_cleanup_enabled: bool,
}

/// What the handlers call on Temporal: both services, on one Temporal client, made once.
#[derive(Clone)]
pub struct Services {
    /// Deployments: the `/api/v1/deployments` routes and `/ready`.
    pub deployments: DeploymentService,
    /// The PR checks `/webhook` starts. Its call timeout should stay within
    /// [`webhook::START_BUDGET`], so a delivery is answered within GitHub's 10 s.
    pub pr_checks: PrCheckService,
    /// The watchers of deployments created by others, which `/webhook` starts; the same
    /// budget as `pr_checks`.
    pub external: ExternalDeploymentService,
    /// The clean-ups `/webhook` starts when a pull request closes; same bound as the checks.
    pub pr_cleanup: PrCleanupService,
    /// The board's snapshot of the deployments: `/api/v1/environments…` and `/api/v1/dora`.
    pub board: BoardService,
}

/// Connects to Temporal and makes the [`Services`]; called on first use and again after a
/// failure.
pub type Connect = Arc<dyn Fn() -> BoxFuture<'static, Result<Services, String>> + Send + Sync>;

/// Checks the GitHub credentials for `/ready`; `None` when none are configured.
pub type GitHubCheck = health::Probe;

/// The Temporal connection and its [`Services`], made on first use.
pub struct TemporalGate {
    connect: Connect,
    services: tokio::sync::OnceCell<Services>,
    timeout: Duration,
}

impl TemporalGate {
    /// A gate that connects with `connect`, giving up on one attempt after `timeout`.
    pub fn new(connect: Connect, timeout: Duration) -> Self {
        Self {
            connect,
            services: tokio::sync::OnceCell::new(),
            timeout,
        }
    }

    /// A gate already connected.
    pub fn connected(services: Services) -> Self {
        let timeout = services.deployments.call_timeout();
        Self {
            connect: Arc::new(|| Box::pin(async { Err("already connected".to_owned()) })),
            services: tokio::sync::OnceCell::new_with(Some(services)),
            timeout,
        }
    }

    /// The services, connecting first if needed.
    pub async fn services(&self) -> Result<&Services, ServiceError> {
        self.services
            .get_or_try_init(|| async {
                match tokio::time::timeout(self.timeout, (self.connect)()).await {
                    Ok(Ok(services)) => Ok(services),
                    Ok(Err(e)) => Err(ServiceError::Unavailable(e)),
                    Err(_) => Err(ServiceError::Unavailable(format!(
                        "could not connect to Temporal within {:?}; check temporal.host_port \
                         and that the server is up",
                        self.timeout
                    ))),
                }
            })
            .await
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub(crate) temporal: Arc<TemporalGate>,
    pub(crate) tokens: ApiTokens,
    /// The board's read-only tokens (`board.viewer_tokens`).
    pub(crate) viewer_tokens: ApiTokens,
    pub(crate) board_page: Arc<BoardPage>,
    pub(crate) webhook_secrets: WebhookSecrets,
    pub(crate) settings: Arc<Settings>,
    pub(crate) readiness: Arc<health::Readiness>,
    pub(crate) webhook_budget: webhook::BodyBudget,
}

impl AppState {
    /// State for the routers.
    pub fn new(
        temporal: TemporalGate,
        tokens: ApiTokens,
        webhook_secrets: WebhookSecrets,
        settings: Settings,
        github: Option<GitHubCheck>,
    ) -> Self {
        let temporal = Arc::new(temporal);
        let gate = Arc::clone(&temporal);
        let temporal_probe: health::Probe = Arc::new(move || {
            let gate = Arc::clone(&gate);
            Box::pin(async move {
                let services = gate.services().await.map_err(|e| e.to_string())?;
                services.deployments.ping().await.map_err(|e| e.to_string())
            })
        });
        let readiness = health::Readiness::new(temporal_probe, github, settings.ready_cache);
        let webhook_budget = webhook::BodyBudget::new(settings.webhook_max_body_bytes);
        Self {
            webhook_budget,
            temporal,
            tokens,
            viewer_tokens: ApiTokens::new(&[]),
            board_page: Arc::new(BoardPage::new(BoardPageSettings::default())),
            webhook_secrets,
            settings: Arc::new(settings),
            readiness: Arc::new(readiness),
        }
    }

    /// The board's page settings and its read-only viewer tokens (by default: the page on,
    /// no viewer token, so only the API tokens sign in).
    pub fn with_board(mut self, page: BoardPageSettings, viewer_tokens: ApiTokens) -> Self {
        self.board_page = Arc::new(BoardPage::new(page));
        self.viewer_tokens = viewer_tokens;
        self
    }
}

/// The API (`/api/v1/…`, with authentication) and `/webhook`, with the body limits and the
/// request timeout.
pub fn api_router(state: AppState) -> Router {
    let timeout = state.settings.request_timeout;
    let limit = state.settings.max_body_bytes;
    // Reads take an API token, a viewer token or the board's cookie; writes an API token.
    let secured = deployments::routes().merge(board::api::routes()).layer(
        axum::middleware::from_fn_with_state(state.clone(), auth::require_reader),
    );
    Router::new()
        .merge(secured)
        .merge(board::routes())
        .merge(openapi::routes())
        .merge(webhook::routes())
        .fallback(not_found)
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .layer(HandleErrorLayer::new(
                    move |_: tower::BoxError| async move {
                        ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            ProblemCode::Timeout,
                            format!(
                            "the request took longer than {timeout:?} (server.request_timeout); \
                             retry later"
                        ),
                        )
                    },
                ))
                .timeout(timeout)
                .layer(DefaultBodyLimit::max(limit)),
        )
        .layer(axum::middleware::from_fn(board::protect))
        // Outermost, so the answers of the layers before it (the timeout's 503) count too.
        .layer(axum::middleware::from_fn(request_metrics::track))
        .with_state(state)
}

async fn not_found() -> impl IntoResponse {
    ApiError::not_found("no such route; the API is described at /api/v1/openapi.json")
}

/// The listeners a process serves besides the API: `/health` and `/ready`, and `/metrics`
/// with what it answers, when metrics are enabled.
pub struct Probes {
    /// `app.health_port`.
    pub health: TcpListener,
    /// `app.metrics_port` and the process's metrics.
    pub metrics: Option<(TcpListener, metrics::MetricsSource)>,
}

impl Probes {
    fn servers(self, readiness: Arc<health::Readiness>) -> Vec<(TcpListener, Router)> {
        let mut servers = vec![(self.health, health::router(readiness))];
        if let Some((listener, source)) = self.metrics {
            servers.push((listener, metrics::router(source)));
        }
        servers
    }
}

/// Serves the API on `api` and the probes until `shutdown` resolves, then finishes the
/// requests in flight.
pub async fn serve(
    api: TcpListener,
    state: AppState,
    probes: Probes,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut servers = probes.servers(Arc::clone(&state.readiness));
    servers.push((api, api_router(state)));
    serve_all(servers, shutdown).await
}

/// Serves the probes of a process without an API (`gdt worker`) until `shutdown` resolves.
pub async fn serve_probes(
    probes: Probes,
    readiness: health::Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_all(probes.servers(Arc::new(readiness)), shutdown).await
}

/// Serves each router on its listener until `shutdown` resolves, then finishes the requests
/// in flight.
async fn serve_all(
    servers: Vec<(TcpListener, Router)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let runs = servers.into_iter().map(|(listener, router)| {
        let mut stopped = stopped.clone();
        std::future::IntoFuture::into_future(axum::serve(listener, router).with_graceful_shutdown(
            async move {
                let _ = stopped.wait_for(|stopped| *stopped).await;
            },
        ))
    });
    futures::future::try_join_all(runs).await?;
    Ok(())
}
