//! Temporal workflows and activities of the GitHub deployment tracker.
//!
//! # Layout
//! - [`deployments`]: `GitHubDeploymentWorkflow`, which tracks one CI/CD deployment as a
//!   GitHub Deployment, its activities `CreateGitHubDeployment` and
//!   `UpdateGitHubDeploymentStatus`, and `DeploymentService`, the client side.
//! - [`external`]: `ExternalDeploymentWorkflow`, which watches a deployment someone else
//!   created and marks it inactive when it goes silent, and `ExternalDeploymentService`.
//! - [`lanes`]: `LaneWorkflow`, one per repository, environment and service, which decides
//!   superseding and inactivation for the deployments of its lane, and its activities
//!   (`JoinLane`, `LeaveLane`: the only activities holding a Temporal client).
//! - [`pr_checks`]: `PluginUpdateValidationWorkflow` and `VersionValidationWorkflow`, the
//!   pull-request checks started from webhooks, their activities, and `PrCheckService`.
//! - [`pr_cleanup`]: `PullRequestCleanupWorkflow`, which ends a closed pull request's preview
//!   deployments (and, when configured, deletes them and their environments), its
//!   activities, and `PrCleanupService`.
//! - [`activity`]: what both features' activities share: the span they log in, and the one
//!   classification of GitHub errors into retryable and permanent Temporal failures.
//! - [`service`]: what both services share as Temporal clients: [`ServiceError`] and the
//!   options that bound each call.
//! - [`search_attributes`]: the custom search attributes deployments are indexed by.
//! - [`dev_server`]: the command line of a local Temporal dev server (`gdt dev`, tests,
//!   benchmarks), with those search attributes registered.
//!
//! Workflow code here does no I/O and reads no clock; every GitHub call is an activity, and
//! every activity talks to GitHub through the one shared [`gdt_github::Client`] of its worker.
//! The one exception is counting metrics (`deployments::observe`), which nothing reads back
//! and which counts nothing on replay.

pub mod activity;
pub mod board;
pub mod deployments;
pub mod dev_server;
pub mod external;
pub mod lanes;
pub mod pr_checks;
pub mod pr_cleanup;
pub mod search_attributes;
pub mod service;

pub use service::ServiceError;
