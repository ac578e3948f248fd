//! Issue comments on pull requests:
//! `/repos/{owner}/{repo}/issues/{number}/comments` and
//! `/repos/{owner}/{repo}/issues/comments/{id}` (read, edit, delete).

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse as _, Response};
use chrono::Utc;

use crate::context::RepoRequest;
use crate::error::{json_response, ApiError, DOCS_CREATE_COMMENT, DOCS_UPDATE_COMMENT};
use crate::pagination::Page;
use crate::routes::{paginated, parse_object, Body};
use crate::state::{Comment, NewComment};

/// GitHub's limit on a comment body, in characters.
const MAX_BODY_CHARS: usize = 65_536;

/// `GET /repos/{owner}/{repo}/issues/{issue_number}/comments`
pub(crate) async fn list(req: RepoRequest<u64>, uri: Uri) -> Result<Response, ApiError> {
    let page = Page::from_query(uri.query());
    let listed = req.store().list_comments(&req.scope(), req.rest, page)?;
    Ok(paginated(&req.ctx, &uri, page, listed))
}

/// `POST /repos/{owner}/{repo}/issues/{issue_number}/comments`
pub(crate) async fn create(req: RepoRequest<u64>, body: Bytes) -> Result<Response, ApiError> {
    let new = NewComment {
        body: comment_body(&body, DOCS_CREATE_COMMENT)?,
        actor: req.ctx.actor(),
    };
    let created = req
        .store()
        .create_comment(&req.scope(), req.rest, new, Utc::now())?;
    Ok(json_response(StatusCode::CREATED, &created))
}

/// `GET /repos/{owner}/{repo}/issues/comments/{comment_id}`
pub(crate) async fn get_one(req: RepoRequest<u64>) -> Result<Response, ApiError> {
    let comment = req.store().get::<Comment>(&req.scope(), req.rest)?;
    Ok(json_response(StatusCode::OK, &comment))
}

/// `PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}`
pub(crate) async fn update(req: RepoRequest<u64>, body: Bytes) -> Result<Response, ApiError> {
    let body = comment_body(&body, DOCS_UPDATE_COMMENT)?;
    let updated = req
        .store()
        .update_comment(&req.scope(), req.rest, body, Utc::now())?;
    Ok(json_response(StatusCode::OK, &updated))
}

/// `DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}`: `204`, as on GitHub.
pub(crate) async fn delete(req: RepoRequest<u64>) -> Result<Response, ApiError> {
    req.store().delete_comment(&req.repo, req.rest)?;
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
