//! Test controls under `/_sandbox/` (no authentication, not journaled, no
//! faults): the journal, faults, the secondary rate limit, reset, health, the webhook target
//! and its deliveries, and the pull requests (with their files) that the GitHub
//! routes then serve.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::context::Shared;
use crate::error::json_response;
use crate::faults::FaultSpec;
use crate::limits::ContentLimit;
use crate::state::{NewPull, PullPatch, RepoName, UpdateRefused};
use crate::webhooks::WebhookTarget;

fn bad_request(message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({"message": message}))
}

#[derive(Debug, Deserialize)]
pub(crate) struct JournalQuery {
    /// Number of entries already seen; only later ones are returned.
    since: Option<usize>,
}

/// `GET /_sandbox/requests[?since=N]`
pub(crate) async fn journal(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<JournalQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_request("since must be a non-negative integer");
    };
    let entries = shared.journal.since(query.since.unwrap_or(0));
    match serde_json::to_value(entries) {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(err) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"message": err.to_string()}),
        ),
    }
}

/// `POST /_sandbox/faults`
pub(crate) async fn add_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(spec) => spec,
        Err(err) => return bad_request(&format!("invalid fault: {err}")),
    };
    match shared.faults.add(spec) {
        Ok(fault) => json_response(StatusCode::CREATED, &fault),
        Err(err) => bad_request(&err.to_string()),
    }
}

/// `GET /_sandbox/faults`: the pending faults in firing order.
pub(crate) async fn list_faults(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &Value::Array(shared.faults.list()))
}

/// `DELETE /_sandbox/faults`: drops every pending fault.
pub(crate) async fn clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.faults.clear();
    StatusCode::NO_CONTENT
}

/// `POST /_sandbox/repos/{owner}/{repo}/pulls`: creates (or replaces) a pull
/// request with the files changed at its head; see [`NewPull`].
pub(crate) async fn create_pull(
    State(shared): State<Arc<Shared>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let new: NewPull = match serde_json::from_slice(&body) {
        Ok(new) => new,
        Err(err) => return bad_request(&format!("invalid pull request: {err}")),
    };
    if let Err(err) = new.check() {
        return bad_request(&err.to_string());
    }
    let base_url = shared.base_url(&headers);
    let repo = RepoName { owner, name };
    let at = shared.scope(&repo, &base_url);
    let pull = shared.store.create_pull(&at, new, Utc::now());
    json_response(StatusCode::CREATED, &pull)
}

/// `PATCH /_sandbox/repos/{owner}/{repo}/pulls/{number}`: moves a pull
/// request's head or changes its refs, title or files, or closes (and merges) or reopens it,
/// which sends a `pull_request` event `closed` or `reopened` to the webhook target; see
/// [`PullPatch`].
pub(crate) async fn update_pull(
    State(shared): State<Arc<Shared>>,
    Path((owner, name, number)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(number) = number.parse::<u64>() else {
        return not_found_response();
    };
    let patch: PullPatch = match serde_json::from_slice(&body) {
        Ok(patch) => patch,
        Err(err) => return bad_request(&format!("invalid pull request update: {err}")),
    };
    if let Err(err) = patch.check(number) {
        return bad_request(&err.to_string());
    }
    let base_url = shared.base_url(&headers);
    let repo = RepoName { owner, name };
    let at = shared.scope(&repo, &base_url);
    match shared.store.update_pull(&at, number, patch, Utc::now()) {
        Ok(update) => {
            // Closing and reopening are what GitHub announces as `pull_request` events.
            if let Some(transition) = update.transition {
                let payload = json!({
                    "action": transition.action(),
                    "number": number,
                    "pull_request": update.pull,
                    "repository": update.repository,
                    "sender": update.pull["user"],
                });
                shared.webhooks.send("pull_request", payload);
            }
            json_response(StatusCode::OK, &update.pull)
        }
        Err(UpdateRefused::NotFound) => not_found_response(),
        Err(refused) => bad_request(&refused.to_string()),
    }
}

/// `GET /_sandbox/limits`: the secondary rate limit on content creation, `null` when off.
pub(crate) async fn get_limits(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &json!(shared.limits.get()))
}

/// `PUT /_sandbox/limits`: sets the secondary rate limit on content creation
/// (`{"content_writes": N, "window_ms": M}`), counting from now.
pub(crate) async fn put_limits(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<ContentLimit>(&body) {
        Ok(limit) if limit.content_writes > 0 && limit.window_ms > 0 => {
            shared.limits.set(Some(limit));
            json_response(StatusCode::OK, &json!(limit))
        }
        Ok(_) => bad_request("content_writes and window_ms must be at least 1"),
        Err(err) => bad_request(&format!("invalid limit: {err}")),
    }
}

/// `DELETE /_sandbox/limits`: no secondary rate limit (the default).
pub(crate) async fn delete_limits(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.limits.set(None);
    StatusCode::NO_CONTENT
}

/// `POST /_sandbox/reset`: back to an empty GitHub with the configured
/// credentials (minted installation tokens stay valid) and no secondary rate limit.
pub(crate) async fn reset(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.store.reset();
    shared.faults.clear();
    shared.journal.clear();
    shared.auth.reset_quotas();
    shared.limits.set(None);
    shared.webhooks.clear();
    StatusCode::NO_CONTENT
}

/// `GET /_sandbox/deliveries`: every webhook delivery, oldest first, with the
/// receiver's answer.
pub(crate) async fn deliveries(State(shared): State<Arc<Shared>>) -> Response {
    match serde_json::to_value(shared.webhooks.deliveries()) {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(err) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"message": err.to_string()}),
        ),
    }
}

/// `GET /_sandbox/webhook`: the target's URL (never its secret), or `null`.
pub(crate) async fn get_webhook(State(shared): State<Arc<Shared>>) -> Response {
    let url = shared.webhooks.target().map(|t| t.url);
    json_response(StatusCode::OK, &json!({"url": url}))
}

/// `PUT /_sandbox/webhook` with `{"url", "secret"}`: where later events go.
pub(crate) async fn put_webhook(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let target: WebhookTarget = match serde_json::from_slice(&body) {
        Ok(target) => target,
        Err(err) => return bad_request(&format!("invalid webhook: {err}")),
    };
    if url::Url::parse(&target.url).is_err() {
        return bad_request("url must be an absolute URL");
    }
    shared.webhooks.set_target(Some(target));
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /_sandbox/webhook`: sends no more events.
pub(crate) async fn delete_webhook(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.webhooks.set_target(None);
    StatusCode::NO_CONTENT
}

/// `GET /_sandbox/health`
pub(crate) async fn health() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

/// Unknown `/_sandbox/...` paths.
pub(crate) async fn not_found() -> impl IntoResponse {
    not_found_response()
}

fn not_found_response() -> Response {
    json_response(StatusCode::NOT_FOUND, &json!({"message": "Not Found"}))
}
