//! Deployment tracking: `GitHubDeploymentWorkflow` and its activities.

pub mod activities;
pub mod model;
pub mod service;
pub mod status;
pub mod workflow;

pub use activities::DeploymentActivities;
pub use model::{
    DeploymentStateView, DeploymentStatusUpdate, DeploymentWorkflowInput, DeploymentWorkflowResult,
    StatusUpdateAck, UpdateRejection,
};
pub use service::{
    DeploymentDetails, DeploymentService, ListFilter, ListedDeployment, ServiceError, StartOutcome,
    Started,
};
pub use workflow::{
    GitHubDeploymentWorkflow, DEPLOYMENT_CREATED_UPDATE, STATE_QUERY, STATUS_UPDATE_SIGNAL,
    STATUS_UPDATE_UPDATE, WORKFLOW_TYPE,
};
