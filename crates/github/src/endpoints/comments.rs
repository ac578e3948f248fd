//! Comments on issues and pull requests (`/repos/{owner}/{repo}/issues/.../comments`).

use gdt_metrics::labels::Endpoint;
use http::Method;
use url::Url;

use crate::client::transport::Request;
use crate::error::Error;
use crate::types::IssueComment;
use crate::Client;

/// A safety net against pagination loops: 10,000 comments on one issue.
const COMMENTS_MAX_PAGES: u32 = 100;

impl Client {
    /// Lists the comments on an issue or pull request
    /// (`GET /repos/{owner}/{repo}/issues/{number}/comments`), oldest first,
    /// following every page.
    pub async fn list_issue_comments(
        &self,
        owner: &str,
        repo: &str,
        issue_number: u64,
    ) -> Result<Vec<IssueComment>, Error> {
        let url = self.issue_comments_endpoint(owner, repo, issue_number)?;
        self.get_all(
            Endpoint::IssueComments,
            url,
            COMMENTS_MAX_PAGES,
            "issue comments",
        )
        .await
    }

    /// Comments on an issue or pull request
    /// (`POST /repos/{owner}/{repo}/issues/{number}/comments`).
    ///
    /// Like every create, not repeated in-process after a 5xx or a broken
    /// connection (GitHub may have created the comment): the error comes
    /// back and the caller decides, e.g. after listing the comments.
    pub async fn create_issue_comment(
        &self,
        owner: &str,
        repo: &str,
        issue_number: u64,
        body: &str,
    ) -> Result<IssueComment, Error> {
        let url = self.issue_comments_endpoint(owner, repo, issue_number)?;
        let req = Request::new(Endpoint::IssueComments, Method::POST, url)
            .json(&serde_json::json!({ "body": body }))?;
        self.send_json(req, "issue comment").await
    }

    /// Replaces a comment's body
    /// (`PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}`). Setting
    /// the same body twice does no harm, so this is retried like a read.
    pub async fn update_issue_comment(
        &self,
        owner: &str,
        repo: &str,
        comment_id: u64,
        body: &str,
    ) -> Result<IssueComment, Error> {
        let url = self.comment_endpoint(owner, repo, comment_id)?;
        let req = Request::new(Endpoint::IssueComments, Method::PATCH, url)
            .json(&serde_json::json!({ "body": body }))?
            .idempotent();
        self.send_json(req, "issue comment").await
    }

    /// Deletes a comment
    /// (`DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}`). Deleting
    /// twice leaves the same result, so this is retried like a read, and a
    /// comment already gone (404) counts as deleted.
    pub async fn delete_issue_comment(
        &self,
        owner: &str,
        repo: &str,
        comment_id: u64,
    ) -> Result<(), Error> {
        let url = self.comment_endpoint(owner, repo, comment_id)?;
        let req = Request::new(Endpoint::IssueComments, Method::DELETE, url).idempotent();
        match self.execute(&req).await {
            Ok(_) | Err(Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// `/repos/{owner}/{repo}/issues/{number}/comments`.
    fn issue_comments_endpoint(&self, owner: &str, repo: &str, number: u64) -> Result<Url, Error> {
        self.repo_endpoint(owner, repo, &["issues", &number.to_string(), "comments"])
    }

    /// `/repos/{owner}/{repo}/issues/comments/{comment_id}`.
    fn comment_endpoint(&self, owner: &str, repo: &str, comment_id: u64) -> Result<Url, Error> {
        self.repo_endpoint(
            owner,
            repo,
            &["issues", "comments", &comment_id.to_string()],
        )
    }
}
