//! A GitHub REST API client for the GitHub deployment tracker.
//!
//! Authenticates with a plain token or as a GitHub App (JWT exchanged for
//! cached installation tokens), classifies failures into [`Error`] variants,
//! retries 5xx / connection errors and short rate limits in-process, and
//! returns long waits to the caller so it can schedule the retry itself.
//!
//! Reads (and writes that are idempotent) are repeated after a 5xx or a
//! broken connection; creates are not, because GitHub may have acted on the
//! request: the retryable error goes back to the caller, who checks what
//! exists before trying again.
//!
//! # Endpoints
//!
//! | Method | Endpoint | Notes |
//! |---|---|---|
//! | [`Client::get_app`] | `GET /app` | App JWT |
//! | [`Client::check_credentials`] | `GET /rate_limit` or a token mint | readiness probe |
//! | [`Client::create_deployment`] | `POST /repos/{o}/{r}/deployments` | not repeated |
//! | [`Client::list_deployments`] | `GET /repos/{o}/{r}/deployments` | paginated |
//! | [`Client::create_deployment_status`] | `POST /repos/{o}/{r}/deployments/{id}/statuses` | not repeated |
//! | [`Client::list_deployment_statuses`] | `GET /repos/{o}/{r}/deployments/{id}/statuses` | paginated |
//! | [`Client::latest_deployment_status`] | `GET /repos/{o}/{r}/deployments/{id}/statuses?per_page=1` | the newest only; its state as GitHub's word |
//! | [`Client::delete_deployment`] | `DELETE /repos/{o}/{r}/deployments/{id}` | idempotent; 404 counts as deleted, 422 is `NotInactive` |
//! | [`Client::delete_environment`] | `DELETE /repos/{o}/{r}/environments/{name}` | idempotent; 404 counts as deleted; Administration: write |
//! | [`Client::get_pull`] | `GET /repos/{o}/{r}/pulls/{n}` | |
//! | [`Client::list_pull_files`] | `GET /repos/{o}/{r}/pulls/{n}/files` | paginated, at most 3,000 files |
//! | [`Client::get_file`] | `GET /repos/{o}/{r}/contents/{path}?ref=` | `None` on 404; UTF-8 text only |
//! | [`Client::list_issue_comments`] | `GET /repos/{o}/{r}/issues/{n}/comments` | paginated |
//! | [`Client::create_issue_comment`] | `POST /repos/{o}/{r}/issues/{n}/comments` | not repeated |
//! | [`Client::update_issue_comment`] | `PATCH /repos/{o}/{r}/issues/comments/{id}` | idempotent |
//! | [`Client::delete_issue_comment`] | `DELETE /repos/{o}/{r}/issues/comments/{id}` | idempotent; 404 counts as deleted |
//! | [`Client::create_check_run`] | `POST /repos/{o}/{r}/check-runs` | not repeated; annotations in batches of 50 |
//! | [`Client::update_check_run`] | `PATCH /repos/{o}/{r}/check-runs/{id}` | idempotent unless it carries annotations |
//! | [`Client::list_check_runs`] | `GET /repos/{o}/{r}/commits/{ref}/check-runs?check_name=` | paginated |
//!
//! Listings follow `Link: rel="next"` with `per_page=100`.
//!
//! Every HTTP exchange, retry, rate limit and installation-token mint is counted in the
//! process's `gdt_github_*` metrics ([`gdt_metrics`]), each request under the endpoint family
//! of the method that sent it (the families of the table above: `app`, `installation_token`,
//! `deployments`, `deployment_statuses`, `environments`, `pulls`, `pull_files`, `contents`, `issue_comments`,
//! `check_runs`, and `other` for `GET /rate_limit`).
//!
//! # Layout
//!
//! - [`client`]: [`Client`] and [`ClientConfig`]; under it `transport` (headers and the
//!   one retry loop), `token` (the installation token cache) and `pagination`.
//! - `endpoints`: one file per endpoint family (app, deployments, environments, pulls, contents,
//!   comments, check runs), each adding its methods to [`Client`].
//! - [`auth`], [`error`], [`retry`], [`types`]: credentials, the error classification,
//!   the backoff policy, and GitHub's request and response bodies.

pub mod auth;
pub mod client;
mod endpoints;
pub mod error;
pub mod retry;
pub mod types;

pub use auth::{Auth, InstallationToken};
pub use client::{default_user_agent, Client, ClientConfig, DEFAULT_BASE_URL};
pub use error::{classify, Error, RateLimitKind};
pub use retry::RetryPolicy;
pub use types::{
    truncate_check_output, truncate_description, Actor, App, CheckAnnotation, CheckRun,
    CheckRunOutput, CheckRunOutputInfo, CheckRunUpdate, Deployment, DeploymentDeletion,
    DeploymentFilter, DeploymentState, DeploymentStatus, EnvironmentDeletion, FileContent,
    IssueComment, NewCheckRun, NewDeployment, NewDeploymentStatus, PullFile, PullFiles, PullRef,
    PullRequest, ReportedStatus, UnknownDeploymentState, User, MAX_ANNOTATIONS_PER_REQUEST,
    MAX_CHECK_OUTPUT_BYTES, MAX_DESCRIPTION_CHARS, MAX_PULL_FILES,
};
