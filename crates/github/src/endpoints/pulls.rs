//! Pull requests and the files they change (`/repos/{owner}/{repo}/pulls`).

use gdt_metrics::labels::Endpoint;

use crate::error::Error;
use crate::types::{PullFile, PullFiles, PullRequest, MAX_PULL_FILES};
use crate::Client;

/// GitHub lists at most 3,000 files of a pull request: 30 pages of 100.
const PULL_FILES_MAX_PAGES: u32 = 30;

impl Client {
    /// Reads a pull request (`GET /repos/{owner}/{repo}/pulls/{number}`).
    pub async fn get_pull(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<PullRequest, Error> {
        let url = self.repo_endpoint(owner, repo, &["pulls", &number.to_string()])?;
        self.get_json(Endpoint::Pulls, url, "pull request").await
    }

    /// Lists the files a pull request changes
    /// (`GET /repos/{owner}/{repo}/pulls/{number}/files`), following every
    /// page. GitHub lists at most 3,000 files; `truncated` says when that
    /// limit was reached.
    pub async fn list_pull_files(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<PullFiles, Error> {
        let url = self.repo_endpoint(owner, repo, &["pulls", &number.to_string(), "files"])?;
        let pages = self
            .get_pages(
                Endpoint::PullFiles,
                url,
                PULL_FILES_MAX_PAGES,
                "pull request files",
                |page: Vec<PullFile>| page,
            )
            .await?;
        let truncated = pages.more || pages.items.len() >= MAX_PULL_FILES;
        Ok(PullFiles {
            files: pages.items,
            truncated,
        })
    }
}
