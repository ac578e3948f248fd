//! Pull-request checks started from GitHub webhooks: `PluginUpdateValidationWorkflow` and
//! `VersionValidationWorkflow`, on their own task queue ([`TASK_QUEUE`] by default), with
//! `CheckRunClaimWorkflow`, Temporal's record of each head's check run. The
//! decisions themselves (categorising files, JSON and SemVer checks, comment and check-run
//! rendering) are pure functions in `gdt-pr-checks`.

pub mod activities;
pub mod head_files;
pub mod model;
pub mod service;
pub mod workflows;

pub use activities::{CheckRunClaims, PrCheckActivities, PrCheckSettings};
pub use model::{
    check_run_workflow_id, plugin_workflow_id, version_workflow_id, PluginUpdateValidationInput,
    PluginUpdateValidationResult, PullRequest, Reported, VersionValidationInput,
    VersionValidationResult, TASK_QUEUE,
};
pub use service::{Check, CheckOutcome, CheckStart, PrCheckService, PullRequestHead};
pub use workflows::{
    CheckRunClaimWorkflow, PluginUpdateValidationWorkflow, VersionValidationWorkflow,
};

/// The errors of [`PrCheckService`], shared with the deployments' service.
pub use crate::service::ServiceError;
