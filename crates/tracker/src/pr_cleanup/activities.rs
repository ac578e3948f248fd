//! The clean-up's activities: `FindPreviewDeploymentsActivity` (reads only),
//! `InactivatePreviewActivity`, `DeletePreviewDeploymentActivity` and
//! `DeletePreviewEnvironmentActivity`, each making at most one write to GitHub, so the
//! workflow can pause between writes. Every GitHub call goes through the worker's one
//! [`gdt_github::Client`]; the worker's Temporal client is used only to ask whether a gdt
//! tracker still runs.
//!
//! A retried `InactivatePreviewActivity` reads the deployment's latest status before writing,
//! so an `inactive` an earlier attempt landed is never posted twice.

use std::sync::Arc;
use std::time::Duration;

use gdt_github::{
    DeploymentDeletion, DeploymentFilter, DeploymentState, EnvironmentDeletion, NewDeploymentStatus,
};
use serde::{Deserialize, Serialize};
use temporalio_client::errors::WorkflowInteractionError;
use temporalio_client::{WorkflowDescribeOptions, WorkflowExecutionStatus};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use super::matching::{environment_names, lists_head_ref, select, Listed, MatchRules};
use super::model::{CleanupSettings, ClosedPullRequest, Found};
use crate::activity::{in_activity_span, temporal_unavailable, to_activity_error};
use crate::deployments::GitHubDeploymentWorkflow;
use crate::service::rpc_options;

/// Pages of 100 read per listing: a pull request with more than 1,000 deployments in one
/// environment is cleaned up newest first, up to this bound.
const LIST_MAX_PAGES: u32 = 10;

/// How long asking Temporal whether a tracker runs may take.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The worker's `pr_cleanup` configuration.
#[derive(Debug, Clone)]
pub struct PrCleanupSettings {
    /// Which deployments match.
    pub rules: MatchRules,
    /// What is done to them, and how fast.
    pub cleanup: CleanupSettings,
}

/// The clean-up's activities.
pub struct PrCleanupActivities {
    github: gdt_github::Client,
    temporal: temporalio_client::Client,
    settings: PrCleanupSettings,
}

/// Input of `InactivatePreviewActivity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InactivateInput {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// The pull request (named in the status's description).
    pub number: u64,
    /// The deployment.
    pub deployment_id: u64,
    /// A gdt tracker that was asked to end the deployment: while it runs, it is the one
    /// writer, and nothing is written here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracker: Option<String>,
}

/// What `InactivatePreviewActivity` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Inactivated {
    /// Posted `inactive` (the one write).
    Posted,
    /// Its latest status was already `inactive`: nothing written.
    AlreadyInactive,
    /// The deployment no longer exists: nothing written.
    Gone,
    /// Its tracker still runs: nothing read or written.
    TrackerRunning,
}

impl Inactivated {
    /// Whether a write was made.
    pub fn wrote(self) -> bool {
        self == Self::Posted
    }
}

/// Input of `DeletePreviewDeploymentActivity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteDeploymentInput {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// The deployment.
    pub deployment_id: u64,
}

/// Input of `DeletePreviewEnvironmentActivity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteEnvironmentInput {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// The environment's name.
    pub environment: String,
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Deleted {
    /// Deleted now.
    Deleted,
    /// Already gone.
    AlreadyGone,
    /// GitHub refused: the deployment is not inactive (its message).
    NotInactive {
        /// GitHub's message.
        message: String,
    },
}

/// The description of the final status.
pub fn closed_description(number: u64) -> String {
    format!("Pull request #{number} closed")
}

impl PrCleanupActivities {
    /// Activities using the worker's GitHub and Temporal clients and its settings.
    pub fn new(
        github: gdt_github::Client,
        temporal: temporalio_client::Client,
        settings: PrCleanupSettings,
    ) -> Self {
        Self {
            github,
            temporal,
            settings,
        }
    }

    /// Whether the workflow `workflow_id` runs (its latest run). A workflow Temporal does not
    /// know does not run.
    async fn tracker_runs(&self, workflow_id: &str) -> Result<bool, ActivityError> {
        let handle = self
            .temporal
            .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned());
        let options = WorkflowDescribeOptions::builder()
            .rpc_options(rpc_options(DESCRIBE_TIMEOUT))
            .build();
        let described = tokio::time::timeout(DESCRIBE_TIMEOUT, handle.describe(options)).await;
        match described {
            Ok(Ok(description)) => Ok(description.status() == WorkflowExecutionStatus::Running),
            Ok(Err(WorkflowInteractionError::NotFound(_))) => Ok(false),
            Ok(Err(e)) => Err(temporal_unavailable(format!(
                "could not ask Temporal whether the tracker runs: {e}"
            ))),
            Err(_) => Err(temporal_unavailable(
                "could not ask Temporal whether the tracker runs: no answer in time".to_owned(),
            )),
        }
    }
}

