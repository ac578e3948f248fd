//! `POST /webhook`: GitHub's deliveries. `pull_request` events with new code start the PR
//! checks; a `pull_request` `closed` (merged or not) starts the clean-up of its preview
//! deployments; `deployment` and `deployment_status` events about deployments created by
//! others start or tell their watcher ([`deployment`]); everything else is acknowledged and
//! left alone.
//!
//! Nothing unauthenticated is buffered beyond a bound: before a byte of the body is read, a
//! delivery without a well-formed `X-Hub-Signature-256` (or any delivery when no secret is
//! configured) is answered `401`, and one announcing more than `webhook.max_body_bytes` `413`.
//! Bodies being read for verification share a budget of [`BUFFER_BUDGET_FACTOR`] times
//! `webhook.max_body_bytes`; a delivery that does not fit is answered `503` with
//! `Retry-After` at once, without reading it. Only then is the body read and its HMAC checked.
//!
//! Answers: `200` ping; `202` with the checks started (or why nothing was), or with the
//! clean-up's workflow id (`cleanup`); `401`; `400`
//! malformed payload; `413`; `422` when the repository or PR named cannot exist or Temporal
//! refuses the start as invalid (redelivering cannot help); `503` when Temporal cannot be
//! reached in time, so the delivery shows as failed on GitHub and can be redelivered. The two
//! checks start concurrently, each within GitHub's 10 s; when one started and the other did
//! not, the problem's `checks` member says which, and redelivering is safe (a check that
//! started only looks at the PR again).
//!
//! Every delivery is counted once, in `gdt_webhook_deliveries_total{event,action,outcome}`,
//! by `receive` from what `read` (the checks before and of the body) or `act` (what the
//! delivery asks) returns, refusals before the body is read included; a signature that does not verify also counts in
//! `gdt_webhook_signature_failures_total{reason}`. The labels are closed words
//! ([`event::event_label`], [`event::action_label`]), never text from the delivery.

pub mod deployment;
pub mod event;
pub mod signature;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use gdt_metrics::labels::{SignatureFailure, WebhookOutcome};
use gdt_metrics::metrics;
use gdt_tracker::pr_checks::{Check, CheckOutcome, CheckStart, PullRequestHead};
use gdt_tracker::pr_cleanup::ClosedPullRequest;
use gdt_tracker::ServiceError;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::problem::{ApiError, ProblemCode};
use crate::AppState;
use event::Delivery;

/// GitHub expects an answer within 10 s: connecting to Temporal and starting the checks get
/// 8 s of it, and no call of [`crate::Services::pr_checks`] should be given longer.
pub const START_BUDGET: Duration = Duration::from_secs(8);

/// Bodies being read for verification may hold this many times `webhook.max_body_bytes`.
pub const BUFFER_BUDGET_FACTOR: usize = 2;

/// The budget counts KiB, so a permit count always fits in `u32`.
const KIB: usize = 1024;

/// The byte budget of bodies being verified, shared by all deliveries.
#[derive(Debug, Clone)]
pub(crate) struct BodyBudget {
    permits: Arc<Semaphore>,
}

impl BodyBudget {
    /// Room for [`BUFFER_BUDGET_FACTOR`] bodies of `max_body_bytes`.
    pub(crate) fn new(max_body_bytes: usize) -> Self {
        let total = kib(max_body_bytes.saturating_mul(BUFFER_BUDGET_FACTOR));
        Self {
            permits: Arc::new(Semaphore::new(total as usize)),
        }
    }
}

fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(KIB)).unwrap_or(u32::MAX)
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/webhook", post(receive))
}

