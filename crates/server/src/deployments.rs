//! `/api/v1/deployments`: start a deployment, report its status, read it, list them.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gdt_github::DeploymentState;
use gdt_tracker::deployments::model::check_service;
use gdt_tracker::deployments::{
    DeploymentDetails, DeploymentStatusUpdate, DeploymentWorkflowInput, ListFilter,
    ListedDeployment, StartOutcome, StatusUpdateAck,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::problem::ApiError;
use crate::AppState;

/// Largest `limit` of a list.
pub const MAX_LIST_LIMIT: u32 = 100;
/// `limit` of a list when none is given.
pub const DEFAULT_LIST_LIMIT: u32 = 20;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/deployments",
            post(start_deployment).get(list_deployments),
        )
        .route("/api/v1/deployments/{workflow_id}", get(get_deployment))
        .route(
            "/api/v1/deployments/{workflow_id}/status",
            post(report_status),
        )
}

/// The body of `POST /api/v1/deployments`: the workflow's `DeploymentWorkflowInput` and an
/// optional workflow id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct StartDeployment {
    /// The workflow id (default `deployment-{owner}-{repo}-{environment}-{execution id or
    /// SHA}`, with `-{service}` before the last part when a service is named). The same id
    /// again reaches the same workflow: nothing new is started.
    #[serde(default)]
    pub workflow_id: Option<String>,
    /// The deployment.
    #[serde(flatten)]
    pub input: DeploymentWorkflowInput,
}

/// The answer to `POST /api/v1/deployments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeploymentStarted {
    /// The workflow tracking the deployment.
    pub workflow_id: String,
    /// Its run id.
    pub run_id: String,
    /// `true` when this request started it (`201`), `false` when it already existed (`200`).
    pub created: bool,
    /// The GitHub deployment id, when the workflow created it within the wait
    /// (`server.deployment_id_wait`); read it later with `GET /api/v1/deployments/{id}`.
    pub deployment_id: Option<u64>,
    /// Where to send status updates.
    pub status_url: String,
    /// Temporal's status of the workflow: `running`, or how it ended (`completed`,
    /// `failed`, `terminated`, `timed_out`, `canceled`) when this start found it closed.
    pub workflow_status: String,
    /// Why the workflow ended without completing, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DeploymentStarted {
    /// The answer for what [`gdt_tracker::deployments::DeploymentService::start_and_wait`]
    /// found, with `status_url` where updates go.
    pub fn new(outcome: StartOutcome, status_url: String) -> Self {
        Self {
            status_url,
            workflow_id: outcome.started.workflow_id,
            run_id: outcome.started.run_id,
            created: outcome.started.created,
            deployment_id: outcome.deployment_id,
            workflow_status: outcome.workflow_status,
            error: outcome.error,
        }
    }
}

/// The answer to `POST /api/v1/deployments/{workflow_id}/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusAccepted {
    /// The workflow.
    pub workflow_id: String,
    /// What the workflow did with the update.
    #[serde(flatten)]
    pub ack: StatusUpdateAck,
}

/// The answer to `GET /api/v1/deployments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeploymentList {
    /// Newest first.
    pub deployments: Vec<ListedDeployment>,
}

/// Filters of `GET /api/v1/deployments`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this repository, `owner/name`.
    pub repository: Option<String>,
    /// Only this environment.
    pub environment: Option<String>,
    /// Only deployments whose last GitHub state is this (`pending`, `queued`,
    /// `in_progress`, `success`, `failure`, `error`, `inactive`).
    pub state: Option<String>,
    /// Only deployments of this service.
    pub service: Option<String>,
    /// At most this many (1–100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// JSON in, with every rejection (bad JSON, wrong types, wrong content type, too large)
