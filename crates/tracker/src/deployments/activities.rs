//! Activities: the only place the deployment tracker talks to GitHub.
//!
//! One [`DeploymentActivities`] is registered per worker and holds the worker's single
//! [`gdt_github::Client`]: one HTTP connection pool and one cached installation token for every
//! activity, instead of a new client and a token exchange per call.

use std::sync::Arc;

use gdt_github::{DeploymentFilter, DeploymentState, NewDeployment, NewDeploymentStatus};
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use crate::activity::{in_activity_span, inline_wait_budget, to_activity_error};

/// Input of `CreateGitHubDeployment`. Carries no credentials: the worker has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateDeploymentInput {
    /// Repository owner.
    pub repo_owner: String,
    /// Repository name.
    pub repo_name: String,
    /// The commit to deploy (GitHub's `ref`).
    pub commit_sha: String,
    /// Target environment.
    pub environment: String,
    /// GitHub's deployment task.
    pub task: String,
    /// Deployment description.
    pub description: String,
    /// GitHub's `transient_environment`.
    pub is_transient: bool,
    /// GitHub's `production_environment`.
    pub production_environment: bool,
    /// The deployment payload; always carries `workflow_id`, which is how a retried create
    /// recognises a deployment an earlier attempt already made.
    pub payload: serde_json::Value,
    /// The id of the workflow that owns this deployment.
    pub workflow_id: String,
}

/// Input of `UpdateGitHubDeploymentStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateDeploymentStatusInput {
    /// Repository owner.
    pub repo_owner: String,
    /// Repository name.
    pub repo_name: String,
    /// The GitHub deployment id.
    pub deployment_id: u64,
    /// The GitHub state to post.
    pub state: DeploymentState,
    /// Link to logs (empty: none).
    pub log_url: String,
    /// Environment URL (empty: none).
    pub environment_url: String,
    /// Description (cut to 140 characters by the client).
    pub description: String,
    /// The id of the newest status this deployment posted before this one: a retried
    /// attempt looks for an earlier attempt's status only among newer ones.
    #[serde(default)]
    pub after_status_id: Option<u64>,
    /// GitHub's `auto_inactive` for this status: `Some(false)` when gdt decides inactivation
    /// itself (per service, production included); absent: GitHub's default (`true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_inactive: Option<bool>,
}

/// The activities of `GitHubDeploymentWorkflow`.
pub struct DeploymentActivities {
    github: gdt_github::Client,
}

impl DeploymentActivities {
    /// Activities that use `github` for every call.
    pub fn new(github: gdt_github::Client) -> Self {
        Self { github }
    }
}

#[activities]
impl DeploymentActivities {
    /// Creates the GitHub deployment and returns its id.
    ///
    /// Creating is not idempotent on GitHub's side, so a retried attempt (the worker died, or
    /// GitHub answered 5xx after it had created the deployment) first looks for a deployment
    /// of this sha and environment whose payload names this workflow. The first attempt never
    /// looks: that would cost every deployment a request.
    #[activity(name = "CreateGitHubDeployment")]
    pub async fn create_deployment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: CreateDeploymentInput,
    ) -> Result<u64, ActivityError> {
        in_activity_span(&ctx, async {
            self.create(&ctx, input)
                .await
                .map_err(|e| to_activity_error(&e))
        })
        .await
    }

    /// Posts one deployment status.
    ///
    /// A retried attempt first reads the deployment's statuses posted after the one this
    /// deployment posted before (`after_status_id`): when one of them is the status this
    /// attempt would post, an earlier attempt landed and posting again would duplicate it.
    /// Looking further than the latest status matters: GitHub's `auto_inactive` may have
    /// added an `inactive` on top in between. The first attempt posts directly.
    #[activity(name = "UpdateGitHubDeploymentStatus")]
    pub async fn update_status(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: UpdateDeploymentStatusInput,
    ) -> Result<u64, ActivityError> {
        in_activity_span(&ctx, async {
            self.post_status(&ctx, input)
                .await
                .map_err(|e| to_activity_error(&e))
        })
        .await
    }
}

