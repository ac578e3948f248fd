//! Deployments created by others: `ExternalDeploymentWorkflow`, which marks one inactive when
//! it stays queued, pending or in progress with no new status for the inactivity timeout,
//! its activity, and `ExternalDeploymentService`, the client side the webhook calls.
//!
//! Superseding and per-service inactivation of these deployments (`external.lifecycle`) are
//! not here: the watcher only ever posts the one `inactive` of a silent deployment.

pub mod activities;
pub mod model;
pub mod service;
pub mod workflow;

pub use activities::ExternalActivities;
pub use model::{
    workflow_id, Ending, ExternalDeploymentInput, ExternalDeploymentResult, Observed,
    OBSERVED_SIGNAL, WORKFLOW_TYPE,
};
pub use service::{ExternalDeployment, ExternalDeploymentService, Watching};
pub use workflow::ExternalDeploymentWorkflow;
