//! Issue comments on seeded pull requests:
//! `/repos/{owner}/{repo}/issues/{number}/comments` and
//! `/repos/{owner}/{repo}/issues/comments/{id}` (read, edit, delete).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse as _, Response};
use axum::Extension;
use chrono::Utc;

use crate::error::{json_response, ApiError, DOCS_CREATE_COMMENT, DOCS_UPDATE_COMMENT};
use crate::pagination::Page;
use crate::routes::{actor, paginated, parse_object, path_number, Body};
use crate::server::{RequestContext, Shared};
use crate::state::NewComment;

/// GitHub's limit on a comment body, in characters.
const MAX_BODY_CHARS: usize = 65_536;

/// `GET /repos/{owner}/{repo}/issues/{issue_number}/comments`
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RequestContext>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let number = path_number(&number)?;
    let page = Page::from_query(uri.query());
    let listed = shared
        .store
        .list_comments(&ctx.render(&shared), &owner, &repo, number, page)
        .map_err(|_| ApiError::NotFound)?;
    Ok(paginated(&ctx, &uri, page, listed))
}

/// `POST /repos/{owner}/{repo}/issues/{issue_number}/comments`
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RequestContext>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let number = path_number(&number)?;
    let body = comment_body(&body, DOCS_CREATE_COMMENT)?;
    let new = NewComment {
        body,
        actor: actor(&ctx),
    };
    let created = shared
        .store
        .create_comment(&ctx.render(&shared), &owner, &repo, number, new, Utc::now())
        .map_err(|_| ApiError::NotFound)?;
    Ok(json_response(StatusCode::CREATED, &created))
}

/// `GET /repos/{owner}/{repo}/issues/comments/{comment_id}`
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RequestContext>,
    Path((owner, repo, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id = path_number(&id)?;
    let comment = shared
        .store
        .get_comment(&ctx.render(&shared), &owner, &repo, id)
        .map_err(|_| ApiError::NotFound)?;
    Ok(json_response(StatusCode::OK, &comment))
}

/// `PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}`
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RequestContext>,
    Path((owner, repo, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = path_number(&id)?;
    let body = comment_body(&body, DOCS_UPDATE_COMMENT)?;
    let updated = shared
        .store
        .update_comment(&ctx.render(&shared), &owner, &repo, id, body, Utc::now())
        .map_err(|_| ApiError::NotFound)?;
    Ok(json_response(StatusCode::OK, &updated))
}

/// `DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}`: `204`, as on GitHub.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((owner, repo, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id = path_number(&id)?;
    shared
        .store
        .delete_comment(&owner, &repo, id)
        .map_err(|_| ApiError::NotFound)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The `body` of a create or update request: required, not blank, at most
/// 65536 characters.
fn comment_body(raw: &[u8], docs: &'static str) -> Result<String, ApiError> {
    let body = Body::new(parse_object(raw, docs)?, docs).required_string("body")?;
    if body.trim().is_empty() {
        return Err(ApiError::MissingField {
            resource: "IssueComment",
            field: "body",
            docs,
        });
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(ApiError::ValidationFailed {
            resource: "IssueComment",
            field: "body",
            message: format!("body is too long (maximum is {MAX_BODY_CHARS} characters)"),
            docs,
        });
    }
    Ok(body)
}