impl DeploymentActivities {
    /// Creates the deployment (a retried attempt looks first; see `create_deployment`).
    pub(crate) async fn create(
        &self,
        ctx: &ActivityContext,
        input: CreateDeploymentInput,
    ) -> Result<u64, gdt_github::Error> {
        let attempt = ctx.info().attempt;
        let github = self.github.with_max_inline_wait(inline_wait_budget(ctx));
        if attempt > 1 {
            // Filter by `ref` as it was sent, not `sha`: GitHub stores the full SHA, so an
            // abbreviated one would never match the `sha` filter and the retry would create
            // a second deployment.
            let filter = DeploymentFilter {
                ref_: Some(input.commit_sha.clone()),
                environment: Some(input.environment.clone()),
                task: Some(input.task.clone()),
                ..DeploymentFilter::default()
            };
            let existing = github
                .list_deployments(&input.repo_owner, &input.repo_name, &filter)
                .await?;
            if let Some(found) = existing.iter().find(|d| {
                d.payload.get("workflow_id").and_then(|v| v.as_str())
                    == Some(input.workflow_id.as_str())
            }) {
                tracing::info!(
                    workflow_id = %input.workflow_id,
                    deployment_id = found.id,
                    attempt,
                    "found the deployment an earlier attempt created; not creating another"
                );
                return Ok(found.id);
            }
        }
        let request = NewDeployment {
            ref_: input.commit_sha.clone(),
            task: input.task.clone(),
            environment: input.environment.clone(),
            description: non_empty(&input.description),
            auto_merge: false,
            required_contexts: Vec::new(),
            payload: input.payload.clone(),
            transient_environment: input.is_transient,
            production_environment: input.production_environment,
        };
        let deployment = github
            .create_deployment(&input.repo_owner, &input.repo_name, &request)
            .await?;
        tracing::info!(
            workflow_id = %input.workflow_id,
            deployment_id = deployment.id,
            repository = %format!("{}/{}", input.repo_owner, input.repo_name),
            environment = %input.environment,
            "created GitHub deployment"
        );
        Ok(deployment.id)
    }

    /// Posts a status (a retried attempt looks first; see `update_status`).
    pub(crate) async fn post_status(
        &self,
        ctx: &ActivityContext,
        input: UpdateDeploymentStatusInput,
    ) -> Result<u64, gdt_github::Error> {
        let attempt = ctx.info().attempt;
        let github = self.github.with_max_inline_wait(inline_wait_budget(ctx));
        let request = NewDeploymentStatus {
            state: input.state,
            description: non_empty(&input.description)
                .map(|d| gdt_github::truncate_description(&d)),
            log_url: non_empty(&input.log_url),
            environment_url: non_empty(&input.environment_url),
            environment: None,
            auto_inactive: input.auto_inactive,
        };
        if attempt > 1 {
            let statuses = github
                .list_deployment_statuses(&input.repo_owner, &input.repo_name, input.deployment_id)
                .await?;
            // GitHub lists statuses newest first; ids grow with time.
            let landed = statuses
                .iter()
                .take_while(|s| input.after_status_id.is_none_or(|after| s.id > after))
                .find(|s| {
                    s.state == request.state
                        && s.description.as_deref().unwrap_or("")
                            == request.description.as_deref().unwrap_or("")
                        && s.log_url.as_deref().unwrap_or("")
                            == request.log_url.as_deref().unwrap_or("")
                });
            if let Some(landed) = landed {
                tracing::info!(
                    deployment_id = input.deployment_id,
                    state = input.state.as_str(),
                    attempt,
                    "an earlier attempt already posted this status; not posting again"
                );
                return Ok(landed.id);
            }
        }
        let status = github
            .create_deployment_status(
                &input.repo_owner,
                &input.repo_name,
                input.deployment_id,
                &request,
            )
            .await?;
        tracing::info!(
            deployment_id = input.deployment_id,
            state = input.state.as_str(),
            "posted GitHub deployment status"
        );
        Ok(status.id)
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_owned())
}
