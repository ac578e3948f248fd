//! Pull requests and repository contents, read from what the test controls
//! created: `/repos/{owner}/{repo}/pulls/{number}[/files]` and
//! `/repos/{owner}/{repo}/contents/{path}`.

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::Response;

use crate::conditional::http_date;
use crate::context::RepoRequest;
use crate::error::{json_response, ApiError, DOCS_GET_CONTENT};
use crate::pagination::Page;
use crate::routes::paginated;

/// `GET /repos/{owner}/{repo}/pulls/{pull_number}`
pub(crate) async fn get_one(req: RepoRequest<u64>) -> Result<Response, ApiError> {
    let pull = req.store().get_pull(&req.scope(), req.rest)?;
    Ok(json_response(StatusCode::OK, &pull))
}

/// `GET /repos/{owner}/{repo}/pulls/{pull_number}/files`
pub(crate) async fn list_files(req: RepoRequest<u64>, uri: Uri) -> Result<Response, ApiError> {
    let page = Page::from_query(uri.query());
    let listed = req.store().list_pull_files(&req.scope(), req.rest, page)?;
    Ok(paginated(&req.ctx, &uri, page, listed))
}

/// `GET /repos/{owner}/{repo}/contents/{path}[?ref=]`: files only. Without
/// `ref`, the head most recently created or updated in the repository stands
/// in for the default branch.
pub(crate) async fn get_contents(req: RepoRequest<String>, uri: Uri) -> Result<Response, ApiError> {
    let git_ref = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(key, _)| key == "ref")
        .map(|(_, value)| value.into_owned())
        // GitHub treats an empty `ref` like an absent one.
        .filter(|git_ref| !git_ref.is_empty());
    let (contents, given_at) = req
        .store()
        .get_contents(&req.scope(), &req.rest, git_ref.as_deref())
        .map_err(|err| ApiError::from_store(&err, DOCS_GET_CONTENT))?;
    let mut response = json_response(StatusCode::OK, &contents);
    // GitHub dates contents by the commit that last touched them; the object has no
    // `updated_at` for the GitHub layer to read, so the handler says it.
    if let Ok(date) = HeaderValue::from_str(&http_date(given_at)) {
        response.headers_mut().insert(header::LAST_MODIFIED, date);
    }
    Ok(response)
}