/// Answers a delivery and counts it once, whichever way it went: every path through
/// [`read`] and [`act`] ends here with its outcome.
async fn receive(State(state): State<AppState>, request: Request) -> Response {
    let event = event::event_label(header_text(request.headers(), "x-github-event"));
    let (action, outcome, response) = match read(&state, request).await {
        Ok((delivery_id, delivery)) => {
            let action = delivery.action();
            let (outcome, response) = act(&state, &delivery_id, delivery).await;
            (action, outcome, response)
        }
        Err(refusal) => {
            if let Some(reason) = refusal.signature {
                metrics().webhook_signature_failure(reason);
            }
            (
                event::NO_ACTION,
                refusal.outcome,
                refusal.error.into_response(),
            )
        }
    };
    metrics().webhook_delivery(event, action, outcome);
    response
}

/// A delivery refused before it was decoded, and what is counted of it.
struct Refusal {
    outcome: WebhookOutcome,
    /// Why the signature did not verify, when that is the reason.
    signature: Option<SignatureFailure>,
    error: ApiError,
}

impl Refusal {
    fn new(outcome: WebhookOutcome, error: ApiError) -> Self {
        Self {
            outcome,
            signature: None,
            error,
        }
    }

    fn invalid(error: ApiError) -> Self {
        Self::new(WebhookOutcome::Invalid, error)
    }
}

/// Checks the signature and decodes the delivery: its `X-GitHub-Delivery` and what it asks.
async fn read(state: &AppState, request: Request) -> Result<(String, Delivery), Refusal> {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let text = |name: &str| header_text(&headers, name).to_owned();
    // Refusals that need no body come first, so a stranger cannot make the server read one.
    let signature = text("x-hub-signature-256");
    if let Some(reason) = state.webhook_secrets.refuse_unread(&signature) {
        if reason == SignatureFailure::NoSecret {
            tracing::error!(
                "a webhook arrived but no webhook secret is configured: set \
                 GITHUB_WEBHOOK_SECRET or webhook.secrets_file"
            );
        }
        return Err(unauthorized(reason, !signature.is_empty()));
    }
    let max = state.settings.webhook_max_body_bytes;
    let declared = content_length(&headers);
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let _permit = state
        .webhook_budget
        .permits
        .clone()
        .try_acquire_many_owned(kib(declared.unwrap_or(max)).max(1))
        .map_err(|_| {
            Refusal::new(
                WebhookOutcome::Busy,
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ProblemCode::Busy,
                    "too many large deliveries are being verified at once; retry later",
                ),
            )
        })?;
    let body = axum::body::to_bytes(body, max).await.map_err(|e| {
        let e = e.into_inner();
        if e.downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            too_large()
        } else {
            Refusal::invalid(ApiError::new(
                StatusCode::BAD_REQUEST,
                ProblemCode::InvalidBody,
                format!("the body could not be read: {e}"),
            ))
        }
    })?;
    if !state.webhook_secrets.verify(&signature, &body) {
        return Err(unauthorized(SignatureFailure::Mismatch, true));
    }
    let event = text("x-github-event");
    let delivery_id = text("x-github-delivery");
    if event.is_empty() {
        return Err(Refusal::invalid(ApiError::new(
            StatusCode::BAD_REQUEST,
            ProblemCode::InvalidEvent,
            "the X-GitHub-Event header is missing",
        )));
    }
    let content_type = text(header::CONTENT_TYPE.as_str());
    let invalid_json = |e: event::DecodeError| {
        Refusal::invalid(ApiError::new(
            StatusCode::BAD_REQUEST,
            ProblemCode::InvalidJson,
            e.to_string(),
        ))
    };
    let json = event::payload_json(&content_type, &body).map_err(invalid_json)?;
    let delivery = event::decode(&event, &json).map_err(invalid_json)?;
    // The body and its share of the budget are given back when this returns.
    Ok((delivery_id, delivery))
}

