//! The GitHub client: construction, the retrying request loop, and the
//! Deployments, Pulls, Contents, Issue comments and Check runs endpoints.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use url::Url;

use crate::auth::{
    AccessTokenResponse, AppCredentials, Auth, CachedToken, Credentials, InstallationToken,
};
use crate::contents::decode_file;
use crate::error::{classify, Error};
use crate::pagination::next_link;
use crate::retry::RetryPolicy;
use crate::types::{
    truncate_check_output, truncate_description, App, CheckAnnotation, CheckRun, CheckRunOutput,
    CheckRunUpdate, Deployment, DeploymentFilter, DeploymentStatus, FileContent, IssueComment,
    NewCheckRun, NewDeployment, NewDeploymentStatus, PullFile, PullFiles, PullRequest,
    MAX_ANNOTATIONS_PER_REQUEST, MAX_PULL_FILES,
};

/// The public GitHub API.
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";

const ACCEPT_GITHUB_JSON: &str = "application/vnd.github+json";
const API_VERSION_HEADER: &str = "x-github-api-version";
const API_VERSION: &str = "2022-11-28";
/// GitHub's largest page size.
const PER_PAGE: &str = "100";
/// A safety net against pagination loops; no deployment has this many statuses.
const STATUS_MAX_PAGES: u32 = 50;
/// GitHub lists at most 3,000 files of a pull request: 30 pages of 100.
const PULL_FILES_MAX_PAGES: u32 = 30;
/// A safety net against pagination loops: 10,000 comments on one issue.
const COMMENTS_MAX_PAGES: u32 = 100;
/// A safety net against pagination loops: 1,000 check runs of one name on one commit.
const CHECK_RUNS_MAX_PAGES: u32 = 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bounds a single attempt so a hung connection becomes a retryable
/// transport error instead of eating an activity's whole timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The default `User-Agent`: `github-deployment-tracker/<crate version>`.
pub fn default_user_agent() -> String {
    format!("github-deployment-tracker/{}", env!("CARGO_PKG_VERSION"))
}

/// The API base URL of a GitHub Enterprise Server: `https://HOST/api/v3`.
///
/// `host` is a bare host name, optionally with a port. `github.com` maps to
/// the public API.
pub fn enterprise_base_url(host: &str) -> Result<Url, Error> {
    let host = host.trim().trim_end_matches('/');
    if host.is_empty() || host.contains("://") || host.contains('/') {
        return Err(Error::Config(format!(
            "GitHub Enterprise host must be a bare host name such as github.example.com, got {host:?}"
        )));
    }
    if host.eq_ignore_ascii_case("github.com") || host.eq_ignore_ascii_case("api.github.com") {
        return parse_base_url(DEFAULT_BASE_URL);
    }
    parse_base_url(&format!("https://{host}/api/v3"))
}

fn parse_base_url(s: &str) -> Result<Url, Error> {
    Url::parse(s).map_err(|e| Error::Config(format!("invalid GitHub API URL {s:?}: {e}")))
}

/// Everything needed to build a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://api.github.com`, `https://HOST/api/v3` for GHES, or a local
    /// sandbox such as `http://127.0.0.1:PORT`.
    pub base_url: Url,
    /// The credentials.
    pub auth: Auth,
    /// Retry and rate-limit behaviour.
    pub retry: RetryPolicy,
    /// The `User-Agent` sent with every request (GitHub requires one).
    pub user_agent: String,
}

impl ClientConfig {
    /// A configuration with the default retry policy and user agent.
    pub fn new(base_url: Url, auth: Auth) -> Self {
        Self {
            base_url,
            auth,
            retry: RetryPolicy::default(),
            user_agent: default_user_agent(),
        }
    }
}

/// State shared by all clones of a [`Client`].
struct Shared {
    http: reqwest::Client,
    base_url: Url,
    user_agent: HeaderValue,
    credentials: Credentials,
    /// Held while minting so concurrent callers wait for one token instead
    /// of each minting their own.
    token_cache: Mutex<Option<CachedToken>>,
}

