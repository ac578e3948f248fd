//! Errors as RFC 9457 problem details (`application/problem+json`).
//!
//! Every error the API answers goes through [`ApiError`], so clients always get the same
//! shape: `type` (always `about:blank`: the HTTP status says what kind of error it is),
//! `title`, `status`, `detail` (what was wrong and what to do) and `code`, a stable word a
//! script can switch on. A 500 never carries internals; the cause is logged instead.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gdt_tracker::deployments::UpdateRejection;
use gdt_tracker::ServiceError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The content type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status code is the problem type.
    #[serde(rename = "type")]
    pub type_: String,
    /// The HTTP status phrase (`Unprocessable Entity`, …).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What was wrong and what to do about it.
    pub detail: String,
    /// A stable machine-readable word a script can switch on. A problem may carry more
    /// members (RFC 9457 extensions), e.g. the webhook's `checks`.
    pub code: ProblemCode,
}

/// The `code` of a problem: what went wrong, in one stable word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// No bearer token, or not one of ours (`401`); on `/webhook`, no valid signature.
    Unauthorized,
    /// The token is valid but may not do this: a viewer token on a write (`403`).
    Forbidden,
    /// The body is not JSON, or not the JSON this operation takes (`400`).
    InvalidJson,
    /// The input parses but cannot be used (`422`).
    InvalidInput,
    /// The status update has no status word, or a field over its limit (`422`).
    InvalidStatusUpdate,
    /// The status word maps to no GitHub deployment state (`422`).
    UnknownStatus,
    /// The deployment has already reached a terminal state (`409`).
    DeploymentTerminal,
    /// The deployment's workflow has finished and takes no more updates (`409`).
    DeploymentFinished,
    /// The workflow ended without creating the GitHub deployment (`422`).
    DeploymentNotCreated,
    /// No such deployment, or no such route (`404`).
    NotFound,
    /// The workflow id already tracks another deployment (`409`).
    WorkflowIdConflict,
    /// The body is larger than this server accepts (`413`).
    PayloadTooLarge,
    /// The body is not `application/json` (`415`).
    UnsupportedMediaType,
    /// A query parameter cannot be read (`400`).
    InvalidQuery,
    /// A path parameter cannot be read (`400`).
    InvalidPath,
    /// The body could not be read (`400`).
    InvalidBody,
    /// A webhook delivery without `X-GitHub-Event` (`400`).
    InvalidEvent,
    /// Temporal, or a worker, did not answer in time or could not be reached (`503`).
    TemporalUnavailable,
    /// The request took longer than `server.request_timeout` (`503`).
    Timeout,
    /// Too many large webhook deliveries are being verified at once (`503`).
    Busy,
    /// Something failed inside the server; the log has the details (`500`).
    Internal,
}

/// Everything a handler can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or not one of ours. `invalid` says a token was presented.
    #[error("{detail}")]
    Unauthorized {
        /// What was wrong.
        detail: String,
        /// A token was presented (and did not match).
        invalid: bool,
    },
    /// A status with a code, a detail and more members (RFC 9457 extension members).
    #[error("{detail}")]
    WithMembers {
        /// The HTTP status.
        status: StatusCode,
        /// The stable `code`.
        code: ProblemCode,
        /// What was wrong and what to do.
        detail: String,
        /// Added to the problem object (never `type`, `title`, `status`, `detail`, `code`).
        members: serde_json::Map<String, serde_json::Value>,
    },
    /// A status with a code and a detail.
    #[error("{detail}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The stable `code`.
        code: ProblemCode,
        /// What was wrong and what to do.
        detail: String,
    },
}

impl ApiError {
    /// An error with this status, code and detail.
    pub fn new(status: StatusCode, code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::Status {
            status,
            code,
            detail: detail.into(),
        }
    }

    /// A problem with extension members, e.g. what happened to each part of a request.
    pub fn with_members(
        status: StatusCode,
        code: ProblemCode,
        detail: impl Into<String>,
        members: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        Self::WithMembers {
            status,
            code,
            detail: detail.into(),
            members,
        }
    }