#[activities]
impl PrCleanupActivities {
    /// Lists the repository's deployments in each environment the patterns name for the
    /// pull request and, when configured, of its head branch, and selects what to end.
    /// Reads only.
    #[activity(name = "FindPreviewDeploymentsActivity")]
    pub async fn find_previews(
        self: Arc<Self>,
        ctx: ActivityContext,
        pr: ClosedPullRequest,
    ) -> Result<Found, ActivityError> {
        in_activity_span(&ctx, async move {
            let settings = self.settings.cleanup.clone();
            if !settings.enabled {
                return Ok(Found {
                    settings,
                    previews: Vec::new(),
                    environments: Vec::new(),
                });
            }
            let rules = &self.settings.rules;
            let mut filters: Vec<DeploymentFilter> = environment_names(rules, &pr)
                .into_iter()
                .map(|environment| DeploymentFilter {
                    environment: Some(environment),
                    max_pages: LIST_MAX_PAGES,
                    ..DeploymentFilter::default()
                })
                .collect();
            if lists_head_ref(rules, &pr) {
                filters.push(DeploymentFilter {
                    ref_: Some(pr.head_ref.clone()),
                    max_pages: LIST_MAX_PAGES,
                    ..DeploymentFilter::default()
                });
            }
            let mut listed = Vec::new();
            for filter in &filters {
                let deployments = self
                    .github
                    .list_deployments(&pr.owner, &pr.repo, filter)
                    .await
                    .map_err(|e| to_activity_error(&e))?;
                listed.extend(deployments.into_iter().map(|d| Listed {
                    id: d.id,
                    environment: d.environment,
                    git_ref: d.ref_,
                    transient: d.transient_environment,
                    production: d.production_environment,
                    payload: d.payload,
                }));
            }
            let selection = select(rules, &pr, &listed);
            tracing::info!(
                listings = filters.len(),
                matched = selection.previews.len(),
                environments = selection.environments.len(),
                "found the pull request's preview deployments"
            );
            Ok(Found {
                settings,
                previews: selection.previews,
                environments: selection.environments,
            })
        })
        .await
    }

    /// Marks a deployment `inactive` ("Pull request #N closed", `auto_inactive` false) unless
    /// its latest status already is; writes nothing while its tracker runs.
    #[activity(name = "InactivatePreviewActivity")]
    pub async fn inactivate(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: InactivateInput,
    ) -> Result<Inactivated, ActivityError> {
        in_activity_span(&ctx, async move {
            if let Some(tracker) = &input.tracker {
                if self.tracker_runs(tracker).await? {
                    return Ok(Inactivated::TrackerRunning);
                }
            }
            let latest = self
                .github
                .latest_deployment_status(&input.owner, &input.repo, input.deployment_id)
                .await;
            match latest {
                Ok(Some(status)) if status.state == DeploymentState::Inactive.as_str() => {
                    return Ok(Inactivated::AlreadyInactive)
                }
                Ok(_) => {}
                Err(gdt_github::Error::NotFound { .. }) => return Ok(Inactivated::Gone),
                Err(e) => return Err(to_activity_error(&e)),
            }
            let status = NewDeploymentStatus {
                description: Some(closed_description(input.number)),
                auto_inactive: Some(false),
                ..NewDeploymentStatus::new(DeploymentState::Inactive)
            };
            let posted = self
                .github
                .create_deployment_status(&input.owner, &input.repo, input.deployment_id, &status)
                .await;
            match posted {
                Ok(status) => {
                    tracing::info!(
                        deployment_id = input.deployment_id,
                        status_id = status.id,
                        "marked the preview deployment inactive"
                    );
                    Ok(Inactivated::Posted)
                }
                Err(gdt_github::Error::NotFound { .. }) => Ok(Inactivated::Gone),
                Err(e) => Err(to_activity_error(&e)),
            }
        })
        .await
    }

    /// Deletes a deployment; GitHub's refusal of one that is not inactive is an answer, not a
    /// failure.
    #[activity(name = "DeletePreviewDeploymentActivity")]
    pub async fn delete_deployment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: DeleteDeploymentInput,
    ) -> Result<Deleted, ActivityError> {
        in_activity_span(&ctx, async move {
            let deleted = self
                .github
                .delete_deployment(&input.owner, &input.repo, input.deployment_id)
                .await
                .map_err(|e| to_activity_error(&e))?;
            Ok(match deleted {
                DeploymentDeletion::Deleted => Deleted::Deleted,
                DeploymentDeletion::AlreadyGone => Deleted::AlreadyGone,
                DeploymentDeletion::NotInactive { message } => Deleted::NotInactive { message },
            })
        })
        .await
    }

    /// Deletes an environment (the App needs Administration: write; GitHub's 403 without it
    /// is not retried).
    #[activity(name = "DeletePreviewEnvironmentActivity")]
    pub async fn delete_environment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: DeleteEnvironmentInput,
    ) -> Result<Deleted, ActivityError> {
        in_activity_span(&ctx, async move {
            let deleted = self
                .github
                .delete_environment(&input.owner, &input.repo, &input.environment)
                .await
                .map_err(|e| to_activity_error(&e))?;
            Ok(match deleted {
                EnvironmentDeletion::Deleted => Deleted::Deleted,
                EnvironmentDeletion::AlreadyGone => Deleted::AlreadyGone,
            })
        })
        .await
    }
}
