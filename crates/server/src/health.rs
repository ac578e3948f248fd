//! `/health` (liveness: the process serves) and `/ready` (Temporal answers and, when GitHub
//! credentials are configured, they work), on their own listener. `/ready` answers are
//! reused for `server.ready_cache` so a busy prober cannot hammer Temporal or GitHub.
//!
//! `gdt serve` and `gdt worker` answer both routes with the same JSON: only what "Temporal
//! answers" means differs (the worker also needs its pollers running), so each passes its
//! own [`Probe`].

use std::time::{Duration, Instant};

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One readiness check of a dependency: `Err` says why it is failing.
pub type Probe = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// `/health` and `/ready`, answered from `readiness`.
pub fn router(readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .fallback(crate::not_found)
        .with_state(readiness)
}

/// One dependency's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Check {
    /// How the dependency answered.
    pub status: CheckStatus,
    /// Why it is failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// How one dependency answered a readiness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// It answered.
    Ok,
    /// It did not answer, or refused; `detail` says why.
    Failing,
    /// Nothing to check (no GitHub credentials are configured).
    NotConfigured,
}

/// Whether the server is ready to take requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadyStatus {
    /// Temporal answers, and the GitHub credentials work or none are configured.
    Ready,
    /// A dependency is failing.
    NotReady,
}

/// The answer of `/ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadyReport {
    /// Ready, or not.
    pub status: ReadyStatus,
    /// Temporal.
    pub temporal: Check,
    /// GitHub credentials.
    pub github: Check,
}

impl ReadyReport {
    fn is_ready(&self) -> bool {
        self.status == ReadyStatus::Ready
    }
}

/// Runs and caches the readiness checks.
pub struct Readiness {
    temporal: Probe,
    github: Option<Probe>,
    cache_for: Duration,
    last: tokio::sync::Mutex<Option<(Instant, ReadyReport)>>,
}

impl Readiness {
    /// Checks with `temporal` and, when credentials are configured, `github`; an answer is
    /// reused for `cache_for`.
    pub fn new(temporal: Probe, github: Option<Probe>, cache_for: Duration) -> Self {
        Self {
            temporal,
            github,
            cache_for,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// The current answer, checking again once the last one is older than `cache_for`.
    pub async fn report(&self) -> ReadyReport {
        // Holding the lock while checking makes concurrent probes share one check.
        let mut last = self.last.lock().await;
        if let Some((at, report)) = last.as_ref() {
            if at.elapsed() < self.cache_for {
                return report.clone();
            }
        }
        let temporal = to_check((self.temporal)().await);
        let github = match &self.github {
            Some(check) => to_check(check().await),
            None => Check {
                status: CheckStatus::NotConfigured,
                detail: None,
            },
        };
        let ready = temporal.status == CheckStatus::Ok && github.status != CheckStatus::Failing;
        let report = ReadyReport {
            status: if ready {
                ReadyStatus::Ready
            } else {
                ReadyStatus::NotReady
            },
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
            status: CheckStatus::Ok,
            detail: None,
        },
        Err(detail) => Check {
            status: CheckStatus::Failing,
            detail: Some(detail),
        },
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn ready(State(readiness): State<Arc<Readiness>>) -> Response {
    let report = readiness.report().await;
    let status = if report.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_words_are_the_documented_ones() {
        let report = ReadyReport {
            status: ReadyStatus::NotReady,
            temporal: to_check(Err("connection refused".to_owned())),
            github: Check {
                status: CheckStatus::NotConfigured,
                detail: None,
            },
        };
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            serde_json::json!({
                "status": "not_ready",
                "temporal": {"status": "failing", "detail": "connection refused"},
                "github": {"status": "not_configured"},
            })
        );
        assert_eq!(serde_json::to_value(ReadyStatus::Ready).unwrap(), "ready");
        assert_eq!(to_check(Ok(())).status, CheckStatus::Ok);
        assert_eq!(serde_json::to_value(CheckStatus::Ok).unwrap(), "ok");
    }
}
