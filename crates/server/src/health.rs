//! `/health` (liveness: the process serves) and `/ready` (Temporal answers and, when GitHub
//! credentials are configured, they work), on their own listener. `/ready` answers are
//! reused for `server.ready_cache` so a busy prober cannot hammer Temporal or GitHub.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{AppState, GitHubCheck};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

/// One dependency's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Check {
    /// `ok`, `failing` or `not_configured`.
    pub status: String,
    /// Why it is failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The answer of `/ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadyReport {
    /// `ready` or `not_ready`.
    pub status: String,
    /// Temporal.
    pub temporal: Check,
    /// GitHub credentials.
    pub github: Check,
}

impl ReadyReport {
    fn is_ready(&self) -> bool {
        self.status == "ready"
    }
}

/// Runs and caches the readiness checks.
pub(crate) struct Readiness {
    github: Option<GitHubCheck>,
    cache_for: Duration,
    last: tokio::sync::Mutex<Option<(Instant, ReadyReport)>>,
}

impl Readiness {
    pub(crate) fn new(github: Option<GitHubCheck>, cache_for: Duration) -> Self {
        Self {
            github,
            cache_for,
            last: tokio::sync::Mutex::new(None),
        }
    }

    async fn report(&self, state: &AppState) -> ReadyReport {
        // Holding the lock while checking makes concurrent probes share one check.
        let mut last = self.last.lock().await;
        if let Some((at, report)) = last.as_ref() {
            if at.elapsed() < self.cache_for {
                return report.clone();
            }
        }
        let temporal = match state.temporal.services().await {
            Ok(services) => to_check(services.deployments.ping().await.map_err(|e| e.to_string())),
            Err(e) => to_check(Err(e.to_string())),
        };
        let github = match &self.github {
            Some(check) => to_check(check().await),
            None => Check {
                status: "not_configured".to_owned(),
                detail: None,
            },
        };
        let ready = temporal.status == "ok" && github.status != "failing";
        let report = ReadyReport {
            status: if ready { "ready" } else { "not_ready" }.to_owned(),
            temporal,
            github,
        };
        if !ready {
            tracing::warn!(report = ?report, "not ready");
        }
        *last = Some((Instant::now(), report.clone()));
        report
    }
}

fn to_check(result: Result<(), String>) -> Check {
    match result {
        Ok(()) => Check {
            status: "ok".to_owned(),
            detail: None,
        },
        Err(detail) => Check {
            status: "failing".to_owned(),
            detail: Some(detail),
        },
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Response {
    let report = state.readiness.report(&state).await;
    let status = if report.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}
