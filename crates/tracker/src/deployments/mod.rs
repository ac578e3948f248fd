//! Deployment tracking: `GitHubDeploymentWorkflow` and its activities.

pub mod activities;
pub mod fleet;
pub mod model;
pub mod observe;
pub mod service;
pub mod start;
pub mod status;
pub mod workflow;

pub use activities::DeploymentActivities;
pub use model::{
    AckOutcome, DeploymentStateView, DeploymentStatusUpdate, DeploymentWorkflowInput,
    DeploymentWorkflowResult, Lifecycle, StatusUpdateAck, UpdateOutcome, UpdateRejection,
};
pub use observe::prime_metrics;
pub use service::{
    DeploymentDetails, DeploymentService, ListFilter, ListedDeployment, StartOutcome, Started,
};
pub use start::StartActivities;
pub use workflow::{
    GitHubDeploymentWorkflow, DEPLOYMENT_CREATED_UPDATE, LIFECYCLE_SIGNAL, STATE_QUERY,
    STATUS_UPDATE_SIGNAL, STATUS_UPDATE_UPDATE, TASK_QUEUE, WORKFLOW_TYPE,
};

/// The errors of [`DeploymentService`], shared with the PR checks' service.
pub use crate::service::ServiceError;
