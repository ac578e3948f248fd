//! Deployments and deployment statuses:
//! `/repos/{owner}/{repo}/deployments[/{id}[/statuses]]`.

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;

use crate::context::RepoRequest;
use crate::error::{
    json_response, ApiError, DOCS_CREATE_DEPLOYMENT, DOCS_CREATE_STATUS, DOCS_DELETE_DEPLOYMENT,
};
use crate::objects::Actor;
use crate::pagination::Page;
use crate::routes::{paginated, parse_object, Body};
use crate::state::{Deployment, DeploymentFilter, DeploymentState, NewDeployment, NewStatus};

/// GitHub's limit on a status description, in characters.
const MAX_STATUS_DESCRIPTION_CHARS: usize = 140;

/// `POST /repos/{owner}/{repo}/deployments`
pub(crate) async fn create(req: RepoRequest, body: Bytes) -> Result<Response, ApiError> {
    let docs = DOCS_CREATE_DEPLOYMENT;
    let body = Body::new(parse_object(&body, docs)?, docs);
    let new = parse_new_deployment(&body, req.ctx.actor())?;
    let (created, repository) = req
        .store()
        .create_deployment(&req.scope(), new, Utc::now())
        .map_err(|err| ApiError::from_store(&err, docs))?;
    let mut payload = event_payload(&req, repository);
    payload["deployment"] = created.clone();
    req.shared.webhooks.send("deployment", payload);
    Ok(json_response(StatusCode::CREATED, &created))
}

fn parse_new_deployment(body: &Body, actor: Actor) -> Result<NewDeployment, ApiError> {
    let git_ref = body.required_string("ref")?;
    let task = body.string("task")?.unwrap_or_else(|| "deploy".to_owned());
    // Merging is not emulated: the sandbox's branches are always up to date,
    // so `auto_merge` and `required_contexts` are only type-checked.
    body.boolean("auto_merge")?;
    body.string_array("required_contexts")?;
    let payload = match body.get("payload") {
        None => Value::Object(serde_json::Map::new()),
        Some(Value::Object(map)) => Value::Object(map.clone()),
        // GitHub also takes the payload as a JSON-encoded string and returns it
        // decoded; strings that are not a JSON object are refused because the
        // deployment schema only allows an object there.
        Some(Value::String(s)) if s.trim().is_empty() => Value::Object(serde_json::Map::new()),
        Some(value @ Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(object @ Value::Object(_)) => object,
            _ => return Err(body.type_error("payload", value, "an object")),
        },
        Some(other) => return Err(body.type_error("payload", other, "an object")),
    };
    let environment = body
        .string("environment")?
        .unwrap_or_else(|| "production".to_owned());
    let description = body.string("description")?;
    let transient_environment = body.boolean("transient_environment")?.unwrap_or(false);
    let production_environment = body
        .boolean("production_environment")?
        .unwrap_or(environment == "production");
    Ok(NewDeployment {
        git_ref,
        task,
        payload,
        environment,
        description,
        transient_environment,
        production_environment,
        actor,
    })
}

/// `GET /repos/{owner}/{repo}/deployments`
pub(crate) async fn list(req: RepoRequest, uri: Uri) -> Response {
    let mut filter = DeploymentFilter::default();
    for (key, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        let value = Some(value.into_owned());
        match key.as_ref() {
            "sha" => filter.sha = value,
            "ref" => filter.git_ref = value,
            "task" => filter.task = value,
            "environment" => filter.environment = value,
            _ => {}
        }
    }
    let page = Page::from_query(uri.query());
    let listed = req.store().list_deployments(&req.scope(), &filter, page);
    paginated(&req.ctx, &uri, page, listed)
}

/// `GET /repos/{owner}/{repo}/deployments/{id}`
pub(crate) async fn get_one(req: RepoRequest<u64>) -> Result<Response, ApiError> {
    let deployment = req.store().get::<Deployment>(&req.scope(), req.rest)?;
    Ok(json_response(StatusCode::OK, &deployment))
}

/// `POST /repos/{owner}/{repo}/deployments/{id}/statuses`
pub(crate) async fn create_status(
    req: RepoRequest<u64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = Body::new(parse_object(&body, DOCS_CREATE_STATUS)?, DOCS_CREATE_STATUS);
    let new = parse_new_status(&body, req.ctx.actor())?;
    let created = req
        .store()
        .create_status(&req.scope(), req.rest, new, Utc::now())?;
    // The new status's event first, then those of the statuses
    // `auto_inactive` added because of it.
    let statuses =
        std::iter::once((created.status.clone(), created.deployment)).chain(created.inactivated);
    for (status, deployment) in statuses {
        let mut payload = event_payload(&req, created.repository.clone());
        payload["deployment_status"] = status;
        payload["deployment"] = deployment;
        req.shared.webhooks.send("deployment_status", payload);
    }
    Ok(json_response(StatusCode::CREATED, &created.status))
}

/// What every webhook payload of a request carries: action `created`, the
/// repository, the sender and (for installation tokens) the installation.
fn event_payload<T>(req: &RepoRequest<T>, repository: Value) -> Value {
    let mut payload = serde_json::json!({
        "action": "created",
        "sender": req.scope().render.creator(req.ctx.actor()),
    });
    payload["repository"] = repository;
    if let Some(id) = req.ctx.installation_id() {
        payload["installation"] = crate::webhooks::installation(id);
    }
    payload
}

fn parse_new_status(body: &Body, actor: Actor) -> Result<NewStatus, ApiError> {
    let state = body.required_string("state")?;
    let state = DeploymentState::parse(&state).ok_or_else(|| ApiError::ValidationFailed {
        resource: "DeploymentStatus",
        field: "state",
        message: "state is not included in the list".to_owned(),
        docs: DOCS_CREATE_STATUS,
    })?;
    let description = body.string("description")?.unwrap_or_default();
    if description.chars().count() > MAX_STATUS_DESCRIPTION_CHARS {
        return Err(ApiError::ValidationFailed {
            resource: "DeploymentStatus",
            field: "description",
            message: format!(
                "description is too long (maximum is {MAX_STATUS_DESCRIPTION_CHARS} characters)"
            ),
            docs: DOCS_CREATE_STATUS,
        });
    }
    // GitHub keeps `target_url` and `log_url` as one value: setting either
    // sets both (`log_url` wins when both are given).
    let target_url = body.string("target_url")?;
    let log_url = body.string("log_url")?;
    let url = log_url.or(target_url).unwrap_or_default();
    Ok(NewStatus {
        state,
        description,
        environment: body.string("environment")?,
        environment_url: body.string("environment_url")?.unwrap_or_default(),
        target_url: url.clone(),
        log_url: url,
        auto_inactive: body.boolean("auto_inactive")?.unwrap_or(true),
        actor,
    })
}

/// `GET /repos/{owner}/{repo}/deployments/{id}/statuses`
pub(crate) async fn list_statuses(req: RepoRequest<u64>, uri: Uri) -> Result<Response, ApiError> {
    let page = Page::from_query(uri.query());
    let listed = req.store().list_statuses(&req.scope(), req.rest, page)?;
    Ok(paginated(&req.ctx, &uri, page, listed))
}

/// `DELETE /repos/{owner}/{repo}/deployments/{id}`: `204`; GitHub's 422
/// when the deployment is not inactive and is not the repository's only one.
pub(crate) async fn delete(req: RepoRequest<u64>) -> Result<Response, ApiError> {
    req.store()
        .delete_deployment(&req.scope(), req.rest)
        .map_err(|err| ApiError::from_store(&err, DOCS_DELETE_DEPLOYMENT))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