/// answered as a problem.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// Start tracking a deployment.
///
/// Starts `GitHubDeploymentWorkflow`, which creates the GitHub deployment and posts the
/// initial status. The same request again (same workflow id) starts nothing and answers
/// `200` with the same workflow, so a pipeline may retry this call safely. When the workflow
/// has already ended without creating the GitHub deployment (GitHub refused it: an unknown
/// ref, bad credentials), the answer is `422` `deployment_not_created` with GitHub's reason.
#[utoipa::path(
    post,
    path = "/api/v1/deployments",
    tag = "deployments",
    request_body = StartDeployment,
    responses(
        (status = 201, description = "Started", body = DeploymentStarted,
            headers(("Location" = String, description = "The deployment's URL"))),
        (status = 200, description = "Already started by an earlier request", body = DeploymentStarted,
            headers(("Location" = String, description = "The deployment's URL"))),
        (status = 409, description = "The workflow id tracks another deployment", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input, or the workflow ended without creating the GitHub deployment (`deployment_not_created`)", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn start_deployment(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<StartDeployment>,
) -> Result<Response, ApiError> {
    let mut input = body.input;
    if input.inactivity_timeout_seconds.is_none() {
        input.inactivity_timeout_seconds =
            Some(state.settings.default_inactivity_timeout.as_secs().max(1));
    }
    // Say what is wrong before reaching for Temporal.
    input
        .validate()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let workflow_id = body
        .workflow_id
        .unwrap_or_else(|| input.default_workflow_id());
    let service = &state.temporal.services().await?.deployments;
    let outcome = service
        .start_and_wait(&input, &workflow_id, state.settings.deployment_id_wait)
        .await?;
    let location = deployment_path(&workflow_id);
    let status = if outcome.started.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = DeploymentStarted::new(outcome, format!("{location}/status"));
    Ok((status, [(header::LOCATION, location)], Json(body)).into_response())
}

/// Report a deployment's status.
///
/// Hands the `DeploymentStatusUpdate` to the workflow as a Temporal update; the
/// workflow validates it first, so the answer is the workflow's own decision. Accepted
/// updates are posted to GitHub in arrival order. Updates with the same `event_id` are one
/// update.
#[utoipa::path(
    post,
    path = "/api/v1/deployments/{workflow_id}/status",
    tag = "deployments",
    params(("workflow_id" = String, Path, description = "The deployment's workflow id")),
    request_body = DeploymentStatusUpdate,
    responses(
        (status = 202, description = "Accepted: queued for GitHub, a repeated event_id, or stored for a worker (`queued_for_worker`)", body = StatusAccepted),
        (status = 404, description = "No such deployment", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The deployment is terminal or finished", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn report_status(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    ApiJson(update): ApiJson<DeploymentStatusUpdate>,
) -> Result<Response, ApiError> {
    let Path(workflow_id) = path?;
    let service = &state.temporal.services().await?.deployments;
    let ack = service.submit_status(&workflow_id, update).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(StatusAccepted { workflow_id, ack }),
    )
        .into_response())
}

