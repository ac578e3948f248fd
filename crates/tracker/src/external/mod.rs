//! Deployments created by others: `ExternalDeploymentWorkflow`, which marks one inactive when
//! it stays queued, pending or in progress with no new status for the inactivity timeout,
//! its activity, and `ExternalDeploymentService`, the client side the webhook calls.
//!
//! With `external.lifecycle`, a watcher also joins its deployment's lane (`crate::lanes`), so
//! the lane's superseding and per-service inactivation apply to these deployments as to gdt's
//! own: the lane may end it with `gdt-lifecycle` (the watcher posts `inactive`), and hears
//! when it ends. Its service comes from `external.service_source` ([`ServiceSource`]).

pub mod activities;
pub mod model;
pub mod service;
pub mod workflow;

pub use activities::ExternalActivities;
pub use model::{
    workflow_id, Ending, ExternalDeploymentInput, ExternalDeploymentResult, Observed,
    ServiceSource, OBSERVED_SIGNAL, WORKFLOW_TYPE,
};
pub use service::{ExternalDeployment, ExternalDeploymentService, Watching};
pub use workflow::ExternalDeploymentWorkflow;
