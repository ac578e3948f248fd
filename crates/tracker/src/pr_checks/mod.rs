//! Pull-request checks started from GitHub webhooks (seed 001):
//! `PluginUpdateValidationWorkflow` and `VersionValidationWorkflow` on
//! `plugin-validation-queue`. The decisions themselves (categorising files, JSON and SemVer
//! checks, comment and check-run rendering) are pure functions in `gdt-pr-checks`.

pub mod activities;
pub mod model;
pub mod service;
pub mod workflows;

pub use activities::{PrCheckActivities, PrCheckSettings};
pub use model::{
    plugin_workflow_id, version_workflow_id, PluginUpdateValidationInput,
    PluginUpdateValidationResult, VersionValidationInput, VersionValidationResult,
};
pub use service::{Check, CheckStart, PrCheckService, PullRequestHead};
pub use workflows::{PluginUpdateValidationWorkflow, VersionValidationWorkflow, TASK_QUEUE};
