//! `gdt serve`: the HTTP server CI/CD pipelines call to report deployments, so they need no
//! Temporal client.
//!
//! # Layout
//! - [`deployments`]: `/api/v1/deployments…`, on [`DeploymentService`];
//! - [`health`]: `/health` and `/ready`, on their own listener (`app.health_port`, 8080 by
//!   default);
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers and types;
//! - [`webhook`]: `POST /webhook`, GitHub's deliveries (HMAC-verified), starting the PR checks
//!   on [`PrCheckService`];
//! - [`auth`]: bearer tokens; [`problem`]: every error as `application/problem+json`;
//! - [`TemporalGate`]: the Temporal connection and the [`Services`] on it, made once on first
//!   use (and retried after a failure), so the server starts (and answers `503`) while
//!   Temporal is still down.
//!
//! The server takes its listeners and a shutdown future as parameters, so tests run it on
//! port 0; on shutdown it stops accepting and finishes the requests in flight.

pub mod auth;
pub mod deployments;
pub mod health;
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
use gdt_tracker::deployments::DeploymentService;
use gdt_tracker::pr_checks::PrCheckService;
use gdt_tracker::ServiceError;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;

pub use auth::ApiTokens;
pub use problem::{ApiError, Problem, ProblemCode};
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
}

/// What the handlers call on Temporal: both services, on one Temporal client, made once.
#[derive(Clone)]
pub struct Services {
    /// Deployments: the `/api/v1/deployments` routes and `/ready`.
    pub deployments: DeploymentService,
    /// The PR checks `/webhook` starts. Its call timeout should stay within
    /// [`webhook::START_BUDGET`], so a delivery is answered within GitHub's 10 s.
    pub pr_checks: PrCheckService,
}

/// Connects to Temporal and makes the [`Services`]; called on first use and again after a
/// failure.
pub type Connect = Arc<dyn Fn() -> BoxFuture<'static, Result<Services, String>> + Send + Sync>;

/// Checks the GitHub credentials for `/ready`; `None` when none are configured.
pub type GitHubCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

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
        let readiness = health::Readiness::new(github, settings.ready_cache);
        let webhook_budget = webhook::BodyBudget::new(settings.webhook_max_body_bytes);
        Self {
            webhook_budget,
            temporal: Arc::new(temporal),
            tokens,
            webhook_secrets,
            settings: Arc::new(settings),
            readiness: Arc::new(readiness),
        }
    }
}

/// The API (`/api/v1/…`, with authentication) and `/webhook`, with the body limits and the
/// request timeout.
pub fn api_router(state: AppState) -> Router {
    let timeout = state.settings.request_timeout;
    let limit = state.settings.max_body_bytes;
    let secured = deployments::routes().layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_token,
    ));
    Router::new()
        .merge(secured)
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
        // Outermost, so the answers of the layers before it (the timeout's 503) count too.
        .layer(axum::middleware::from_fn(request_metrics::track))
        .with_state(state)
}

/// `/health` and `/ready`.
pub fn health_router(state: AppState) -> Router {
    health::routes().fallback(not_found).with_state(state)
}

async fn not_found() -> impl IntoResponse {
    ApiError::not_found("no such route; the API is described at /api/v1/openapi.json")
}

/// Serves the API on `api` and health on `health` until `shutdown` resolves, then finishes
/// the requests in flight.
pub async fn serve(
    api: TcpListener,
    health: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    let api_server =
        axum::serve(api, api_router(state.clone())).with_graceful_shutdown(wait(stopped.clone()));
    let health_server =
        axum::serve(health, health_router(state)).with_graceful_shutdown(wait(stopped));
    tokio::try_join!(async { api_server.await }, async { health_server.await })?;
    Ok(())
}
