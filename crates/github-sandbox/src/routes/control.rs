//! Test controls under `/_sandbox/` (no authentication, not journaled).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::json_response;
use crate::faults::FaultSpec;
use crate::server::Shared;

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

/// `POST /_sandbox/reset`: back to an empty GitHub with the configured
/// credentials (minted installation tokens stay valid).
pub(crate) async fn reset(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.store.reset();
    shared.faults.clear();
    shared.journal.clear();
    shared.auth.reset_quotas();
    StatusCode::NO_CONTENT
}

/// `GET /_sandbox/health`
pub(crate) async fn health() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

/// Unknown `/_sandbox/...` paths.
pub(crate) async fn not_found() -> impl IntoResponse {
    json_response(StatusCode::NOT_FOUND, &json!({"message": "Not Found"}))
}