/// Does what a verified delivery asks: answers a ping, ignores what starts nothing, or starts
/// the checks of a pull request.
async fn act(
    state: &AppState,
    delivery_id: &str,
    delivery: Delivery,
) -> (WebhookOutcome, Response) {
    let pr = match delivery {
        Delivery::Ping => {
            tracing::info!(delivery = %delivery_id, "webhook ping");
            let pong = (StatusCode::OK, Json(json!({"message": "pong"}))).into_response();
            return (WebhookOutcome::Pong, pong);
        }
        Delivery::Ignored { reason, .. } => {
            return (WebhookOutcome::Ignored, ignored(delivery_id, &reason))
        }
        Delivery::Deployment(event) => return deployment::act(state, delivery_id, event).await,
        Delivery::PullRequest(_) if !state.settings.pr_checks_enabled => {
            let reason = "pull-request checks are disabled (pr_checks.enabled)";
            return (WebhookOutcome::Ignored, ignored(delivery_id, reason));
        }
        Delivery::PullRequestClosed(_) if !state.settings.pr_cleanup_enabled => {
            let reason = "pull-request clean-up is disabled (pr_cleanup.enabled)";
            return (WebhookOutcome::Ignored, ignored(delivery_id, reason));
        }
        Delivery::PullRequestClosed(closed) => return clean_up(state, delivery_id, &closed).await,
        Delivery::PullRequest(pr) => pr,
    };
    let head = &pr.head;
    // One budget for connecting and starting, so the answer stays within GitHub's 10 s.
    let deadline = tokio::time::Instant::now() + START_BUDGET;
    let services = match services(state, deadline).await {
        Ok(services) => services,
        Err(refused) => return refused,
    };
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let results = start_each(left, |check| services.pr_checks.start(check, head)).await;
    tracing::info!(
        delivery = %delivery_id,
        action = %pr.action,
        repository = %format!("{}/{}", head.owner, head.repo),
        pr = head.number,
        head_sha = %head.head_sha,
        checks = ?results.iter().map(|(c, r)| format!("{c:?} {}", if r.is_ok() { "checking" } else { "not started" })).collect::<Vec<_>>(),
        "pull_request delivery"
    );
    let outcome = start_outcome(&results);
    let response = match answer(delivery_id, head, results) {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    (outcome, response)
}

/// The Temporal services, connecting first if needed, by `deadline`; or the answer to give.
async fn services(
    state: &AppState,
    deadline: tokio::time::Instant,
) -> Result<&crate::Services, (WebhookOutcome, Response)> {
    let e = match tokio::time::timeout_at(deadline, state.temporal.services()).await {
        Ok(Ok(services)) => return Ok(services),
        Ok(Err(e)) => e,
        Err(_) => ServiceError::Unavailable(format!(
            "could not connect to Temporal within {START_BUDGET:?}; GitHub can redeliver"
        )),
    };
    Err((
        WebhookOutcome::Unavailable,
        ApiError::from(e).into_response(),
    ))
}

/// Starts the clean-up of a closed pull request's previews (or finds it running): `202` with
/// its workflow id, `503` when redelivering can help, `422` when it cannot.
async fn clean_up(
    state: &AppState,
    delivery_id: &str,
    closed: &ClosedPullRequest,
) -> (WebhookOutcome, Response) {
    let deadline = tokio::time::Instant::now() + START_BUDGET;
    let services = match services(state, deadline).await {
        Ok(services) => services,
        Err(refused) => return refused,
    };
    let started = tokio::time::timeout_at(deadline, services.pr_cleanup.start(closed))
        .await
        .unwrap_or_else(|_| {
            Err(ServiceError::Unavailable(format!(
                "Temporal did not answer within {START_BUDGET:?}; GitHub can redeliver"
            )))
        });
    tracing::info!(
        delivery = %delivery_id,
        repository = %format!("{}/{}", closed.owner, closed.repo),
        pr = closed.number,
        merged = closed.merged,
        started = started.is_ok(),
        "pull_request closed delivery"
    );
    match started {
        Ok(cleanup) => (
            WebhookOutcome::Started,
            (
                StatusCode::ACCEPTED,
                Json(json!({ "delivery": delivery_id, "cleanup": cleanup })),
            )
                .into_response(),
        ),
        Err(e) => {
            let outcome = if retry_can_help_error(&e) {
                WebhookOutcome::Unavailable
            } else {
                WebhookOutcome::Invalid
            };
            (outcome, ApiError::from(e).into_response())
        }
    }
}

/// What the starts of the checks come to, as counted: all started, some, or none (because
/// Temporal could not be reached, or because it refused the start as invalid).
fn start_outcome(results: &[(Check, Result<CheckStart, ServiceError>)]) -> WebhookOutcome {
    let started = results.iter().filter(|(_, r)| r.is_ok()).count();
    if started == results.len() {
        WebhookOutcome::Started
    } else if started > 0 {
        WebhookOutcome::Partial
    } else if results.iter().any(|(_, r)| retry_can_help(r)) {
        WebhookOutcome::Unavailable
    } else {
        WebhookOutcome::Invalid
    }
}

/// Whether redelivering could start a check that did not start.
fn retry_can_help(result: &Result<CheckStart, ServiceError>) -> bool {
    result.as_ref().err().is_some_and(retry_can_help_error)
}

/// Whether redelivering could start what this error stopped.
fn retry_can_help_error(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Unavailable(_) | ServiceError::Temporal(_))
}

