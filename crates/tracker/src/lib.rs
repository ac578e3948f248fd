//! Temporal workflows and activities of the GitHub deployment tracker.
//!
//! # Layout
//! - [`deployments`]: `GitHubDeploymentWorkflow`, which tracks one CI/CD deployment as a
//!   GitHub Deployment, and its activities `CreateGitHubDeployment` and
//!   `UpdateGitHubDeploymentStatus`.
//! - [`pr_checks`]: `PluginUpdateValidationWorkflow` and `VersionValidationWorkflow`, the
//!   pull-request checks started from webhooks, and their activities.
//! - [`search_attributes`]: the custom search attributes deployments are indexed by.
//! - [`dev_server`]: the command line of a local Temporal dev server (`gdt dev`, tests,
//!   benchmarks), with those search attributes registered.
//!
//! Workflow code here does no I/O and reads no clock; every GitHub call is an activity, and
//! every activity talks to GitHub through the one shared [`gdt_github::Client`] of its worker.

pub mod deployments;
pub mod dev_server;
pub mod pr_checks;
pub mod search_attributes;

/// The task queue of the deployment tracker (seed 000's contract).
pub const TASK_QUEUE: &str = "github-deployment-tracker";
