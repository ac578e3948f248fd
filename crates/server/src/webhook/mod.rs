//! `POST /webhook`: GitHub's deliveries. Verified by `X-Hub-Signature-256` before anything
//! else is read; `pull_request` events with new code start the PR checks; everything else is
//! acknowledged and left alone.
//!
//! Answers: `200` ping; `202` with what was started (or why nothing was); `401` bad or missing
//! signature (nothing about the secret is revealed); `400` malformed payload; `413` over
//! `webhook.max_body_bytes`; `503` when Temporal cannot be reached in time, so the delivery
//! shows as failed on GitHub and can be redelivered.

pub mod event;
pub mod signature;

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use gdt_tracker::deployments::ServiceError;
use gdt_tracker::pr_checks::{PrCheckService, PullRequestHead};
use serde_json::json;

use crate::problem::ApiError;
use crate::AppState;
use event::Delivery;

/// GitHub expects an answer within 10 s; Temporal gets most of it.
const TEMPORAL_BUDGET: Duration = Duration::from_secs(8);

pub(crate) fn routes(max_body_bytes: usize) -> Router<AppState> {
    Router::new().route(
        "/webhook",
        post(receive).layer(DefaultBodyLimit::max(max_body_bytes)),
    )
}

async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the delivery is larger than this server accepts (webhook.max_body_bytes)",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                rejection.body_text(),
            )
        }
    })?;
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let signature = text("x-hub-signature-256");
    if !state.webhook_secrets.verify(&signature, &body) {
        if state.webhook_secrets.is_empty() {
            tracing::error!(
                "a webhook arrived but no webhook secret is configured: set \
                 GITHUB_WEBHOOK_SECRET or webhook.secrets_file"
            );
        }
        return Err(ApiError::Unauthorized {
            detail: "missing or invalid X-Hub-Signature-256".to_owned(),
            invalid: !signature.is_empty(),
        });
    }
    let event = text("x-github-event");
    let delivery_id = text("x-github-delivery");
    if event.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_event",
            "the X-GitHub-Event header is missing",
        ));
    }
    let content_type = text(header::CONTENT_TYPE.as_str());
    let json = event::payload_json(&content_type, &body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?;
    let delivery = event::decode(&event, &json)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?;
    let pr = match delivery {
        Delivery::Ping => {
            tracing::info!(delivery = %delivery_id, "webhook ping");
            return Ok((StatusCode::OK, Json(json!({"message": "pong"}))).into_response());
        }
        Delivery::Ignored(reason) => return Ok(ignored(&delivery_id, &reason)),
        Delivery::PullRequest(_) if !state.settings.pr_checks_enabled => {
            return Ok(ignored(
                &delivery_id,
                "pull-request checks are disabled (pr_checks.enabled)",
            ));
        }
        Delivery::PullRequest(pr) => pr,
    };
    let head = PullRequestHead {
        owner: pr.owner,
        repo: pr.repo,
        number: pr.number,
        head_sha: pr.head_sha,
        head_ref: pr.head_ref,
        base_ref: pr.base_ref,
    };
    let started = tokio::time::timeout(TEMPORAL_BUDGET, async {
        let deployments = state.temporal.service().await?;
        let checks = PrCheckService::new(
            deployments.client().clone(),
            state.settings.pr_checks_task_queue.clone(),
            deployments.call_timeout().min(TEMPORAL_BUDGET / 4),
        );
        checks.start(&head).await
    })
    .await
    .unwrap_or_else(|_| {
        Err(ServiceError::Unavailable(format!(
            "Temporal did not answer within {TEMPORAL_BUDGET:?}; GitHub can redeliver"
        )))
    })?;
    tracing::info!(
        delivery = %delivery_id,
        action = %pr.action,
        repository = %format!("{}/{}", head.owner, head.repo),
        pr = head.number,
        head_sha = %head.head_sha,
        checks = ?started.iter().map(|c| format!("{} {}", c.workflow_id, c.outcome)).collect::<Vec<_>>(),
        "pull_request delivery"
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "delivery": delivery_id, "checks": started })),
    )
        .into_response())
}

fn ignored(delivery_id: &str, reason: &str) -> Response {
    tracing::info!(delivery = %delivery_id, reason, "webhook ignored");
    (
        StatusCode::ACCEPTED,
        Json(json!({ "delivery": delivery_id, "ignored": reason })),
    )
        .into_response()
}