/// Starts every check concurrently, each within `budget`.
async fn start_each<F, Fut>(
    budget: Duration,
    start: F,
) -> Vec<(Check, Result<CheckStart, ServiceError>)>
where
    F: Fn(Check) -> Fut,
    Fut: Future<Output = Result<CheckStart, ServiceError>>,
{
    let bounded = |check| {
        let started = start(check);
        async move {
            let result = tokio::time::timeout(budget, started)
                .await
                .unwrap_or_else(|_| {
                    Err(ServiceError::Unavailable(format!(
                        "Temporal did not answer within {budget:?}"
                    )))
                });
            (check, result)
        }
    };
    futures::future::join_all(Check::ALL.map(bounded)).await
}

/// `202` when every check runs; otherwise a problem whose `checks` member says, for each
/// check, whether it runs, and whose status says whether redelivering can help (`503`) or
/// not (`422`).
fn answer(
    delivery_id: &str,
    head: &PullRequestHead,
    results: Vec<(Check, Result<CheckStart, ServiceError>)>,
) -> Result<Response, ApiError> {
    if results.iter().all(|(_, r)| r.is_ok()) {
        let started: Vec<CheckStart> = results.into_iter().filter_map(|(_, r)| r.ok()).collect();
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "delivery": delivery_id, "checks": started })),
        )
            .into_response());
    }
    let retry_can_help = results.iter().any(|(_, r)| retry_can_help(r));
    let mut running = Vec::new();
    let mut failed = Vec::new();
    let checks: Vec<Value> = results
        .iter()
        .map(|(check, result)| {
            let workflow_id = check.workflow_id(&head.owner, &head.repo, head.number);
            match result {
                Ok(started) => {
                    running.push(started.workflow_id.clone());
                    json!({"check": check, "workflow_id": started.workflow_id,
                           "run_id": started.run_id, "outcome": started.outcome})
                }
                Err(e) => {
                    failed.push(format!("{} ({e})", check.workflow_type()));
                    json!({"check": check, "workflow_id": workflow_id,
                           "outcome": CheckOutcome::NotStarted, "error": e.to_string()})
                }
            }
        })
        .collect();
    let mut detail = format!("not started: {}", failed.join("; "));
    if !running.is_empty() {
        detail = format!("checking: {}; {detail}", running.join(", "));
    }
    let (status, code) = if retry_can_help {
        detail
            .push_str(". Redelivering is safe: a check already running only looks at the PR again");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::TemporalUnavailable,
        )
    } else {
        detail.push_str(". Redelivering cannot help");
        (StatusCode::UNPROCESSABLE_ENTITY, ProblemCode::InvalidInput)
    };
    let mut members = serde_json::Map::new();
    members.insert("delivery".to_owned(), json!(delivery_id));
    members.insert("checks".to_owned(), Value::Array(checks));
    Err(ApiError::with_members(status, code, detail, members))
}