/// A GitHub REST client for the Deployments, Pulls, Contents, Issue comments
/// and Check runs APIs.
///
/// Cheap to clone: clones share one HTTP connection pool and one installation
/// token cache.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared.base_url.as_str())
            .field("credentials", &self.shared.credentials)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Which credential a request is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bearer {
    /// The plain token, or the (cached) installation token of an App.
    Installation,
    /// A freshly signed App JWT (`GET /app`, minting installation tokens).
    AppJwt,
}

struct Request {
    method: Method,
    url: Url,
    body: Option<Vec<u8>>,
    bearer: Bearer,
    /// A write that has the same effect however often it is sent (e.g. a
    /// PATCH setting a comment's body), so it may be repeated after an
    /// ambiguous failure like a read.
    idempotent: bool,
}

/// The items of a paginated listing and whether the page limit cut it short.
struct Pages<T> {
    items: Vec<T>,
    /// GitHub offered a next page that was not fetched.
    more: bool,
}

/// The body of `GET .../commits/{ref}/check-runs`.
#[derive(serde::Deserialize)]
struct CheckRunList {
    check_runs: Vec<CheckRun>,
}

struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Client {
    /// Builds a client. Parses the App private key here, so a bad key fails
    /// at start-up (with a message that does not include the key).
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let ClientConfig {
            base_url,
            auth,
            retry,
            user_agent,
        } = config;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "GitHub API URL must be an http(s) URL, got {base_url}"
            )));
        }
        let user_agent = HeaderValue::from_str(&user_agent)
            .map_err(|_| Error::Config(format!("invalid User-Agent {user_agent:?}")))?;
        let credentials = Credentials::from_auth(&auth)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?;
        Ok(Self {
            shared: Arc::new(Shared {
                http,
                base_url,
                user_agent,
                credentials,
                token_cache: Mutex::new(None),
            }),
            retry,
        })
    }

    /// The API base URL.
    pub fn base_url(&self) -> &Url {
        &self.shared.base_url
    }

    /// The retry policy of this handle.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// A handle with a different `max_inline_wait` that shares this client's
    /// token cache and HTTP pool (e.g. bounded by an activity's timeout).
    pub fn with_max_inline_wait(&self, d: Duration) -> Client {
        let mut retry = self.retry.clone();
        retry.max_inline_wait = d;
        Client {
            shared: Arc::clone(&self.shared),
            retry,
        }
    }

    /// The token requests are sent with: for an App the cached installation
    /// token (minted or refreshed as needed), for a plain token the token
    /// itself with unknown expiry.
    pub async fn installation_token(&self) -> Result<InstallationToken, Error> {
        match &self.shared.credentials {
            Credentials::Token(token) => Ok(InstallationToken {
                token: token.clone(),
                expires_at: None,
            }),
            Credentials::App(app) => {
                let cached = self.cached_installation_token(app).await?;
                Ok(InstallationToken {
                    token: cached.token,
                    expires_at: Some(cached.expires_at),
                })
            }
        }
    }

    /// The authenticated GitHub App (`GET /app`, with the App JWT).
    pub async fn get_app(&self) -> Result<App, Error> {
        if !matches!(self.shared.credentials, Credentials::App(_)) {
            return Err(app_credentials_needed("GET /app"));
        }
        let url = self.endpoint(&["app"])?;
        let resp = self
            .execute(&Request::new(Method::GET, url, Bearer::AppJwt))
            .await?;
        decode(&resp.body, "GitHub App")
    }

    /// Checks that the credentials work, for readiness probes: an App mints (or reuses its
    /// cached) installation token; a plain token reads `GET /rate_limit`, which GitHub does
    /// not count against the quota.
    pub async fn check_credentials(&self) -> Result<(), Error> {
        match &self.shared.credentials {
            Credentials::App(app) => self.cached_installation_token(app).await.map(|_| ()),
            Credentials::Token(_) => {
                let url = self.endpoint(&["rate_limit"])?;
                self.execute(&Request::new(Method::GET, url, Bearer::Installation))
                    .await
                    .map(|_| ())
            }
        }
    }

    /// Creates a deployment (`POST /repos/{owner}/{repo}/deployments`).
    pub async fn create_deployment(
        &self,
        owner: &str,
        repo: &str,
        deployment: &NewDeployment,
    ) -> Result<Deployment, Error> {
        let url = self.repo_endpoint(owner, repo, &["deployments"])?;
        let req = Request::new(Method::POST, url, Bearer::Installation).json(deployment)?;
        let resp = self.execute(&req).await?;
        // GitHub answers 202 with only a message when it merged the default
        // branch instead of deploying; anything without an id is no deployment.
        let value: serde_json::Value = decode(&resp.body, "deployment")?;
        if value.get("id").is_some_and(serde_json::Value::is_u64) {
            return serde_json::from_value(value)
                .map_err(|e| Error::Unexpected(format!("could not decode deployment: {e}")));
        }
        let message = value
            .get("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("no message");
        Err(Error::Unexpected(format!(
            "GitHub answered {} without creating a deployment: {message}",
            resp.status
        )))
    }

    /// Lists deployments matching `filter`, following pagination up to
    /// `filter.max_pages` pages of 100.
    pub async fn list_deployments(
        &self,
        owner: &str,
        repo: &str,
        filter: &DeploymentFilter,
    ) -> Result<Vec<Deployment>, Error> {
        let mut url = self.repo_endpoint(owner, repo, &["deployments"])?;
        {
            let mut query = url.query_pairs_mut();
            let filters = [
                ("sha", &filter.sha),
                ("ref", &filter.ref_),
                ("task", &filter.task),
                ("environment", &filter.environment),
            ];
            for (name, value) in filters {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
            query.append_pair("per_page", PER_PAGE);
        }
        self.get_paginated(url, filter.max_pages, "deployments")
            .await
    }

    /// Adds a status to a deployment (`POST .../deployments/{id}/statuses`).
    /// The description is cut to GitHub's 140 characters first.
    pub async fn create_deployment_status(
        &self,
        owner: &str,
        repo: &str,
        deployment_id: u64,
        status: &NewDeploymentStatus,
    ) -> Result<DeploymentStatus, Error> {
        let id = deployment_id.to_string();
        let url = self.repo_endpoint(owner, repo, &["deployments", &id, "statuses"])?;
        let mut status = status.clone();
        status.description = status.description.as_deref().map(truncate_description);
        let req = Request::new(Method::POST, url, Bearer::Installation).json(&status)?;
        let resp = self.execute(&req).await?;
        decode(&resp.body, "deployment status")
    }

    /// Lists a deployment's statuses (newest first), following pagination.
    pub async fn list_deployment_statuses(
        &self,
        owner: &str,
        repo: &str,
        deployment_id: u64,
    ) -> Result<Vec<DeploymentStatus>, Error> {
        let id = deployment_id.to_string();
        let mut url = self.repo_endpoint(owner, repo, &["deployments", &id, "statuses"])?;
        url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        self.get_paginated(url, STATUS_MAX_PAGES, "deployment statuses")
            .await
    }

    // ---- pull requests --------------------------------------------------

    /// Reads a pull request (`GET /repos/{owner}/{repo}/pulls/{number}`).
    pub async fn get_pull(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<PullRequest, Error> {
        let number = number.to_string();
        let url = self.repo_endpoint(owner, repo, &["pulls", &number])?;
        let resp = self
            .execute(&Request::new(Method::GET, url, Bearer::Installation))
            .await?;
        decode(&resp.body, "pull request")
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
        let number = number.to_string();
        let mut url = self.repo_endpoint(owner, repo, &["pulls", &number, "files"])?;
        url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        let pages = self
            .get_pages(
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

    // ---- repository contents --------------------------------------------

    /// Reads a text file at `git_ref` (`GET /repos/{owner}/{repo}/contents/{path}?ref=...`;
    /// an empty `git_ref` means the default branch).
    ///
    /// Returns `None` when GitHub answers 404 — which it also does when the
    /// ref does not exist or the repository is not visible. A directory, a
    /// submodule, a symlink pointing outside the repository, a file over 1 MB
    /// or content that is not UTF-8 is an [`Error::Unexpected`] naming the
    /// path.
    pub async fn get_file(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<FileContent>, Error> {
        let mut segments = vec!["contents"];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        if segments.len() == 1 {
            return Err(Error::Config(format!(
                "a file path is required to read repository contents (got {path:?})"
            )));
        }
        let mut url = self.repo_endpoint(owner, repo, &segments)?;
        if !git_ref.is_empty() {
            url.query_pairs_mut().append_pair("ref", git_ref);
        }
        let resp = match self
            .execute(&Request::new(Method::GET, url, Bearer::Installation))
            .await
        {
            Ok(resp) => resp,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        decode_file(&resp.body, path).map(Some)
    }

    // ---- issue comments -------------------------------------------------

    /// Lists the comments on an issue or pull request
    /// (`GET /repos/{owner}/{repo}/issues/{number}/comments`), oldest first,
    /// following every page.
    pub async fn list_issue_comments(
        &self,
        owner: &str,
        repo: &str,
        issue_number: u64,
    ) -> Result<Vec<IssueComment>, Error> {
        let number = issue_number.to_string();
        let mut url = self.repo_endpoint(owner, repo, &["issues", &number, "comments"])?;
        url.query_pairs_mut().append_pair("per_page", PER_PAGE);
        self.get_paginated(url, COMMENTS_MAX_PAGES, "issue comments")
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
        let number = issue_number.to_string();
        let url = self.repo_endpoint(owner, repo, &["issues", &number, "comments"])?;
        let req = Request::new(Method::POST, url, Bearer::Installation)
            .json(&serde_json::json!({ "body": body }))?;
        let resp = self.execute(&req).await?;
        decode(&resp.body, "issue comment")
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
        let id = comment_id.to_string();
        let url = self.repo_endpoint(owner, repo, &["issues", "comments", &id])?;
        let req = Request::new(Method::PATCH, url, Bearer::Installation)
            .json(&serde_json::json!({ "body": body }))?
            .idempotent();
        let resp = self.execute(&req).await?;
        decode(&resp.body, "issue comment")
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
        let id = comment_id.to_string();
        let url = self.repo_endpoint(owner, repo, &["issues", "comments", &id])?;
        let req = Request::new(Method::DELETE, url, Bearer::Installation).idempotent();
        match self.execute(&req).await {
            Ok(_) | Err(Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }

    // ---- check runs -----------------------------------------------------

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
        let req = Request::new(Method::POST, url, Bearer::Installation).json(&body)?;
        let resp = self.execute(&req).await?;
        let created: CheckRun = decode(&resp.body, "check run")?;
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
        url.query_pairs_mut()
            .append_pair("check_name", name)
            .append_pair("per_page", PER_PAGE);
        let pages = self
            .get_pages(
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
        let id = id.to_string();
        let url = self.repo_endpoint(owner, repo, &["check-runs", &id])?;
        let mut req = Request::new(Method::PATCH, url, Bearer::Installation).json(body)?;
        if body
            .output
            .as_ref()
            .is_none_or(|o| o.annotations.is_empty())
        {
            req = req.idempotent();
        }
        let resp = self.execute(&req).await?;
        decode(&resp.body, "check run")
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

    // ---- plumbing -------------------------------------------------------

    fn endpoint(&self, segments: &[&str]) -> Result<Url, Error> {
        let mut url = self.shared.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| Error::Config("the GitHub API URL cannot be a base URL".to_owned()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    fn repo_endpoint(&self, owner: &str, repo: &str, rest: &[&str]) -> Result<Url, Error> {
        if owner.trim().is_empty() || repo.trim().is_empty() {
            return Err(Error::Config(format!(
                "repository owner and name must not be empty (got {owner:?}/{repo:?})"
            )));
        }
        let mut segments = vec!["repos", owner, repo];
        segments.extend_from_slice(rest);
        self.endpoint(&segments)
    }

    async fn get_paginated<T: DeserializeOwned>(
        &self,
        first: Url,
        max_pages: u32,
        what: &str,
    ) -> Result<Vec<T>, Error> {
        self.get_pages(first, max_pages, what, |page: Vec<T>| page)
            .await
            .map(|pages| pages.items)
    }

    /// Follows `Link: rel="next"` from `first` for up to `max_pages` pages,
    /// decoding each page as `P` and taking its items with `items` (for
    /// listings wrapped in an object, such as check runs).
    async fn get_pages<P: DeserializeOwned, T>(
        &self,
        first: Url,
        max_pages: u32,
        what: &str,
        items: impl Fn(P) -> Vec<T>,
    ) -> Result<Pages<T>, Error> {
        let mut all = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            if pages >= max_pages.max(1) {
                tracing::debug!(what, pages, "stopping pagination at the page limit");
                return Ok(Pages {
                    items: all,
                    more: true,
                });
            }
            let resp = self
                .execute(&Request::new(Method::GET, url, Bearer::Installation))
                .await?;
            pages += 1;
            all.extend(items(decode::<P>(&resp.body, what)?));
            next = next_link(&resp.headers)
                .map(|url| self.check_same_origin(url))
                .transpose()?;
        }
        Ok(Pages {
            items: all,
            more: false,
        })
    }

    /// Refuses to follow a pagination link to another host: it would get our
    /// bearer token.
    fn check_same_origin(&self, url: Url) -> Result<Url, Error> {
        if url.origin() == self.shared.base_url.origin() {
            Ok(url)
        } else {
            Err(Error::Unexpected(format!(
                "pagination link points to another origin ({}); not following it",
                url.origin().ascii_serialization()
            )))
        }
    }

    /// Sends `req`, retrying per the policy. Returns the 2xx response or the
    /// classified error.
    async fn execute(&self, req: &Request) -> Result<Response, Error> {
        let mut retries: u32 = 0;
        let mut refreshed_after_401 = false;
        loop {
            let bearer = self.bearer(req.bearer).await?;
            let err = match self.attempt(req, &bearer).await {
                Ok(resp) => return Ok(resp),
                Err(err) => err,
            };

            // An installation token can be revoked before its expiry (or the
            // cache can be stale after a key rotation): mint once more.
            if matches!(err, Error::Unauthorized { .. })
                && req.bearer == Bearer::Installation
                && matches!(self.shared.credentials, Credentials::App(_))
                && !refreshed_after_401
            {
                refreshed_after_401 = true;
                self.drop_cached_token(&bearer).await;
                tracing::warn!(
                    method = %req.method,
                    path = req.url.path(),
                    "GitHub answered 401; retrying once with a fresh installation token"
                );
                continue;
            }

            if !err.is_retryable() || retries >= self.retry.max_retries {
                return Err(err);
            }
            // A 5xx or a broken connection leaves it unknown whether GitHub acted on the
            // request. Repeating a create here could make a second deployment or status, so
            // only requests that are safe to repeat are retried in-process; the caller (a
            // Temporal activity) retries creates after checking what already exists.
            // Rate limits are different: GitHub refused the request, so repeating is safe.
            let ambiguous = matches!(err, Error::Server { .. } | Error::Transport(_));
            if ambiguous && !req.safe_to_repeat() {
                return Err(err);
            }
            let wait = err
                .retry_after()
                .unwrap_or_else(|| self.retry.backoff(retries, &mut rand::rng()));
            // Long waits go back to the caller, who may have a deadline.
            if wait > self.retry.max_inline_wait {
                return Err(err);
            }
            retries += 1;
            tracing::warn!(
                method = %req.method,
                path = req.url.path(),
                status = err.status(),
                attempt = retries,
                max_retries = self.retry.max_retries,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %err,
                "retrying GitHub request"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One HTTP exchange, including reading the body.
    async fn attempt(&self, req: &Request, bearer: &SecretString) -> Result<Response, Error> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", bearer.expose_secret()))
            // Never echo the value: it is the token.
            .map_err(|_| Error::Config("the GitHub token contains invalid characters".into()))?;
        auth.set_sensitive(true);

        let mut builder = self
            .shared
            .http
            .request(req.method.clone(), req.url.clone())
            .header(ACCEPT, ACCEPT_GITHUB_JSON)
            .header(API_VERSION_HEADER, API_VERSION)
            .header(USER_AGENT, self.shared.user_agent.clone())
            .header(AUTHORIZATION, auth);
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }

        let resp = builder.send().await.map_err(|e| transport_error(req, &e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| transport_error(req, &e))?
            .to_vec();
        tracing::debug!(method = %req.method, path = req.url.path(), status = status.as_u16(), "GitHub response");

        if status.is_success() {
            Ok(Response {
                status,
                headers,
                body,
            })
        } else {
            Err(classify(status, &headers, &body))
        }
    }

    async fn bearer(&self, kind: Bearer) -> Result<SecretString, Error> {
        match (kind, &self.shared.credentials) {
            (Bearer::Installation, Credentials::Token(token)) => Ok(token.clone()),
            (Bearer::Installation, Credentials::App(app)) => {
                Ok(self.cached_installation_token(app).await?.token)
            }
            (Bearer::AppJwt, Credentials::App(app)) => app.jwt(Utc::now()),
            (Bearer::AppJwt, Credentials::Token(_)) => Err(app_credentials_needed("this request")),
        }
    }

    /// Returns the cached installation token, minting a new one when it is
    /// missing or within 5 minutes of expiry. The lock is held while minting
    /// (single-flight).
    async fn cached_installation_token(&self, app: &AppCredentials) -> Result<CachedToken, Error> {
        let mut cache = self.shared.token_cache.lock().await;
        if let Some(cached) = cache.as_ref().filter(|c| c.is_fresh(Utc::now())) {
            return Ok(cached.clone());
        }
        let minted = self.mint_installation_token(app).await?;
        *cache = Some(minted.clone());
        Ok(minted)
    }

    /// Forgets the cached token if it is still the one that was rejected
    /// (another caller may already have replaced it).
    async fn drop_cached_token(&self, rejected: &SecretString) {
        let mut cache = self.shared.token_cache.lock().await;
        if cache
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == rejected.expose_secret())
        {
            *cache = None;
        }
    }

    /// Exchanges an App JWT for an installation token.
    ///
    /// Boxed because it re-enters `execute`, which may call back here;
    /// an unboxed async recursion would have infinite size.
    fn mint_installation_token<'a>(
        &'a self,
        app: &'a AppCredentials,
    ) -> BoxFuture<'a, Result<CachedToken, Error>> {
        Box::pin(async move {
            let installation = app.installation_id.to_string();
            let url = self.endpoint(&["app", "installations", &installation, "access_tokens"])?;
            let context = format!(
                "minting an installation token (app {}, installation {})",
                app.app_id, app.installation_id
            );
            let resp = self
                .execute(&Request::new(Method::POST, url, Bearer::AppJwt))
                .await
                .map_err(|e| e.context(&context))?;
            let parsed: AccessTokenResponse =
                decode(&resp.body, "installation access token").map_err(|e| e.context(&context))?;
            tracing::debug!(
                app_id = app.app_id,
                installation_id = app.installation_id,
                expires_at = %parsed.expires_at,
                "minted GitHub installation token"
            );
            Ok(CachedToken {
                token: parsed.token,
                expires_at: parsed.expires_at,
            })
        })
    }
}

impl Request {
    /// Whether sending this request twice does no harm: reads, minting an installation
    /// token (a second token is merely unused), and writes marked idempotent.
    fn safe_to_repeat(&self) -> bool {
        self.method == Method::GET || self.bearer == Bearer::AppJwt || self.idempotent
    }

    fn new(method: Method, url: Url, bearer: Bearer) -> Self {
        Self {
            method,
            url,
            body: None,
            bearer,
            idempotent: false,
        }
    }

    /// Marks a write as safe to repeat after an ambiguous failure.
    fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    fn json<T: serde::Serialize>(mut self, body: &T) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Unexpected(format!("could not encode request body: {e}")))?;
        self.body = Some(bytes);
        Ok(self)
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

fn app_credentials_needed(what: &str) -> Error {
    Error::Config(format!(
        "{what} needs GitHub App credentials (app id, installation id, private key), not a plain token"
    ))
}

fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::Unexpected(format!("could not decode {what}: {e}")))
}

/// Describes a reqwest failure without headers or query strings.
fn transport_error(req: &Request, err: &reqwest::Error) -> Error {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "failed reading the response"
    } else {
        "request failed"
    };
    let mut url = req.url.clone();
    url.set_query(None);
    // reqwest's own message is terse ("error sending request"); the causes
    // (connection refused, DNS, TLS) are in the source chain.
    let mut detail = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Transport(format!("{} {url} {what}{detail}", req.method))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(ClientConfig::new(
            Url::parse(base).expect("url"),
            Auth::Token(SecretString::from("t")),
        ))
        .expect("client")
    }

    #[test]
    fn endpoints_keep_the_base_path_and_escape_segments() {
        let c = client("https://ghe.example.com/api/v3/");
        let url = c
            .repo_endpoint("acme", "web app", &["deployments", "7", "statuses"])
            .expect("url");
        assert_eq!(
            url.as_str(),
            "https://ghe.example.com/api/v3/repos/acme/web%20app/deployments/7/statuses"
        );
        let c = client("https://api.github.com");
        assert_eq!(
            c.endpoint(&["app"]).expect("url").as_str(),
            "https://api.github.com/app"
        );
        assert!(c.repo_endpoint("", "r", &[]).is_err());
    }

    #[test]
    fn enterprise_urls() {
        assert_eq!(
            enterprise_base_url("ghe.example.com")
                .expect("url")
                .as_str(),
            "https://ghe.example.com/api/v3"
        );
        assert_eq!(
            enterprise_base_url("ghe.example.com:8443/")
                .expect("url")
                .as_str(),
            "https://ghe.example.com:8443/api/v3"
        );
        assert_eq!(
            enterprise_base_url("github.com").expect("url").as_str(),
            "https://api.github.com/"
        );
        for bad in [
            "",
            "https://ghe.example.com",
            "ghe.example.com/api/v3",
            "bad host",
        ] {
            assert!(
                matches!(enterprise_base_url(bad), Err(Error::Config(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_non_http_base_urls() {
        let err = Client::new(ClientConfig::new(
            Url::parse("ftp://example.com").expect("url"),
            Auth::Token(SecretString::from("t")),
        ))
        .expect_err("ftp");
        assert!(matches!(err, Error::Config(_)));
    }

    #[test]
    fn pagination_refuses_foreign_origins() {
        let c = client("https://api.github.com");
        assert!(c
            .check_same_origin(Url::parse("https://api.github.com/x?page=2").expect("url"))
            .is_ok());
        assert!(c
            .check_same_origin(Url::parse("https://evil.example/x?page=2").expect("url"))
            .is_err());
    }

    #[test]
    fn debug_hides_the_token() {
        let c = Client::new(ClientConfig::new(
            Url::parse("https://api.github.com").expect("url"),
            Auth::Token(SecretString::from("ghp_SUPERSECRET")),
        ))
        .expect("client");
        assert!(!format!("{c:?}").contains("SUPERSECRET"));
    }

    #[test]
    fn default_user_agent_has_the_version() {
        assert_eq!(
            default_user_agent(),
            format!("github-deployment-tracker/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
