//! GitHub's error answers, one variant each, rendered with GitHub's exact
//! body shape (`message`, `documentation_url`, `status` as a string).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// `documentation_url` of errors that have no more specific page.
pub(crate) const DOCS_REST: &str = "https://docs.github.com/rest";
/// `documentation_url` of rate-limit errors.
pub(crate) const DOCS_RATE_LIMIT: &str =
    "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting";
/// `documentation_url` of the create-deployment endpoint's errors.
pub(crate) const DOCS_CREATE_DEPLOYMENT: &str =
    "https://docs.github.com/rest/deployments/deployments#create-a-deployment";
/// `documentation_url` of the create-deployment-status endpoint's errors.
pub(crate) const DOCS_CREATE_STATUS: &str =
    "https://docs.github.com/rest/deployments/statuses#create-a-deployment-status";
/// `documentation_url` of the delete-deployment endpoint's errors.
pub(crate) const DOCS_DELETE_DEPLOYMENT: &str =
    "https://docs.github.com/rest/deployments/deployments#delete-a-deployment";
/// `documentation_url` of the create-or-update-environment endpoint's errors.
pub(crate) const DOCS_PUT_ENVIRONMENT: &str =
    "https://docs.github.com/rest/deployments/environments#create-or-update-an-environment";
/// `documentation_url` of the contents endpoint's errors.
pub(crate) const DOCS_GET_CONTENT: &str =
    "https://docs.github.com/rest/repos/contents#get-repository-content";
/// `documentation_url` of the create-issue-comment endpoint's errors.
pub(crate) const DOCS_CREATE_COMMENT: &str =
    "https://docs.github.com/rest/issues/comments#create-an-issue-comment";
/// `documentation_url` of the update-issue-comment endpoint's errors.
pub(crate) const DOCS_UPDATE_COMMENT: &str =
    "https://docs.github.com/rest/issues/comments#update-an-issue-comment";
/// `documentation_url` of the create-check-run endpoint's errors.
pub(crate) const DOCS_CREATE_CHECK_RUN: &str =
    "https://docs.github.com/rest/checks/runs#create-a-check-run";
/// `documentation_url` of the update-check-run endpoint's errors.
pub(crate) const DOCS_UPDATE_CHECK_RUN: &str =
    "https://docs.github.com/rest/checks/runs#update-a-check-run";
/// `documentation_url` of the list-check-runs-for-a-ref endpoint's errors.
pub(crate) const DOCS_LIST_CHECK_RUNS: &str =
    "https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference";

/// The `message` of a secondary rate limit, before the request id.
pub(crate) const SECONDARY_MESSAGE: &str = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID";

/// An answer GitHub gives instead of the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// 404 for unknown routes and resources.
    NotFound,
    /// 404 with a message of its own, e.g. "No commit found for the ref x".
    NotFoundMessage { message: String, docs: &'static str },
    /// 401 without an `Authorization` header.
    RequiresAuthentication,
    /// 401 for a token that is unknown or expired.
    BadCredentials,
    /// 401 for a rejected App JWT, with GitHub's explanation.
    Jwt(&'static str),
    /// 400 for a body that is not JSON.
    ProblemsParsingJson,
    /// 422 from GitHub's schema validation: "Invalid request.\n\n{detail}".
    InvalidRequest { detail: String, docs: &'static str },
    /// 422 with a plain message, e.g. "No ref found for: x".
    Unprocessable { message: String, docs: &'static str },
    /// 422 "Validation Failed" with one `errors` entry of code `custom`.
    ValidationFailed {
        resource: &'static str,
        field: &'static str,
        message: String,
        docs: &'static str,
    },
    /// 422 "Validation Failed" with one `errors` entry of code `missing_field`,
    /// GitHub's answer to a required field that is present but blank.
    MissingField {
        resource: &'static str,
        field: &'static str,
        docs: &'static str,
    },
    /// 403 that is not a rate limit, e.g. a plain token on an App-only endpoint.
    Forbidden {
        message: &'static str,
        docs: &'static str,
    },
    /// 403 primary rate limit; `who` is e.g. "installation ID 1".
    PrimaryRateLimit { who: String },
    /// 403 secondary rate limit, quoting the request id as GitHub does.
    SecondaryRateLimit { request_id: String },
}

impl ApiError {
    /// The HTTP status of the answer.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::NotFound | Self::NotFoundMessage { .. } => StatusCode::NOT_FOUND,
            Self::RequiresAuthentication | Self::BadCredentials | Self::Jwt(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::ProblemsParsingJson => StatusCode::BAD_REQUEST,
            Self::InvalidRequest { .. }
            | Self::Unprocessable { .. }
            | Self::ValidationFailed { .. }
            | Self::MissingField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Forbidden { .. }
            | Self::PrimaryRateLimit { .. }
            | Self::SecondaryRateLimit { .. } => StatusCode::FORBIDDEN,
        }
    }

    /// GitHub's JSON body for the answer.
    pub(crate) fn body(&self) -> Value {
        let status = self.status().as_u16().to_string();
        let simple = |message: &str, docs: &str| json!({"message": message, "documentation_url": docs, "status": status});
        match self {
            Self::NotFound => simple("Not Found", DOCS_REST),
            Self::NotFoundMessage { message, docs } => simple(message, docs),
            Self::RequiresAuthentication => simple("Requires authentication", DOCS_REST),
            Self::BadCredentials => simple("Bad credentials", DOCS_REST),
            Self::Jwt(message) => simple(message, DOCS_REST),
            Self::ProblemsParsingJson => simple("Problems parsing JSON", DOCS_REST),
            Self::InvalidRequest { detail, docs } => {
                simple(&format!("Invalid request.\n\n{detail}"), docs)
            }
            Self::Unprocessable { message, docs } => simple(message, docs),
            Self::ValidationFailed {
                resource,
                field,
                message,
                docs,
            } => json!({
                "message": "Validation Failed",
                "errors": [{
                    "resource": resource,
                    "code": "custom",
                    "field": field,
                    "message": message,
                }],
                "documentation_url": docs,
                "status": status,
            }),
            Self::MissingField {
                resource,
                field,
                docs,
            } => json!({
                "message": "Validation Failed",
                "errors": [{"resource": resource, "code": "missing_field", "field": field}],
                "documentation_url": docs,
                "status": status,
            }),
            Self::Forbidden { message, docs } => simple(message, docs),
            Self::PrimaryRateLimit { who } => {
                simple(&format!("API rate limit exceeded for {who}."), DOCS_RATE_LIMIT)
            }
            Self::SecondaryRateLimit { request_id } => simple(
                &format!("{SECONDARY_MESSAGE} {request_id}."),
                "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status(), &self.body())
    }
}

/// A JSON response with GitHub's exact content type (axum's `Json` omits the charset).
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        body.to_string(),
    )
        .into_response()
}