/// `401`; `invalid` says a signature was presented.
fn unauthorized(reason: SignatureFailure, invalid: bool) -> Refusal {
    Refusal {
        outcome: WebhookOutcome::Unauthorized,
        signature: Some(reason),
        error: ApiError::Unauthorized {
            detail: "missing or invalid X-Hub-Signature-256".to_owned(),
            invalid,
        },
    }
}

fn too_large() -> Refusal {
    Refusal::new(
        WebhookOutcome::TooLarge,
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::PayloadTooLarge,
            "the delivery is larger than this server accepts (webhook.max_body_bytes)",
        ),
    )
}

/// A header's value, or `""` when it is absent or not text.
fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn ignored(delivery_id: &str, reason: &str) -> Response {
    tracing::info!(delivery = %delivery_id, reason, "webhook ignored");
    (
        StatusCode::ACCEPTED,
        Json(json!({ "delivery": delivery_id, "ignored": reason })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> PullRequestHead {
        PullRequestHead {
            owner: "acme".to_owned(),
            repo: "shop".to_owned(),
            number: 5,
            head_sha: "a".repeat(40),
            head_ref: "f".to_owned(),
            base_ref: "main".to_owned(),
        }
    }

    fn started(check: Check) -> CheckStart {
        CheckStart {
            workflow_id: check.workflow_id("acme", "shop", 5),
            run_id: "run".to_owned(),
            outcome: CheckOutcome::Checking,
        }
    }

    async fn problem(result: Result<Response, ApiError>) -> (StatusCode, Value) {
        let response = result.expect_err("a problem").into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn the_checks_start_concurrently() {
        // Each start waits for the other: one after the other, neither would finish.
        let barrier = tokio::sync::Barrier::new(Check::ALL.len());
        let results = start_each(Duration::from_secs(20), |check| {
            let barrier = &barrier;
            async move {
                barrier.wait().await;
                Ok(started(check))
            }
        })
        .await;
        assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    }

    #[tokio::test]
    async fn a_partial_start_says_which_check_runs_and_that_redelivering_is_safe() {
        let results = vec![
            (
                Check::PluginUpdateValidation,
                Ok(started(Check::PluginUpdateValidation)),
            ),
            (
                Check::VersionValidation,
                Err(ServiceError::Unavailable(
                    "Temporal did not answer".to_owned(),
                )),
            ),
        ];
        let (status, body) = problem(answer("d1", &head(), results)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["code"], "temporal_unavailable");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("checking: plugin-validation-acme/shop#5"),
            "{detail}"
        );
        assert!(
            detail.contains("not started: VersionValidationWorkflow"),
            "{detail}"
        );
        assert!(detail.contains("Redelivering is safe"), "{detail}");
        assert_eq!(body["checks"][0]["outcome"], "checking", "{body}");
        assert_eq!(body["checks"][1]["outcome"], "not_started", "{body}");
        assert_eq!(
            body["checks"][1]["workflow_id"],
            "version-validation-acme/shop#5"
        );
        assert_eq!(body["delivery"], "d1");
    }

    #[tokio::test]
    async fn what_redelivering_cannot_fix_is_a_422() {
        let invalid = || {
            Err(ServiceError::InvalidInput(
                "the repository owner is 300 characters long".to_owned(),
            ))
        };
        let results = vec![
            (Check::PluginUpdateValidation, invalid()),
            (Check::VersionValidation, invalid()),
        ];
        let (status, body) = problem(answer("d2", &head(), results)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["code"], "invalid_input");
        assert!(
            body["detail"].as_str().unwrap().contains("owner is 300"),
            "{body}"
        );
    }
}
