//! Deployment tracking: `GitHubDeploymentWorkflow` and its activities.

pub mod activities;
pub mod model;
pub mod status;
pub mod workflow;

pub use activities::DeploymentActivities;
pub use model::{
    DeploymentStateView, DeploymentStatusUpdate, DeploymentWorkflowInput, DeploymentWorkflowResult,
};
pub use workflow::{GitHubDeploymentWorkflow, STATE_QUERY, STATUS_UPDATE_SIGNAL, WORKFLOW_TYPE};
