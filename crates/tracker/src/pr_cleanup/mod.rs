//! Cleaning up a closed pull request's preview deployments: `PullRequestCleanupWorkflow`, on
//! the deployments' task queue, started by `pull_request` `closed` webhooks through
//! [`PrCleanupService`]. Which deployments and environments match is decided by pure
//! functions in [`matching`].

pub mod activities;
pub mod matching;
pub mod model;
pub mod service;
pub mod workflow;

pub use activities::{PrCleanupActivities, PrCleanupSettings};
pub use matching::MatchRules;
pub use model::{
    workflow_id, CleanupSettings, ClosedPullRequest, Leftover, LeftoverKind,
    PullRequestCleanupInput, PullRequestCleanupResult, WORKFLOW_TYPE,
};
pub use service::{CleanupStart, PrCleanupService};
pub use workflow::PullRequestCleanupWorkflow;