    /// `422 Unprocessable Entity` for input that parses but cannot be used.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::InvalidInput,
            detail,
        )
    }

    /// `404 Not Found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ProblemCode::NotFound, detail)
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Status { status, .. } | Self::WithMembers { status, .. } => *status,
        }
    }

    fn problem(&self) -> Problem {
        let status = self.status();
        let (code, detail) = match self {
            Self::Unauthorized { detail, .. } => (ProblemCode::Unauthorized, detail.clone()),
            Self::Status { code, detail, .. }
                if status.is_server_error() && *code == ProblemCode::Internal =>
            {
                (
                    *code,
                    "internal error; the server log has the details".to_owned(),
                )
            }
            Self::Status { code, detail, .. } | Self::WithMembers { code, detail, .. } => {
                (*code, detail.clone())
            }
        };
        Problem {
            type_: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), error = %self, "request failed");
        }
        let mut value = serde_json::to_value(self.problem()).unwrap_or_default();
        if let (Self::WithMembers { members, .. }, Some(object)) = (&self, value.as_object_mut()) {
            for (key, member) in members {
                object.entry(key.clone()).or_insert_with(|| member.clone());
            }
        }
        let body = serde_json::to_vec(&value).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            Self::Unauthorized { invalid, .. } => {
                let challenge = if *invalid {
                    r#"Bearer realm="gdt", error="invalid_token""#
                } else {
                    r#"Bearer realm="gdt""#
                };
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            Self::Status { status, .. } | Self::WithMembers { status, .. }
                if *status == StatusCode::SERVICE_UNAVAILABLE =>
            {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            Self::Status { .. } | Self::WithMembers { .. } => {}
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let detail = e.to_string();
        let (status, code) = match e {
            ServiceError::InvalidInput(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, ProblemCode::InvalidInput)
            }
            ServiceError::Rejected(UpdateRejection::UnknownStatus(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, ProblemCode::UnknownStatus)
            }
            ServiceError::Rejected(UpdateRejection::Terminal(_)) => {
                (StatusCode::CONFLICT, ProblemCode::DeploymentTerminal)
            }
            ServiceError::Rejected(UpdateRejection::Invalid(_)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::InvalidStatusUpdate,
            ),
            ServiceError::Finished { .. } => {
                (StatusCode::CONFLICT, ProblemCode::DeploymentFinished)
            }
            ServiceError::NotCreated { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::DeploymentNotCreated,
            ),
            ServiceError::Conflict(_) => (StatusCode::CONFLICT, ProblemCode::WorkflowIdConflict),
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, ProblemCode::NotFound),
            ServiceError::Unavailable(_) | ServiceError::Temporal(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemCode::TemporalUnavailable,
            ),
        };
        Self::new(status, code, detail)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ProblemCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemCode::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ProblemCode::InvalidInput,
            _ => ProblemCode::InvalidJson,
        };
        let detail = match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                "the request body is larger than this server accepts (server.max_body_bytes)"
                    .to_owned()
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                "send the body as JSON with `Content-Type: application/json`".to_owned()
            }
            _ => rejection.body_text(),
        };
        Self::new(status, code, detail)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ProblemCode::InvalidQuery,
            rejection.body_text(),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ProblemCode::InvalidPath,
            rejection.body_text(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_to_their_words() {
        let codes = [
            (ProblemCode::Unauthorized, "unauthorized"),
            (ProblemCode::Forbidden, "forbidden"),
            (ProblemCode::InvalidJson, "invalid_json"),
            (ProblemCode::InvalidInput, "invalid_input"),
            (ProblemCode::InvalidStatusUpdate, "invalid_status_update"),
            (ProblemCode::UnknownStatus, "unknown_status"),
            (ProblemCode::DeploymentTerminal, "deployment_terminal"),
            (ProblemCode::DeploymentFinished, "deployment_finished"),
            (ProblemCode::DeploymentNotCreated, "deployment_not_created"),
            (ProblemCode::NotFound, "not_found"),
            (ProblemCode::WorkflowIdConflict, "workflow_id_conflict"),
            (ProblemCode::PayloadTooLarge, "payload_too_large"),
            (ProblemCode::UnsupportedMediaType, "unsupported_media_type"),
            (ProblemCode::InvalidQuery, "invalid_query"),
            (ProblemCode::InvalidPath, "invalid_path"),
            (ProblemCode::InvalidBody, "invalid_body"),
            (ProblemCode::InvalidEvent, "invalid_event"),
            (ProblemCode::TemporalUnavailable, "temporal_unavailable"),
            (ProblemCode::Timeout, "timeout"),
            (ProblemCode::Busy, "busy"),
            (ProblemCode::Internal, "internal"),
        ];
        for (code, word) in codes {
            assert_eq!(serde_json::to_value(code).unwrap(), word);
        }
    }

    #[tokio::test]
    async fn an_internal_error_hides_its_detail() {
        let response = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::Internal,
            "the database password is hunter2",
        )
        .into_response();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let problem: Problem = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(problem.code, ProblemCode::Internal);
        assert_eq!(
            problem.detail,
            "internal error; the server log has the details"
        );
    }
}
