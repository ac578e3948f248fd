//! Pull requests and repository contents, read from what the test controls
//! seeded: `/repos/{owner}/{repo}/pulls/{number}[/files]` and
//! `/repos/{owner}/{repo}/contents/{path}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::Extension;

use crate::error::{json_response, ApiError, DOCS_GET_CONTENT};
use crate::pagination::Page;
use crate::routes::{paginated, path_number};
use crate::server::{RequestContext, Shared};
use crate::state::StoreError;

/// `GET /repos/{owner}/{repo}/pulls/{pull_number}`
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RequestContext>,
    Path((owner, repo, number)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let number = path_number(&number)?;
    let pull = shared
        .store
        .get_pull(&ctx.render(&shared), &owner, &repo, number)
        .map_err(|_| ApiError::NotFound)?;
    Ok(json_response(StatusCode::OK, &pull))
}

/// `GET /repos/{owner}/{repo}/pulls/{pull_number}/files`
pub(crate) async fn list_files(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RequestContext>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let number = path_number(&number)?;
    let page = Page::from_query(uri.query());
    let listed = shared
        .store
        .list_pull_files(&ctx.render(&shared), &owner, &repo, number, page)
        .map_err(|_| ApiError::NotFound)?;
    Ok(paginated(&ctx, &uri, page, listed))
}

/// `GET /repos/{owner}/{repo}/contents/{path}[?ref=]`: files only. Without
/// `ref`, the head most recently seeded or updated in the repository stands in
/// for the default branch.
pub(crate) async fn get_contents(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RequestContext>,
    Path((owner, repo, path)): Path<(String, String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let git_ref = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(key, _)| key == "ref")
        .map(|(_, value)| value.into_owned())
        // GitHub treats an empty `ref` like an absent one.
        .filter(|git_ref| !git_ref.is_empty());
    let contents = shared
        .store
        .get_contents(
            &ctx.render(&shared),
            &owner,
            &repo,
            &path,
            git_ref.as_deref(),
        )
        .map_err(|err| match err {
            StoreError::UnknownRef => ApiError::NotFoundMessage {
                message: format!(
                    "No commit found for the ref {}",
                    git_ref.as_deref().unwrap_or_default()
                ),
                docs: DOCS_GET_CONTENT,
            },
            StoreError::NotFound | StoreError::ConclusionRequired => ApiError::NotFound,
        })?;
    Ok(json_response(StatusCode::OK, &contents))
}
