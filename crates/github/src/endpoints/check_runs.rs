//! Check runs (`/repos/{owner}/{repo}/check-runs`), with GitHub's output limits:
//! summary and text cut to 65,535 bytes, annotations sent 50 per request.

use gdt_metrics::labels::Endpoint;
use http::Method;

use crate::client::transport::Request;
use crate::error::Error;
use crate::types::{
    truncate_check_output, CheckAnnotation, CheckRun, CheckRunOutput, CheckRunUpdate, NewCheckRun,
    MAX_ANNOTATIONS_PER_REQUEST,
};
use crate::Client;

/// A safety net against pagination loops: 1,000 check runs of one name on one commit.
const CHECK_RUNS_MAX_PAGES: u32 = 10;

/// The body of `GET .../commits/{ref}/check-runs`.
#[derive(serde::Deserialize)]
struct CheckRunList {
    check_runs: Vec<CheckRun>,
}

impl Client {
    /// Creates a check run (`POST /repos/{owner}/{repo}/check-runs`; needs a
    /// GitHub App with `checks: write`).
    ///
    /// `output.summary` and `output.text` are cut to GitHub's 65,535 bytes.
    /// Any number of annotations may be passed: the first 50 go with the
    /// create, the rest follow in PATCHes of 50 (GitHub appends them), and
    /// the check run of the last request is returned. The create is not
    /// repeated in-process after an ambiguous failure, and neither are the
    /// annotation PATCHes (a repeat would duplicate annotations); if one of
    /// those fails, the error names the created check run's id.
    pub async fn create_check_run(
        &self,
        owner: &str,
        repo: &str,
        run: &NewCheckRun,
    ) -> Result<CheckRun, Error> {
        let url = self.repo_endpoint(owner, repo, &["check-runs"])?;
        let (first, rest) = split_output(run.output.as_ref());
        let body = NewCheckRun {
            output: first,
            ..run.clone()
        };
        let req = Request::new(Endpoint::CheckRuns, Method::POST, url).json(&body)?;
        let created: CheckRun = self.send_json(req, "check run").await?;
        self.send_remaining_annotations(owner, repo, created, rest)
            .await
    }

    /// Updates a check run (`PATCH /repos/{owner}/{repo}/check-runs/{id}`).
    ///
    /// Annotations are handled as in [`Client::create_check_run`]. An update
    /// without annotations is idempotent and retried like a read; one with
    /// annotations is not repeated in-process after an ambiguous failure,
    /// because GitHub appends annotations.
    pub async fn update_check_run(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        update: &CheckRunUpdate,
    ) -> Result<CheckRun, Error> {
        let (first, rest) = split_output(update.output.as_ref());
        let body = CheckRunUpdate {
            output: first,
            ..update.clone()
        };
        let updated = self.patch_check_run(owner, repo, id, &body).await?;
        self.send_remaining_annotations(owner, repo, updated, rest)
            .await
    }

    /// Lists the check runs named `name` on a commit, branch or tag
    /// (`GET /repos/{owner}/{repo}/commits/{ref}/check-runs?check_name=...`),
    /// following every page. GitHub returns the latest run of each check
    /// suite.
    pub async fn list_check_runs(
        &self,
        owner: &str,
        repo: &str,
        git_ref: &str,
        name: &str,
    ) -> Result<Vec<CheckRun>, Error> {
        if git_ref.is_empty() {
            return Err(Error::Config(
                "a commit SHA, branch or tag is required to list check runs".to_owned(),
            ));
        }
        let mut url = self.repo_endpoint(owner, repo, &["commits", git_ref, "check-runs"])?;
        url.query_pairs_mut().append_pair("check_name", name);
        let pages = self
            .get_pages(
                Endpoint::CheckRuns,
                url,
                CHECK_RUNS_MAX_PAGES,
                "check runs",
                |page: CheckRunList| page.check_runs,
            )
            .await?;
        Ok(pages.items)
    }

    async fn patch_check_run(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        body: &CheckRunUpdate,
    ) -> Result<CheckRun, Error> {
        let url = self.repo_endpoint(owner, repo, &["check-runs", &id.to_string()])?;
        let mut req = Request::new(Endpoint::CheckRuns, Method::PATCH, url).json(body)?;
        if body
            .output
            .as_ref()
            .is_none_or(|o| o.annotations.is_empty())
        {
            req = req.idempotent();
        }
        self.send_json(req, "check run").await
    }

    /// Sends the annotations beyond the first request's 50 in PATCHes of 50.
    async fn send_remaining_annotations(
        &self,
        owner: &str,
        repo: &str,
        mut run: CheckRun,
        rest: Vec<CheckRunOutput>,
    ) -> Result<CheckRun, Error> {
        let batches = rest.len();
        for (i, output) in rest.into_iter().enumerate() {
            let count = output.annotations.len();
            let body = CheckRunUpdate {
                output: Some(output),
                ..CheckRunUpdate::default()
            };
            run = self
                .patch_check_run(owner, repo, run.id, &body)
                .await
                .map_err(|e| {
                    e.context(&format!(
                        "check run {} was written, but sending annotation batch {} of {batches} \
                         ({count} annotations) failed",
                        run.id,
                        i + 1
                    ))
                })?;
        }
        Ok(run)
    }
}

/// Splits a check run output into the one sent with the first request (with
/// at most 50 annotations) and the follow-up outputs carrying the remaining
/// annotations, 50 each. Every part repeats the title, summary and text,
/// which GitHub requires with each output; summary and text are cut to
/// GitHub's limit.
fn split_output(output: Option<&CheckRunOutput>) -> (Option<CheckRunOutput>, Vec<CheckRunOutput>) {
    let Some(output) = output else {
        return (None, Vec::new());
    };
    let part = |annotations: &[CheckAnnotation]| CheckRunOutput {
        title: output.title.clone(),
        summary: truncate_check_output(&output.summary),
        text: output.text.as_deref().map(truncate_check_output),
        annotations: annotations.to_vec(),
    };
    let mut chunks = output.annotations.chunks(MAX_ANNOTATIONS_PER_REQUEST);
    let first = part(chunks.next().unwrap_or_default());
    (Some(first), chunks.map(part).collect())
}