/// A deployment's state: the `deployment-state` query's answer, with the workflow's status
/// and, when it ended without completing, why (`error`).
#[utoipa::path(
    get,
    path = "/api/v1/deployments/{workflow_id}",
    tag = "deployments",
    params(("workflow_id" = String, Path, description = "The deployment's workflow id")),
    responses(
        (status = 200, description = "The deployment", body = DeploymentDetails),
        (status = 404, description = "No such deployment", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_deployment(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<ApiJson<DeploymentDetails>, ApiError> {
    let Path(workflow_id) = path?;
    let service = &state.temporal.services().await?.deployments;
    Ok(ApiJson(service.details(&workflow_id).await?))
}

/// List deployments, newest first, from Temporal visibility.
#[utoipa::path(
    get,
    path = "/api/v1/deployments",
    tag = "deployments",
    params(ListParams),
    responses(
        (status = 200, description = "Deployments, newest first", body = DeploymentList),
        (status = 422, description = "A filter is not valid", body = crate::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_deployments(
    State(state): State<AppState>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<ApiJson<DeploymentList>, ApiError> {
    let Query(params) = query?;
    let filter = list_filter(params)?;
    let service = &state.temporal.services().await?.deployments;
    Ok(ApiJson(DeploymentList {
        deployments: service.list(&filter).await?,
    }))
}

fn list_filter(params: ListParams) -> Result<ListFilter, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    if !(1..=MAX_LIST_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit {limit}: use 1 to {MAX_LIST_LIMIT}"
        )));
    }
    Ok(ListFilter {
        repository: checked_repository(params.repository)?,
        environment: given(params.environment),
        state: checked_state(params.state)?,
        service: checked_service(params.service)?,
        limit: limit as usize,
    })
}

/// A query parameter given a value (an empty one counts as absent).
pub(crate) fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// A `repository` filter: `owner/name`.
pub(crate) fn checked_repository(value: Option<String>) -> Result<Option<String>, ApiError> {
    let repository = given(value);
    if let Some(repo) = &repository {
        let valid = repo
            .split_once('/')
            .is_some_and(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'));
        if !valid {
            return Err(ApiError::invalid(format!(
                "repository {repo:?}: use owner/name, e.g. acme/api"
            )));
        }
    }
    Ok(repository)
}

/// A `state` filter: a GitHub deployment state.
pub(crate) fn checked_state(value: Option<String>) -> Result<Option<String>, ApiError> {
    let state = given(value);
    if let Some(word) = &state {
        if word.parse::<DeploymentState>().is_err() {
            return Err(ApiError::invalid(format!(
                "state {word:?} is not a GitHub deployment state: use pending, queued, \
                 in_progress, success, failure, error or inactive"
            )));
        }
    }
    Ok(state)
}

/// A `service` filter: a service name as deployments give it.
pub(crate) fn checked_service(value: Option<String>) -> Result<Option<String>, ApiError> {
    let service = given(value);
    if let Some(service) = &service {
        check_service(service).map_err(|e| ApiError::invalid(e.to_string()))?;
    }
    Ok(service)
}

/// Every byte but RFC 3986's unreserved characters is percent-encoded in a path segment, so
/// `/`, `?`, `#`, `%` and spaces in a workflow id stay inside its segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The API path of a deployment, the id percent-encoded as one path segment. A segment of
/// only dots would be read as `.` or `..` and resolved away by clients, so its dots are
/// encoded too (the API refuses to start such ids, but other starters may not).
fn deployment_path(workflow_id: &str) -> String {
    let encoded = if workflow_id == "." || workflow_id == ".." {
        "%2E".repeat(workflow_id.len())
    } else {
        percent_encoding::utf8_percent_encode(workflow_id, SEGMENT).to_string()
    };
    format!("/api/v1/deployments/{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filters_are_checked() {
        let ok = list_filter(ListParams {
            repository: Some("acme/api".to_owned()),
            state: Some("success".to_owned()),
            environment: Some(String::new()),
            service: Some("services/api".to_owned()),
            limit: None,
        })
        .unwrap();
        assert_eq!(ok.limit, 20);
        assert_eq!(ok.service.as_deref(), Some("services/api"));
        assert_eq!(ok.environment, None);
        for bad in [
            ListParams {
                repository: Some("acme".to_owned()),
                ..ListParams::default()
            },
            ListParams {
                state: Some("done".to_owned()),
                ..ListParams::default()
            },
            ListParams {
                service: Some("api#1".to_owned()),
                ..ListParams::default()
            },
            ListParams {
                limit: Some(0),
                ..ListParams::default()
            },
            ListParams {
                limit: Some(101),
                ..ListParams::default()
            },
        ] {
            assert_eq!(
                list_filter(bad).unwrap_err().status(),
                StatusCode::UNPROCESSABLE_ENTITY
            );
        }
    }

    #[test]
    fn locations_encode_the_workflow_id() {
        assert_eq!(
            deployment_path("deployment-acme-api-prod-1"),
            "/api/v1/deployments/deployment-acme-api-prod-1"
        );
        assert_eq!(deployment_path("a/b c"), "/api/v1/deployments/a%2Fb%20c");
        assert_eq!(
            deployment_path("x?y#z%"),
            "/api/v1/deployments/x%3Fy%23z%25"
        );
        assert_eq!(deployment_path("ü"), "/api/v1/deployments/%C3%BC");
        assert_eq!(deployment_path(".."), "/api/v1/deployments/%2E%2E");
        assert_eq!(deployment_path("."), "/api/v1/deployments/%2E");
        assert_eq!(deployment_path("a..b"), "/api/v1/deployments/a..b");
    }
}
