//! Deployment environments: `/repos/{owner}/{repo}/environments[/{name}]`.

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{json, Value};

use crate::context::RepoRequest;
use crate::error::{json_response, ApiError, DOCS_PUT_ENVIRONMENT};
use crate::pagination::Page;
use crate::routes::{parse_object, with_link, Body};
use crate::state::{BranchPolicy, EnvironmentUpdate};

/// GitHub's limit on `wait_timer`, in minutes (30 days).
const MAX_WAIT_TIMER_MINUTES: u64 = 43_200;

/// `GET /repos/{owner}/{repo}/environments`: `{total_count, environments}`,
/// paginated with `per_page` and `page` and a `Link` header, as on GitHub.
pub(crate) async fn list(req: RepoRequest, uri: Uri) -> Response {
    let page = Page::from_query(uri.query());
    let listed = req.store().list_environments(&req.scope(), page);
    let body = json!({
        "total_count": listed.total,
        "environments": Value::Array(listed.items),
    });
    with_link(
        &req.ctx,
        &uri,
        page,
        listed.total,
        json_response(StatusCode::OK, &body),
    )
}

/// `GET /repos/{owner}/{repo}/environments/{name}`
pub(crate) async fn get_one(req: RepoRequest<String>) -> Result<Response, ApiError> {
    let environment = req.store().get_environment(&req.scope(), &req.rest)?;
    Ok(json_response(StatusCode::OK, &environment))
}

/// `PUT /repos/{owner}/{repo}/environments/{name}`: creates the environment
/// or updates it; the body is optional. `200` either way, as on GitHub.
pub(crate) async fn put(req: RepoRequest<String>, body: Bytes) -> Result<Response, ApiError> {
    let docs = DOCS_PUT_ENVIRONMENT;
    let body = Body::new(parse_object(&body, docs)?, docs);
    let update = parse_update(&body)?;
    let environment = req
        .store()
        .put_environment(&req.scope(), &req.rest, update, Utc::now());
    Ok(json_response(StatusCode::OK, &environment))
}

/// `DELETE /repos/{owner}/{repo}/environments/{name}`: `204`, deleting the
/// environment's deployments too.
pub(crate) async fn delete(req: RepoRequest<String>) -> Result<Response, ApiError> {
    req.store().delete_environment(&req.scope(), &req.rest)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn parse_update(body: &Body) -> Result<EnvironmentUpdate, ApiError> {
    let wait_timer = body.integer("wait_timer")?;
    if wait_timer.is_some_and(|w| w > MAX_WAIT_TIMER_MINUTES) {
        return Err(ApiError::InvalidRequest {
            detail: format!(
                "For 'properties/wait_timer', {} is greater than the maximum of {MAX_WAIT_TIMER_MINUTES}.",
                wait_timer.unwrap_or_default()
            ),
            docs: body.docs(),
        });
    }
    // Reviewers and self-review are type-checked only: the sandbox runs no
    // jobs, so nothing waits for a review.
    body.boolean("prevent_self_review")?;
    body.array("reviewers")?;
    let deployment_branch_policy = if let Some(policy) = body.object("deployment_branch_policy")? {
        let protected_branches = policy.boolean("protected_branches")?.unwrap_or(false);
        let custom_branch_policies = policy.boolean("custom_branch_policies")?.unwrap_or(false);
        if protected_branches == custom_branch_policies {
            return Err(ApiError::Unprocessable {
                message: "Only one of `protected_branches` or `custom_branch_policies` can be set to true.".to_owned(),
                docs: body.docs(),
            });
        }
        Some(Some(BranchPolicy {
            protected_branches,
            custom_branch_policies,
        }))
    } else if body.has_null("deployment_branch_policy") {
        Some(None)
    } else {
        None
    };
    Ok(EnvironmentUpdate {
        wait_timer,
        deployment_branch_policy,
    })
}
