//! Errors as RFC 9457 problem details (`application/problem+json`).
//!
//! Every error the API answers goes through [`ApiError`], so clients always get the same
//! shape: `type` (always `about:blank`: the HTTP status says what kind of error it is),
//! `title`, `status`, `detail` (what was wrong and what to do) and `code`, a stable word a
//! script can switch on. A 500 never carries internals; the cause is logged instead.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gdt_tracker::deployments::{ServiceError, UpdateRejection};
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
    /// A stable machine-readable word: `unauthorized`, `invalid_json`, `invalid_input`,
    /// `unknown_status`, `deployment_terminal`, `deployment_finished`, `not_found`,
    /// `workflow_id_conflict`, `payload_too_large`, `unsupported_media_type`,
    /// `temporal_unavailable`, `timeout`, `busy`, `internal`. A problem may carry more members
    /// (RFC 9457 extensions), e.g. the webhook's `checks`.
    pub code: String,
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
        code: &'static str,
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
        code: &'static str,
        /// What was wrong and what to do.
        detail: String,
    },
}

impl ApiError {
    /// An error with this status, code and detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self::Status {
            status,
            code,
            detail: detail.into(),
        }
    }

    /// A problem with extension members, e.g. what happened to each part of a request.
    pub fn with_members(
        status: StatusCode,
        code: &'static str,
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
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail)
    }

    /// `404 Not Found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
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
            Self::Unauthorized { detail, .. } => ("unauthorized", detail.clone()),
            Self::Status { code, detail, .. }
                if status.is_server_error() && *code == "internal" =>
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
            code: code.to_owned(),
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
            ServiceError::InvalidInput(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            ServiceError::Rejected(UpdateRejection::UnknownStatus(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_status")
            }
            ServiceError::Rejected(UpdateRejection::Terminal(_)) => {
                (StatusCode::CONFLICT, "deployment_terminal")
            }
            ServiceError::Rejected(UpdateRejection::Invalid(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_status_update")
            }
            ServiceError::Finished { .. } => (StatusCode::CONFLICT, "deployment_finished"),
            ServiceError::NotCreated { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "deployment_not_created")
            }
            ServiceError::Conflict(_) => (StatusCode::CONFLICT, "workflow_id_conflict"),
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ServiceError::Unavailable(_) | ServiceError::Temporal(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "temporal_unavailable")
            }
        };
        Self::new(status, code, detail)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
            _ => "invalid_json",
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
            "invalid_query",
            rejection.body_text(),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            rejection.body_text(),
        )
    }
}
